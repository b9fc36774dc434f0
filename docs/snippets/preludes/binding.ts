// docs-check: env
// The prelude for excerpts that use an open `session` and an intent (`intentId`, `capabilityToken`)
// on the dev server the docs check starts.
import { CapabilityBinding, ServiceAccountHarborSession } from "paybond-kit";

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const intentId = env("PAYBOND_INTENT_ID");
const capabilityToken = env("PAYBOND_CAPABILITY_TOKEN");
await using session = await ServiceAccountHarborSession.open({
  gatewayBaseUrl: env("PAYBOND_GATEWAY_URL"), apiKey: env("PAYBOND_API_KEY"), harborBaseUrl: env("PAYBOND_HARBOR_URL"),
});

// docs-check: block

if (binding.intentId !== intentId) throw new Error("bound to another intent");
console.log("excerpt ran on", binding.tenantId, binding.intentId);
