/**
 * MCP guard for the official TypeScript SDK (`@modelcontextprotocol/sdk`): every `tools/call` is
 * verified by Harbor before the tool's handler runs.
 *
 * - {@link guardCallToolHandler} wraps a low-level handler:
 *   `server.setRequestHandler(CallToolRequestSchema, guardCallToolHandler(handler, { harbor: session }))`.
 * - {@link guardMcpServer} guards every tool an `McpServer` registers afterwards
 *   (`registerTool` and the older `tool`).
 *
 * The capability is fixed per server (`binding`), or arrives with each request in
 * `params._meta["paybond/capability"] = { intent_id, token }` (`harbor`: the session to bind it
 * with; {@link capabilityMeta} builds it). An upstream OAuth token is never a capability. A deny
 * is a tool error result, `{ content: [{ type: "text", text: "Paybond denied <tool>: <code>:
 * <message>" }], isError: true }`: the handler never runs and nothing throws. Allowed calls are
 * completed (consumed after success; released after a throw or an `isError` result) and evidence
 * (optional) is submitted after success only. The handler never sees the capability token.
 *
 * This module imports nothing from the SDK at run time (the types below are structural), so it
 * works with any `@modelcontextprotocol/sdk` 1.x that has these shapes (tested: 1.32.2).
 */

import { createHash, randomUUID } from "node:crypto";
import { CapabilityBinding, HarborClient, ServiceAccountHarborSession } from "./client.js";
import { InvalidArgumentError } from "./errors.js";
import { checkOptions, denyDecision, GuardCore, type GuardEvent, type OnApproval, type SpendSpec } from "./guard.js";
import { describeDecision, type Decision } from "./types.js";

export type { GuardEvent, OnApproval, SpendSpec, ToolArgs, ToolSpend } from "./guard.js";

/** The `_meta` key that carries a per-request capability: `{ intent_id: string, token: string }`. */
export const CAPABILITY_META_KEY = "paybond/capability";
/**
 * Optional `_meta` key with the client's tool-call id (per-request capabilities only): the same id
 * again is idempotent before the tool ran, and a deny `call_replayed` after.
 */
export const CALL_ID_META_KEY = "paybond/call_id";

/** One guarded MCP call, as spend functions and evidence functions see it. */
export interface McpToolCall {
  /** The `tools/call` name (the Harbor operation unless the binding maps it). */
  toolName: string;
  /** The id the reservation and evidence are bound to. */
  callId: string;
  /** The call's arguments (a JSON object). */
  arguments: Record<string, unknown>;
  /** The intent the call spends from. */
  intentId: string;
}

/** An MCP content block (structural; the SDK's `ContentBlock`). */
export type McpContent = { type: string; [k: string]: unknown };

/** An MCP `CallToolResult` (structural). */
export interface McpCallToolResult {
  content: McpContent[];
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
  [k: string]: unknown;
}

/** An MCP `tools/call` request as a low-level handler receives it (structural). */
export interface McpCallToolRequest {
  method: "tools/call" | string;
  params: { name: string; arguments?: Record<string, unknown>; _meta?: Record<string, unknown>; [k: string]: unknown };
}

/** The handler's second argument (`RequestHandlerExtra`; only `_meta` is read). */
export interface McpRequestExtra {
  _meta?: Record<string, unknown>;
  [k: string]: unknown;
}

/** Options of every MCP guard. Exactly one of `binding` and `harbor` is required. */
export interface McpGuardOptions {
  /** A fixed capability for every call (single-tenant servers, proxies). */
  binding?: CapabilityBinding;
  /** For per-request capabilities in `_meta["paybond/capability"]`: the Harbor client or an open session. */
  harbor?: HarborClient | ServiceAccountHarborSession;
  /** Cents per call: an integer, a function of the {@link McpToolCall}, or a per-tool mapping. Default 0. */
  requestedSpendCents?: SpendSpec<McpToolCall>;
  /** The payload to sign as payee evidence after a successful call (may be async). */
  evidence?: (call: McpToolCall, result: unknown) => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Called once per call with what happened (never changes the outcome). */
  onDecision?: (e: GuardEvent) => void;
  /**
   * Answers `approval_required` (may be async). Without it such a call is a deny
   * `approval_required` naming the approval request: decide it, then call again with the same
   * `_meta["paybond/call_id"]` and arguments.
   */
  onApproval?: OnApproval;
  /** Names of the tools that may be called at all; others are denied (`unknown_tool`) without asking Harbor. */
  tools?: readonly string[];
  /** Payee DID for evidence under per-request capabilities. */
  payeeDid?: string;
  /** Payee signing seed (64 hex digits or 32 bytes) for evidence under per-request capabilities. */
  payeeSigningSeed?: string | Uint8Array;
  /** How many per-request bindings to keep (least recently used are dropped). Default 256. */
  maxBindings?: number;
}

