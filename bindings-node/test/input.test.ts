// Hostile caller input: every public entry point, wrong types, NaN/Infinity, huge numbers,
// booleans, empty strings, non-UUID ids, wrong seed lengths. Every case is a typed
// InvalidArgumentError naming the field in camelCase (or, for guards, a deny with code
// invalid_argument, or spend_resolver_failed for a spend callback's bad result), never an
// untyped Error/TypeError, never an allow.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createAgent, tool, ToolMessage, AIMessage } from "langchain";
import { fakeModel } from "@langchain/core/testing";
import { Agent, Runner, tool as agentsTool, setTracingDisabled } from "@openai/agents";
import * as pk from "../dist/esm/index.js";
import { createPaybondMiddleware, guardTools } from "../dist/esm/langchain.js";
import { guardFunctionTools, paybondCapabilityInputGuardrail } from "../dist/esm/openai-agents.js";
import { ScriptedModel } from "./scripted-model.js";
import { setup } from "./helpers.js";

setTracingDisabled(true);

type T = Awaited<ReturnType<typeof setup>>;
let t: T;
beforeAll(async () => {
  t = await setup();
});
afterAll(async () => {
  await t.close();
});

/** Spends the core must refuse (the issue's list, plus null). */
const BAD_SPENDS: [string, unknown][] = [
  ["NaN", NaN],
  ["Infinity", Infinity],
  ["-Infinity", -Infinity],
  ["-0.5", -0.5],
  ["99.99", 99.99],
  ["2**53", 2 ** 53],
  ['"300"', "300"],
  ["true", true],
  ["{}", {}],
  ["null", null],
  ["-1n", -1n],
  ["2n**64n", 2n ** 64n],
];

function expectInvalid(e: unknown, field: string): void {
  expect(e, String(e)).toBeInstanceOf(pk.InvalidArgumentError);
  const err = e as pk.InvalidArgumentError;
  expect(err.code).toBe("invalid_argument");
  expect(err.field).toBe(field);
  expect(err.field).not.toMatch(/_/);
  expect(err.message).toContain(field);
}

