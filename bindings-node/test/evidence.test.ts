// Evidence signed over what Harbor reads (payloads cross as JSON text: integers above 2^32
// stay integers, floats are digested as Harbor parses them), evidence conflicts, the typed
// createIntent result, and Signal receipt signatures.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspect } from "node:util";
import fc from "fast-check";
import * as pk from "../dist/esm/index.js";
import { setup } from "./helpers.js";

type T = Awaited<ReturnType<typeof setup>>;
let t: T;
beforeAll(async () => {
  t = await setup();
});
afterAll(async () => {
  await t.close();
});

const SEED = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const AT = "2030-01-02T15:04:05Z";

/** Floats across 30 orders of magnitude (1e-15..1e15), the whole double range, and known trouble-makers. */
const float = fc.oneof(
  fc.tuple(fc.double({ min: 1, max: 10, noNaN: true, maxExcluded: true }), fc.integer({ min: -15, max: 15 }), fc.boolean()).map(([m, e, neg]) => (neg ? -m : m) * 10 ** e),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(9.815849654550425e-5, 0.0072108223809406215, 0.1, 0.3, 1e-7, 1e21, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -0, 123456.789),
);
/** Integers, many above 2^32 (timestamps in ms, amounts in micros) up to 2^53-1. */
const integer = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.maxSafeNat().filter((n) => n > 2 ** 32),
  fc.constantFrom(Date.now(), 2 ** 32, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1_765_432_101_234_567),
);
const key = fc.oneof(fc.string({ unit: "grapheme", maxLength: 8 }), fc.constantFrom("a", "é", "日本語", "🔑", "k\u0000", "\"q\"", "back\\slash"));
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    float,
    integer,
    fc.string({ unit: "grapheme", maxLength: 12 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(key, tie("value"), { maxKeys: 4 }),
  ),
}));
const payload = fc.dictionary(key, value, { minKeys: 1, maxKeys: 6 });