/**
 * The `_meta` entries that carry a capability to a Paybond-guarded MCP server:
 * `client.callTool({ name, arguments, _meta: capabilityMeta(intentId, token) })`.
 * The token is a secret: send it only to a server you trust with it.
 * @param intentId the intent to spend from.
 * @param capabilityToken that intent's capability token.
 * @param callId optional tool-call id for end-to-end idempotency ({@link CALL_ID_META_KEY}).
 * @throws {InvalidArgumentError} an empty `intentId`, `capabilityToken` or `callId`.
 */
export function capabilityMeta(intentId: string, capabilityToken: string, callId?: string): Record<string, unknown> {
  for (const [field, v] of [["intentId", intentId], ["capabilityToken", capabilityToken]] as const) {
    if (typeof v !== "string" || v === "") throw new InvalidArgumentError(`invalid argument \`${field}\`: must be a non-empty string`, { field });
  }
  const meta: Record<string, unknown> = { [CAPABILITY_META_KEY]: { intent_id: intentId, token: capabilityToken } };
  if (callId !== undefined) {
    if (typeof callId !== "string" || callId === "") throw new InvalidArgumentError("invalid argument `callId`: must be a non-empty string", { field: "callId" });
    meta[CALL_ID_META_KEY] = callId;
  }
  return meta;
}

/** `meta` without the Paybond keys (the token never reaches a handler). */
export function stripCapability<M extends Record<string, unknown> | undefined>(meta: M): M {
  if (meta === undefined || meta === null || typeof meta !== "object") return meta;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta)) if (k !== CAPABILITY_META_KEY && k !== CALL_ID_META_KEY) out[k] = v;
  return out as M;
}

/** An MCP tool error result (`isError: true`) carrying `text`. */
export function denyResult(text: string): McpCallToolResult {
  return { content: [{ type: "text", text }], isError: true };
}

