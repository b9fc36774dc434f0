// The hostile corpus (tests/scenarios/hostile.json, read from the repository) against the
// Node package: every case through the client, and the verify / exchange / evidence cases
// through every guard (CapabilityBinding, a LangChain JS agent with the kit's middleware,
// an OpenAI Agents JS agent with the kit's input guardrail). Every case must end in a
// non-allow with a code the corpus expects, within the deadline plus slack; the tool body
// never runs on a deny; the run finishes with the deny text; the evil (redirect target) and
// proxy listeners are never reached; no secret (API key, JWT, capability token, or the first
// 16 characters of any) appears in an error's String/inspect/JSON, a deny text, or a log line.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { inspect } from "node:util";
import { randomBytes, randomUUID } from "node:crypto";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { createAgent, tool, ToolMessage, AIMessage } from "langchain";
import { fakeModel } from "@langchain/core/testing";
import { Agent, Runner, tool as agentsTool, setTracingDisabled } from "@openai/agents";
import * as pk from "../dist/esm/index.js";
import { HostileHarbor, type HostileCase } from "../dist/esm/testing.js";
import { createPaybondMiddleware, type GuardEvent } from "../dist/esm/langchain.js";
import { guardFunctionTools } from "../dist/esm/openai-agents.js";
import { ScriptedModel } from "./scripted-model.js";

setTracingDisabled(true);

const CORPUS = resolve(__dirname, "../../tests/scenarios/hostile.json");
const corpus = JSON.parse(readFileSync(CORPUS, "utf8")) as { defaults: Record<string, unknown>; cases: { id: string; route: string }[] };
const D = corpus.defaults as { timeout_ms: number; deadline_ms: number; max_retries: number; max_retry_after_ms: number; elapsed_slack_ms: number; payee_did: string; payee_seed_hex: string; signal_operator_did: string };
const POOL = 10;

type Level = "client" | "client_after_first" | "binding" | "langchain" | "openai";
const LEVELS: Record<string, Level[]> = {
  verify: ["client", "binding", "langchain", "openai"],
  exchange: ["client", "client_after_first", "binding", "langchain", "openai"],
  evidence: ["client", "binding", "langchain"],
  principal: ["client"],
  signal_receipt: ["client"],
  ledger_tip: ["client"],
};

/** How one run ended: a refusal with its code and every text a user could see, or something accepted. */
type Outcome = { accepted: string } | { code: string; texts: string[] };

const options = () => ({
  timeoutSeconds: D.timeout_ms / 1000,
  deadlineSeconds: D.deadline_ms / 1000,
  maxRetries: D.max_retries,
  maxRetryAfterSeconds: D.max_retry_after_ms / 1000,
});

/** A random standard-base64 token (~400 chars) with `/` and `+`, none in its first 16 characters. */
function randomToken(): string {
  for (;;) {
    const t = randomBytes(300).toString("base64");
    if (t.includes("/") && t.includes("+") && !/[/+]/.test(t.slice(0, 16))) return t;
  }
}

function errTexts(e: unknown): string[] {
  return [String(e), inspect(e, { depth: 10, showHidden: true }), JSON.stringify(e) ?? "", (e as Error)?.stack ?? ""];
}

function fromError(e: unknown): Outcome {
  if (!(e instanceof pk.PaybondError)) return { accepted: `an untyped error escaped: ${String(e)}` };
  return { code: e.code, texts: errTexts(e) };
}

function fromDecision(d: pk.Decision): Outcome {
  if (pk.isAllowed(d)) return { accepted: `allowed: ${JSON.stringify(d)}` };
  return { code: d.code ?? "?", texts: [JSON.stringify(d), inspect(d, { depth: 10 }), pk.describeDecision(d, "search")] };
}

const results = new Map<string, string[]>(); // case id -> failures
const ran = new Map<string, Set<Level>>();
const allSecrets = new Set<string>();
let logged = "";
let servers: HostileHarbor[] = [];
let total = 0;

