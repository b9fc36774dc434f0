/**
 * Credential rotation drill: a new API key, a new session on it, drain the old session, dispose it.
 * Also: a fresh Harbor JWT with the same key (rotateHarborToken / tokenProvider.forceRotate).
 */
import { CapabilityBinding, ServiceAccountHarborSession } from "paybond-kit";
import { LocalHarbor } from "paybond-kit/testing";
import assert from "node:assert/strict";

await using harbor = await LocalHarbor.start();
const intent = harbor.createIntent({ allowedTools: ["search"], amountCents: 1000 });
const open = (apiKey: string, expectedTenantId?: string) =>
  ServiceAccountHarborSession.open({ gatewayBaseUrl: harbor.gatewayUrl, apiKey, harborBaseUrl: harbor.harborUrl, expectedTenantId });

const old = await open(harbor.apiKey);
const oldBinding = new CapabilityBinding(old.harbor, intent.intentId, intent.capabilityToken);

// 1. A second key for the SAME tenant. Production: your Paybond dashboard.
//    Dev server: createTenant(<existing tenant id>) adds a key to that tenant.
const { tenantId, apiKey: newKey } = harbor.createTenant(old.tenantId);
assert.equal(tenantId, old.tenantId);

// 2. A new session on the new key; it rejects if the Gateway names another tenant.
await using fresh = await open(newKey, old.tenantId);
// The capability token is bound to the tenant and intent, not to the key: reuse it.
const newBinding = new CapabilityBinding(fresh.harbor, intent.intentId, intent.capabilityToken);

// 3. Drain: a call still in flight on the old session finishes; dispose() waits for it.
harbor.addFault({ route: "/verify", kind: "latency", latencyMs: 300 });
const inFlight = oldBinding.authorize("search", "c-old", {}, 10);
await new Promise((r) => setTimeout(r, 50));
await old.dispose(); // refuses new calls, waits for the in-flight one
assert.equal((await inFlight).decision, "allow");
const late = await oldBinding.authorize("search", "c-late", {}, 10);
console.log("old session after dispose:", late.code);
assert.equal(late.code, "session_closed");
assert.equal((await newBinding.authorize("search", "c-new", {}, 10)).decision, "allow");

// 4. Revoke the old key (production: the dashboard; the dev server has no revocation route).

// Same key, a fresh Harbor JWT now:
const before = harbor.stats().exchanges;
await fresh.rotateHarborToken();
await fresh.tokenProvider.forceRotate();
console.log("exchanges:", before, "->", harbor.stats().exchanges);
assert.equal(harbor.stats().exchanges, before + 2);
