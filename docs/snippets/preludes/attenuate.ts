// docs-check: env
// The prelude for an excerpt that narrows `binding` (one binding on the dev server the docs check
// starts, whose intent allows search and book_hotel) into `child`.
import { CapabilityBinding, ServiceAccountHarborSession } from "paybond-kit";

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
await using session = await ServiceAccountHarborSession.open({
  gatewayBaseUrl: env("PAYBOND_GATEWAY_URL"), apiKey: env("PAYBOND_API_KEY"), harborBaseUrl: env("PAYBOND_HARBOR_URL"),
});
const binding = new CapabilityBinding(session.harbor, env("PAYBOND_INTENT_ID"), env("PAYBOND_CAPABILITY_TOKEN"));

// docs-check: block

const d = await child.authorize("book_hotel", "docs-attenuate-1", {}, 0);
if (d.decision !== "deny") throw new Error("the child may not book");
console.log("child:", (await child.authorize("search", "docs-attenuate-2", {}, 0)).decision);
