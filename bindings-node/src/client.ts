/** Sessions, clients and the capability binding: typed wrappers over the Rust core. */

import { inspect } from "node:util";
import native from "./native-binding.js";
import { call, callSync } from "./errors.js";
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

/** Hides native handles from util.inspect / console.log / JSON.stringify. */
function hide(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: false, writable: false });
}

export interface VerifyCapabilityArgs {
  intentId: string;
  token: string;
  operation: string;
  requestedSpendCents: number;
  toolName?: string;
  toolCallId?: string;
  idempotencyKey?: string;
  currency?: string;
  agentSubject?: string;
  vendorId?: string;
  taskId?: string;
  workflowId?: string;
}

/** Harbor calls bound to the session's tenant (from the Gateway, never the caller). */
export class HarborClient {
  declare private readonly h: NativeHarborClient;
  constructor(h: NativeHarborClient) {
    hide(this, "h", h);
  }
  /** @internal */
  get nativeHandle(): NativeHarborClient {
    return this.h;
  }
  get tenantId(): string {
    return this.h.tenantId;
  }
  get baseUrl(): string {
    return this.h.baseUrl;
  }
  /** `POST /verify`: Harbor's allow/deny; rejects for anything off the wire contract. */
  async verifyCapability(args: VerifyCapabilityArgs): Promise<VerifyResult> {
    return camel<VerifyResult>(await call(this.h.verifyCapability({ ...args })));
  }
  /** `POST /intents/{intentId}/evidence`; same key + same body lands once, another body is a 409. */
  async submitEvidence(intentId: string, body: EvidenceBody | Record<string, unknown>, idempotencyKey?: string): Promise<EvidenceReceipt> {
    return camel<EvidenceReceipt>(await call(this.h.submitEvidence(intentId, body, idempotencyKey)));
  }
  /** Principal-signed `POST /intents` (input uses the wire field names). */
  async createIntent(input: Record<string, unknown>, principalSigningSeedHex: string): Promise<Record<string, unknown>> {
    return camel<Record<string, unknown>>(await call(this.h.createIntent(input, principalSigningSeedHex)));
  }
  async ledgerTip(): Promise<LedgerTip> {
    return camel<LedgerTip>(await call(this.h.ledger("tip")));
  }
  async ledgerAuthority(): Promise<{ tenantId: string; verifyingKeyHex: string; [k: string]: unknown }> {
    return camel(await call(this.h.ledger("authority")));
  }
  async ledgerEvents(afterSeq?: number, limit?: number): Promise<LedgerEventsPage> {
    return camel<LedgerEventsPage>(await call(this.h.ledgerEvents(afterSeq, limit)));
  }
  async ledgerMerkleLatest(): Promise<{ tenantId: string; checkpoint: Record<string, unknown> | null }> {
    return camel(await call(this.h.ledger("merkle_latest")));
  }
  toJSON(): object {
    return { tenantId: this.tenantId, baseUrl: this.baseUrl };
  }
  [inspect.custom](): string {
    return `HarborClient { tenantId: ${JSON.stringify(this.tenantId)}, baseUrl: ${JSON.stringify(this.baseUrl)} }`;
  }
}

export interface TokenProviderOptions {
  gatewayBaseUrl: string;
  apiKey: string;
  timeoutSeconds?: number;
  maxRetries?: number;
  refreshSkewSeconds?: number;
}

/** API key → Harbor JWTs: cached, refreshed before expiry, single-flight. */
export class GatewayHarborTokenProvider {
  declare private readonly p: NativeTokenProvider;
  constructor(options: TokenProviderOptions | { native: NativeTokenProvider }) {
    hide(this, "p", "native" in options ? options.native : callSync(() => new native.TokenProvider({ ...options })));
  }
  get tenantId(): string | null {
    return this.p.tenantId ?? null;
  }
  get exchangeCount(): number {
    return this.p.exchangeCount;
  }
  /** A fresh Harbor JWT (a secret: do not log it). */
  bearer(): Promise<string> {
    return call(this.p.bearer());
  }
  /** Mint a new JWT now with the same key. */
  forceRotate(): Promise<void> {
    return call(this.p.forceRotate());
  }
  toJSON(): object {
    return { tenantId: this.tenantId, exchangeCount: this.exchangeCount };
  }
  [inspect.custom](): string {
    return `GatewayHarborTokenProvider { tenantId: ${JSON.stringify(this.tenantId)}, exchangeCount: ${this.exchangeCount} }`;
  }
}

