/** Typed results (camelCase). Wire payloads (evidence payloads, ledger entries, metrics) keep their keys. */

const KEEP = new Set(["payload", "metrics", "entries", "checkpoint", "extra", "data", "factors", "supportDepth"]);

function camelKey(k: string): string {
  return k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Deep camelCase of a wire object's keys (values under wire-payload keys are left as they are). */
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

export interface VerifyResult {
  allow: boolean;
  auditId: string;
  tenant: string;
  intentId: string;
  code: string | null;
  message: string | null;
  decisionId: string | null;
  remainingCents: number | null;
  reasonCodes: string[];
  retryAfter: number | null;
}

/**
 * The guard's answer; only `decision === "allow"` lets a tool run. `"approval_required"`: Harbor
 * wants a reviewer's approval first (`approvalRequestId` names the request; the tool does not run
 * now). The framework adapters turn it into their own pause/resume.
 */
export interface Decision {
  decision: "allow" | "deny" | "approval_required";
  auditId?: string | null;
  decisionId?: string | null;
  remainingCents?: number | null;
  /**
   * Stable deny code: `harbor_denied`, or the code of what failed (`invalid_argument`, `transport_error`,
   * `timeout`, `http_error`, `invalid_response`, `tenant_mismatch`, `gateway_auth`, `internal`, ...).
   */
  code?: string | null;
  /** Harbor's own code when Harbor denied (e.g. `budget_exceeded`). */
  reason?: string | null;
  message?: string | null;
  /** The approval request a reviewer decides, when `decision === "approval_required"`. */
  approvalRequestId?: string | null;
}

export function isAllowed(d: Decision): boolean {
  return d.decision === "allow";
}

/** Whether Harbor waits for a reviewer's decision on this call. */
export function isApprovalRequired(d: Decision): boolean {
  return d.decision === "approval_required";
}

/** `"Paybond denied <tool>: <code>: <message>"`. */
export function describeDecision(d: Decision, toolName: string): string {
  if (isAllowed(d)) return `Paybond allowed ${toolName}`;
  if (isApprovalRequired(d)) {
    return `Paybond denied ${toolName}: approval_required: ${d.message} (approval request ${d.approvalRequestId})`;
  }
  return `Paybond denied ${toolName}: ${d.code}: ${d.message}`;
}

export interface EvidenceReceipt {
  tenant: string;
  intentId: string;
  state: string | null;
  predicatePassed: boolean | null;
  [extra: string]: unknown;
}

export interface LedgerTip {
  schemaVersion: number;
  tenantId: string;
  seq: number;
  entryCommitmentHex: string | null;
  empty: boolean;
}

export interface LedgerEventsPage {
  schemaVersion: number;
  tenantId: string;
  entries: Record<string, unknown>[];
  nextAfterSeq: number | null;
}

export interface ReputationReceipt {
  tenantId: string;
  operatorDid: string;
  scoreVersion: string;
  scoringModel: string;
  score: number;
  metrics: Record<string, unknown>;
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

export interface PortfolioSummary {
  tenantId: string;
  scoreVersion: string;
  operators: { operatorDid: string; score: number; maturityBand?: string | null; [k: string]: unknown }[];
  [extra: string]: unknown;
}

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
