// The agent adapters send the `consumed` completion of a successful call in the background: the
// run goes on at once (the reservation made at verify holds the budget), and nothing is lost —
// settle(), LocalHarbor reads, closing the session and the process's exit wait for it. A failed
// call still releases its spend before the run goes on.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createAgent, tool, AIMessage } from "langchain";
import { fakeModel } from "@langchain/core/testing";
import { z } from "zod";
import type { CapabilityBinding } from "../dist/esm/index.js";
import { createPaybondMiddleware } from "../dist/esm/langchain.js";
import { LocalHarbor, pendingCompletions } from "../dist/esm/testing.js";
import { setup } from "./helpers.js";

const COMPLETE = "/v1/spend/decisions/*";
const dist = fileURLToPath(new URL("../dist/esm/", import.meta.url));

function agentFor(binding: CapabilityBinding, name: "pay" | "declined", amount: number) {
  const pay = tool(async ({ amount }: { amount: number }) => `paid ${amount}`, { name: "pay", description: "pay", schema: z.object({ amount: z.number() }) });
  const declined = tool(async (_: { amount: number }): Promise<string> => { throw new Error("card declined"); }, { name: "declined", description: "declined", schema: z.object({ amount: z.number() }) });
  const model = fakeModel().respondWithTools([{ name, args: { amount }, id: "c-1" }]).respond(new AIMessage("done"));
  return createAgent({
    model, tools: [pay, declined],
    middleware: [createPaybondMiddleware({ binding, requestedSpendCents: (req) => Number((req.toolCall.args as { amount: number }).amount) })],
  });
}

describe("background spend completion", () => {
  it("a success goes on before its completion lands; settle() waits for it", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["pay", "declined"], 1000);
      t.harbor.addFault({ route: COMPLETE, kind: "latency", latencyMs: 800 });
      await agentFor(binding, "pay", 300).invoke({ messages: [{ role: "user", content: "go" }] });
      expect(pendingCompletions()).toBe(1);
      await binding.settle();
      expect(pendingCompletions()).toBe(0);
      const st = t.harbor.stats() as Record<string, number>;
      expect(st.decisionsConsumed).toBe(1);
      expect((await binding.authorize("pay", "probe", {}, 0)).remainingCents).toBe(700);
    } finally {
      await t.close();
    }
  });

  it("LocalHarbor reads and closing the session wait for background completions", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["pay"], 1000);
      t.harbor.addFault({ route: COMPLETE, kind: "latency", latencyMs: 400 });
      await agentFor(binding, "pay", 100).invoke({ messages: [{ role: "user", content: "go" }] });
      expect((t.harbor.stats() as Record<string, number>).decisionsConsumed).toBe(1);
      t.harbor.addFault({ route: COMPLETE, kind: "latency", latencyMs: 400 });
      const other = t.bind(["pay"], 1000).binding;
      await agentFor(other, "pay", 100).invoke({ messages: [{ role: "user", content: "go" }] });
      expect(pendingCompletions()).toBe(1);
      await t.session.dispose();
      expect(pendingCompletions()).toBe(0);
    } finally {
      await t.close();
    }
  });

  it("a failed call releases its spend before the run goes on", async () => {
    const t = await setup();
    try {
      const { binding } = t.bind(["pay", "declined"], 1000);
      t.harbor.addFault({ route: COMPLETE, kind: "latency", latencyMs: 300 });
      await agentFor(binding, "declined", 400).invoke({ messages: [{ role: "user", content: "go" }] }).catch(() => undefined);
      expect(pendingCompletions()).toBe(0);
      expect((await binding.authorize("pay", "probe", {}, 0)).remainingCents).toBe(1000);
    } finally {
      await t.close();
    }
  });

  it("a process that ends right after a guarded run still lands its completion", async () => {
    const harbor = await LocalHarbor.start();
    try {
      const intent = harbor.createIntent({ allowedTools: ["pay"], amountCents: 1000 });
      harbor.addFault({ route: COMPLETE, kind: "latency", latencyMs: 500 });
      const code = `
import { ServiceAccountHarborSession, CapabilityBinding } from ${JSON.stringify(dist + "index.js")};
import { createPaybondMiddleware } from ${JSON.stringify(dist + "langchain.js")};
import { pendingCompletions } from ${JSON.stringify(dist + "testing.js")};
import { createAgent, tool, AIMessage } from "langchain";
import { fakeModel } from "@langchain/core/testing";
import { z } from "zod";
const s = await ServiceAccountHarborSession.open({ gatewayBaseUrl: ${JSON.stringify(harbor.gatewayUrl)}, apiKey: ${JSON.stringify(harbor.apiKey)}, harborBaseUrl: ${JSON.stringify(harbor.harborUrl)}, timeoutSeconds: 2 });
const binding = new CapabilityBinding(s.harbor, ${JSON.stringify(intent.intentId)}, ${JSON.stringify(intent.capabilityToken)});
const pay = tool(async ({ amount }) => "paid " + amount, { name: "pay", description: "pay", schema: z.object({ amount: z.number() }) });
const model = fakeModel().respondWithTools([{ name: "pay", args: { amount: 100 }, id: "c-1" }]).respond(new AIMessage("done"));
const agent = createAgent({ model, tools: [pay], middleware: [createPaybondMiddleware({ binding, requestedSpendCents: 100 })] });
await agent.invoke({ messages: [{ role: "user", content: "go" }] });
console.log("pending", pendingCompletions());
`;
      const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8", timeout: 30_000, cwd: fileURLToPath(new URL("..", import.meta.url)) });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain("pending 1");
      expect((harbor.stats() as Record<string, number>).decisionsConsumed).toBe(1);
    } finally {
      await harbor.stop();
    }
  });
});
