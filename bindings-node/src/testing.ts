/** The Rust dev server (Gateway + Harbor + Signal) in-process on port 0, for tests and demos. */

import { inspect } from "node:util";
import native from "./native-binding.js";
import { call, callSync } from "./errors.js";
import { camel } from "./types.js";

type NativeDevServer = InstanceType<typeof native.DevServer>;
const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? (Symbol.for("Symbol.asyncDispose") as typeof Symbol.asyncDispose);

export const FAULT_KINDS = [
  "status", "latency", "drop", "drop_after", "truncate", "malformed",
  "wrong_tenant", "wrong_intent", "non_boolean_allow", "remove_field", "set_field",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultSpec {
  route: string;
  kind: FaultKind;
  status?: number;
  retryAfter?: number;
  latencyMs?: number;
  count?: number;
  probability?: number;
  field?: string;
  value?: unknown;
  method?: string;
  body?: unknown;
}

/** A funded dev intent. Token and seed never show in inspect/console.log/JSON.stringify. */
export class DevIntent {
  readonly intentId: string;
  readonly tenantId: string;
  readonly payeeDid: string;
  readonly payeePubkey: string;
  readonly allowedTools: string[];
  readonly amountCents: number;
  readonly currency: string;
  declare readonly capabilityToken: string;
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
  jwtTtlSeconds?: number;
  tenantId?: string;
  apiKey?: string;
}

/** The dev server, started in-process on free loopback ports. `await using h = await LocalHarbor.start()`. */
export class LocalHarbor {
  declare private readonly s: NativeDevServer;
  private constructor(s: NativeDevServer) {
    Object.defineProperty(this, "s", { value: s, enumerable: false });
  }
  static async start(options: LocalHarborOptions = {}): Promise<LocalHarbor> {
    return new LocalHarbor(await call(native.DevServer.start(options)));
  }
  get gatewayUrl(): string {
    return this.s.gatewayUrl;
  }
  get harborUrl(): string {
    return this.s.harborUrl;
  }
  /** The seeded tenant's sandbox API key (a secret: not shown by inspect). */
  get apiKey(): string {
    return this.s.apiKey;
  }
  get tenantId(): string {
    return this.s.tenantId;
  }
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
    tenantId?: string;
  }): DevIntent {
    const req: Record<string, unknown> = { allowed_tools: o.allowedTools, amount_cents: o.amountCents };
    if (o.payeeDid !== undefined) req.payee_did = o.payeeDid;
    if (o.payeePubkey !== undefined) req.payee_pubkey = o.payeePubkey;
    if (o.currency !== undefined) req.currency = o.currency;
    if (o.deadline !== undefined) req.deadline = o.deadline;
    if (o.tokenTtlSeconds !== undefined) req.token_ttl_seconds = o.tokenTtlSeconds;
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
    return callSync(() => this.s.addFault(spec));
  }
  clearFaults(): void {
    this.s.clearFaults();
  }
  /** Counters of one tenant (default: the seeded one). */
  stats(tenantId?: string): { exchanges: number; verifies: number; verifyAllows: number; verifyDenies: number; evidenceAccepted: number; evidenceReplays: number; [k: string]: number } {
    const all = this.s.stats() as { tenants: Record<string, Record<string, number>> };
    return camel(all.tenants[tenantId ?? this.tenantId] ?? {});
  }
  createTenant(tenantId?: string): { tenantId: string; apiKey: string } {
    const [t, k] = this.s.createTenant(tenantId);
    return { tenantId: t, apiKey: k };
  }
  rebindApiKey(apiKey: string, tenantId: string): boolean {
    return this.s.rebindApiKey(apiKey, tenantId);
  }
  async stop(): Promise<void> {
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
