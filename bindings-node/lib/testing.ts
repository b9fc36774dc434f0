/**
 * The Rust dev server (Gateway + Harbor + Signal) in-process on port 0, for tests and demos.
 * @example
 * ```ts
 * await using h = await LocalHarbor.start();
 * const intent = h.createIntent({ allowedTools: ["search"], amountCents: 500 });
 * h.addFault({ route: "/verify", kind: "status", status: 503, count: 3 });
 * ```
 * @module
 */

import { inspect } from "node:util";
import native from "./native-binding.js";
import { call, callSync } from "./errors.js";
import { camel } from "./types.js";

type NativeDevServer = InstanceType<typeof native.DevServer>;
type NativeHostile = InstanceType<typeof native.HostileServer>;
const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? (Symbol.for("Symbol.asyncDispose") as typeof Symbol.asyncDispose);

/** Fault kinds the dev server can inject ({@link LocalHarbor.addFault}). */
export const FAULT_KINDS = [
  "status", "latency", "drop", "drop_after", "truncate", "malformed",
  "wrong_tenant", "wrong_intent", "non_boolean_allow", "remove_field", "set_field",
] as const;
/** One of {@link FAULT_KINDS}. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** A fault to inject ({@link LocalHarbor.addFault}). */
export interface FaultSpec {
  /** An exact path (`/verify`, `/intents/<id>/evidence`) or a prefix ending in `*` (`/reputation/*`). */
  route: string;
  /** What the server does wrong. */
  kind: FaultKind;
  /** The HTTP status of a `status` fault. */
  status?: number;
  /** A `Retry-After` header value to send with it. */
  retryAfter?: number;
  /** The delay of a `latency` fault, in ms. */
  latencyMs?: number;
  /** How many requests it fires for (default 1). */
  count?: number;
  /** Fire at random with this probability instead, until `clearFaults()`. */
  probability?: number;
  /** The dotted field path of `remove_field` / `set_field` (`receipt.score`). */
  field?: string;
  /** The value `set_field` writes. */
  value?: unknown;
  /** Only requests with this HTTP method. */
  method?: string;
  /** The body of a `status` fault. */
  body?: unknown;
}

/** A funded dev intent. Token and seed never show in inspect/console.log/JSON.stringify. */
export class DevIntent {
  /** The intent (a UUID). */
  readonly intentId: string;
  /** The tenant it belongs to. */
  readonly tenantId: string;
  /** The payee (the operator Signal scores). */
  readonly payeeDid: string;
  /** The payee's Ed25519 public key, standard base64. */
  readonly payeePubkey: string;
  /** The tools (Harbor operations) it allows. */
  readonly allowedTools: string[];
  /** Its funded amount. */
  readonly amountCents: number;
  /** Its currency. */
  readonly currency: string;
  /** Its capability token (a secret: hidden from inspect and JSON). */
  declare readonly capabilityToken: string;
  /** The payee's seed (64 hex digits, a secret) when the server made the key pair; else null. */
  declare readonly payeeSigningSeedHex: string | null;
  constructor(raw: Record<string, unknown>) {
    const r = camel<Record<string, unknown>>(raw);
    this.intentId = String(r.intentId);
    this.tenantId = String(r.tenantId);
    this.payeeDid = String(r.payeeDid);
    this.payeePubkey = String(r.payeePubkey);
    this.allowedTools = (r.allowedTools as string[]) ?? [];
    this.amountCents = Number(r.amountCents);
    this.currency = String(r.currency);
    Object.defineProperty(this, "capabilityToken", { value: String(r.capabilityToken), enumerable: false });
    Object.defineProperty(this, "payeeSigningSeedHex", { value: (r.payeeSigningSeedHex as string | undefined) ?? null, enumerable: false });
  }
  [inspect.custom](): string {
    return `DevIntent { intentId: ${JSON.stringify(this.intentId)}, tenantId: ${JSON.stringify(this.tenantId)}, payeeDid: ${JSON.stringify(this.payeeDid)} }`;
  }
}

export interface LocalHarborOptions {
  /** Lifetime of the Harbor JWTs the Gateway mints (default 900). */
  jwtTtlSeconds?: number;
  /** The seeded tenant (default `tenant-dev`). */
  tenantId?: string;
  /** The seeded tenant's API key (default: a fresh random sandbox key). */
  apiKey?: string;
  /** How long an uncompleted reservation is held before Harbor releases it (default 300), on the dev clock. */
  reservationHoldSeconds?: number;
}