export interface HarborSessionOptions {
  gatewayBaseUrl: string;
  apiKey: string;
  harborBaseUrl: string;
  timeoutSeconds?: number;
  maxRetries?: number;
  refreshSkewSeconds?: number;
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
    this.harbor = new HarborClient(s.harbor());
    this.tokenProvider = new GatewayHarborTokenProvider({ native: s.tokenProvider() });
  }
  static async open(options: HarborSessionOptions): Promise<ServiceAccountHarborSession> {
    return new ServiceAccountHarborSession(await call(native.HarborSession.open({ ...options })));
  }
  get tenantId(): string {
    return this.s.tenantId;
  }
  get closed(): boolean {
    return this.s.closed;
  }
  rotateHarborToken(): Promise<void> {
    return call(this.s.rotateHarborToken());
  }
  /** Refuse new calls, wait for in-flight ones. */
  dispose(): Promise<void> {
    return call(this.s.close());
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
    return this.s.tenantId;
  }
  async reputationReceipt(operatorDid: string, scoreVersion?: string): Promise<ReputationReceiptEnvelope | null> {
    const v = await call(this.s.read("reputation_receipt", operatorDid, scoreVersion));
    return v == null ? null : camel<ReputationReceiptEnvelope>(v);
  }
  async portfolioSummary(scoreVersion?: string): Promise<PortfolioSummary> {
    return camel<PortfolioSummary>(await call(this.s.read("portfolio_summary", undefined, scoreVersion)));
  }
  async operatorExplanation(operatorDid: string, scoreVersion?: string): Promise<OperatorExplanation | null> {
    const v = await call(this.s.read("operator_explanation", operatorDid, scoreVersion));
    return v == null ? null : camel<OperatorExplanation>(v);
  }
  async operatorReviewStatus(operatorDid: string, scoreVersion?: string): Promise<OperatorReviewStatus | null> {
    const v = await call(this.s.read("operator_review_status", operatorDid, scoreVersion));
    return v == null ? null : camel<OperatorReviewStatus>(v);
  }
  toJSON(): object {
    return { tenantId: this.tenantId };
  }
  [inspect.custom](): string {
    return `GatewaySignalClient { tenantId: ${JSON.stringify(this.tenantId)} }`;
  }
}

export interface SignalSessionOptions {
  gatewayBaseUrl: string;
  apiKey: string;
  timeoutSeconds?: number;
  maxRetries?: number;
  expectedEnvironment?: string;
  expectedTenantId?: string;
  /** Pins the receipt signing key. */
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
  static async open(options: SignalSessionOptions): Promise<ServiceAccountSignalSession> {
    return new ServiceAccountSignalSession(await call(native.SignalSession.open({ ...options })));
  }
  get tenantId(): string {
    return this.s.tenantId;
  }
  get principal(): { tenantId: string; environment: string; [k: string]: unknown } {
    return camel(this.s.principal());
  }
  dispose(): Promise<void> {
    return call(this.s.close());
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

/** One intent and its capability token bound to a Harbor client: what adapters guard with. */
export class CapabilityBinding {
  readonly harbor: HarborClient;
  declare private readonly g: NativeToolGuard;
  constructor(harbor: HarborClient, intentId: string, capabilityToken: string, options: CapabilityBindingOptions = {}) {
    if (!(harbor instanceof HarborClient)) throw new TypeError("harbor: expected a HarborClient (session.harbor)");
    this.harbor = harbor;
    const seed = options.payeeSigningSeed;
    const g = callSync(
      () =>
        new native.ToolGuard(harbor.nativeHandle, {
          intentId,
          capabilityToken,
          operations: options.operations,
          payeeDid: options.payeeDid,
          payeeSigningSeedHex: typeof seed === "string" ? seed : undefined,
          payeeSigningSeed: seed instanceof Uint8Array ? Buffer.from(seed) : undefined,
          evidenceVersion: options.evidenceVersion,
          currency: options.currency,
          agentSubject: options.agentSubject,
          workflowId: options.workflowId,
        }),
    );
    hide(this, "g", g);
  }
  get intentId(): string {
    return this.g.intentId;
  }
  get tenantId(): string {
    return this.g.tenantId;
  }
  /** Ask Harbor whether this call may run. Never rejects for a failed verify: it resolves to a deny. */
  async authorize(toolName: string, callId: string, args: unknown = {}, requestedSpendCents = 0): Promise<Decision> {
    return camel<Decision>(await call(this.g.authorize(toolName, callId, args as object, requestedSpendCents)));
  }
  /** Sign `payload` as the payee for this call and submit it (idempotent per call id). */
  async submitEvidence(toolName: string, callId: string, payload: Record<string, unknown>): Promise<EvidenceReceipt> {
    return camel<EvidenceReceipt>(await call(this.g.submitEvidence(toolName, callId, payload)));
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
  /** The evidence payload. */
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

/** Signs an evidence binding as the payee and returns the exact signed bytes and body. */
export function signPayeeEvidence(args: SignEvidenceArgs): SignedEvidence {
  const seed = args.payeeSigningSeed;
  const r = callSync(() =>
    native.signPayeeEvidence({
      tenantId: args.tenantId,
      intentId: args.intentId,
      payeeDid: args.payeeDid,
      payload: args.payloadJson === undefined ? (args.payload as object) : undefined,
      payloadJson: args.payloadJson,
      artifactsBlake3Hex: args.artifactsBlake3Hex,
      submittedAtRfc3339: args.submittedAtRfc3339,
      payeeSigningSeedHex: typeof seed === "string" ? seed : undefined,
      payeeSigningSeed: seed instanceof Uint8Array ? Buffer.from(seed) : undefined,
      version: args.version,
    }),
  );
  return { signBytesHex: r.signBytesHex, bodyJson: r.bodyJson, body: JSON.parse(r.bodyJson) as EvidenceBody };
}

/** Signs an evidence binding as the payee; returns the `POST /intents/{id}/evidence` body. */
export function signPayeeEvidenceBinding(args: SignEvidenceArgs): EvidenceBody {
  return signPayeeEvidence(args).body;
}

/** BLAKE3 of the canonical JSON of `value` (or of exact JSON text), hex. */
export function jsonValueDigestHex(value: unknown, valueIsJsonText = false): string {
  return callSync(() => native.jsonValueDigestHex(valueIsJsonText ? String(value) : JSON.stringify(value)));
}
