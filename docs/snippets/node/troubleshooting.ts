/** Every error class a caller can meet, triggered on purpose against the dev server, with its fields. */
import assert from "node:assert/strict";
import * as pk from "paybond-kit";
import { LocalHarbor } from "paybond-kit/testing";

async function expectError(cls: abstract new (...a: never[]) => pk.PaybondError, make: () => Promise<unknown>): Promise<void> {
  const e = await make().then(() => undefined, (x: unknown) => x);
  assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
  console.log(`${e.name.padEnd(26)} code=${e.code.padEnd(22)} ${e.message}`.slice(0, 160));
}

await using h = await LocalHarbor.start();
const a = h.createIntent({ allowedTools: ["search"], amountCents: 100, payeeDid: "did:payee:a" });
const b = h.createIntent({ allowedTools: ["search"], amountCents: 100 });
const open = (o: Partial<pk.HarborSessionOptions> = {}) =>
  pk.ServiceAccountHarborSession.open({ gatewayBaseUrl: h.gatewayUrl, apiKey: h.apiKey, harborBaseUrl: h.harborUrl, timeoutSeconds: 0.3, deadlineSeconds: 1, ...o });

await expectError(pk.InsecureUrlError, () => open({ gatewayBaseUrl: "http://gateway.example.com" }));
await expectError(pk.InvalidArgumentError, () => open({ timeoutSeconds: 0 }));
await expectError(pk.GatewayAuthError, () => open({ apiKey: "paybond_sk_sandbox_revoked" }));
await expectError(pk.TenantBindingError, () => open({ expectedTenantId: "tenant-other" }));

const s = await open();
const verify = (intentId: string, token: string) => s.harbor.verifyCapability({ intentId, token, operation: "search", requestedSpendCents: 1 });
await expectError(pk.TokenIntentMismatchError, () => verify(b.intentId, a.capabilityToken));
h.addFault({ route: "/verify", kind: "status", status: 418 });
await expectError(pk.HarborHttpError, () => verify(a.intentId, a.capabilityToken));
h.addFault({ route: "/verify", kind: "malformed" });
await expectError(pk.InvalidResponseError, () => verify(a.intentId, a.capabilityToken));
h.addFault({ route: "/verify", kind: "wrong_tenant" });
await expectError(pk.TenantBindingError, () => verify(a.intentId, a.capabilityToken));
h.addFault({ route: "/verify", kind: "drop", count: 3 });
await expectError(pk.TransportError, () => verify(a.intentId, a.capabilityToken));
h.addFault({ route: "/verify", kind: "latency", latencyMs: 2000, count: 3 });
await expectError(pk.PaybondTimeoutError, () => verify(a.intentId, a.capabilityToken));
await s.dispose();
await expectError(pk.SessionClosedError, () => verify(a.intentId, a.capabilityToken));

await using sig = await pk.ServiceAccountSignalSession.open({ gatewayBaseUrl: h.gatewayUrl, apiKey: h.apiKey });
h.addFault({ route: "/signal/v1/portfolio/summary", kind: "status", status: 500, count: 3 });
await expectError(pk.SignalHttpError, () => sig.signal.portfolioSummary());
{
  await using s2 = await open();
  const binding = new pk.CapabilityBinding(s2.harbor, a.intentId, a.capabilityToken, { payeeDid: a.payeeDid, payeeSigningSeed: a.payeeSigningSeedHex! });
  await binding.authorize("search", "c1", {}, 1);
  await binding.submitEvidence("search", "c1", { n: 1 });
  await expectError(pk.EvidenceConflictError, () => binding.submitEvidence("search", "c1", { n: 2 }));
}
h.addFault({ route: "/reputation/*", kind: "set_field", field: "receipt.score", value: 1000 }); // tampered after signing
await expectError(pk.SignatureInvalidError, () => sig.signal.reputationReceipt(a.payeeDid));