async function runOne(h: HostileHarbor, c: HostileCase, level: Level): Promise<string[]> {
  const failures: string[] = [];
  const token = randomToken();
  allSecrets.add(token);
  const intentId = randomUUID();
  const tag = `${c.id} [${level}]`;
  const url = h.url;
  const base = { gatewayBaseUrl: url, apiKey: h.apiKey, ...options() };
  const openHarbor = () => pk.ServiceAccountHarborSession.open({ ...base, harborBaseUrl: url });
  let toolRuns = 0;
  const events: GuardEvent[] = [];
  const extraTexts: string[] = [];
  let outcome: Outcome;
  let session: pk.ServiceAccountHarborSession | undefined;
  const evilBefore = h.evilHits();
  const proxyBefore = h.proxyHits();
  const afterFirst = c.route === "exchange" && level !== "client";
  h.setCase(c.id, afterFirst ? "after_first" : "every");
  const started = performance.now();
  try {
    if (c.route === "exchange" && level === "client") {
      outcome = await openHarbor().then(
        (s) => {
          session = s;
          return { accepted: `session opened on a hostile exchange (tenant ${s.tenantId})` };
        },
        fromError,
      );
    } else if (c.route === "principal") {
      outcome = await pk.ServiceAccountSignalSession.open(base).then(
        async (s) => {
          await s.dispose();
          return { accepted: "Signal session opened on a hostile principal" };
        },
        fromError,
      );
    } else if (c.route === "signal_receipt") {
      const s = await pk.ServiceAccountSignalSession.open(base);
      try {
        outcome = await s.signal.reputationReceipt(D.signal_operator_did).then((r) => ({ accepted: `receipt accepted: ${JSON.stringify(r)}` }), fromError);
      } finally {
        await s.dispose();
      }
    } else {
      session = await openHarbor();
      const harbor = session.harbor;
      const evidenceOpts = { payeeDid: D.payee_did, payeeSigningSeed: D.payee_seed_hex };
      const binding = new pk.CapabilityBinding(harbor, intentId, token, evidenceOpts);
      const callId = `call-${randomUUID()}`;
      const onDecision = (e: GuardEvent) => events.push(e);
      if (c.route === "ledger_tip") {
        outcome = await harbor.ledgerTip().then((r) => ({ accepted: `ledger tip accepted: ${JSON.stringify(r)}` }), fromError);
      } else if (c.route === "evidence" && level === "client") {
        const body = pk.signPayeeEvidenceBinding({ tenantId: session.tenantId, intentId, payeeDid: D.payee_did, payload: { result: "ok", at: Date.now() }, submittedAtRfc3339: new Date().toISOString(), payeeSigningSeed: D.payee_seed_hex });
        outcome = await harbor.submitEvidence(intentId, body).then((r) => ({ accepted: `evidence accepted: ${JSON.stringify(r)}` }), fromError);
      } else if (c.route === "evidence" && level === "binding") {
        const d = await binding.authorize("search", callId, { q: "hostile" }, 1);
        if (!pk.isAllowed(d)) throw new Error(`authorize should allow (the verify route is good), got ${pk.describeDecision(d, "search")}`);
        outcome = await binding.submitEvidence("search", callId, { result: "ok" }).then((r) => ({ accepted: `evidence accepted: ${JSON.stringify(r)}` }), fromError);
      } else if (level === "client" || level === "client_after_first") {
        const args = { intentId, token, operation: "search", requestedSpendCents: 1 };
        outcome = await harbor.verifyCapability(args).then(
          (v) => (v.allow ? { accepted: `verify allowed: ${JSON.stringify(v)}` } : { code: "harbor_denied", texts: [JSON.stringify(v), inspect(v, { depth: 10 })] }),
          fromError,
        );
      } else if (level === "binding") {
        outcome = fromDecision(await binding.authorize("search", callId, { q: "hostile" }, 1));
      } else if (level === "langchain") {
        const search = tool(async () => {
          toolRuns++;
          return "results";
        }, { name: "search", description: "Search (paid)", schema: z.object({ q: z.string() }) });
        const model = fakeModel().respondWithTools([{ name: "search", args: { q: "hostile" }, id: callId }]).respond(new AIMessage("done"));
        const evidence = c.route === "evidence" ? () => ({ result: "ok" }) : undefined;
        const agent = createAgent({ model, tools: [search], middleware: [createPaybondMiddleware({ binding, requestedSpendCents: 1, evidence, onDecision })] });
        const out = await agent.invoke({ messages: [{ role: "user", content: "go" }] });
        if (out.messages.at(-1)?.content !== "done") failures.push(`${tag}: the agent run did not finish with the model's answer`);
        const tm = out.messages.find((m: unknown) => ToolMessage.isInstance(m)) as ToolMessage | undefined;
        const denyText = String(tm?.content ?? "");
        extraTexts.push(denyText);
        const ev = events.at(-1);
        if (!ev) throw new Error("no guard event");
        if (c.route === "evidence") {
          if (toolRuns !== 1 || !pk.isAllowed(ev.decision)) throw new Error(`the verify route is good: the tool should run once, ran ${toolRuns}`);
          outcome = ev.evidenceErrorCode ? { code: ev.evidenceErrorCode, texts: [ev.evidenceError ?? ""] } : { accepted: `evidence accepted: ${JSON.stringify(ev.evidence)}` };
        } else {
          outcome = fromDecision(ev.decision);
          if (!("accepted" in outcome)) {
            if (tm?.status !== "error" || !denyText.startsWith(`Paybond denied search: ${outcome.code}`)) failures.push(`${tag}: the model did not get the deny text: ${denyText.slice(0, 200)}`);
          }
        }
      } else {
        const search = agentsTool({ name: "search", description: "Search (paid)", parameters: z.object({ q: z.string() }), execute: async () => { toolRuns++; return "results"; } });
        const model = new ScriptedModel([["search", { q: "hostile" }]]);
        const tools = guardFunctionTools([search], binding, { requestedSpendCents: 1, onDecision });
        const result = await new Runner().run(new Agent({ name: "a", model, tools }), "go");
        if (result.finalOutput !== "done") failures.push(`${tag}: the agent run did not finish with the model's answer`);
        const denyText = model.toolOutputs().call_0 ?? "";
        extraTexts.push(denyText);
        const ev = events.at(-1);
        if (!ev) throw new Error("no guard event");
        outcome = fromDecision(ev.decision);
        if (!("accepted" in outcome) && !denyText.includes(`Paybond denied search: ${outcome.code}`)) failures.push(`${tag}: the model did not get the deny text: ${denyText.slice(0, 200)}`);
      }
      if ((level === "langchain" || level === "openai" || level === "binding") && c.route !== "evidence" && toolRuns !== 0) failures.push(`${tag}: the tool body ran on a deny`);
    }
  } catch (e) {
    outcome = { accepted: `setup failed or an error escaped: ${String(e)}` };
  } finally {
    await session?.dispose().catch(() => undefined);
  }
  const elapsed = performance.now() - started;
  if ("accepted" in outcome) {
    failures.push(`${tag}: ACCEPTED: ${outcome.accepted}`);
  } else {
    if (!c.expectCodes.includes(outcome.code)) failures.push(`${tag}: code ${outcome.code} not in ${JSON.stringify(c.expectCodes)}: ${outcome.texts[0]?.slice(0, 300)}`);
    const secrets = [h.apiKey, h.jwt, token];
    for (const text of [...outcome.texts, ...extraTexts, ...events.map((e) => JSON.stringify(e) ?? "")]) {
      for (const s of secrets) {
        if (text.includes(s) || text.includes(s.slice(0, 16))) failures.push(`${tag}: a secret (or its first 16 characters) leaks: ${text.slice(0, 300)}`);
      }
    }
  }
  const budget = D.deadline_ms + D.elapsed_slack_ms + (level === "langchain" || level === "openai" ? 500 : 0);
  if (elapsed > budget) failures.push(`${tag}: took ${Math.round(elapsed)} ms (deadline ${D.deadline_ms} ms + slack)`);
  if (h.hits(c.route) === 0) failures.push(`${tag}: the hostile route ${c.route} was never requested`);
  if (h.evilHits() !== evilBefore) failures.push(`${tag}: the evil listener was reached (a redirect was followed)`);
  if (h.proxyHits() !== proxyBefore) failures.push(`${tag}: the proxy listener was reached`);
  return failures;
}

