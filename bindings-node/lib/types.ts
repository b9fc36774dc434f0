/** Typed results (camelCase). Wire payloads (evidence payloads, ledger entries, metrics) keep their keys. */

const KEEP = new Set(["payload", "metrics", "entries", "checkpoint", "extra", "data", "factors", "supportDepth"]);

function camelKey(k: string): string {
  return k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Deep camelCase of a wire object's keys (values under wire-payload keys are left as they are).
 * @internal
 */
export function camel<T>(v: unknown): T {
  if (Array.isArray(v)) return v.map((x) => camel(x)) as T;
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const ck = camelKey(k);
      out[ck] = KEEP.has(ck) ? x : camel(x);
    }
    return out as T;
  }
  return v as T;
}

/** Harbor's `POST /verify` answer ({@link HarborClient.verifyCapability}), checked against the wire contract. */
export interface VerifyResult {
  /** Harbor's verdict: exactly the JSON boolean it sent. */
  allow: boolean;
  /** Harbor's audit id for this verify (a UUID). */
  auditId: string;
  /** The tenant Harbor answered for (echo-checked against the session's). */
  tenant: string;
  /** The intent Harbor answered for (echo-checked against the request). */
  intentId: string;
  /** Harbor's deny code (`operation_not_allowed`, `budget_exceeded`, ...); null on an allow. */
  code: string | null;
  /** Harbor's human-readable reason, when it gave one. */
  message: string | null;
  /** The reservation this allow made (completed by {@link CapabilityBinding.finish}). */
  decisionId: string | null;
  /** The intent's budget left after this call's reservation. */
  remainingCents: number | null;
  /** Every reason code Harbor listed. */
  reasonCodes: string[];
  /** Seconds after which the same request may be answered differently, when Harbor says. */
  retryAfter: number | null;
  /** The approval request a reviewer must decide ({@link CapabilityBinding.decideApproval}), when Harbor asked for one. */
  approvalRequestId: string | null;
}

/**
 * The guard's answer; only `decision === "allow"` lets a tool run. `"approval_required"`: Harbor
 * wants a reviewer's approval first (`approvalRequestId` names the request; the tool does not run
 * now). The framework adapters turn it into their own pause/resume.
 */
export interface Decision {
  /** `"allow"` (the tool may run), `"deny"` or `"approval_required"`. */
  decision: "allow" | "deny" | "approval_required";
  /** Harbor's audit id, when Harbor answered. */
  auditId?: string | null;
  /** The reservation of an allow ({@link CapabilityBinding.finish} completes it). */
  decisionId?: string | null;
  /** The intent's budget left after this call's reservation. */
  remainingCents?: number | null;
  /**
   * Stable deny code: `harbor_denied`, or the code of what failed (`invalid_argument`, `transport_error`,
   * `timeout`, `http_error`, `invalid_response`, `tenant_mismatch`, `gateway_auth`, `internal`, ...).
   */
  code?: string | null;
  /** Harbor's own code when Harbor denied (e.g. `budget_exceeded`). */
  reason?: string | null;
  /** Human-readable reason (never a secret). */
  message?: string | null;
  /** The approval request a reviewer decides, when `decision === "approval_required"`. */
  approvalRequestId?: string | null;
}

/**
 * Whether the tool may run: true only for `decision === "allow"`.
 * @example
 * ```ts
 * const d = await binding.authorize("search", callId, args, 10);
 * if (isAllowed(d)) await runTheTool(args);
 * ```
 */
export function isAllowed(d: Decision): boolean {
  return d.decision === "allow";
}

/** Whether Harbor waits for a reviewer's decision on this call. */
export function isApprovalRequired(d: Decision): boolean {
  return d.decision === "approval_required";
}

/**
 * The text a model reads for a decision: `"Paybond denied <tool>: <code>: <message>"` (with the
 * approval request id for `approval_required`), or `"Paybond allowed <tool>"`. Never a secret.
 * @param d the decision.
 * @param toolName the tool it was for.
 */
export function describeDecision(d: Decision, toolName: string): string {
  if (isAllowed(d)) return `Paybond allowed ${toolName}`;
  if (isApprovalRequired(d)) {
    return `Paybond denied ${toolName}: approval_required: ${d.message} (approval request ${d.approvalRequestId})`;
  }
  return `Paybond denied ${toolName}: ${d.code}: ${d.message}`;
}

/**
 * A call Harbor wants a reviewer to approve before it runs: what `onApproval` receives, and (as
 * `{ type: "paybond_approval", ...this }`) the value of a LangChain JS `interrupt`.
 */
export interface ApprovalRequest {
  toolName: string;
  callId: string;
  /** The tool arguments the approval is for (the reservation is bound to exactly these). */
  args: unknown;
  /** Harbor's approval request; the reviewer's answer is recorded against it. */
  approvalRequestId: string;
  /** Harbor's explanation of why the call needs an approval. */
  message: string;
  /** The spend the call asks to reserve, in cents. */
  requestedSpendCents: number;
}

/**
 * A reviewer's answer: `"approve"` / `"reject"`, `true` / `false`, `{ decision, reason? }`, or
 * LangChain's HITL shape `{ type: "approve" }` / `{ type: "reject", message? }`. Any other value is
 * a reject whose reason says the answer was not understood.
 */
export type ApprovalAnswer =
  | "approve"
  | "reject"
  | boolean
  | { decision: "approve" | "reject"; reason?: string }
  | { type: "approve" | "reject"; message?: string };

