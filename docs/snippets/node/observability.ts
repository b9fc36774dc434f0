/**
 * Observability in Node: guard decisions through `onDecision`, and the fields of an error to put in
 * a support ticket. (The core's own log events are bridged to Python's `logging` only, for now.)
 */
import { inspect } from "node:util";
import assert from "node:assert/strict";
import { CapabilityBinding, PaybondError, ServiceAccountHarborSession, type Decision } from "paybond-kit";
import { LocalHarbor } from "paybond-kit/testing";

/** What support needs: class, stable code, message and the structured fields (all redacted). */
function ticketFields(e: PaybondError): Record<string, unknown> {
  const names = ["statusCode", "url", "bodyText", "field", "attempts", "elapsedMs", "timeoutMs", "deadlineMs", "callId"];
  const fields = Object.fromEntries(names.filter((n) => (e as unknown as Record<string, unknown>)[n] != null).map((n) => [n, (e as unknown as Record<string, unknown>)[n]]));
  return { class: e.name, code: e.code, message: e.message, ...fields };
}

/** What to log for a guarded call: Harbor's audit id ties your log line to Harbor's. */
function decisionFields(tool: string, d: Decision): Record<string, unknown> {
  return { tool, decision: d.decision, code: d.code, reason: d.reason, auditId: d.auditId, decisionId: d.decisionId, message: d.message };
}

await using harbor = await LocalHarbor.start();
const intent = harbor.createIntent({ allowedTools: ["search"], amountCents: 100 });
await using session = await ServiceAccountHarborSession.open({ gatewayBaseUrl: harbor.gatewayUrl, apiKey: harbor.apiKey, harborBaseUrl: harbor.harborUrl });
const binding = new CapabilityBinding(session.harbor, intent.intentId, intent.capabilityToken);

const lines: string[] = [];
const log = (level: string, msg: string, fields: Record<string, unknown>) => lines.push(`${level} ${msg} ${JSON.stringify(fields)}`);

const d = await binding.authorize("search", "c1", { q: "x" }, 500);
log("warn", "paybond decision", decisionFields("search", d));

harbor.addFault({ route: "/verify", kind: "status", status: 400, body: { echo: harbor.apiKey } }); // a server echoing a secret
const err = await session.harbor.verifyCapability({ intentId: intent.intentId, token: intent.capabilityToken, operation: "search", requestedSpendCents: 1 }).catch((e: unknown) => e);
assert.ok(err instanceof PaybondError);
log("error", "paybond call failed", ticketFields(err));

// Kit objects never show a secret either: util.inspect, console.log and JSON.stringify are safe.
lines.push(inspect(session), inspect(binding), inspect(intent), JSON.stringify(binding));
console.log(lines.join("\n"));
const text = lines.join("\n");
assert.ok(!text.includes(harbor.apiKey) && !text.includes(intent.capabilityToken.slice(0, 16)));