beforeAll(async () => {
  const orig = { log: console.log, info: console.info, warn: console.warn, error: console.error, debug: console.debug };
  for (const k of Object.keys(orig) as (keyof typeof orig)[]) {
    console[k] = (...a: unknown[]) => {
      logged += a.map((x) => (typeof x === "string" ? x : inspect(x, { depth: 10 }))).join(" ") + "\n";
    };
  }
  try {
    servers = await Promise.all(Array.from({ length: POOL }, () => HostileHarbor.start()));
    for (const s of servers) {
      allSecrets.add(s.apiKey);
      allSecrets.add(s.jwt);
    }
    const ids = servers[0]!.caseIds();
    const jobs: [HostileCase, Level][] = [];
    for (const id of ids) {
      const c = servers[0]!.case(id)!;
      results.set(id, []);
      ran.set(id, new Set());
      for (const level of LEVELS[c.route] ?? []) jobs.push([c, level]);
    }
    total = jobs.length;
    let next = 0;
    await Promise.all(
      servers.map(async (h) => {
        while (next < jobs.length) {
          const [c, level] = jobs[next++]!;
          const f = await runOne(h, c, level);
          results.get(c.id)!.push(...f);
          ran.get(c.id)!.add(level);
        }
        h.setCase(null);
      }),
    );
  } finally {
    Object.assign(console, orig);
  }
}, 300_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.dispose()));
});