/** Whether a handler's result is a tool error. */
export function isErrorResult(r: unknown): boolean {
  return r !== null && typeof r === "object" && (r as { isError?: unknown }).isError === true;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** The framework-neutral MCP guard every wrapper of this module runs on. */
export class McpGuard {
  /** The shared guard engine (authorize → run → finish → evidence). @internal */
  readonly core: GuardCore<McpToolCall>;
  /** The fixed capability (`undefined` in per-request mode). */
  readonly binding: CapabilityBinding | undefined;
  /** The Harbor client per-request capabilities are bound with (`undefined` with a fixed binding). */
  readonly harbor: HarborClient | undefined;
  private allowed: ReadonlySet<string> | null;
  private readonly payee: { payeeDid?: string; payeeSigningSeed?: string | Uint8Array };
  private readonly max: number;
  private readonly bindings = new Map<string, CapabilityBinding>();

  /**
   * @throws {InvalidArgumentError} both or neither of `binding` / `harbor`, or a bad option
   *   (`requestedSpendCents`, `evidence`, `onDecision`, `onApproval`, `tools`, `maxBindings`).
   */
  constructor(options: McpGuardOptions) {
    const o: McpGuardOptions = isRecord(options) ? (options as McpGuardOptions) : {};
    const harbor = o.harbor instanceof ServiceAccountHarborSession ? o.harbor.harbor : o.harbor;
    if ((o.binding === undefined) === (harbor === undefined)) {
      throw new InvalidArgumentError("invalid argument `binding`: pass exactly one of binding (a fixed capability) or harbor (per-request capabilities)", { field: "binding" });
    }
    if (harbor !== undefined && !(harbor instanceof HarborClient)) {
      throw new InvalidArgumentError("invalid argument `harbor`: expected a HarborClient or an open ServiceAccountHarborSession", { field: "harbor" });
    }
    const spend = o.requestedSpendCents ?? 0;
    checkOptions(o.binding, "deny", spend, o.onApproval);
    for (const [field, fn] of [["evidence", o.evidence], ["onDecision", o.onDecision]] as const) {
      if (fn !== undefined && typeof fn !== "function") throw new InvalidArgumentError(`invalid argument \`${field}\`: expected a function`, { field });
    }
    if (o.tools !== undefined && (!Array.isArray(o.tools) || !o.tools.every((t) => typeof t === "string"))) {
      throw new InvalidArgumentError("invalid argument `tools`: expected an array of tool names", { field: "tools" });
    }
    const max = o.maxBindings ?? 256;
    if (!Number.isSafeInteger(max) || max < 1) throw new InvalidArgumentError("invalid argument `maxBindings`: expected an integer >= 1", { field: "maxBindings" });
    this.core = new GuardCore<McpToolCall>({ spend, onError: "deny", evidence: o.evidence, onDecision: o.onDecision, onApproval: o.onApproval });
    this.binding = o.binding;
    this.harbor = harbor;
    this.allowed = o.tools === undefined ? null : new Set(o.tools);
    this.payee = { payeeDid: o.payeeDid, payeeSigningSeed: o.payeeSigningSeed };
    this.max = max;
  }

  /** Replace the allow-list of callable tool names (`null`: every name goes to Harbor). */
  setTools(tools: readonly string[] | null): void {
    this.allowed = tools === null ? null : new Set(tools);
  }

  private bindingFor(meta: Record<string, unknown> | undefined): CapabilityBinding | Decision {
    if (this.binding !== undefined) return this.binding;
    const raw = isRecord(meta) ? meta[CAPABILITY_META_KEY] : undefined;
    if (raw === undefined || raw === null) {
      return denyDecision("capability_missing", `the request carries no _meta["${CAPABILITY_META_KEY}"] {"intent_id", "token"}`);
    }
    const intentId = isRecord(raw) ? raw.intent_id : undefined;
    const token = isRecord(raw) ? raw.token : undefined;
    if (typeof intentId !== "string" || intentId === "" || typeof token !== "string" || token === "") {
      // Never echo the value: it may hold a token.
      return denyDecision("capability_invalid", `_meta["${CAPABILITY_META_KEY}"] must be an object with non-empty string "intent_id" and "token"`);
    }
    const key = `${intentId}\u0000${createHash("sha256").update(token).digest("hex")}`;
    const found = this.bindings.get(key);
    if (found !== undefined) {
      this.bindings.delete(key);
      this.bindings.set(key, found);
      return found;
    }
    let b: CapabilityBinding;
    try {
      const opts: Record<string, unknown> = {};
      if (this.payee.payeeDid !== undefined) opts.payeeDid = this.payee.payeeDid;
      if (this.payee.payeeSigningSeed !== undefined) opts.payeeSigningSeed = this.payee.payeeSigningSeed;
      b = new CapabilityBinding(this.harbor as HarborClient, intentId, token, opts);
    } catch (e) {
      const err = e as { code?: unknown; message?: unknown };
      return denyDecision(typeof err?.code === "string" ? err.code : "capability_invalid", typeof err?.message === "string" ? err.message : "the capability was refused");
    }
    this.bindings.set(key, b);
    while (this.bindings.size > this.max) {
      const oldest = this.bindings.keys().next().value as string;
      this.bindings.delete(oldest);
    }
    return b;
  }

  /**
   * Guard one tool call: resolve the capability, authorize, run `execute`, finish.
   * @param name the tool name.
   * @param args the call's arguments (JSON data).
   * @param meta the request's `_meta` (read for a per-request capability).
   * @param execute runs the real handler; called only after an allow.
   * @param deny builds the framework's tool error from the deny text.
   * @param isError whether a handler result is an error result (then the spend is released).
   * @param callId the call's id when the caller has one (else one is made).
   * @returns what `execute` returned, or `deny(text)`. Never rejects for a deny; an error from
   *   `execute` is rethrown after the spend was released.
   */
  async call<R>(
    name: string,
    args: Record<string, unknown> | undefined,
    meta: Record<string, unknown> | undefined,
    execute: () => Promise<R>,
    deny: (text: string) => R,
    isError: (r: R) => boolean,
    callId?: string,
  ): Promise<R> {
    const toolName = typeof name === "string" ? name : String(name ?? "");
    const a: Record<string, unknown> = isRecord(args) ? { ...args } : {};
    const b = this.bindingFor(meta);
    let id = callId;
    if (id === undefined && this.binding === undefined && isRecord(meta)) {
      const raw = meta[CALL_ID_META_KEY];
      if (typeof raw === "string" && raw !== "") id = raw;
    }
    const cid = id ?? `pbk-${randomUUID()}`;
    if (!(b instanceof CapabilityBinding)) return this.localDeny(toolName, cid, b, deny);
    if (this.allowed !== null && !this.allowed.has(toolName)) {
      return this.localDeny(toolName, cid, denyDecision("unknown_tool", `${JSON.stringify(toolName)} is not a tool this server lists`), deny);
    }
    const call: McpToolCall = { toolName, callId: cid, arguments: a, intentId: b.intentId };
    return this.core.run(b, toolName, cid, a, call, execute, (d) => deny(describeDecision(d, toolName)), { isError });
  }

  private localDeny<R>(name: string, callId: string, d: Decision, deny: (text: string) => R): R {
    this.core.denied(name, callId, { decision: d, spendCents: null, approvalRequestId: null });
    return deny(describeDecision(d, name));
  }
}

/** A low-level `tools/call` handler (`server.setRequestHandler(CallToolRequestSchema, handler)`). */
export type CallToolHandler<Req extends McpCallToolRequest = McpCallToolRequest, Extra extends McpRequestExtra = McpRequestExtra, Res = McpCallToolResult> =
  (request: Req, extra: Extra) => Promise<Res> | Res;

/**
 * Wrap a low-level `tools/call` handler so it runs only after Harbor allowed the call:
 * `server.setRequestHandler(CallToolRequestSchema, guardCallToolHandler(handler, { harbor: session }))`.
 * The handler receives the request and `extra` with the Paybond `_meta` keys removed.
 * @param handler the real `tools/call` handler; it runs only after an allow.
 * @param options the capability (`binding` or `harbor`) and the guard's options ({@link McpGuardOptions}).
 * @returns the guarded handler: a deny resolves to a tool error result, never a rejection.
 * @throws {InvalidArgumentError} `handler` is not a function, or a bad option (see {@link McpGuard}).
 */
export function guardCallToolHandler<Req extends McpCallToolRequest, Extra extends McpRequestExtra, Res>(
  handler: CallToolHandler<Req, Extra, Res>,
  options: McpGuardOptions,
): CallToolHandler<Req, Extra, Res | McpCallToolResult> {
  if (typeof handler !== "function") throw new InvalidArgumentError("invalid argument `handler`: expected a function (request, extra) => CallToolResult", { field: "handler" });
  const guard = new McpGuard(options);
  return async (request: Req, extra: Extra) => {
    const params = isRecord(request?.params) ? request.params : { name: "" };
    const meta = isRecord(params._meta) ? params._meta : isRecord(extra?._meta) ? extra._meta : undefined;
    const innerReq = { ...request, params: { ...params, _meta: stripCapability(params._meta) } } as Req;
    if (innerReq.params._meta === undefined) delete innerReq.params._meta;
    const innerExtra = (isRecord(extra) ? { ...extra, _meta: stripCapability(extra._meta) } : extra) as Extra;
    return guard.call<Res | McpCallToolResult>(
      String(params.name ?? ""), params.arguments, meta,
      async () => handler(innerReq, innerExtra), denyResult, isErrorResult,
    );
  };
}

/** The parts of an SDK `McpServer` that {@link guardMcpServer} wraps (structural). */
export interface McpServerLike {
  registerTool(name: string, config: unknown, cb: (...args: never[]) => unknown): unknown;
  tool?(name: string, ...rest: unknown[]): unknown;
}

const GUARDED = Symbol.for("paybond-kit.mcp.guarded");

/**
 * Guard every tool `server` (an SDK `McpServer`) registers from now on, through `registerTool` or
 * `tool`: its callback runs only after Harbor allowed the call, with the arguments the SDK
 * validated. Call it before registering tools: a server that already has tools is refused (they
 * would stay unguarded). Returns the same server.
 * @param server the SDK `McpServer` (changed in place).
 * @param options the capability (`binding` or `harbor`) and the guard's options ({@link McpGuardOptions}).
 * @throws {InvalidArgumentError} not an `McpServer`, tools already registered, it was guarded
 *   already, or a bad option (see {@link McpGuard}).
 */
export function guardMcpServer<S extends McpServerLike>(server: S, options: McpGuardOptions): S {
  if (!isRecord(server) || typeof (server as McpServerLike).registerTool !== "function") {
    throw new InvalidArgumentError("invalid argument `server`: expected an @modelcontextprotocol/sdk McpServer", { field: "server" });
  }
  const s = server as unknown as Record<string | symbol, unknown>;
  if (s[GUARDED]) throw new InvalidArgumentError("invalid argument `server`: this McpServer is guarded already", { field: "server" });
  const registered = s._registeredTools;
  if (isRecord(registered) && Object.keys(registered).length > 0) {
    throw new InvalidArgumentError(
      `invalid argument \`server\`: tools are registered already (${Object.keys(registered).join(", ")}); call guardMcpServer before registering tools`,
      { field: "server" },
    );
  }
  const guard = new McpGuard(options);
  // The tool's current name (a RegisteredTool can be renamed through update({ name })).
  type Named = { name: string };
  const wrap = (tool: Named, cb: unknown): unknown => {
    if (typeof cb !== "function") return cb;
    const fn = cb as (...a: unknown[]) => unknown;
    return async (...a: unknown[]) => {
      // With an input schema the SDK calls cb(args, extra); without one, cb(extra).
      const hasArgs = a.length >= 2;
      const args = hasArgs && isRecord(a[0]) ? a[0] : undefined;
      const extra = (hasArgs ? a[1] : a[0]) as McpRequestExtra | undefined;
      const meta = isRecord(extra?._meta) ? extra._meta : undefined;
      const innerExtra = isRecord(extra) ? { ...extra, _meta: stripCapability(extra._meta) } : extra;
      return guard.call<unknown>(tool.name, args, meta, async () => (hasArgs ? fn(a[0], innerExtra) : fn(innerExtra)), denyResult, isErrorResult);
    };
  };
  // A callback or name set later through the RegisteredTool's update() stays guarded.
  const keepGuarded = (tool: Named, registered: unknown): unknown => {
    if (!isRecord(registered) || typeof registered.update !== "function") return registered;
    const update = (registered.update as (u: unknown) => unknown).bind(registered);
    registered.update = (updates: unknown) => {
      if (!isRecord(updates)) return update(updates);
      const next: Record<string, unknown> = { ...updates };
      if (typeof next.name === "string") tool.name = next.name;
      if (next.callback !== undefined) next.callback = wrap(tool, next.callback);
      return update(next);
    };
    return registered;
  };
  const registerTool = server.registerTool.bind(server);
  s.registerTool = (name: string, config: unknown, cb: unknown) => {
    const tool = { name };
    return keepGuarded(tool, registerTool(name, config, wrap(tool, cb) as never));
  };
  if (typeof server.tool === "function") {
    const toolFn = server.tool.bind(server);
    s.tool = (name: string, ...rest: unknown[]) => {
      const tool = { name };
      const last = rest.length - 1;
      if (last >= 0) rest[last] = wrap(tool, rest[last]);
      return keepGuarded(tool, toolFn(name, ...rest));
    };
  }
  Object.defineProperty(s, GUARDED, { value: guard, enumerable: false });
  return server;
}
