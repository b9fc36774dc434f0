/**
 * Sessions, clients and the capability binding: typed wrappers over the Rust core.
 *
 * The wrappers judge nothing: every value goes to the core as the caller gave it
 * (a spend of `NaN`, `99.99` or `"300"` reaches the core's rule and comes back an
 * {@link InvalidArgumentError} naming `requestedSpendCents`), and every native
 * error is converted in one place ({@link fromNative}).
 */

import { inspect } from "node:util";
import { brand, isBranded } from "./brand.js";
import native from "./native-binding.js";
import { call, callSync, InvalidArgumentError, type PaybondError } from "./errors.js";
import { toJsonText } from "./json.js";
import {
  camel,
  type Decision,
  type EvidenceBody,
  type EvidenceReceipt,
  type LedgerEventsPage,
  type LedgerTip,
  type OperatorExplanation,
  type OperatorReviewStatus,
  type PortfolioSummary,
  type ReputationReceiptEnvelope,
  type VerifyResult,
} from "./types.js";

type NativeHarborSession = InstanceType<typeof native.HarborSession>;
type NativeHarborClient = InstanceType<typeof native.HarborClient>;
type NativeTokenProvider = InstanceType<typeof native.TokenProvider>;
type NativeSignalSession = InstanceType<typeof native.SignalSession>;
type NativeToolGuard = InstanceType<typeof native.ToolGuard>;

const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? (Symbol.for("Symbol.asyncDispose") as typeof Symbol.asyncDispose);

/** Hides native handles and secrets from util.inspect / console.log / JSON.stringify. */
function hide(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: false, writable: false });
}

/**
 * Transport options every session and token provider takes. Each is checked by the
 * core: a value that is not a finite number in range rejects with
 * {@link InvalidArgumentError} naming the option (`timeoutSeconds`, ...).
 */
export interface TransportOptions {
  /** Per-attempt timeout in seconds (default 10; `0 < t <= 3600`). */
  timeoutSeconds?: number;
  /**
   * Per-call deadline in seconds across all attempts and `Retry-After` waits (default 30;
   * `0 < d <= 3600`). A guarded call answers within it, whatever the server does.
   */
  deadlineSeconds?: number;
  /** Total attempts for a retryable call (default 3; `1..=10`). */
  maxRetries?: number;
  /** Cap on a server's `Retry-After` in seconds (default 30; `0..=300`); a wait past the deadline ends the retries. */
  maxRetryAfterSeconds?: number;
  /** Refresh the Harbor JWT this long before it expires, in seconds (default 90; `0..=86400`). */
  refreshSkewSeconds?: number;
  /** Largest response body in bytes (default 1 MiB; `1024..=67108864`); a larger one is `InvalidResponseError`. */
  maxResponseBytes?: number;
  /**
   * An explicit HTTP proxy for every request of this session, under the same URL policy as the
   * base URLs (`https://`, or `http://` on loopback). Proxies are never read from the environment:
   * `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY` are ignored.
   */
  proxyUrl?: string;
}

export interface VerifyCapabilityArgs {
  /** The intent the token was minted for (a UUID). */
  intentId: string;
  /** The capability token. */
  token: string;
  /** The Harbor operation (usually the tool name). */
  operation: string;
  /** Spend to reserve in minor units: an exact integer in `0..=2^53-1` (a `number` or a `bigint`). */
  requestedSpendCents: number | bigint;
  toolName?: string;
  toolCallId?: string;
  /** 1-256 characters; generated when absent. */
  idempotencyKey?: string;
  currency?: string;
  agentSubject?: string;
  vendorId?: string;
  taskId?: string;
  workflowId?: string;
}

/** Input of {@link HarborClient.createIntent}; camelCase (or the wire's snake_case) names. */
export interface IntentCreationInput {
  intentId: string;
  principalDid: string;
  payeeDid: string;
  /** The payee's Ed25519 public key, standard base64. */
  payeePubkey: string;
  budget?: Record<string, unknown>;
  currency: string;
  amountCents: number;
  evidenceSchema?: Record<string, unknown>;
  /** RFC 3339. */
  deadline: string;
  predicateDsl?: Record<string, unknown>;
  predicateRef?: string;
  allowedTools: string[];
  settlementRail?: string;
  [k: string]: unknown;
}

