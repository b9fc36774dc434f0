// docs-check: env
/**
 * The same guard against your own Gateway and Harbor: only the URLs, the key and the intent change.
 * Everything comes from the environment (docs-check points it at a dev server).
 */
import { CapabilityBinding, describeDecision, ServiceAccountHarborSession } from "paybond-kit";

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`set ${name}`);
  return v;
}

await using session = await ServiceAccountHarborSession.open({
  gatewayBaseUrl: env("PAYBOND_GATEWAY_URL"), // https://... (http:// only on loopback)
  apiKey: env("PAYBOND_API_KEY"), // a service-account key: paybond_sk_<env>_...
  harborBaseUrl: env("PAYBOND_HARBOR_URL"),
  deadlineSeconds: 10, // every guarded call is answered within this
});
console.log("tenant (from the Gateway, never from you):", session.tenantId);
const binding = new CapabilityBinding(session.harbor, env("PAYBOND_INTENT_ID"), env("PAYBOND_CAPABILITY_TOKEN"));
const d = await binding.authorize("search", "call-1", { query: "hotels" }, 10);
console.log(describeDecision(d, "search"), d.remainingCents);
if (d.decision !== "allow") throw new Error("expected an allow");
await binding.finish("call-1", true);