/** What `auditAgent` reports: the kinds of path an agent can act through. */
export type ToolPathKind =
  | "function"
  | "provider"
  | "dynamic"
  | "hosted"
  | "mcp"
  | "handoff"
  | "agent_as_tool"
  | "shell"
  | "computer"
  | "other";

/** One way an agent can act, as `auditAgent` reports it. */
export interface ToolPath {
  /** The name the model calls it by (the name to list in `unguarded`). */
  name: string;
  kind: ToolPathKind;
  /** True only when a Paybond guard checks every call on this path with Harbor. */
  guarded: boolean;
  /** Why it is (not) guarded, in words. */
  detail: string;
}

/** Harbor's answer to an evidence submission. Other fields of the answer are kept as extra keys. */
export interface EvidenceReceipt {
  /** The tenant (echo-checked). */
  tenant: string;
  /** The intent the evidence was recorded for (echo-checked). */
  intentId: string;
  /** The intent's state after it (e.g. `"completed"`). */
  state: string | null;
  /** Whether the payload satisfied the intent's predicate. */
  predicatePassed: boolean | null;
  [extra: string]: unknown;
}

/** `GET /ledger/v1/tip`: the newest entry of the tenant's ledger. */
export interface LedgerTip {
  schemaVersion: number;
  /** The tenant (echo-checked). */
  tenantId: string;
  /** The sequence number of the newest entry (0 when empty). */
  seq: number;
  /** The newest entry's hash-chain commitment; null when empty. */
  entryCommitmentHex: string | null;
  /** Whether the ledger has no entry yet. */
  empty: boolean;
}

/** `GET /ledger/v1/events`: one page of ledger entries. */
export interface LedgerEventsPage {
  schemaVersion: number;
  /** The tenant (echo-checked). */
  tenantId: string;
  /** The entries of this page, as Harbor sent them (wire keys). */
  entries: Record<string, unknown>[];
  /** The cursor of the next page (`afterSeq`); null at the end. */
  nextAfterSeq: number | null;
}

/** A signed reputation receipt (its signature was verified before you see it). */
export interface ReputationReceipt {
  /** Your tenant (echo-checked). */
  tenantId: string;
  /** The operator scored: the payee DID of your intents (echo-checked). */
  operatorDid: string;
  /** `"1.0"`. */
  scoreVersion: string;
  /** The model that produced the score. */
  scoringModel: string;
  /** 0..1000, higher is better. */
  score: number;
  /** The score's inputs, as Signal reports them (wire keys). */
  metrics: Record<string, unknown>;
  /** The ledger sequence number the score includes evidence up to. */
  ledgerWatermarkSeq: number;
  confidence?: number | null;
  reviewState?: string | null;
  reasonCodes: string[];
  signingAlgorithm?: string | null;
  messageDigestHex?: string | null;
  signingPublicKeyHex?: string | null;
  signatureHex?: string | null;
  [extra: string]: unknown;
}

/** `GET /reputation/{did}` ({@link GatewaySignalClient.reputationReceipt}). */
export interface ReputationReceiptEnvelope {
  schemaVersion: number;
  updatedAt: string;
  receipt: ReputationReceipt;
  /**
   * Which key the receipt's signature was checked against: `"pinned_key"` (the session's
   * `trustedSigningKeyHex`: proves Signal signed it) or `"embedded_key"` (the key the receipt
   * names itself: integrity only). An unsigned receipt is a `SignatureInvalidError`, never a result.
   */
  signatureCheckedWith: "pinned_key" | "embedded_key";
  [extra: string]: unknown;
}

/**
 * `GET /signal/v1/operators/{did}/review-status`: maturity, shadow risk and annotations, friction
 * (replays in 7 days, appeals in 30, throttling) and trust policy (`decisionBand`,
 * `autoRelianceAllowed`). Additive metadata: `scoreVersion` stays `"1.0"`.
 */
export interface OperatorReviewStatus {
  tenantId: string;
  operatorDid: string;
  scoreVersion: string;
  maturityTier: { band: string; [k: string]: unknown };
  shadowRisk: { level: string; [k: string]: unknown };
  activeAnnotations: { kind: string; [k: string]: unknown }[];
  friction: {
    band: string;
    replayCount7d: number;
    appealCount30d: number;
    replayThrottled: boolean;
    appealThrottled: boolean;
    nextAppealEligibleAt?: string | null;
    [k: string]: unknown;
  };
  trustPolicy: { decisionBand: string; autoRelianceAllowed: boolean; [k: string]: unknown };
  [extra: string]: unknown;
}

/** `GET /signal/v1/portfolio/summary`: every operator of the tenant with its score. */
export interface PortfolioSummary {
  tenantId: string;
  scoreVersion: string;
  operators: { operatorDid: string; score: number; maturityBand?: string | null; [k: string]: unknown }[];
  [extra: string]: unknown;
}

/** `GET /signal/v1/operators/{did}/explanation`: why the operator has its score (`factors`, `summary`). */
export interface OperatorExplanation {
  tenantId: string;
  operatorDid: string;
  scoreVersion: string;
  score: number;
  factors: Record<string, unknown>[];
  summary?: string | null;
  [extra: string]: unknown;
}

/** The evidence request body (wire field names). */
export interface EvidenceBody {
  payload: unknown;
  artifacts: string[];
  payee_did: string;
  payee_pubkey: string;
  payee_signature: string;
  submitted_at: string;
}