/** The dev server, started in-process on free loopback ports. `await using h = await LocalHarbor.start()`. */
export class LocalHarbor {
  declare private readonly s: NativeDevServer;
  private constructor(s: NativeDevServer) {
    Object.defineProperty(this, "s", { value: s, enumerable: false });
  }
  /**
   * Start both listeners on free loopback ports.
   * @param options JWT lifetime, seeded tenant and key, reservation hold.
   * @throws {PaybondError} when the server cannot start.
   */
  static async start(options: LocalHarborOptions = {}): Promise<LocalHarbor> {
    return new LocalHarbor(await call(() => native.DevServer.start(options)));
  }
  /** The Gateway base URL (`http://127.0.0.1:PORT`); Signal is served here too. */
  get gatewayUrl(): string {
    return this.s.gatewayUrl;
  }
  /** The Harbor base URL. */
  get harborUrl(): string {
    return this.s.harborUrl;
  }
  /** The seeded tenant's sandbox API key (a secret: not shown by inspect). */
  get apiKey(): string {
    return this.s.apiKey;
  }
  /** The seeded tenant (`tenant-dev` unless `tenantId` was given). */
  get tenantId(): string {
    return this.s.tenantId;
  }
  /** The key that signs Signal receipts: pin it as `trustedSigningKeyHex`. */
  get signalPublicKeyHex(): string {
    return this.s.signalPublicKeyHex;
  }
  /** A funded intent and its capability token; without `payeePubkey` the payee seed is returned too. */
  createIntent(o: {
    allowedTools: string[];
    amountCents: number;
    payeeDid?: string;
    payeePubkey?: string;
    currency?: string;
    deadline?: string;
    tokenTtlSeconds?: number;
    maxSpendPerCallCents?: number;
    /** A call spending more than this gets `approval_required` until a reviewer decides it. */
    approvalThresholdCents?: number;
    tenantId?: string;
  }): DevIntent {
    const req: Record<string, unknown> = { allowed_tools: o.allowedTools, amount_cents: o.amountCents };
    if (o.payeeDid !== undefined) req.payee_did = o.payeeDid;
    if (o.payeePubkey !== undefined) req.payee_pubkey = o.payeePubkey;
    if (o.currency !== undefined) req.currency = o.currency;
    if (o.deadline !== undefined) req.deadline = o.deadline;
    if (o.tokenTtlSeconds !== undefined) req.token_ttl_seconds = o.tokenTtlSeconds;
    if (o.maxSpendPerCallCents !== undefined) req.max_spend_per_call_cents = o.maxSpendPerCallCents;
    if (o.approvalThresholdCents !== undefined) req.approval_threshold_cents = o.approvalThresholdCents;
    return new DevIntent(callSync(() => this.s.createIntent(req, o.tenantId)) as Record<string, unknown>);
  }
  /** Inject a fault on `route` (exact, or a prefix ending in `*`); returns its id. */
  addFault(f: FaultSpec): number {
    if (!FAULT_KINDS.includes(f.kind)) throw new TypeError(`kind: expected one of ${FAULT_KINDS.join(", ")}`);
    const spec: Record<string, unknown> = { route: f.route, kind: f.kind };
    const map: [keyof FaultSpec, string][] = [
      ["status", "status"], ["retryAfter", "retry_after"], ["latencyMs", "latency_ms"], ["count", "count"],
      ["probability", "probability"], ["field", "field"], ["value", "value"], ["method", "method"], ["body", "body"],
    ];
    for (const [k, w] of map) if (f[k] !== undefined) spec[w] = f[k];
    settled();
    return callSync(() => this.s.addFault(spec));
  }
  /** Remove every fault. */
  clearFaults(): void {
    settled();
    this.s.clearFaults();
  }
  /** Counters of one tenant (default: the seeded one). */
  stats(tenantId?: string): { exchanges: number; verifies: number; verifyAllows: number; verifyDenies: number; evidenceAccepted: number; evidenceReplays: number; [k: string]: number } {
    settled();
    const all = this.s.stats() as { tenants: Record<string, Record<string, number>> };
    return camel(all.tenants[tenantId ?? this.tenantId] ?? {});
  }
  /**
   * Another tenant with a fresh API key; given an existing tenant id, another key for that tenant
   * (the rotation drill).
   */
  createTenant(tenantId?: string): { tenantId: string; apiKey: string } {
    const [t, k] = this.s.createTenant(tenantId);
    return { tenantId: t, apiKey: k };
  }
  /** Make the Gateway name another tenant for `apiKey` (tests of tenant-change handling); false for an unknown key. */
  rebindApiKey(apiKey: string, tenantId: string): boolean {
    return this.s.rebindApiKey(apiKey, tenantId);
  }
  /** Move the dev clock ahead by whole `seconds`; returns how far ahead of real time it now is. */
  advanceClock(seconds: number): number {
    settled();
    return callSync(() => this.s.advanceClock(seconds));
  }
  /** Decide an approval request as a reviewer would. */
  decideApproval(
    approvalRequestId: string,
    decision: "approve" | "reject",
    options: { reason?: string; tenantId?: string } = {},
  ): Record<string, unknown> {
    if (decision !== "approve" && decision !== "reject") {
      throw new TypeError(`decision: expected "approve" or "reject", got ${String(decision)}`);
    }
    settled();
    return camel(
      callSync(() => this.s.decideApproval(approvalRequestId, decision === "approve", options.reason, options.tenantId)),
    ) as Record<string, unknown>;
  }
  /** Stop both listeners (also what `await using` does). */
  async stop(): Promise<void> {
    await native.settle();
    this.s.stop();
  }
  [asyncDispose](): Promise<void> {
    return this.stop();
  }
  toJSON(): object {
    return { gatewayUrl: this.gatewayUrl, harborUrl: this.harborUrl, tenantId: this.tenantId };
  }
  [inspect.custom](): string {
    return `LocalHarbor { gatewayUrl: ${JSON.stringify(this.gatewayUrl)}, harborUrl: ${JSON.stringify(this.harborUrl)}, tenantId: ${JSON.stringify(this.tenantId)} }`;
  }
}

