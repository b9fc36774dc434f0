import { describe, expect, it } from "vitest";
import { inspect } from "node:util";
import * as pk from "../dist/esm/index.js";
import { setup, VERIFY_FAULTS } from "./helpers.js";

describe("API against LocalHarbor", () => {
  it("verifies, allows and denies with typed results", async () => {
    const t = await setup();
    try {
      expect(t.session.tenantId).toBe(t.harbor.tenantId);
      const i = t.harbor.createIntent({ allowedTools: ["search"], amountCents: 100 });
      const ok = await t.session.harbor.verifyCapability({ intentId: i.intentId, token: i.capabilityToken, operation: "search", requestedSpendCents: 30 });
      expect(ok.allow).toBe(true);
      expect(ok.remainingCents).toBe(70);
      // The exact shape of the answer: every key of VerifyResult, absent values are null (not undefined).
      expect(Object.keys(ok)).toEqual(["allow", "auditId", "tenant", "intentId", "code", "message", "decisionId", "remainingCents", "reasonCodes", "retryAfter", "approvalRequestId"]);
      expect([ok.code, ok.retryAfter, ok.tenant, ok.intentId]).toEqual([null, null, t.harbor.tenantId, i.intentId]);
      expect(ok.auditId).toMatch(/^[0-9a-f-]{36}$/);
      expect(Array.isArray(ok.reasonCodes)).toBe(true);
      const no = await t.session.harbor.verifyCapability({ intentId: i.intentId, token: i.capabilityToken, operation: "wire", requestedSpendCents: 1 });
      expect([no.allow, no.code]).toEqual([false, "operation_not_allowed"]);
      const { binding } = t.bind(["search"], 100);
      const d = await binding.authorize("search", "c1", { q: 1 }, 200);
      expect([d.decision, d.code, d.reason]).toEqual(["deny", "harbor_denied", "budget_exceeded"]);
      expect(pk.describeDecision(d, "search")).toMatch(/^Paybond denied search: harbor_denied: budget_exceeded/);
    } finally {
      await t.close();
    }
  });

  it("names the bad field and refuses a token for another intent before sending", async () => {
    const t = await setup();
    try {
      const a = t.harbor.createIntent({ allowedTools: ["search"], amountCents: 100 });
      const b = t.harbor.createIntent({ allowedTools: ["search"], amountCents: 100 });
      const e1 = await t.session.harbor.verifyCapability({ intentId: "nope", token: a.capabilityToken, operation: "search", requestedSpendCents: 1 }).catch((e) => e);
      expect(e1).toBeInstanceOf(pk.InvalidArgumentError);
      expect(e1.field).toBe("intentId");
      const e2 = await t.session.harbor.verifyCapability({ intentId: a.intentId, token: a.capabilityToken, operation: "search", requestedSpendCents: -1 }).catch((e) => e);
      expect(e2).toBeInstanceOf(pk.InvalidArgumentError);
      const before = t.harbor.stats().verifies;
      const e3 = await t.session.harbor.verifyCapability({ intentId: b.intentId, token: a.capabilityToken, operation: "search", requestedSpendCents: 1 }).catch((e) => e);
      expect(e3).toBeInstanceOf(pk.TokenIntentMismatchError);
      expect(() => new pk.CapabilityBinding(t.session.harbor, b.intentId, a.capabilityToken)).toThrow(pk.TokenIntentMismatchError);
      expect(t.harbor.stats().verifies).toBe(before);
    } finally {
      await t.close();
    }
  });

  it("maps HTTP errors to HarborHttpError with statusCode, url, bodyText", async () => {
    const t = await setup();
    try {
      const i = t.harbor.createIntent({ allowedTools: ["search"], amountCents: 100 });
      t.harbor.addFault({ route: "/verify", kind: "status", status: 418 });
      const e = await t.session.harbor.verifyCapability({ intentId: i.intentId, token: i.capabilityToken, operation: "search", requestedSpendCents: 1 }).catch((x) => x);
      expect(e).toBeInstanceOf(pk.HarborHttpError);
      expect(e).toBeInstanceOf(pk.PaybondError);
      expect([e.statusCode, e.code]).toEqual([418, "http_error"]);
      expect(e.url).toMatch(/\/verify$/);
      expect(e.bodyText).toContain("injected");
      const e2 = await pk.ServiceAccountHarborSession.open({ gatewayBaseUrl: "http://gw.example.com", apiKey: t.harbor.apiKey, harborBaseUrl: t.harbor.harborUrl }).catch((x) => x);
      expect(e2).toBeInstanceOf(pk.InsecureUrlError);
      const e3 = await pk.ServiceAccountHarborSession.open({ gatewayBaseUrl: t.harbor.gatewayUrl, apiKey: "paybond_sk_sandbox_nope", harborBaseUrl: t.harbor.harborUrl }).catch((x) => x);
      expect(e3).toBeInstanceOf(pk.GatewayAuthError);
      expect(e3.statusCode).toBe(401);
      const e4 = await pk.ServiceAccountHarborSession.open({ gatewayBaseUrl: t.harbor.gatewayUrl, apiKey: t.harbor.apiKey, harborBaseUrl: t.harbor.harborUrl, expectedTenantId: "evil" }).catch((x) => x);
      expect(e4).toBeInstanceOf(pk.TenantBindingError);
    } finally {
      await t.close();
    }
  });

  it.each(VERIFY_FAULTS)("fault %o is a deny with code %s", async (fault, code) => {
    const t = await setup();
    try {
      const { binding } = t.bind(["search"]);
      t.harbor.addFault({ route: "/verify", ...(fault as { kind: "status" }) });
      const d = await binding.authorize("search", "c1", {}, 1);
      expect(d.decision).toBe("deny");
      expect(d.code).toBe(code);
    } finally {
      await t.close();
    }
  });

  it("rotation, evidence once despite a dropped answer, 409 on another body, ledger reads", async () => {
    const t = await setup();
    try {
      await t.session.rotateHarborToken();
      expect(t.harbor.stats().exchanges).toBe(2);
      const { binding, intent } = t.bind(["search"], 1000, true);
      expect((await binding.authorize("search", "call-1", {}, 5)).decision).toBe("allow");
      t.harbor.addFault({ route: `/intents/${intent.intentId}/evidence`, kind: "drop_after" });
      const r = await binding.submitEvidence("search", "call-1", { status: "done" });
      expect(r.predicatePassed).toBe(true);
      await binding.submitEvidence("search", "call-1", { status: "done" });
      expect(t.harbor.stats().evidenceAccepted).toBe(1);
      const body = pk.signPayeeEvidenceBinding({ tenantId: t.harbor.tenantId, intentId: intent.intentId, payeeDid: intent.payeeDid, payload: { a: 1 }, submittedAtRfc3339: "2030-01-02T15:04:05Z", payeeSigningSeed: intent.payeeSigningSeedHex! });
      await t.session.harbor.submitEvidence(intent.intentId, body, "k1");
      await t.session.harbor.submitEvidence(intent.intentId, body, "k1");
      const other = pk.signPayeeEvidenceBinding({ tenantId: t.harbor.tenantId, intentId: intent.intentId, payeeDid: intent.payeeDid, payload: { a: 2 }, submittedAtRfc3339: "2030-01-02T15:04:05Z", payeeSigningSeed: intent.payeeSigningSeedHex! });
      const e = await t.session.harbor.submitEvidence(intent.intentId, other, "k1").catch((x) => x);
      expect(e).toBeInstanceOf(pk.HarborHttpError);
      expect(e.statusCode).toBe(409);
      const tip = await t.session.harbor.ledgerTip();
      expect(tip.seq).toBe(2);
      const page = await t.session.harbor.ledgerEvents(0, 1);
      expect(page.nextAfterSeq).toBe(1);
      expect((await t.session.harbor.ledgerMerkleLatest()).checkpoint).not.toBeNull();
    } finally {
      await t.close();
    }
  });

  it("createIntent signs as the principal for the session's tenant", async () => {
    const t = await setup();
    try {
      const payee = t.harbor.createIntent({ allowedTools: ["x"], amountCents: 1 });
      const created = await t.session.harbor.createIntent(
        {
          intent_id: "5f0e7c1a-3b1d-4c55-9a49-0a7f1f6b2c11", principal_did: "did:principal:me", payee_did: "did:payee:you",
          payee_pubkey: payee.payeePubkey, budget: { max_cents: 300 }, currency: "usd", amount_cents: 300,
          evidence_schema: { type: "object" }, deadline: "2099-01-01T00:00:00Z", predicate_dsl: {},
          allowed_tools: ["search"], settlement_rail: "stripe_connect",
        },
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
      );
      expect(created.tenant).toBe(t.harbor.tenantId);
      expect(created.state).toBe("funded");
      const e = await t.session.harbor.createIntent({ intent_id: "x" }, "00".repeat(32)).catch((x) => x);
      expect(e).toBeInstanceOf(pk.InvalidArgumentError);
      const { binding } = t.bind(["search"]);
      const e2 = await binding.submitEvidence("search", "c1", { ok: true }).catch((x) => x);
      expect(e2).toBeInstanceOf(pk.InvalidArgumentError);
      expect(e2.field).toBe("payeeSigningSeed");
    } finally {
      await t.close();
    }
  });

  it("200 concurrent guarded calls and a refresh storm across JWT expiry make one exchange", async () => {
    const t = await setup({ jwtTtlSeconds: 3, refreshSkewSeconds: 0.5 });
    try {
      const { binding } = t.bind(["search"], 1_000_000);
      await new Promise((r) => setTimeout(r, 3100));
      const ds = await Promise.all(Array.from({ length: 200 }, (_, k) => binding.authorize("search", `c${k}`, {}, 1)));
      expect(ds.every((d) => d.decision === "allow")).toBe(true);
      expect(t.harbor.stats().exchanges).toBe(2);
      expect(t.session.tokenProvider.exchangeCount).toBe(2);
    } finally {
      await t.close();
    }
  });

  it("close drains and refuses; tenant change poisons", async () => {
    const t = await setup();
    const { binding } = t.bind(["search"]);
    expect(t.harbor.rebindApiKey(t.harbor.apiKey, "tenant-evil")).toBe(true);
    const e = await t.session.rotateHarborToken().catch((x) => x);
    expect(e).toBeInstanceOf(pk.GatewayAuthError);
    expect((await binding.authorize("search", "c", {}, 1)).code).toBe("gateway_auth");
    await t.session.dispose();
    expect(t.session.closed).toBe(true);
    expect((await binding.authorize("search", "c2", {}, 1)).code).toBe("session_closed");
    await t.harbor.stop();
  });

  it("Signal reads are typed and a tampered receipt is rejected", async () => {
    const t = await setup();
    try {
      const { binding, intent } = t.bind(["search"], 1000, true);
      for (let k = 0; k < 3; k++) {
        await binding.authorize("search", `c${k}`, {}, 1);
        await binding.submitEvidence("search", `c${k}`, { k });
      }
      await using sig = await pk.ServiceAccountSignalSession.open({ gatewayBaseUrl: t.harbor.gatewayUrl, apiKey: t.harbor.apiKey, trustedSigningKeyHex: t.harbor.signalPublicKeyHex });
      const env = await sig.signal.reputationReceipt(intent.payeeDid);
      expect(env?.receipt.scoreVersion).toBe("1.0");
      expect(env?.receipt.ledgerWatermarkSeq).toBe(3);
      const rs = await sig.signal.operatorReviewStatus(intent.payeeDid);
      expect(rs?.maturityTier.band).toBe("developing");
      expect(typeof rs?.friction.replayThrottled).toBe("boolean");
      expect(await sig.signal.reputationReceipt("did:payee:nobody")).toBeNull();
      t.harbor.addFault({ route: "/reputation/*", kind: "set_field", field: "receipt.score", value: 1000 });
      await expect(sig.signal.reputationReceipt(intent.payeeDid)).rejects.toBeInstanceOf(pk.SignatureInvalidError);
    } finally {
      await t.close();
    }
  });

  it("no secret in inspect, console.log or JSON.stringify of any object or error", async () => {
    const t = await setup();
    try {
      const { binding, intent } = t.bind(["search"], 1000, true);
      const jwt = await t.session.tokenProvider.bearer();
      const secrets = [t.harbor.apiKey, jwt, intent.capabilityToken, intent.payeeSigningSeedHex!];
      const sent = secrets.slice(0, 3).join(" ");
      t.harbor.addFault({ route: "/verify", kind: "status", status: 400, body: { echo: sent, auth: `Bearer ${jwt}` } });
      const err = await t.session.harbor.verifyCapability({ intentId: intent.intentId, token: intent.capabilityToken, operation: "search", requestedSpendCents: 1 }).catch((x) => x);
      t.harbor.addFault({ route: "/v1/auth/harbor-access", kind: "status", status: 403, body: { leak: sent } });
      const err2 = await t.session.tokenProvider.forceRotate().catch((x) => x);
      const d = await binding.authorize("search", "c1", {}, 1);
      const r = await binding.submitEvidence("search", "c1", { ok: true });
      const objs: unknown[] = [t.harbor, t.session, t.session.harbor, t.session.tokenProvider, binding, intent, d, r, err, err2];
      let logged = "";
      const orig = console.log;
      console.log = (...a: unknown[]) => { logged += a.map((x) => inspect(x, { depth: 10, showHidden: false })).join(" "); };
      try {
        for (const o of objs) console.log(o);
      } finally {
        console.log = orig;
      }
      const texts = [logged, ...objs.map((o) => inspect(o, { depth: 10 })), ...objs.map((o) => JSON.stringify(o) ?? ""), ...objs.map((o) => String(o))];
      for (const text of texts) for (const s of secrets) expect(text.includes(s), text.slice(0, 200)).toBe(false);
      expect(err).toBeInstanceOf(pk.HarborHttpError);
      expect(err.bodyText).toContain("***");
    } finally {
      await t.close();
    }
  });
});
