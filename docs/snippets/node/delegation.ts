/**
 * Delegation by attenuation: binding.attenuate(...) returns a child binding whose token is the
 * parent's plus one appended block that only narrows. Computed offline; Harbor enforces every block.
 */
import { CapabilityBinding, InvalidArgumentError, ServiceAccountHarborSession } from "paybond-kit";
import { LocalHarbor } from "paybond-kit/testing";
import assert from "node:assert/strict";

await using harbor = await LocalHarbor.start();
const intent = harbor.createIntent({ allowedTools: ["search", "book_hotel"], amountCents: 1000 });
await using session = await ServiceAccountHarborSession.open({ gatewayBaseUrl: harbor.gatewayUrl, apiKey: harbor.apiKey, harborBaseUrl: harbor.harborUrl });
const parent = new CapabilityBinding(session.harbor, intent.intentId, intent.capabilityToken);

const verifies = harbor.stats().verifies;
const child = parent.attenuate({ tools: ["search"], maxSpendPerCallCents: 100, expiresInSeconds: 600, maxCalls: 2 });
assert.equal(harbor.stats().verifies, verifies); // offline: no request
assert.equal(child.intentId, parent.intentId); // same intent, same budget

const calls: [string, string, number][] = [["c1", "search", 100], ["c2", "book_hotel", 1], ["c3", "search", 101], ["c4", "search", 1], ["c5", "search", 1]];
const reasons: (string | null | undefined)[] = [];
for (const [callId, tool, cents] of calls) {
  const d = await child.authorize(tool, callId, {}, cents);
  reasons.push(d.reason);
  console.log(`child  ${callId} ${tool.padEnd(10)} ${String(cents).padStart(3)}: ${d.decision} ${d.reason ?? ""}`);
}
assert.deepEqual(reasons.slice(1, 3).concat(reasons[4]), ["operation_not_allowed", "spend_cap_exceeded", "max_calls_exceeded"]);

// The parent keeps its scope, and the child's spend (100 + 1) came out of its intent.
const p = await parent.authorize("book_hotel", "p1", {}, 1);
console.log(`parent p1 book_hotel   1: ${p.decision}, ${p.remainingCents} cents left`);
assert.equal(p.remainingCents, 1000 - 100 - 1 - 1);

// Each block's expiry is checked on Harbor's clock.
const short = parent.attenuate({ expiresInSeconds: 30 });
harbor.advanceClock(31);
assert.equal((await short.authorize("search", "s1", {}, 0)).reason, "token_expired");

// Nothing can widen: asking for more than the parent is refused before any request.
for (const widen of [() => parent.attenuate({ tools: ["wire_money"] }), () => child.attenuate({ maxSpendPerCallCents: 500 })]) {
  assert.throws(widen, (e: unknown) => {
    console.log("refused:", (e as InvalidArgumentError).field);
    return e instanceof InvalidArgumentError;
  });
}