async function rejection(f: () => unknown): Promise<unknown> {
  try {
    await f();
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

describe("spend is an exact integer in 0..=2^53-1 everywhere", () => {
  it.each(BAD_SPENDS)("verifyCapability refuses %s before any request", async (_n, bad) => {
    const i = t.harbor.createIntent({ allowedTools: ["pay"], amountCents: 100 });
    const before = t.harbor.stats().verifies;
    const e = await rejection(() => t.session.harbor.verifyCapability({ intentId: i.intentId, token: i.capabilityToken, operation: "pay", requestedSpendCents: bad as number }));
    expectInvalid(e, "requestedSpendCents");
    expect(t.harbor.stats().verifies).toBe(before);
  });

  it.each(BAD_SPENDS)("authorize(%s) on an exhausted budget is an invalid_argument deny", async (_n, bad) => {
    const { binding } = t.bind(["pay"], 100);
    expect((await binding.authorize("pay", "c0", {}, 100)).decision).toBe("allow");
    const before = t.harbor.stats().verifies;
    const d = await binding.authorize("pay", "c1", {}, bad as number);
    expect([d.decision, d.code]).toEqual(["deny", "invalid_argument"]);
    expect(d.message).toContain("requestedSpendCents");
    expect(t.harbor.stats().verifies).toBe(before);
  });

  it("exact integers pass: 0, 2^53-1, bigint", async () => {
    const { binding } = t.bind(["pay"], 100);
    expect((await binding.authorize("pay", "a", {}, 0)).decision).toBe("allow");
    expect((await binding.authorize("pay", "b", {}, 30n)).decision).toBe("allow");
    const big = await binding.authorize("pay", "c", {}, Number.MAX_SAFE_INTEGER);
    expect([big.decision, big.code, big.reason]).toEqual(["deny", "harbor_denied", "budget_exceeded"]);
  });

  // (null is "not given" for adapter options: the default spend 0.)
  it.each(BAD_SPENDS.filter(([n]) => n !== "null"))("adapter construction refuses a static spend of %s", (_n, bad) => {
    const { binding } = t.bind(["pay"], 100);
    const s = bad as number;
    for (const make of [
      () => createPaybondMiddleware({ binding, requestedSpendCents: s }),
      () => guardTools([], { binding, requestedSpendCents: s }),
      () => paybondCapabilityInputGuardrail({ binding, requestedSpendCents: s }),
      () => guardFunctionTools([], binding, { requestedSpendCents: s }),
    ]) {
      let thrown: unknown;
      try {
        make();
      } catch (e) {
        thrown = e;
      }
      expectInvalid(thrown, "requestedSpendCents");
    }
  });

  it("a LangChain agent whose spend callback returns a bad value gets a deny spend_resolver_failed, the tool never runs", async () => {
    const { binding } = t.bind(["pay"], 10_000);
    let ran = 0;
    const pay = tool(async () => {
      ran++;
      return "paid";
    }, { name: "pay", description: "Pay", schema: z.object({ k: z.number() }) });
    const calls = BAD_SPENDS.map((_, k) => ({ name: "pay", args: { k }, id: `c${k}` }));
    const model = fakeModel().respondWithTools(calls).respond(new AIMessage("done"));
    const spend = (req: { toolCall: { args: Record<string, unknown> } }) => BAD_SPENDS[req.toolCall.args.k as number]![1] as number;
    const agent = createAgent({ model, tools: [pay], middleware: [createPaybondMiddleware({ binding, requestedSpendCents: spend })] });
    const out = await agent.invoke({ messages: [{ role: "user", content: "go" }] });
    expect(ran).toBe(0);
    const tms = out.messages.filter((m: unknown) => ToolMessage.isInstance(m)) as ToolMessage[];
    expect(tms.length).toBe(BAD_SPENDS.length);
    for (const m of tms) {
      expect(m.status).toBe("error");
      expect(String(m.content)).toMatch(/^Paybond denied pay: spend_resolver_failed: the spend resolver for pay returned .*, not a spend \(InvalidArgumentError: .*requestedSpendCents/);
    }
    expect(out.messages.at(-1)!.content).toBe("done");
  });

  it("an OpenAI Agents guardrail whose spend callback returns a bad value rejects (spend_resolver_failed), the tool never runs", async () => {
    const { binding } = t.bind(["pay"], 10_000);
    let ran = 0;
    const pay = agentsTool({ name: "pay", description: "Pay", parameters: z.object({ k: z.number() }), execute: async () => { ran++; return "paid"; } });
    const model = new ScriptedModel(BAD_SPENDS.map((_, k) => ["pay", { k }] as [string, Record<string, unknown>]));
    const spend = (d: { toolCall: { arguments?: string } }) => BAD_SPENDS[JSON.parse(d.toolCall.arguments ?? "{}").k as number]![1] as number;
    const tools = guardFunctionTools([pay], binding, { requestedSpendCents: spend });
    const result = await new Runner().run(new Agent({ name: "a", model, tools }), "go");
    expect(result.finalOutput).toBe("done");
    expect(ran).toBe(0);
    const outs = Object.values(model.toolOutputs());
    expect(outs.length).toBe(BAD_SPENDS.length);
    for (const o of outs) expect(o).toMatch(/Paybond denied pay: spend_resolver_failed: the spend resolver for pay returned .*, not a spend \(InvalidArgumentError: .*requestedSpendCents/);
  });
});

const NUMERIC_OPTIONS: [string, unknown[]][] = [
  ["timeoutSeconds", [NaN, Infinity, -1, 0, 1e20, "5", true, {}]],
  ["deadlineSeconds", [NaN, -Infinity, 0, 1e20, "5", false]],
  ["maxRetries", [NaN, 0, 2.5, 11, 1e20, "3", true]],
  ["maxRetryAfterSeconds", [NaN, -1, 1e20, "1", true]],
  ["refreshSkewSeconds", [NaN, -1, Infinity, 1e20, "90", true]],
  ["maxResponseBytes", [NaN, 0, 1024.5, 2 ** 40, "1048576", true]],
];
const TEXT_OPTIONS: [string, unknown[]][] = [
  ["proxyUrl", [42, "not a url", "http://user:pw@127.0.0.1:1", "http://127.0.0.1:1/?x=1"]],
  ["expectedTenantId", ["", "   ", 42, true]],
];

describe("every numeric option is finite and in range, or a typed error naming it", () => {
  const cases = [...NUMERIC_OPTIONS, ...TEXT_OPTIONS].flatMap(([f, vs]) => vs.map((v) => [f, v] as [string, unknown]));
  it.each(cases)("%s = %o", async (field, bad) => {
    const base = { gatewayBaseUrl: t.harbor.gatewayUrl, apiKey: t.harbor.apiKey };
    const before = t.harbor.stats().exchanges;
    expectInvalid(await rejection(() => pk.ServiceAccountHarborSession.open({ ...base, harborBaseUrl: t.harbor.harborUrl, [field]: bad })), field);
    expectInvalid(await rejection(() => pk.ServiceAccountSignalSession.open({ ...base, [field]: bad })), field);
    if (field !== "expectedTenantId") expectInvalid(await rejection(() => new pk.GatewayHarborTokenProvider({ ...base, [field]: bad })), field);
    expect(t.harbor.stats().exchanges).toBe(before);
  });

  it("in-range options open, and the defaults are the documented ones", async () => {
    const base = { gatewayBaseUrl: t.harbor.gatewayUrl, apiKey: t.harbor.apiKey, harborBaseUrl: t.harbor.harborUrl };
    const s = await pk.ServiceAccountHarborSession.open({ ...base, timeoutSeconds: 0.5, deadlineSeconds: 1.5, maxRetries: 2, maxRetryAfterSeconds: 0, refreshSkewSeconds: 0, maxResponseBytes: 1024 });
    await s.dispose();
    const i = t.harbor.createIntent({ allowedTools: ["pay"], amountCents: 100 });
    const args = { intentId: i.intentId, token: i.capabilityToken, operation: "pay", requestedSpendCents: 1, idempotencyKey: "k-defaults" };
    t.harbor.addFault({ route: "/verify", kind: "latency", latencyMs: 1500, count: 10 });
    try {
      // Only a deadline: the per-attempt timeout is the default 10 s.
      const a = await pk.ServiceAccountHarborSession.open({ ...base, deadlineSeconds: 0.3 });
      const ea = (await rejection(() => a.harbor.verifyCapability(args))) as pk.PaybondTimeoutError;
      expect(ea).toBeInstanceOf(pk.PaybondTimeoutError);
      expect([ea.timeoutMs, ea.deadlineMs]).toEqual([10_000, 300]);
      await a.dispose();
      // Only a timeout: the deadline is the default 30 s, attempts the default 3.
      const b = await pk.ServiceAccountHarborSession.open({ ...base, timeoutSeconds: 0.2 });
      const eb = (await rejection(() => b.harbor.verifyCapability(args))) as pk.PaybondTimeoutError;
      expect(eb).toBeInstanceOf(pk.PaybondTimeoutError);
      expect([eb.timeoutMs, eb.deadlineMs, eb.attempts]).toEqual([200, 30_000, 3]);
      expect(eb.elapsedMs).toBeGreaterThanOrEqual(600);
      await b.dispose();
    } finally {
      t.harbor.clearFaults();
    }
  });

  it("a proxy URL under the URL policy: plain http to a non-loopback host is InsecureUrlError", async () => {
    const e = await rejection(() => pk.ServiceAccountHarborSession.open({ gatewayBaseUrl: t.harbor.gatewayUrl, apiKey: t.harbor.apiKey, harborBaseUrl: t.harbor.harborUrl, proxyUrl: "http://proxy.example.com:3128" }));
    expect(e).toBeInstanceOf(pk.InsecureUrlError);
  });
});

describe("hostile caller input at every public entry point", () => {
  const seed31 = "00".repeat(31);
  type Case = [string, string, () => unknown];
  const cases = (): Case[] => {
    const i = t.harbor.createIntent({ allowedTools: ["pay"], amountCents: 100 });
    const seed = i.payeeSigningSeedHex!;
    const h = t.session.harbor;
    const good = { intentId: i.intentId, token: i.capabilityToken, operation: "pay", requestedSpendCents: 1 };
    const open = { gatewayBaseUrl: t.harbor.gatewayUrl, apiKey: t.harbor.apiKey, harborBaseUrl: t.harbor.harborUrl };
    const bind = (o: Record<string, unknown>, intentId: unknown = i.intentId, token: unknown = i.capabilityToken) =>
      new pk.CapabilityBinding(h, intentId as string, token as string, o as pk.CapabilityBindingOptions);
    const sign = { tenantId: t.harbor.tenantId, intentId: i.intentId, payeeDid: i.payeeDid, payload: { a: 1 }, submittedAtRfc3339: "2030-01-02T15:04:05Z", payeeSigningSeed: seed };
    const cyc: Record<string, unknown> = { a: 1 };
    cyc.self = cyc;
    const body = pk.signPayeeEvidenceBinding(sign);
    const evid = bind({ payeeDid: i.payeeDid, payeeSigningSeed: seed });
    const any = (v: unknown) => v as never;
    // Hostile objects: a getter or a Proxy trap that throws while the kit reads the field.
    const throwing = <T extends object>(o: T, key: string): T => {
      const c = { ...o };
      Object.defineProperty(c, key, { enumerable: true, get: () => { throw new Error("getter threw"); } });
      return c;
    };
    const trap = <T extends object>(o: T, key: string): T => new Proxy({ ...o }, { get: (x, k) => { if (k === key) throw new TypeError("trap threw"); return (x as Record<string | symbol, unknown>)[k]; } });
    return [
      ["open: options null", "options", () => pk.ServiceAccountHarborSession.open(any(null))],
      ["open: options a string", "options", () => pk.ServiceAccountHarborSession.open(any("https://x"))],
      ["open: gatewayBaseUrl a number", "gatewayBaseUrl", () => pk.ServiceAccountHarborSession.open({ ...open, gatewayBaseUrl: any(42) })],
      ["open: gatewayBaseUrl empty", "gatewayBaseUrl", () => pk.ServiceAccountHarborSession.open({ ...open, gatewayBaseUrl: "" })],
      ["open: harborBaseUrl not a URL", "harborBaseUrl", () => pk.ServiceAccountHarborSession.open({ ...open, harborBaseUrl: "harbor" })],
      ["open: harborBaseUrl with a query", "harborBaseUrl", () => pk.ServiceAccountHarborSession.open({ ...open, harborBaseUrl: `${t.harbor.harborUrl}/?x=1` })],
      ["open: apiKey a number", "apiKey", () => pk.ServiceAccountHarborSession.open({ ...open, apiKey: any(42) })],
      ["signal open: trustedSigningKeyHex not hex", "trustedSigningKeyHex", () => pk.ServiceAccountSignalSession.open({ ...open, trustedSigningKeyHex: "zz" })],
      ["signal open: expectedEnvironment empty", "expectedEnvironment", () => pk.ServiceAccountSignalSession.open({ ...open, expectedEnvironment: "" })],
      ["token provider: expectedTenantId", "expectedTenantId", () => new pk.GatewayHarborTokenProvider({ ...open, ...{ expectedTenantId: "t" } } as never)],
      ["verify: args null", "args", () => h.verifyCapability(any(null))],
      ["verify: intentId a number", "intentId", () => h.verifyCapability({ ...good, intentId: any(42) })],
      ["verify: intentId not a UUID", "intentId", () => h.verifyCapability({ ...good, intentId: "nope" })],
      ["verify: intentId empty", "intentId", () => h.verifyCapability({ ...good, intentId: "" })],
      ["verify: token empty", "token", () => h.verifyCapability({ ...good, token: "" })],
      ["verify: token an object", "token", () => h.verifyCapability({ ...good, token: any({}) })],
      ["verify: operation empty", "operation", () => h.verifyCapability({ ...good, operation: "" })],
      ["verify: operation a boolean", "operation", () => h.verifyCapability({ ...good, operation: any(true) })],
      ["verify: toolName a number", "toolName", () => h.verifyCapability({ ...good, toolName: any(1) })],
      ["verify: idempotencyKey empty", "idempotencyKey", () => h.verifyCapability({ ...good, idempotencyKey: "" })],
      ["verify: idempotencyKey 300 chars", "idempotencyKey", () => h.verifyCapability({ ...good, idempotencyKey: "k".repeat(300) })],
      ["verify: requestedSpendCents missing", "requestedSpendCents", () => h.verifyCapability({ ...good, requestedSpendCents: any(undefined) })],
      ["verify: requestedSpendCents 1e300", "requestedSpendCents", () => h.verifyCapability({ ...good, requestedSpendCents: 1e300 })],
      ["verify: a getter that throws", "toolName", () => h.verifyCapability(throwing(good, "toolName"))],
      ["verify: a Proxy trap that throws", "currency", () => h.verifyCapability(trap(good, "currency"))],
      ["open: a getter that throws", "timeoutSeconds", () => pk.ServiceAccountHarborSession.open(throwing(open, "timeoutSeconds"))],
      ["binding: an options getter that throws", "payeeDid", () => bind(throwing({}, "payeeDid"))],
      ["binding: a getter inside operations that throws", "operations", () => bind({ operations: throwing({ pay: "pay" }, "search") })],
      ["binding: a Proxy trap inside operations that throws", "operations", () => bind({ operations: trap({ pay: "pay" }, "pay") })],
      ["binding: harbor not a client", "harbor", () => new pk.CapabilityBinding(any({}), i.intentId, i.capabilityToken)],
      ["binding: intentId not a UUID", "intentId", () => bind({}, "nope")],
      ["binding: intentId a number", "intentId", () => bind({}, 7)],
      ["binding: capabilityToken empty", "capabilityToken", () => bind({}, i.intentId, "")],
      ["binding: options a string", "options", () => bind(any("x"))],
      ["binding: seed not hex", "payeeSigningSeed", () => bind({ payeeDid: i.payeeDid, payeeSigningSeed: "zz" })],
      ["binding: seed 31 bytes hex", "payeeSigningSeed", () => bind({ payeeDid: i.payeeDid, payeeSigningSeed: seed31 })],
      ["binding: seed 31 bytes", "payeeSigningSeed", () => bind({ payeeDid: i.payeeDid, payeeSigningSeed: new Uint8Array(31) })],
      ["binding: seed 33 bytes Buffer", "payeeSigningSeed", () => bind({ payeeDid: i.payeeDid, payeeSigningSeed: Buffer.alloc(33) })],
      ["binding: seed a number", "payeeSigningSeed", () => bind({ payeeDid: i.payeeDid, payeeSigningSeed: 7 })],
      ["binding: seed a Float64Array", "payeeSigningSeed", () => bind({ payeeDid: i.payeeDid, payeeSigningSeed: new Float64Array(4) })],
      ["binding: payeeDid without seed", "payeeSigningSeed", () => bind({ payeeDid: i.payeeDid })],
      ["binding: seed without payeeDid", "payeeDid", () => bind({ payeeSigningSeed: seed })],
      ["binding: evidenceVersion 3", "evidenceVersion", () => bind({ payeeDid: i.payeeDid, payeeSigningSeed: seed, evidenceVersion: 3 })],
      ["binding: evidenceVersion 1.5", "evidenceVersion", () => bind({ payeeDid: i.payeeDid, payeeSigningSeed: seed, evidenceVersion: 1.5 })],
      ["binding: evidenceVersion NaN", "evidenceVersion", () => bind({ payeeDid: i.payeeDid, payeeSigningSeed: seed, evidenceVersion: NaN })],
      ["binding: operations values not strings", "operations", () => bind({ operations: { pay: 1 } })],
      ["binding: operations an array", "operations", () => bind({ operations: ["pay"] })],
      ["binding: currency a number", "currency", () => bind({ currency: 840 })],
      ["middleware: binding not a binding", "binding", () => createPaybondMiddleware({ binding: any({}) })],
      ["middleware: onError bad", "onError", () => createPaybondMiddleware({ binding: evid, onError: any("ignore") })],
      ["middleware: options missing", "options", () => createPaybondMiddleware(any(undefined))],
      ["guardrail: binding not a binding", "binding", () => paybondCapabilityInputGuardrail({ binding: any("b") })],
      ["sign: args null", "args", () => pk.signPayeeEvidenceBinding(any(null))],
      ["sign: tenantId empty", "tenantId", () => pk.signPayeeEvidenceBinding({ ...sign, tenantId: "" })],
      ["sign: tenantId a number", "tenantId", () => pk.signPayeeEvidenceBinding({ ...sign, tenantId: any(1) })],
      ["sign: intentId not a UUID", "intentId", () => pk.signPayeeEvidenceBinding({ ...sign, intentId: "x" })],
      ["sign: payeeDid empty", "payeeDid", () => pk.signPayeeEvidenceBinding({ ...sign, payeeDid: "" })],
      ["sign: payload NaN", "payload", () => pk.signPayeeEvidenceBinding({ ...sign, payload: { x: NaN } })],
      ["sign: payload Infinity deep", "payload", () => pk.signPayeeEvidenceBinding({ ...sign, payload: { a: [{ b: -Infinity }] } })],
      ["sign: payload bigint", "payload", () => pk.signPayeeEvidenceBinding({ ...sign, payload: { x: 1n } })],
      ["sign: payload a cycle", "payload", () => pk.signPayeeEvidenceBinding({ ...sign, payload: cyc })],
      ["sign: payload a function", "payload", () => pk.signPayeeEvidenceBinding({ ...sign, payload: { f: () => 1 } })],
      ["sign: payload undefined", "payload", () => pk.signPayeeEvidenceBinding({ ...sign, payload: undefined })],
      ["sign: payload undefined in an array", "payload", () => pk.signPayeeEvidenceBinding({ ...sign, payload: [1, undefined] })],
      ["sign: payload a Map", "payload", () => pk.signPayeeEvidenceBinding({ ...sign, payload: { m: new Map([[1, 2]]) } })],
      ["sign: payload 1000 levels deep", "payload", () => pk.signPayeeEvidenceBinding({ ...sign, payload: JSON.parse("[".repeat(1000) + "]".repeat(1000)) })],
      ["sign: payloadJson not JSON", "payloadJson", () => pk.signPayeeEvidenceBinding({ ...sign, payloadJson: "{" })],
      ["sign: payloadJson duplicate keys", "payloadJson", () => pk.signPayeeEvidenceBinding({ ...sign, payloadJson: '{"a":1,"a":2}' })],
      ["sign: payloadJson a number", "payloadJson", () => pk.signPayeeEvidenceBinding({ ...sign, payloadJson: any(5) })],
      ["sign: submittedAt not RFC 3339", "submittedAtRfc3339", () => pk.signPayeeEvidenceBinding({ ...sign, submittedAtRfc3339: "yesterday" })],
      ["sign: seed 31 bytes", "payeeSigningSeed", () => pk.signPayeeEvidenceBinding({ ...sign, payeeSigningSeed: new Uint8Array(31) })],
      ["sign: seed missing", "payeeSigningSeed", () => pk.signPayeeEvidenceBinding({ ...sign, payeeSigningSeed: any(undefined) })],
      ["sign: version 3", "version", () => pk.signPayeeEvidenceBinding({ ...sign, version: any(3) })],
      ["sign: version a string", "version", () => pk.signPayeeEvidenceBinding({ ...sign, version: any("2") })],
      ["sign: artifacts not hex", "artifactsBlake3Hex", () => pk.signPayeeEvidenceBinding({ ...sign, artifactsBlake3Hex: ["zz"] })],
      ["sign: artifacts not strings", "artifactsBlake3Hex", () => pk.signPayeeEvidenceBinding({ ...sign, artifactsBlake3Hex: any([1]) })],
      ["binding evidence: empty call id", "callId", () => evid.submitEvidence("pay", "", { ok: true })],
      ["binding evidence: call id a number", "callId", () => evid.submitEvidence("pay", any(5), { ok: true })],
      ["binding evidence: payload NaN", "payload", () => evid.submitEvidence("pay", "c1", { x: NaN })],
      ["binding evidence: no signer", "payeeSigningSeed", () => bind({}).submitEvidence("pay", "c1", { ok: true })],
      ["harbor evidence: intentId not a UUID", "intentId", () => h.submitEvidence("x", body)],
      ["harbor evidence: body not a body", "body", () => h.submitEvidence(i.intentId, { nope: 1 })],
      ["harbor evidence: body NaN", "body", () => h.submitEvidence(i.intentId, { ...body, payload: NaN })],
      ["harbor evidence: idempotencyKey empty", "idempotencyKey", () => h.submitEvidence(i.intentId, body, "")],
      ["createIntent: amountCents NaN", "amountCents", () => h.createIntent({ intentId: i.intentId, amountCents: NaN }, seed)],
      ["createIntent: intentId missing", "intentId", () => h.createIntent({ allowedTools: ["pay"] }, seed)],
      ["createIntent: seed 31 bytes", "principalSigningSeed", () => h.createIntent({ intentId: i.intentId, allowedTools: ["pay"] }, seed31)],
      ["createIntent: input a string", "input", () => h.createIntent(any("x"), seed)],
      ["ledgerEvents: afterSeq -1", "afterSeq", () => h.ledgerEvents(-1)],
      ["ledgerEvents: afterSeq 1.5", "afterSeq", () => h.ledgerEvents(1.5)],
      ["ledgerEvents: afterSeq NaN", "afterSeq", () => h.ledgerEvents(NaN)],
      ["ledgerEvents: afterSeq 2**53", "afterSeq", () => h.ledgerEvents(2 ** 53)],
      ["ledgerEvents: limit 0", "limit", () => h.ledgerEvents(0, 0)],
      ["ledgerEvents: limit 1000", "limit", () => h.ledgerEvents(0, 1000)],
      ["ledgerEvents: limit Infinity", "limit", () => h.ledgerEvents(0, Infinity)],
      ["ledgerEvents: limit a string", "limit", () => h.ledgerEvents(0, any("5"))],
      ["ledgerEvents: limit true", "limit", () => h.ledgerEvents(0, any(true))],
    ];
  };

  it("every case is a typed InvalidArgumentError with a camelCase field, before any request", async () => {
    const before = t.harbor.stats();
    const results: [string, string, unknown][] = [];
    for (const [name, field, f] of cases()) {
      let outcome: unknown = "no error";
      try {
        await f();
      } catch (e) {
        outcome = e;
      }
      results.push([name, field, outcome]);
    }
    const wrong = results.filter(([, field, e]) => !(e instanceof pk.InvalidArgumentError && e.field === field && !/_/.test(field)));
    expect(wrong.map(([n, f, e]) => `${n}: want ${f}, got ${e instanceof pk.PaybondError ? `${e.name}(${(e as pk.InvalidArgumentError).field}): ${e.message}` : String(e)}`)).toEqual([]);
    const after = t.harbor.stats();
    expect(after.verifies).toBe(before.verifies);
    expect(after.evidenceAccepted).toBe(before.evidenceAccepted);
  });

  it("Signal reads name operatorDid and scoreVersion", async () => {
    await using sig = await pk.ServiceAccountSignalSession.open({ gatewayBaseUrl: t.harbor.gatewayUrl, apiKey: t.harbor.apiKey });
    for (const [f, field] of [
      [() => sig.signal.reputationReceipt(42 as never), "operatorDid"],
      [() => sig.signal.reputationReceipt(undefined as never), "operatorDid"],
      [() => sig.signal.operatorExplanation({} as never), "operatorDid"],
      [() => sig.signal.operatorReviewStatus(null as never), "operatorDid"],
      [() => sig.signal.reputationReceipt("did:x", 1 as never), "scoreVersion"],
      [() => sig.signal.portfolioSummary(true as never), "scoreVersion"],
    ] as [() => Promise<unknown>, string][]) {
      expectInvalid(await rejection(f), field);
    }
  });

  it("authorize never rejects on bad input: a deny naming the field", async () => {
    const { binding } = t.bind(["pay"], 100);
    const before = t.harbor.stats().verifies;
    for (const [args, field] of [
      [[42, "c1", {}, 1], "toolName"],
      [["pay", {}, {}, 1], "callId"],
      [["pay", "c1", { x: NaN }, 1], "args"],
      [["pay", "c1", { x: 2n }, 1], "args"],
      [["pay", "c1", {}, "1"], "requestedSpendCents"],
    ] as [unknown[], string][]) {
      const d = await (binding.authorize as (...a: unknown[]) => Promise<pk.Decision>)(...args);
      expect([d.decision, d.code]).toEqual(["deny", "invalid_argument"]);
      expect(d.message).toContain(field);
    }
    expect(t.harbor.stats().verifies).toBe(before);
  });
});
