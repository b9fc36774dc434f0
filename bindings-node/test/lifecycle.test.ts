import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setup } from "./helpers.js";

const dist = fileURLToPath(new URL("../dist/esm/", import.meta.url));

function runScript(code: string) {
  return spawnSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8", timeout: 30_000 });
}

const prelude = `
import { ServiceAccountHarborSession, CapabilityBinding } from ${JSON.stringify(dist + "index.js")};
import { LocalHarbor } from ${JSON.stringify(dist + "testing.js")};
const h = await LocalHarbor.start();
globalThis.keepDevServer = h; // nothing else references it once the module has run: keep it from GC
const s = await ServiceAccountHarborSession.open({ gatewayBaseUrl: h.gatewayUrl, apiKey: h.apiKey, harborBaseUrl: h.harborUrl });
const i = h.createIntent({ allowedTools: ["search"], amountCents: 1000 });
`;

describe("process lifecycle", () => {
  it("a pending call keeps the process alive; a finished one lets it exit", () => {
    // Nothing but the pending calls holds the event loop open here.
    const r = runScript(`${prelude}
h.addFault({ route: "/verify", kind: "latency", latencyMs: 400, count: 2 });
s.harbor.verifyCapability({ intentId: i.intentId, token: i.capabilityToken, operation: "search", requestedSpendCents: 1 })
  .then((v) => console.log("verify", v.allow));
new CapabilityBinding(s.harbor, i.intentId, i.capabilityToken).authorize("search", "c1", {}, 1)
  .then((d) => console.log("authorize", d.decision));
`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split("\n").filter(Boolean).sort()).toEqual(["authorize allow", "verify true"]);
  });

  it("calls from a worker thread settle there, and the worker can end while the main thread goes on", () => {
    const dir = mkdtempSync(join(tmpdir(), "pk-worker-"));
    const workerFile = join(dir, "worker.mjs");
    writeFileSync(workerFile, `
import { parentPort, workerData } from "node:worker_threads";
import { ServiceAccountHarborSession } from ${JSON.stringify(dist + "index.js")};
const { gw, hb, key, intentId, token } = workerData;
const s = await ServiceAccountHarborSession.open({ gatewayBaseUrl: gw, apiKey: key, harborBaseUrl: hb });
const rs = await Promise.all(Array.from({ length: 20 }, () => s.harbor.verifyCapability({ intentId, token, operation: "search", requestedSpendCents: 1 })));
parentPort.postMessage(rs.every((x) => x.allow));
s.harbor.verifyCapability({ intentId, token, operation: "search", requestedSpendCents: 1 }); // still pending at exit
process.exit(0);
`);
    try {
      const r = runScript(`${prelude}
import { Worker } from "node:worker_threads";
for (let k = 0; k < 3; k++) {
  const w = new Worker(${JSON.stringify(workerFile)}, { execArgv: [], workerData: { gw: h.gatewayUrl, hb: h.harborUrl, key: h.apiKey, intentId: i.intentId, token: i.capabilityToken } });
  const exited = new Promise((res) => w.once("exit", res)); // listen before the worker can exit
  const ok = await new Promise((res, rej) => { w.once("message", res); w.once("error", rej); });
  await exited;
  console.log("worker", ok);
}
const v = await s.harbor.verifyCapability({ intentId: i.intentId, token: i.capabilityToken, operation: "search", requestedSpendCents: 1 });
console.log("main", v.allow);
await s.dispose();
await h.stop();
`);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim().split("\n")).toEqual(["worker true", "worker true", "worker true", "main true"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("many concurrent calls each get their own answer", async () => {
    const t = await setup();
    try {
      const a = t.harbor.createIntent({ allowedTools: ["search"], amountCents: 10_000 });
      const b = t.harbor.createIntent({ allowedTools: ["search"], amountCents: 10_000 });
      const calls = Array.from({ length: 200 }, (_, k) => {
        const it = k % 2 ? a : b;
        return t.session.harbor.verifyCapability({ intentId: it.intentId, token: it.capabilityToken, operation: "search", requestedSpendCents: 1 }).then((r) => r.intentId === it.intentId);
      });
      expect((await Promise.all(calls)).every(Boolean)).toBe(true);
    } finally {
      await t.close();
    }
  });
});