describe("hostile corpus", () => {
  it("the corpus is the repository's, with at least 80 cases", () => {
    expect(servers[0]!.caseIds()).toEqual(corpus.cases.map((c) => c.id));
    expect(corpus.cases.length).toBeGreaterThanOrEqual(80);
    console.log(`hostile corpus: ${corpus.cases.length} cases, ${total} runs (client + guards) on ${POOL} servers`);
  });

  it.each(corpus.cases.map((c) => [c.id, c.route]))("%s (%s)", (id, route) => {
    expect([...(ran.get(id) ?? [])].sort()).toEqual([...(LEVELS[route] ?? [])].sort());
    expect(results.get(id)).toEqual([]);
  });

  it("no redirect was followed and no proxy was used, on any server", () => {
    for (const s of servers) expect([s.evilHits(), s.proxyHits()]).toEqual([0, 0]);
  });

  it("no secret reached a log line", () => {
    for (const s of allSecrets) {
      expect(logged.includes(s)).toBe(false);
      expect(logged.includes(s.slice(0, 16))).toBe(false);
    }
  });
});

const dist = fileURLToPath(new URL("../dist/esm/", import.meta.url));

function runChild(code: string, env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, ["--input-type=module", "-e", code], { env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (status) => res({ status, stdout, stderr }));
  });
}

describe("proxies", () => {
  it("HTTP_PROXY / HTTPS_PROXY / ALL_PROXY in the environment are never used", async () => {
    await using h = await HostileHarbor.start();
    const env = Object.fromEntries(["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"].map((k) => [k, h.proxyUrl]));
    env.NO_PROXY = "";
    env.no_proxy = "";
    const code = `
import { ServiceAccountHarborSession } from ${JSON.stringify(dist + "index.js")};
const s = await ServiceAccountHarborSession.open({ gatewayBaseUrl: process.env.PK_URL, apiKey: process.env.PK_KEY, harborBaseUrl: process.env.PK_URL, timeoutSeconds: 0.5, deadlineSeconds: 1.5 });
const v = await s.harbor.verifyCapability({ intentId: process.env.PK_INTENT, token: "dG9rZW4tZm9yLXByb3h5LXRlc3Q=", operation: "search", requestedSpendCents: 1 });
console.log("allow", v.allow, process.env.HTTPS_PROXY === process.env.PK_PROXY);
await s.dispose();`;
    const r = await runChild(code, { ...env, PK_URL: h.url, PK_KEY: h.apiKey, PK_INTENT: randomUUID(), PK_PROXY: h.proxyUrl });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe("allow true true");
    expect(h.hits("verify")).toBe(1);
    expect(h.proxyHits()).toBe(0);
  });

  it("an explicit proxyUrl is used", async () => {
    await using h = await HostileHarbor.start();
    const s = await pk.ServiceAccountHarborSession.open({ gatewayBaseUrl: h.url, apiKey: h.apiKey, harborBaseUrl: h.url, proxyUrl: h.proxyUrl, ...options() });
    try {
      const v = await s.harbor.verifyCapability({ intentId: randomUUID(), token: randomToken(), operation: "search", requestedSpendCents: 1 });
      expect(v.allow).toBe(true);
      expect(h.proxyHits()).toBeGreaterThan(0);
      expect(h.hits("verify")).toBe(0);
    } finally {
      await s.dispose();
    }
  });
});
