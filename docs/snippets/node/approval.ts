/**
 * Human approval at the binding level: a call over the intent's approval threshold is
 * `approval_required` (not an allow); a reviewer decides; the same call is authorized again.
 */
import { CapabilityBinding, describeDecision, isAllowed, isApprovalRequired, ServiceAccountHarborSession } from "paybond-kit";
import { LocalHarbor } from "paybond-kit/testing";
import assert from "node:assert/strict";

await using harbor = await LocalHarbor.start();
// Calls spending more than 500 need a reviewer.
const intent = harbor.createIntent({ allowedTools: ["pay"], amountCents: 2000, approvalThresholdCents: 500 });
await using session = await ServiceAccountHarborSession.open({ gatewayBaseUrl: harbor.gatewayUrl, apiKey: harbor.apiKey, harborBaseUrl: harbor.harborUrl });
const binding = new CapabilityBinding(session.harbor, intent.intentId, intent.capabilityToken);
const args = { to: "acct-42", amount: 700 };

let d = await binding.authorize("pay", "call-1", args, 700);
assert.ok(isApprovalRequired(d) && d.approvalRequestId);
console.log(describeDecision(d, "pay"));

// A reviewer approves (Harbor decides who may; the dev server accepts this session).
const answer = await binding.decideApproval(d.approvalRequestId, "approve");
console.log("review:", answer.status);

// Same call id, same arguments: allowed once, with one reservation.
d = await binding.authorize("pay", "call-1", args, 700);
assert.ok(isAllowed(d));
await binding.finish("call-1", true);

// A rejected call is a deny whose message is the reviewer's reason.
d = await binding.authorize("pay", "call-2", args, 700);
await binding.decideApproval(d.approvalRequestId!, "reject", "over the travel policy");
d = await binding.authorize("pay", "call-2", args, 700);
console.log(describeDecision(d, "pay"));
assert.equal(d.reason, "approval_rejected");
