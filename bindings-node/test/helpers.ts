import { CapabilityBinding, ServiceAccountHarborSession } from "../dist/esm/index.js";
import { LocalHarbor } from "../dist/esm/testing.js";

export async function setup(opts: { jwtTtlSeconds?: number; refreshSkewSeconds?: number } = {}) {
  const harbor = await LocalHarbor.start({ jwtTtlSeconds: opts.jwtTtlSeconds });
  const session = await ServiceAccountHarborSession.open({
    gatewayBaseUrl: harbor.gatewayUrl,
    apiKey: harbor.apiKey,
    harborBaseUrl: harbor.harborUrl,
    timeoutSeconds: 2,
    refreshSkewSeconds: opts.refreshSkewSeconds,
  });
  const bind = (tools: string[], amountCents = 1000, evidence = false) => {
    const intent = harbor.createIntent({ allowedTools: tools, amountCents });
    const binding = new CapabilityBinding(
      session.harbor,
      intent.intentId,
      intent.capabilityToken,
      evidence ? { payeeDid: intent.payeeDid, payeeSigningSeed: intent.payeeSigningSeedHex ?? undefined } : {},
    );
    return { binding, intent };
  };
  return { harbor, session, bind, close: async () => { await session.dispose(); await harbor.stop(); } };
}

// Every fault kind on /verify and the deny code it must produce.
export const VERIFY_FAULTS: [Record<string, unknown>, string][] = [
  [{ kind: "status", status: 500, count: 3 }, "http_error"],
  [{ kind: "status", status: 503, count: 3 }, "http_error"],
  [{ kind: "status", status: 400 }, "http_error"],
  [{ kind: "latency", latencyMs: 2500, count: 3 }, "timeout"],
  [{ kind: "drop", count: 3 }, "transport_error"],
  [{ kind: "drop_after", count: 3 }, "transport_error"],
  [{ kind: "truncate" }, "invalid_response"],
  [{ kind: "malformed" }, "invalid_response"],
  [{ kind: "wrong_tenant" }, "tenant_mismatch"],
  [{ kind: "wrong_intent" }, "tenant_mismatch"],
  [{ kind: "non_boolean_allow" }, "invalid_response"],
  [{ kind: "remove_field", field: "audit_id" }, "invalid_response"],
  [{ kind: "set_field", field: "allow", value: "true" }, "invalid_response"],
];