function snakeKey(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function camelKey(k: string): string {
  return k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The intent input as JSON text with wire names; unrepresentable values name their (camelCase) key. */
function intentInputJson(input: unknown): unknown {
  if (input === null || typeof input !== "object" || Array.isArray(input)) return input; // the core names `input`
  const parts: string[] = [];
  for (const [k, v] of Object.entries(input as Record<string, unknown>)) {
    if (v === undefined) continue;
    const wire = snakeKey(k);
    parts.push(`${JSON.stringify(wire)}:${toJsonText(camelKey(wire), v)}`);
  }
  return `{${parts.join(",")}}`;
}

/**
 * `POST /intents`' answer. The capability token is a secret: readable as
 * `capabilityToken`, but never shown by `util.inspect`, `console.log` or `JSON.stringify`.
 */
export class IntentCreated {
  readonly tenant: string;
  readonly intentId: string;
  readonly state: string | null;
  declare readonly capabilityToken: string | null;
  readonly [extra: string]: unknown;
  constructor(raw: Record<string, unknown>) {
    const { capability_token: token, ...rest } = raw;
    const r = camel<Record<string, unknown>>(rest);
    Object.assign(this, r);
    this.tenant = String(r.tenant ?? "");
    this.intentId = String(r.intentId ?? "");
    this.state = (r.state as string | null | undefined) ?? null;
    hide(this, "capabilityToken", typeof token === "string" ? token : null);
  }
  toJSON(): object {
    return { ...this };
  }
  [inspect.custom](): string {
    return `IntentCreated { tenant: ${JSON.stringify(this.tenant)}, intentId: ${JSON.stringify(this.intentId)}, state: ${JSON.stringify(this.state)}, capabilityToken: ${this.capabilityToken === null ? "null" : "'***'"} }`;
  }
}

/** Harbor calls bound to the session's tenant (from the Gateway, never the caller). */
export class HarborClient {
  declare private readonly h: NativeHarborClient;
  constructor(h: NativeHarborClient) {
    hide(this, "h", h);
    brand(this, new.target, HarborClient);
  }
  /** `instanceof` holds for a client from the other build (ESM / CJS) of the package too. */
  static [Symbol.hasInstance]<T>(this: abstract new (...args: never[]) => T, x: unknown): x is T {
    return isBranded(this, x);
  }
  /** @internal */
  get nativeHandle(): NativeHarborClient {
    return this.h;
  }
  get tenantId(): string {
    return callSync(() => this.h.tenantId);
  }
  get baseUrl(): string {
    return callSync(() => this.h.baseUrl);
  }
  /**
   * `POST /verify`: Harbor's allow/deny for one operation and spend.
   * @param args the intent, token, operation and spend (`requestedSpendCents`: an exact integer in `0..=2^53-1`).
   * @returns Harbor's answer; `allow` is true only for an exact JSON `true` from the bound tenant's Harbor.
   * @throws {InvalidArgumentError} before any request, for a bad field (`field` names it: `requestedSpendCents`, `intentId`, ...).
   * @throws {PaybondError} for anything off the wire contract: `HarborHttpError`, `InvalidResponseError`,
   *   `TransportError`, `PaybondTimeoutError`, `TenantBindingError`, `TokenIntentMismatchError`, `InternalError`...
   */
  async verifyCapability(args: VerifyCapabilityArgs): Promise<VerifyResult> {
    return call(() => this.h.verifyCapability(args));
  }
  /**
   * `POST /intents/{intentId}/evidence`; the same key and body land once, another body under the key is a 409.
   * @param body the body from {@link signPayeeEvidenceBinding}, or its JSON text ({@link SignedEvidence.bodyJson}).
   * @throws {InvalidArgumentError} for a body that is not an evidence body or not representable as JSON.
   */
  async submitEvidence(intentId: string, body: EvidenceBody | Record<string, unknown> | string, idempotencyKey?: string): Promise<EvidenceReceipt> {
    const text = typeof body === "string" ? body : toJsonText("body", body);
    return camel<EvidenceReceipt>(await call(() => this.h.submitEvidence(intentId, text, idempotencyKey)));
  }
  /**
   * Principal-signed `POST /intents` for this session's tenant.
   * @param input camelCase names (the wire's snake_case names are accepted too).
   * @param principalSigningSeed the principal's 32-byte Ed25519 seed: 64 hex digits or bytes.
   * @returns the created intent; its `capabilityToken` is hidden from inspect and JSON.
   * @throws {InvalidArgumentError} naming the bad field (`amountCents`, `principalSigningSeed`, ...).
   */
  async createIntent(input: IntentCreationInput | Record<string, unknown>, principalSigningSeed: string | Uint8Array): Promise<IntentCreated> {
    const raw = await call(() => this.h.createIntent(intentInputJson(input), principalSigningSeed));
    return new IntentCreated(raw as Record<string, unknown>);
  }
  async ledgerTip(): Promise<LedgerTip> {
    return camel<LedgerTip>(await call(() => this.h.ledgerTip()));
  }
  async ledgerAuthority(): Promise<{ tenantId: string; verifyingKeyHex: string; [k: string]: unknown }> {
    return camel(await call(() => this.h.ledgerAuthority()));
  }
  /**
   * `GET /ledger/v1/events` after `afterSeq` (exclusive).
   * @throws {InvalidArgumentError} for an `afterSeq` that is not an integer in `0..=2^53-1`, or a `limit` outside `1..=256`.
   */
  async ledgerEvents(afterSeq?: number, limit?: number): Promise<LedgerEventsPage> {
    return camel<LedgerEventsPage>(await call(() => this.h.ledgerEvents(afterSeq, limit)));
  }
  async ledgerMerkleLatest(): Promise<{ tenantId: string; checkpoint: Record<string, unknown> | null }> {
    return camel(await call(() => this.h.ledgerMerkleLatest()));
  }
  toJSON(): object {
    return { tenantId: this.tenantId, baseUrl: this.baseUrl };
  }
  [inspect.custom](): string {
    return `HarborClient { tenantId: ${JSON.stringify(this.tenantId)}, baseUrl: ${JSON.stringify(this.baseUrl)} }`;
  }
}

export interface TokenProviderOptions extends TransportOptions {
  gatewayBaseUrl: string;
  apiKey: string;
}

/** API key → Harbor JWTs: cached, refreshed before expiry, single-flight. */
export class GatewayHarborTokenProvider {
  declare private readonly p: NativeTokenProvider;
  /**
   * @throws {InvalidArgumentError} for a bad option (`timeoutSeconds`, `gatewayBaseUrl`, ...).
   * @throws {InsecureUrlError} for a plain-http URL that is not loopback.
   */
  constructor(options: TokenProviderOptions | { native: NativeTokenProvider }) {
    const nat = options !== null && typeof options === "object" && "native" in options ? options.native : undefined;
    hide(this, "p", nat ?? callSync(() => new native.TokenProvider(options)));
  }
  get tenantId(): string | null {
    return callSync(() => this.p.tenantId) ?? null;
  }
  get exchangeCount(): number {
    return callSync(() => this.p.exchangeCount);
  }
  /** A fresh Harbor JWT (a secret: do not log it). */
  bearer(): Promise<string> {
    return call(() => this.p.bearer());
  }
  /** Mint a new JWT now with the same key. */
  forceRotate(): Promise<void> {
    return call(() => this.p.forceRotate());
  }
  toJSON(): object {
    return { tenantId: this.tenantId, exchangeCount: this.exchangeCount };
  }
  [inspect.custom](): string {
    return `GatewayHarborTokenProvider { tenantId: ${JSON.stringify(this.tenantId)}, exchangeCount: ${this.exchangeCount} }`;
  }
}

export interface HarborSessionOptions extends TransportOptions {
  gatewayBaseUrl: string;
  apiKey: string;
  harborBaseUrl: string;
  /** Never overrides the Gateway: a mismatch rejects with TenantBindingError. */
  expectedTenantId?: string;
}

/** A Harbor session opened from one API key; the tenant comes from the Gateway. Use `await using`. */
export class ServiceAccountHarborSession {
  declare private readonly s: NativeHarborSession;
  readonly harbor: HarborClient;
  readonly tokenProvider: GatewayHarborTokenProvider;
  private constructor(s: NativeHarborSession) {
    hide(this, "s", s);
    this.harbor = new HarborClient(callSync(() => s.harbor()));
    this.tokenProvider = new GatewayHarborTokenProvider({ native: callSync(() => s.tokenProvider()) });
  }
  /**
   * Checks the options, exchanges the API key once and binds to the tenant the Gateway names.
   * @throws {InvalidArgumentError} for a bad option, named in camelCase (`timeoutSeconds`, `proxyUrl`, ...).
   * @throws {InsecureUrlError} for a plain-http base URL or proxy URL that is not loopback.
   * @throws {GatewayAuthError} when the Gateway refuses or garbles the exchange.
   * @throws {TenantBindingError} when `expectedTenantId` differs from the Gateway's answer.
   */
  static async open(options: HarborSessionOptions): Promise<ServiceAccountHarborSession> {
    return new ServiceAccountHarborSession(await call(() => native.HarborSession.open(options)));
  }
  get tenantId(): string {
    return callSync(() => this.s.tenantId);
  }
  get closed(): boolean {
    return callSync(() => this.s.closed);
  }
  rotateHarborToken(): Promise<void> {
    return call(() => this.s.rotateHarborToken());
  }
  /** Refuse new calls, wait for in-flight ones. */
  dispose(): Promise<void> {
    return call(() => this.s.close());
  }
  [asyncDispose](): Promise<void> {
    return this.dispose();
  }
  toJSON(): object {
    return { tenantId: this.tenantId, closed: this.closed };
  }
  [inspect.custom](): string {
    return `ServiceAccountHarborSession { tenantId: ${JSON.stringify(this.tenantId)}, closed: ${this.closed} }`;
  }
}

/** Signal reads bound to one tenant: typed, echo-checked, receipt signatures verified. */
export class GatewaySignalClient {
  declare private readonly s: NativeSignalSession;
  constructor(s: NativeSignalSession) {
    hide(this, "s", s);
  }
  get tenantId(): string {
    return callSync(() => this.s.tenantId);
  }
  /**
   * `GET /reputation/{operatorDid}`: the receipt, its signature checked (`signatureCheckedWith`
   * says against which key), or null when Signal has none.
   * @throws {SignatureInvalidError} for a tampered or unsigned receipt.
   * @throws {InvalidArgumentError} for an `operatorDid` that is not a string.
   */
  async reputationReceipt(operatorDid: string, scoreVersion?: string): Promise<ReputationReceiptEnvelope | null> {
    const v = await call(() => this.s.reputationReceipt(operatorDid, scoreVersion));
    return v == null ? null : camel<ReputationReceiptEnvelope>(v);
  }
  async portfolioSummary(scoreVersion?: string): Promise<PortfolioSummary> {
    return camel<PortfolioSummary>(await call(() => this.s.portfolioSummary(scoreVersion)));
  }
  async operatorExplanation(operatorDid: string, scoreVersion?: string): Promise<OperatorExplanation | null> {
    const v = await call(() => this.s.operatorExplanation(operatorDid, scoreVersion));
    return v == null ? null : camel<OperatorExplanation>(v);
  }
  async operatorReviewStatus(operatorDid: string, scoreVersion?: string): Promise<OperatorReviewStatus | null> {
    const v = await call(() => this.s.operatorReviewStatus(operatorDid, scoreVersion));
    return v == null ? null : camel<OperatorReviewStatus>(v);
  }
  toJSON(): object {
    return { tenantId: this.tenantId };
  }
  [inspect.custom](): string {
    return `GatewaySignalClient { tenantId: ${JSON.stringify(this.tenantId)} }`;
  }
}

export interface SignalSessionOptions extends TransportOptions {
  gatewayBaseUrl: string;
  apiKey: string;
  /** `live` or `sandbox`: the key must be for it. */
  expectedEnvironment?: string;
  expectedTenantId?: string;
  /**
   * Pins Signal's receipt signing key (64 hex digits): receipts are then checked against it
   * (`signatureCheckedWith: "pinned_key"`). Without it a receipt is checked against the key it
   * names itself (`"embedded_key"`: integrity only, not who signed). Get the key from your
   * Paybond dashboard's Signal settings (for the dev server: `LocalHarbor.signalPublicKeyHex`).
   */
  trustedSigningKeyHex?: string;
}

/** A Signal session; the tenant comes from `GET /v1/auth/principal`. */
export class ServiceAccountSignalSession {
  declare private readonly s: NativeSignalSession;
  readonly signal: GatewaySignalClient;
  private constructor(s: NativeSignalSession) {
    hide(this, "s", s);
    this.signal = new GatewaySignalClient(s);
  }
  /**
   * @throws {InvalidArgumentError} for a bad option, named in camelCase.
   * @throws {GatewayAuthError} when the Gateway refuses the key or the environment differs.
   */
  static async open(options: SignalSessionOptions): Promise<ServiceAccountSignalSession> {
    return new ServiceAccountSignalSession(await call(() => native.SignalSession.open(options)));
  }
  get tenantId(): string {
    return callSync(() => this.s.tenantId);
  }
  get principal(): { tenantId: string; environment: string; [k: string]: unknown } {
    return camel(callSync(() => this.s.principal()));
  }
  dispose(): Promise<void> {
    return call(() => this.s.close());
  }
  [asyncDispose](): Promise<void> {
    return this.dispose();
  }
  toJSON(): object {
    return { tenantId: this.tenantId };
  }
  [inspect.custom](): string {
    return `ServiceAccountSignalSession { tenantId: ${JSON.stringify(this.tenantId)} }`;
  }
}

export interface CapabilityBindingOptions {
  /** Tool name → Harbor operation. */
  operations?: Record<string, string>;
  /** With `payeeSigningSeed`, enables payee-signed evidence after allowed calls. */
  payeeDid?: string;
  /** 64 hex digits, or 32 bytes. */
  payeeSigningSeed?: string | Uint8Array;
  evidenceVersion?: 1 | 2;
  currency?: string;
  agentSubject?: string;
  workflowId?: string;
}

function denyFor(e: unknown): Decision {
  const err = e as Partial<PaybondError>;
  return { decision: "deny", code: err?.code ?? "internal", reason: null, message: err?.message ?? String(e), auditId: null };
}

/** What {@link CapabilityBinding.attenuate} narrows; every field left out keeps the parent's limit. */
export interface AttenuateOptions {
  /** Tool names the sub-agent may call (each allowed by the parent token). */
  tools?: readonly string[];
  /** The most one call may spend, in cents (at most the parent's per-call cap). */
  maxSpendPerCallCents?: number | bigint;
  /** The child expires this many seconds from now (not after the parent). */
  expiresInSeconds?: number | bigint;
  /** How many calls Harbor allows under the child's block. */
  maxCalls?: number | bigint;
}

/** One intent and its capability token bound to a Harbor client: what adapters guard with. */
export class CapabilityBinding {
  readonly harbor: HarborClient;
  declare private readonly g: NativeToolGuard;
  /**
   * @throws {InvalidArgumentError} for a bad argument (`harbor`, `intentId`, `capabilityToken`, `payeeSigningSeed`, ...).
   * @throws {TokenIntentMismatchError} when the token is visibly bound to another intent or tenant.
   */
  constructor(harbor: HarborClient, intentId: string, capabilityToken: string, options: CapabilityBindingOptions = {}) {
    if (!(harbor instanceof HarborClient)) {
      throw new InvalidArgumentError("invalid argument `harbor`: expected a HarborClient (session.harbor)", { field: "harbor" });
    }
    this.harbor = harbor;
    hide(this, "g", callSync(() => new native.ToolGuard(harbor.nativeHandle, intentId, capabilityToken, options)));
    brand(this, new.target, CapabilityBinding);
  }
  /** `instanceof` holds for a binding from the other build (ESM / CJS) of the package too. */
  static [Symbol.hasInstance]<T>(this: abstract new (...args: never[]) => T, x: unknown): x is T {
    return isBranded(this, x);
  }
  get intentId(): string {
    return callSync(() => this.g.intentId);
  }
  get tenantId(): string {
    return callSync(() => this.g.tenantId);
  }
  /**
   * Ask Harbor whether this call may run. Never rejects: bad input (a spend that is not an
   * exact integer in `0..=2^53-1`: `NaN`, `Infinity`, `99.99`, `"300"`, `true`...) and every
   * failure on the way are a deny (`code: "invalid_argument"`, `"timeout"`, ...).
   */
  async authorize(toolName: string, callId: string, args: unknown = {}, requestedSpendCents: number | bigint = 0): Promise<Decision> {
    try {
      const argsJson = args === undefined || args === null ? undefined : toJsonText("args", args);
      return camel<Decision>(await call(() => this.g.authorize(toolName, callId, argsJson, requestedSpendCents)));
    } catch (e) {
      return denyFor(e);
    }
  }
  /**
   * End an allowed call after its tool ran: `succeeded: true` consumes the reserved spend,
   * `false` (the tool threw, its arguments failed validation, it was cancelled, or the framework
   * produced an error result) releases it. The call id is then spent: authorizing it again is a
   * deny `call_replayed`.
   * @returns Harbor's answer (`remainingCents` after the completion), or `null` when the call had
   *   no allow or this Harbor has no completion route (logged once; the reservation then stays
   *   until Harbor's hold period ends).
   * @throws {PaybondError} when the completion request fails.
   */
  async finish(callId: string, succeeded: boolean): Promise<Record<string, unknown> | null> {
    const out = await call(() => this.g.finish(callId, succeeded));
    return out === null || out === undefined ? null : camel<Record<string, unknown>>(out);
  }
  /**
   * For adapters: {@link finish} a call that succeeded without waiting for Harbor's answer (the
   * reservation already holds its budget). Counted until it ends: {@link settle} waits for it, and
   * so do closing the session and `LocalHarbor` reads; the pending request keeps the process
   * alive. A failure is logged.
   * @param toolName the tool (for the log line).
   * @param callId the call.
   * @internal
   */
  finishLater(toolName: string, callId: string): void {
    let pending: Promise<void>;
    try {
      pending = this.g.finishLater(callId);
    } catch (e) {
      warnFinishFailed(toolName, callId, e);
      return;
    }
    pending.catch((e: unknown) => warnFinishFailed(toolName, callId, e));
  }
  /**
   * Wait until every spend completion this process sent in the background has ended.
   *
   * The agent adapters (LangChain / LangGraph JS, OpenAI Agents JS) send the `consumed`
   * completion of a successful call in the background, so the run goes on without a second
   * round trip; the reservation made at verify already holds the budget. Read Harbor's completion
   * counters after `await binding.settle()` (`LocalHarbor` reads and closing the session settle
   * by themselves). Each completion is bounded by the session's `deadlineSeconds`.
   */
  async settle(): Promise<void> {
    await native.settle();
  }
  /**
   * For adapters: claim an allowed call for one run of its tool body, right before it starts.
   * `false` (no allow, already ran, or running now): the body must not run.
   * @internal
   */
  claim(callId: string): boolean {
    return callSync(() => this.g.claim(callId));
  }
  /**
   * For adapters: give a claim back when the framework suspended the run inside the tool.
   * @internal
   */
  unclaim(callId: string): void {
    callSync(() => this.g.unclaim(callId));
  }
  /**
   * Record a reviewer's decision on the approval request of a call that got
   * `{ decision: "approval_required" }`. Authorize the same call (same call id and arguments) again
   * afterwards: an approved call is allowed once, with one reservation; a rejected one is a deny whose
   * message carries `reason`. Harbor decides who may review (the dev server accepts this session).
   * @param approvalRequestId `decision.approvalRequestId`.
   * @param decision `"approve"` or `"reject"`.
   * @param reason optional text; on a reject the model reads it in the deny message.
   * @returns Harbor's answer `{ approvalRequestId, status, reason }` (the tenant echo is checked).
   * @throws {InvalidArgumentError} for a bad id or decision.
   * @throws {HarborHttpError} (409) when the request was already decided the other way.
   */
  async decideApproval(
    approvalRequestId: string,
    decision: "approve" | "reject",
    reason?: string,
  ): Promise<Record<string, unknown>> {
    if (decision !== "approve" && decision !== "reject") {
      throw new InvalidArgumentError(`decision: expected "approve" or "reject", got ${String(decision)}`, { field: "decision" });
    }
    const out = await call(() => this.g.decideApproval(approvalRequestId, decision === "approve", reason ?? null));
    return camel<Record<string, unknown>>(out);
  }
  /**
   * Sign `payload` as the payee for this call and submit it. The same payload again replays the
   * first submission.
   * @throws {EvidenceConflictError} for a different payload under a call id that already has evidence.
   * @throws {InvalidArgumentError} for an empty `callId`, a payload JSON cannot carry, or a binding without a payee seed.
   */
  async submitEvidence(toolName: string, callId: string, payload: Record<string, unknown>): Promise<EvidenceReceipt> {
    const text = toJsonText("payload", payload);
    return camel<EvidenceReceipt>(await call(() => this.g.submitEvidence(toolName, callId, text)));
  }
  /**
   * A narrower binding for a sub-agent, computed offline (no request).
   *
   * The new binding spends from the same intent through the same Harbor client, with the same
   * `operations`, evidence signer and audit fields; its capability token is this binding's token
   * plus one appended Biscuit block whose checks only narrow. Harbor enforces every block on each
   * verify, so nothing the sub-agent (or anyone holding its token) appends can widen it again.
   * Spend under the child counts against this intent. This binding is unchanged.
   *
   * @param options.tools tool names the sub-agent may call (mapped through `operations`); each must
   *   be allowed by this binding's token. Left out: this binding's tools.
   * @param options.maxSpendPerCallCents the most one call may spend: an exact integer in
   *   `0..=2^53-1` (a number or a bigint), at most this token's per-call cap.
   * @param options.expiresInSeconds the child expires this many seconds from now (an integer in
   *   `1..=31536000`), not after this token.
   * @param options.maxCalls how many calls Harbor allows under the child's block (an integer in
   *   `1..=1000000`), counted by Harbor across every copy of the child token; at most this token's
   *   own `maxCalls`. A call counts when Harbor allows it (a resumed call with the same call id
   *   counts once).
   * @returns a new {@link CapabilityBinding}.
   * @throws {InvalidArgumentError} naming the field (`tools`, `maxSpendPerCallCents`,
   *   `expiresInSeconds`, `maxCalls`) for a bad value (`NaN`, `1.5`, `-1`, `"3"`, `true`...) or one
   *   that asks for more than this token allows (a tool it does not allow, a higher cap, a later
   *   expiry, more calls); `capabilityToken` when the token is not a readable Biscuit token;
   *   `options` when `options` is not an object.
   */
  attenuate(options: AttenuateOptions = {}): CapabilityBinding {
    if (options !== null && typeof options === "object") {
      // A misspelt limit would leave the child with the parent's authority: refuse it.
      const known = ["tools", "maxSpendPerCallCents", "expiresInSeconds", "maxCalls"];
      for (const k of Object.keys(options)) {
        if (!known.includes(k)) {
          throw new InvalidArgumentError(`invalid argument \`options\`: unknown option ${JSON.stringify(k)} (expected ${known.join(", ")})`, { field: "options" });
        }
      }
    }
    const g = callSync(() => this.g.attenuate(options));
    const child = Object.create(Object.getPrototypeOf(this) as object) as CapabilityBinding;
    Object.defineProperty(child, "harbor", { value: this.harbor, enumerable: true, writable: true, configurable: true });
    hide(child, "g", g);
    brand(child, this.constructor as typeof CapabilityBinding, CapabilityBinding);
    return child;
  }
  toJSON(): object {
    return { tenantId: this.tenantId, intentId: this.intentId };
  }
  [inspect.custom](): string {
    return `CapabilityBinding { tenantId: ${JSON.stringify(this.tenantId)}, intentId: ${JSON.stringify(this.intentId)} }`;
  }
}

export interface SignEvidenceArgs {
  tenantId: string;
  intentId: string;
  payeeDid: string;
  /** The evidence payload; sent to the core as `JSON.stringify` text (integers stay integers). */
  payload?: unknown;
  /** Exact JSON text of the payload; wins over `payload` (JS numbers cannot carry 1.0 vs 1 or ints above 2^53). */
  payloadJson?: string;
  artifactsBlake3Hex?: string[];
  submittedAtRfc3339: string;
  /** 32-byte Ed25519 seed: 64 hex digits or bytes. */
  payeeSigningSeed: string | Uint8Array;
  /** 2 (default) or 1 for legacy Harbors. */
  version?: 1 | 2;
}

export interface SignedEvidence {
  /** The exact signed `EvidenceSignV1` bytes, hex. */
  signBytesHex: string;
  /** The request body as compact JSON text (exact numbers, wire order). */
  bodyJson: string;
  /** The request body as an object. */
  body: EvidenceBody;
}

/**
 * Signs an evidence binding as the payee and returns the exact signed bytes and body.
 * The digest is taken from the payload's JSON text as Harbor reads it.
 * @throws {InvalidArgumentError} naming the bad field (`payload` for NaN/Infinity/bigint/cycles, `payeeSigningSeed`, `intentId`, ...).
 */
export function signPayeeEvidence(args: SignEvidenceArgs): SignedEvidence {
  const a = args !== null && typeof args === "object" ? { ...args, payload: undefined, payloadJson: args.payloadJson ?? toJsonText("payload", args.payload) } : args;
  const r = callSync(() => native.signPayeeEvidence(a as Parameters<typeof native.signPayeeEvidence>[0]));
  return { signBytesHex: r.signBytesHex, bodyJson: r.bodyJson, body: JSON.parse(r.bodyJson) as EvidenceBody };
}

/** Signs an evidence binding as the payee; returns the `POST /intents/{id}/evidence` body. */
export function signPayeeEvidenceBinding(args: SignEvidenceArgs): EvidenceBody {
  return signPayeeEvidence(args).body;
}

/**
 * The principal-signed `POST /intents` body (`IntentCreationSign` v6) for `input`.
 * @param input the intent in wire names (snake_case), including `tenant_id` (signed, not sent) and
 *   `payee_pubkey` (standard base64); {@link HarborClient.createIntent} does this for the session's tenant.
 * @param principalSigningSeed the principal's Ed25519 seed: 64 hex digits or 32 bytes.
 * @returns the request body (canonical JSON, keys sorted) with `principal_signature`.
 * @throws {InvalidArgumentError} naming the bad field (`tenant_id`, `allowed_tools`, `principalSigningSeed`, ...).
 */
export function signIntentCreation(input: Record<string, unknown>, principalSigningSeed: string | Uint8Array): Record<string, unknown> {
  const text = toJsonText("input", input);
  return JSON.parse(callSync(() => native.signIntentCreation(text, principalSigningSeed))) as Record<string, unknown>;
}

/**
 * BLAKE3 of the concatenated artifact digests, as signed into evidence.
 * @param artifactsBlake3Hex each artifact's BLAKE3 digest, 64 hex digits (an optional `0x` prefix).
 * @returns the digest, 64 hex digits.
 * @throws {InvalidArgumentError} for an entry that is not 64 hex digits.
 */
export function artifactsDigestHex(artifactsBlake3Hex: readonly string[]): string {
  const text = toJsonText("artifacts_blake3_hex", artifactsBlake3Hex);
  return callSync(() => native.artifactsDigestHex(text));
}

/** BLAKE3 of the canonical JSON of `value` (or of exact JSON text), hex. */
export function jsonValueDigestHex(value: unknown, valueIsJsonText = false): string {
  const text = valueIsJsonText ? value : toJsonText("value", value);
  return callSync(() => native.jsonValueDigestHex(text as string));
}

/**
 * Logs a spend completion that failed after its tool ran (never a second tool failure).
 * @param name the tool.
 * @param callId the call.
 * @param e what the completion failed with.
 * @internal
 */
export function warnFinishFailed(name: string, callId: string, e: unknown): void {
  const code = (e as { code?: string })?.code ?? (e instanceof Error ? e.name : "error");
  console.warn(`paybond-kit: completing the spend of ${name} (${callId}) failed: ${code}`);
}
