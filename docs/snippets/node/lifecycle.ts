/**
 * The tool-call lifecycle with the binding directly: authorize (reserve) -> run -> finish
 * (consumed or released). A call id is single-use and bound to its arguments.
 */
import { CapabilityBinding, ServiceAccountHarborSession } from "paybond-kit";
import { LocalHarbor } from "paybond-kit/testing";
import assert from "node:assert/strict";

await using harbor = await LocalHarbor.start();
const intent = harbor.createIntent({ allowedTools: ["pay"], amountCents: 1000 });
await using session = await ServiceAccountHarborSession.open({ gatewayBaseUrl: harbor.gatewayUrl, apiKey: harbor.apiKey, harborBaseUrl: harbor.harborUrl });
const binding = new CapabilityBinding(session.harbor, intent.intentId, intent.capabilityToken);

// 1. Reserve 300 for call c-1, bound to these arguments.
const d = await binding.authorize("pay", "c-1", { amount: 300 }, 300);
assert.equal(d.decision, "allow");
assert.equal(d.remainingCents, 700);

// A resume before it ran: the same decision, no second reservation.
const again = await binding.authorize("pay", "c-1", { amount: 300 }, 300);
assert.equal(again.decisionId, d.decisionId);

// Other arguments under the same id: a deny.
const changed = await binding.authorize("pay", "c-1", { amount: 999 }, 300);
console.log(changed.code, "-", changed.message);
assert.equal(changed.code, "call_args_changed");

// 2. The tool ran and succeeded: consume the reservation.
const done = await binding.finish("c-1", true);
assert.equal(done?.remainingCents, 700);

// 3. The id is spent: a replay is a deny.
const replay = await binding.authorize("pay", "c-1", { amount: 300 }, 300);
console.log(replay.code, "-", replay.message);
assert.equal(replay.code, "call_replayed");

// A tool that threw: release, and the budget comes back.
await binding.authorize("pay", "c-2", { amount: 200 }, 200);
await binding.finish("c-2", false);
const probe = await binding.authorize("pay", "probe", {}, 0);
console.log("remaining:", probe.remainingCents);
assert.equal(probe.remainingCents, 700);
