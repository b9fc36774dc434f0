/** Payee-signed evidence: once per tool call, idempotent; another payload under the same call id is refused. */
import { CapabilityBinding, EvidenceConflictError, HarborHttpError, ServiceAccountHarborSession, signPayeeEvidence } from "paybond-kit";
import { LocalHarbor } from "paybond-kit/testing";
import assert from "node:assert/strict";

await using harbor = await LocalHarbor.start();
// Without payeePubkey the dev server makes the payee's key pair and returns its seed.
const intent = harbor.createIntent({ allowedTools: ["translate"], amountCents: 1000, payeeDid: "did:payee:acme-translations" });
await using session = await ServiceAccountHarborSession.open({ gatewayBaseUrl: harbor.gatewayUrl, apiKey: harbor.apiKey, harborBaseUrl: harbor.harborUrl });
const binding = new CapabilityBinding(session.harbor, intent.intentId, intent.capabilityToken, {
  payeeDid: intent.payeeDid,
  payeeSigningSeed: intent.payeeSigningSeedHex!,
});

assert.equal((await binding.authorize("translate", "call-7", { text: "hello" }, 50)).decision, "allow");
const result = { status: "completed", translation: "bonjour", chars: 5 };
await binding.finish("call-7", true);

// 1. Sign as the payee and submit; the idempotency key is derived from the call id.
const receipt = await binding.submitEvidence("translate", "call-7", result);
console.log("evidence:", receipt.state, "predicate passed:", receipt.predicatePassed);
// 2. The same payload again: the first submission replayed.
await binding.submitEvidence("translate", "call-7", result);
assert.equal(harbor.stats().evidenceAccepted, 1);
// 3. Another payload under the same call id: refused locally, the first one stands.
const conflict = await binding.submitEvidence("translate", "call-7", { ...result, translation: "salut" }).catch((e: unknown) => e);
assert.ok(conflict instanceof EvidenceConflictError);
console.log("refused:", conflict.code, "call", conflict.callId);

// Lower level: exact JSON text for the payload (JS numbers cannot say 1.0 or carry ints above 2^53).
const signed = signPayeeEvidence({
  tenantId: session.tenantId,
  intentId: intent.intentId,
  payeeDid: intent.payeeDid,
  payloadJson: '{"status":"completed","amount":1.0}',
  submittedAtRfc3339: "2030-01-02T15:04:05Z",
  payeeSigningSeed: intent.payeeSigningSeedHex!,
});
console.log("signed", signed.signBytesHex.length / 2, "bytes");
await session.harbor.submitEvidence(intent.intentId, signed.bodyJson, "batch-2");
await session.harbor.submitEvidence(intent.intentId, signed.bodyJson, "batch-2"); // replay
const other = signPayeeEvidence({ ...{ tenantId: session.tenantId, intentId: intent.intentId, payeeDid: intent.payeeDid }, payload: { batch: 3 }, submittedAtRfc3339: "2030-01-02T15:04:05Z", payeeSigningSeed: intent.payeeSigningSeedHex! });
const e409 = await session.harbor.submitEvidence(intent.intentId, other.body, "batch-2").catch((e: unknown) => e);
assert.ok(e409 instanceof HarborHttpError && e409.statusCode === 409);
console.log("same key, other body:", e409.statusCode);