describe("evidence payloads given as JS objects", () => {
  it("2400 random payloads (nested, unicode keys, floats over 30 orders of magnitude, integers above 2^32) are all accepted", async () => {
    const { harbor, session } = t;
    const intents = Array.from({ length: 12 }, () => harbor.createIntent({ allowedTools: ["search"], amountCents: 1_000_000 }));
    const bindings = intents.map((i) => new pk.CapabilityBinding(session.harbor, i.intentId, i.capabilityToken, { payeeDid: i.payeeDid, payeeSigningSeed: i.payeeSigningSeedHex! }));
    const before = harbor.stats().evidenceAccepted;
    const samples = fc.sample(payload, { numRuns: 2400, seed: 20261201 });
    const failures: string[] = [];
    let k = 0;
    const worker = async () => {
      while (k < samples.length) {
        const n = k++;
        const p = samples[n]!;
        const slot = n % intents.length;
        try {
          if (n % 2 === 0) {
            // The guard's path: sign once per call id and submit.
            await bindings[slot]!.submitEvidence("search", `call-${n}`, p);
          } else {
            // The explicit path: sign as the payee, then submit the body.
            const i = intents[slot]!;
            const body = pk.signPayeeEvidenceBinding({ tenantId: harbor.tenantId, intentId: i.intentId, payeeDid: i.payeeDid, payload: p, submittedAtRfc3339: new Date().toISOString(), payeeSigningSeed: i.payeeSigningSeedHex! });
            await session.harbor.submitEvidence(i.intentId, body);
          }
        } catch (e) {
          failures.push(`${n}: ${String(e)}: ${JSON.stringify(p).slice(0, 300)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(failures.slice(0, 5)).toEqual([]);
    expect(harbor.stats().evidenceAccepted - before).toBe(samples.length);
  }, 120_000);

  it("the issue's floats are accepted through both paths", async () => {
    const { binding, intent } = t.bind(["search"], 1000, true);
    for (const [k, x] of [9.815849654550425e-5, 0.0072108223809406215].entries()) {
      await binding.submitEvidence("search", `f${k}`, { x });
      const body = pk.signPayeeEvidenceBinding({ tenantId: t.harbor.tenantId, intentId: intent.intentId, payeeDid: intent.payeeDid, payload: { x }, submittedAtRfc3339: AT, payeeSigningSeed: intent.payeeSigningSeedHex! });
      await t.session.harbor.submitEvidence(intent.intentId, body);
    }
  });

  it("{ ts: Date.now() } signs as an integer: the same bytes as the payload given as JSON text", () => {
    const ts = Date.now();
    expect(ts).toBeGreaterThan(2 ** 32);
    const base = { tenantId: "tenant-1", intentId: "5f0e7c1a-3b1d-4c55-9a49-0a7f1f6b2c11", payeeDid: "did:payee:1", submittedAtRfc3339: AT, payeeSigningSeed: SEED };
    const asObject = pk.signPayeeEvidence({ ...base, payload: { ts, amountMicros: 1_234_567_890_123 } });
    const asText = pk.signPayeeEvidence({ ...base, payloadJson: `{"ts":${ts},"amountMicros":1234567890123}` });
    const asFloat = pk.signPayeeEvidence({ ...base, payloadJson: `{"ts":${ts}.0,"amountMicros":1234567890123.0}` });
    expect(asObject.signBytesHex).toBe(asText.signBytesHex);
    expect(asObject.body.payee_signature).toBe(asText.body.payee_signature);
    expect(asObject.signBytesHex).not.toBe(asFloat.signBytesHex);
    expect(asObject.bodyJson).toContain(`"ts":${ts}`);
    expect(asObject.bodyJson).not.toContain(`${ts}.0`);
    expect(pk.jsonValueDigestHex({ ts })).toBe(pk.jsonValueDigestHex(`{"ts":${ts}}`, true));
  });

  it("a Date in a payload is its ISO string, as JSON.stringify writes it", () => {
    const base = { tenantId: "tenant-1", intentId: "5f0e7c1a-3b1d-4c55-9a49-0a7f1f6b2c11", payeeDid: "did:payee:1", submittedAtRfc3339: AT, payeeSigningSeed: SEED };
    const d = new Date(0);
    expect(pk.signPayeeEvidence({ ...base, payload: { d, u: undefined } }).signBytesHex).toBe(pk.signPayeeEvidence({ ...base, payloadJson: JSON.stringify({ d }) }).signBytesHex);
  });
});

describe("evidence conflicts", () => {
  it("a different payload under a call id that has evidence is EvidenceConflictError; the same one replays", async () => {
    const { binding } = t.bind(["search"], 1000, true);
    const before = t.harbor.stats().evidenceAccepted;
    await binding.submitEvidence("search", "call-1", { result: "a" });
    await binding.submitEvidence("search", "call-1", { result: "a" });
    const e = await binding.submitEvidence("search", "call-1", { result: "b" }).catch((x) => x);
    expect(e).toBeInstanceOf(pk.EvidenceConflictError);
    expect(e).toBeInstanceOf(pk.PaybondError);
    expect([e.code, e.callId]).toEqual(["evidence_conflict", "call-1"]);
    expect(t.harbor.stats().evidenceAccepted - before).toBe(1);
    const e2 = await binding.submitEvidence("search", "", { result: "c" }).catch((x) => x);
    expect(e2).toBeInstanceOf(pk.InvalidArgumentError);
    expect(e2.field).toBe("callId");
    const e3 = await binding.submitEvidence("search", "   ", { result: "c" }).catch((x) => x);
    expect(e3).toBeInstanceOf(pk.InvalidArgumentError);
    expect(t.harbor.stats().evidenceAccepted - before).toBe(1);
  });

  it("an adapter never runs a call id twice, so a second payload cannot even be signed", async () => {
    const { GuardCore } = await import("../dist/esm/guard.js");
    const { binding } = t.bind(["search"], 1000, true);
    const events: { evidenceErrorCode?: string | null; ran: boolean; decision: { code?: string } }[] = [];
    let n = 0;
    const g = new GuardCore({ spend: 1, onError: "deny", evidence: () => ({ n: n++ }), onDecision: (e) => events.push(e) });
    expect(await g.run(binding, "search", "same-call", {}, {}, async () => "r1", () => "denied")).toBe("r1");
    expect(await g.run(binding, "search", "same-call", {}, {}, async () => "r2", () => "denied")).toBe("denied");
    expect(events.map((e) => [e.ran, e.evidenceErrorCode ?? null, e.decision.code ?? null])).toEqual([
      [true, null, null],
      [false, null, "call_replayed"],
    ]);
    // A different payload for that call through the binding is still a typed conflict.
    await expect(binding.submitEvidence("search", "same-call", { n: 99 })).rejects.toBeInstanceOf(pk.EvidenceConflictError);
  });
});

describe("createIntent", () => {
  it("returns a typed result whose capability token never shows in inspect or JSON", async () => {
    const payee = t.harbor.createIntent({ allowedTools: ["x"], amountCents: 1 });
    const created = await t.session.harbor.createIntent(
      {
        intentId: "6f0e7c1a-3b1d-4c55-9a49-0a7f1f6b2c12", principalDid: "did:principal:me", payeeDid: "did:payee:you",
        payeePubkey: payee.payeePubkey, budget: { max_cents: 300 }, currency: "usd", amountCents: 300,
        evidenceSchema: { type: "object" }, deadline: "2099-01-01T00:00:00Z", predicateDsl: {}, allowedTools: ["search"], settlementRail: "stripe_connect",
      },
      Buffer.from(SEED, "hex"),
    );
    expect(created).toBeInstanceOf(pk.IntentCreated);
    expect([created.tenant, created.intentId, created.state]).toEqual([t.harbor.tenantId, "6f0e7c1a-3b1d-4c55-9a49-0a7f1f6b2c12", "funded"]);
    const token = created.capabilityToken!;
    expect(typeof token).toBe("string");
    expect(token.length).toBeGreaterThan(100);
    for (const text of [inspect(created, { depth: 10 }), inspect(created, { showHidden: true }), JSON.stringify(created), String(created), Object.keys(created).join(",")]) {
      expect(text.includes(token)).toBe(false);
      expect(text.includes(token.slice(0, 16))).toBe(false);
    }
    // The token works: a binding on it verifies.
    const b = new pk.CapabilityBinding(t.session.harbor, created.intentId, token);
    expect((await b.authorize("search", "c1", {}, 1)).decision).toBe("allow");
  });
});

describe("Signal receipts", () => {
  it("say which key checked them; an unsigned receipt is SignatureInvalidError", async () => {
    const { binding, intent } = t.bind(["search"], 1000, true);
    await binding.authorize("search", "s1", {}, 1);
    await binding.submitEvidence("search", "s1", { ok: true });
    const base = { gatewayBaseUrl: t.harbor.gatewayUrl, apiKey: t.harbor.apiKey };
    await using pinned = await pk.ServiceAccountSignalSession.open({ ...base, trustedSigningKeyHex: t.harbor.signalPublicKeyHex });
    await using open = await pk.ServiceAccountSignalSession.open(base);
    expect((await pinned.signal.reputationReceipt(intent.payeeDid))?.signatureCheckedWith).toBe("pinned_key");
    expect((await open.signal.reputationReceipt(intent.payeeDid))?.signatureCheckedWith).toBe("embedded_key");
    for (const field of ["receipt.signing_public_key_hex", "receipt.signature_hex"]) {
      const id = t.harbor.addFault({ route: "/reputation/*", kind: "remove_field", field, count: 2 });
      for (const s of [open, pinned]) {
        const e = await s.signal.reputationReceipt(intent.payeeDid).catch((x) => x);
        expect(e, field).toBeInstanceOf(pk.SignatureInvalidError);
        expect(e.code).toBe("signature_invalid");
      }
      expect(id).toBeGreaterThan(0);
      t.harbor.clearFaults();
    }
  });
});