/** One case of the hostile corpus (`tests/scenarios/hostile.json`). */
export interface HostileCase {
  id: string;
  /** Class of fault, e.g. `redirect`, `duplicate_keys`. */
  class: string;
  /** `exchange`, `verify`, `evidence`, `principal`, `signal_receipt` or `ledger_tip`. */
  route: string;
  /** Acceptable error / deny codes (`harbor_denied`: Harbor answered a deny). */
  expectCodes: string[];
  /** Whether the answer echoes a secret (no output may contain one, nor its first 16 characters). */
  secretEcho: boolean;
  /** The case object as it appears in the corpus. */
  raw: Record<string, unknown>;
}

export interface HostileHarborOptions {
  /** The corpus file; default: the repository's `tests/scenarios/hostile.json`. */
  corpusPath?: string;
}

/**
 * A raw-socket hostile Gateway + Harbor + Signal on loopback (one URL for all), serving the
 * language-neutral corpus: every request gets a good answer except those of the current case's
 * route, which get the case's hostile bytes. Redirects point at an *evil* listener and
 * `proxyUrl` is a listener acting as an HTTP proxy; both answer a perfect allow and count hits, so a
 * fail-closed client leaves `evilHits()` and `proxyHits()` at 0.
 * `await using h = await HostileHarbor.start()`.
 */
export class HostileHarbor {
  declare private readonly s: NativeHostile;
  private constructor(s: NativeHostile) {
    Object.defineProperty(this, "s", { value: s, enumerable: false });
  }
  static async start(options: HostileHarborOptions = {}): Promise<HostileHarbor> {
    return new HostileHarbor(await call(() => native.HostileServer.start(options.corpusPath)));
  }
  /** Base URL of the Gateway and of Harbor (`http://127.0.0.1:PORT`). */
  get url(): string {
    return this.s.url;
  }
  /** The listener every redirect points at. */
  get evilUrl(): string {
    return this.s.evilUrl;
  }
  /** A listener that acts as an HTTP proxy (for `proxyUrl` and `HTTP_PROXY` tests). */
  get proxyUrl(): string {
    return this.s.proxyUrl;
  }
  /** The API key to open sessions with (a secret: not shown by inspect). */
  get apiKey(): string {
    return this.s.apiKey;
  }
  /** The Harbor JWT the good exchange hands out (a secret). */
  get jwt(): string {
    return this.s.jwt;
  }
  get signalPublicKeyHex(): string {
    return this.s.signalPublicKeyHex;
  }
  /** The corpus's test settings (`timeout_ms`, `deadline_ms`, `tenant`, `payee_did`, ...). */
  get defaults(): Record<string, unknown> {
    return this.s.defaults() as Record<string, unknown>;
  }
  /**
   * Serve `id` from now on (`null`: every answer good) and reset the per-route hit counters.
   * `exchangeMode` for `exchange` cases: `"every"` (seen at session open) or `"after_first"`
   * (the first exchange is good, the next Harbor request answers 401, the re-mint gets the case).
   */
  setCase(id: string | null, exchangeMode: "every" | "after_first" = "every"): void {
    settled();
    callSync(() => this.s.setCase(id, exchangeMode));
  }
  /** Requests the evil listener received (redirects followed). */
  evilHits(): number {
    settled();
    return this.s.evilHits();
  }
  /** Requests the proxy listener received. */
  proxyHits(): number {
    settled();
    return this.s.proxyHits();
  }
  /** Requests the main listener received for `route` since the last `setCase`. */
  hits(route: string): number {
    settled();
    return this.s.hits(route);
  }
  caseIds(): string[] {
    return this.s.caseIds();
  }
  case(id: string): HostileCase | null {
    return (this.s.case(id) as HostileCase | null) ?? null;
  }
  async dispose(): Promise<void> {
    await native.settle();
    this.s.shutdown();
  }
  [asyncDispose](): Promise<void> {
    return this.dispose();
  }
  toJSON(): object {
    return { url: this.url, evilUrl: this.evilUrl, proxyUrl: this.proxyUrl };
  }
  [inspect.custom](): string {
    return `HostileHarbor { url: ${JSON.stringify(this.url)}, evilUrl: ${JSON.stringify(this.evilUrl)}, proxyUrl: ${JSON.stringify(this.proxyUrl)} }`;
  }
}

/** Background spend completions of this process land before a LocalHarbor read or change. */
function settled(): void {
  callSync(() => native.settleSync());
}

/**
 * How many spend completions this process sent in the background (a successful call of an
 * agent adapter) are still on their way. `await binding.settle()` waits for them.
 */
export function pendingCompletions(): number {
  return native.pendingCompletions();
}
