/** The fail-closed wire rules, each shown against the dev server with the option that governs it. */
import { CapabilityBinding, InsecureUrlError, ServiceAccountHarborSession } from "paybond-kit";
import { LocalHarbor } from "paybond-kit/testing";
import assert from "node:assert/strict";

// Environment proxies are never read: this would break every request if they were.
process.env.HTTP_PROXY = process.env.HTTPS_PROXY = process.env.ALL_PROXY = "http://127.0.0.1:9";

await using harbor = await LocalHarbor.start();
const intent = harbor.createIntent({ allowedTools: ["search"], amountCents: 1000 });
await using session = await ServiceAccountHarborSession.open({
  gatewayBaseUrl: harbor.gatewayUrl,
  apiKey: harbor.apiKey,
  harborBaseUrl: harbor.harborUrl,
  timeoutSeconds: 0.5, // one attempt, connect to last byte (default 10)
  deadlineSeconds: 1.5, // the whole call: every attempt, backoff and Retry-After wait (default 30)
  maxRetries: 3, // total attempts of a retryable request (default 3)
  maxRetryAfterSeconds: 30, // cap on a server's Retry-After (default 30)
  maxResponseBytes: 64 * 1024, // larger answers are refused unread (default 1 MiB)
});
const binding = new CapabilityBinding(session.harbor, intent.intentId, intent.capabilityToken);
const attempt = async (callId: string) => {
  const d = await binding.authorize("search", callId, {}, 1);
  return d.decision === "allow" ? "allow" : `${d.code}: ${d.message}`;
};

console.log("no proxy env used:      ", await attempt("ok-1"));
harbor.addFault({ route: "/verify", kind: "status", status: 307 });
console.log("redirect refused:       ", await attempt("r-1"));
harbor.addFault({ route: "/verify", kind: "status", status: 201 });
console.log("/verify must be 200:    ", await attempt("r-2"));
harbor.addFault({ route: "/verify", kind: "malformed" });
console.log("JSON content type only: ", await attempt("r-3"));
harbor.addFault({ route: "/verify", kind: "set_field", field: "message", value: "x".repeat(100_000) });
console.log("maxResponseBytes:       ", await attempt("r-4"));
harbor.addFault({ route: "/verify", kind: "latency", latencyMs: 5000, count: 5 });
console.log("deadlineSeconds:        ", await attempt("r-5"));

// A proxy (or base URL) over plain http:// must be loopback, like every base URL.
const e = await ServiceAccountHarborSession.open({
  gatewayBaseUrl: harbor.gatewayUrl, apiKey: harbor.apiKey, harborBaseUrl: harbor.harborUrl, proxyUrl: "http://proxy.corp.example:3128",
}).catch((x: unknown) => x);
assert.ok(e instanceof InsecureUrlError);
console.log("proxyUrl policy:        ", e.code);
