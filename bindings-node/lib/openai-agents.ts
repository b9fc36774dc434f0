/**
 * OpenAI Agents JS adapter: a tool input guardrail (built with `defineToolInputGuardrail`)
 * that verifies each call with Harbor. A deny is `rejectContent` — the tool does not run and
 * the model reads the reason; a missing binding is a misconfiguration (`throwException`).
 * The guardrail never lets an error escape.
 *
 * `guardFunctionTools` / `guardAgent` also complete every allowed call (consumed / released),
 * map Harbor's `approval_required` to the SDK's own `needsApproval` → `RunState.approve/reject`
 * pause, and refuse to build around a tool path no guardrail sees (hosted tools, handoffs,
 * agents as tools, MCP servers, shell / computer tools) unless it is listed in `unguarded`.
 */

import { defineToolInputGuardrail, getHandoff, ToolGuardrailFunctionOutputFactory } from "@openai/agents";
import { CapabilityBinding } from "./client.js";
import { InvalidArgumentError } from "./errors.js";
import {
  callIdOrNew,
  checkOptions,
  checkUnguarded,
  denyDecision,
  finishQuietly,
  GuardCore,
  logUnguarded,
  NO_ANSWER,
  notClaimed,
  refuseUnguarded,
  type Authorized,
  type GuardEvent,
  type OnApproval,
  type Pause,
  type SpendSpec,
} from "./guard.js";
import { describeDecision, isAllowed, isApprovalRequired, type Decision, type ToolPath } from "./types.js";

export type { GuardEvent, OnApproval, SpendSpec, ToolArgs, ToolSpend } from "./guard.js";
export type { ApprovalAnswer, ApprovalRequest, ToolPath, ToolPathKind } from "./types.js";
export { UnguardedToolError } from "./errors.js";

/** What the guardrail receives (the parts it reads). */
export interface GuardrailDataLike {
  toolCall: { name: string; callId?: string; arguments?: string };
  context?: { context?: unknown };
}

export interface PaybondGuardrailOptions {
  /** The binding; otherwise the run context (`run(agent, input, { context: binding })`). */
  binding?: CapabilityBinding;
  /**
   * Cents to reserve: an exact integer in `0..=2^53-1`, a function of the guardrail data returning
   * one, or a per-tool mapping `{ book_flight: (args) => args.cost_cents, search: 0 }` whose
   * functions take the tool's parsed arguments. A bad static value throws `InvalidArgumentError`
   * (`requestedSpendCents`) here; a resolver that throws or returns a non-spend, and a tool the
   * mapping does not name, are a deny (`rejectContent` with `spend_resolver_failed`): the tool does not run.
   */
  requestedSpendCents?: SpendSpec<GuardrailDataLike>;
  name?: string;
  onDecision?: (e: GuardEvent) => void;
  /**
   * Answers Harbor's `approval_required` instead of the SDK's approval pause. Without it,
   * `guardFunctionTools` / `guardAgent` make such a call pause the run (`needsApproval`).
   */
  onApproval?: OnApproval;
  /**
   * Names the guard accepts knowingly without Harbor: function tools listed here run without a
   * check (free tools); hosted tools, handoffs, agents as tools and MCP servers listed here are let
   * through. Logged once.
   */
  unguarded?: readonly string[];
}

function info(d: Decision): Record<string, unknown> {
  return {
    paybond: d.decision,
    code: d.code ?? null,
    reason: d.reason ?? null,
    auditId: d.auditId ?? null,
    remainingCents: d.remainingCents ?? null,
    approvalRequestId: d.approvalRequestId ?? null,
  };
}

/** What `guardFunctionTools` shares between a tool's guardrail, `needsApproval` and `invoke`. */
interface ToolGuardState {
  g: GuardCore<GuardrailDataLike>;
  binding: CapabilityBinding | undefined;
  /** Call ids whose `needsApproval` answered true: their first guardrail pass may precede the pause. */
  paused: Set<string>;
  /** Allowed call ids → what the guardrail decided (read once by `invoke`, which reports the call). */
  allowed: Map<string, Authorized>;
  /**
   * Denies `needsApproval` got just before the guardrail pass of the same call (read once): a
   * failing Harbor is not asked twice, so a call still answers within one deadline.
   */
  denied: Map<string, { argsJson: string; a: Authorized; at: number }>;
}

/** How long a deny from the `needsApproval` pass stands in for the guardrail's own verify. */
const PRE_DENY_TTL_MS = 60_000;

/** The RunContext parts the guardrail reads (duck-typed). */
interface RunContextLike {
  context?: unknown;
  isToolApproved?: (a: { toolName: string; callId: string }) => boolean | undefined;
  toJSON?: () => { approvals?: Record<string, { approved?: boolean | string[] }> };
}

/**
 * Whether the SDK's reviewer approved exactly this call (`state.approve(item)`). A sticky approval
 * (`alwaysApprove: true`) is not forwarded to Harbor: each Harbor approval needs its own decision.
 */
function sdkApprovedThisCall(ctx: RunContextLike | undefined, name: string, callId: string): boolean {
  try {
    if (ctx?.isToolApproved?.({ toolName: name, callId }) !== true) return false;
    const approvals = ctx.toJSON?.().approvals ?? {};
    const own = approvals[name]?.approved;
    if (Array.isArray(own)) return own.includes(callId);
    if (own === true) return false;
    return Object.values(approvals).some((r) => Array.isArray(r?.approved) && r.approved.includes(callId));
  } catch {
    return false;
  }
}

function bindingOf(explicit: CapabilityBinding | undefined, ctx: { context?: unknown } | undefined): CapabilityBinding | undefined {
  if (explicit) return explicit;
  return ctx?.context instanceof CapabilityBinding ? ctx.context : undefined;
}

function parseArgs(raw: string | undefined): { ok: true; args: unknown } | { ok: false; decision: Decision } {
  try {
    return { ok: true, args: JSON.parse(raw || "{}") as unknown };
  } catch (e) {
    return { ok: false, decision: denyDecision("invalid_argument", `tool arguments are not JSON: ${(e as Error).message}`) };
  }
}

function buildCore(options: PaybondGuardrailOptions): GuardCore<GuardrailDataLike> {
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("invalid argument `options`: expected an object", { field: "options" });
  const spend = options.requestedSpendCents ?? 0;
  checkOptions(options.binding, "deny", spend, options.onApproval);
  const unguarded = checkUnguarded(options.unguarded);
  return new GuardCore<GuardrailDataLike>({ spend, onError: "deny", onDecision: options.onDecision, onApproval: options.onApproval, unguarded });
}

const GUARDRAIL = Symbol.for("paybond-kit.openai.guardrail");

function makeGuardrail(options: PaybondGuardrailOptions, g: GuardCore<GuardrailDataLike>, st?: ToolGuardState) {
  const gr = defineToolInputGuardrail({
    name: options.name ?? "paybond_capability",
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    run: async (data: any) => {
      const d = data as GuardrailDataLike;
      const ctx = d.context as RunContextLike | undefined;
      const name = String(d.toolCall?.name ?? "");
      const callId = callIdOrNew(d.toolCall?.callId);
      const b = bindingOf(options.binding, ctx);
      if (!b) {
        return ToolGuardrailFunctionOutputFactory.throwException({
          paybond: "misconfigured",
          message: "no paybond-kit CapabilityBinding: pass binding or run(..., { context: binding })",
        });
      }
      if (g.unguarded.has(name)) return ToolGuardrailFunctionOutputFactory.allow({ paybond: "unguarded" });
      const parsed = parseArgs(d.toolCall?.arguments);
      let a: Authorized;
      if (!parsed.ok) {
        a = { decision: parsed.decision, spendCents: null, approvalRequestId: null };
      } else {
        // The SDK's reviewer approved this call (state.approve(item)): forward that once to Harbor.
        let asked = false;
        const pause: Pause = () => {
          if (asked || !sdkApprovedThisCall(ctx, name, callId)) return NO_ANSWER;
          asked = true;
          return "approve";
        };
        const pre = st?.denied.get(callId);
        st?.denied.delete(callId);
        a = pre && pre.argsJson === JSON.stringify(parsed.args) && Date.now() - pre.at < PRE_DENY_TTL_MS
          ? pre.a
          : await g.authorize(b, name, callId, parsed.args, d, pause);
      }
      const decision = a.decision;
      if (isApprovalRequired(decision) && st?.paused.has(callId) && ctx?.isToolApproved?.({ toolName: name, callId }) === undefined) {
        // The pass before the SDK's approval pause (preApprovalInputGuardrails): let the pause happen.
        return ToolGuardrailFunctionOutputFactory.allow(info(decision));
      }
      if (isAllowed(decision)) {
        if (st) {
          st.paused.delete(callId);
          remember(st.allowed, callId, a);
        } else {
          g.emit({ toolName: name, callId, decision, ran: true, approvalRequestId: a.approvalRequestId });
        }
        return ToolGuardrailFunctionOutputFactory.allow(info(decision));
      }
      st?.paused.delete(callId);
      g.emit({ toolName: name, callId, decision, ran: false, approvalRequestId: a.approvalRequestId });
      return ToolGuardrailFunctionOutputFactory.rejectContent(describeDecision(decision, name), info(decision));
    },
  });
  Object.defineProperty(gr, GUARDRAIL, { value: true, enumerable: false });
  return gr;
}

function remember<V>(m: Map<string, V>, k: string, v: V): void {
  if (m.size > 10_000) m.clear(); // calls that never came back to invoke: forget them
  m.set(k, v);
}

/**
 * A tool input guardrail that calls Harbor `/verify` before the tool runs. Used alone it only
 * checks (it does not complete the spend, pause for approvals or report whether the tool ran):
 * prefer {@link guardFunctionTools} or {@link guardAgent}. Alone, `approval_required` goes to
 * `onApproval`, or is a deny.
 *
 * @param options the binding (or the run context), spend, `onApproval` and `unguarded` options.
 * @returns the guardrail, for a function tool's `inputGuardrails`.
 * @throws {InvalidArgumentError} for a bad option (`binding`, `requestedSpendCents`, `onApproval`, `unguarded`).
 */
export function paybondCapabilityInputGuardrail(options: PaybondGuardrailOptions = {}) {
  const g = buildCore(options);
  return makeGuardrail(options, g);
}

/** A tool entry of an agent (the parts the audit reads). */
interface ToolLike {
  type?: string;
  name?: string;
  inputGuardrails?: unknown[];
  on?: unknown;
  [k: string | symbol]: unknown;
}

const STATE = Symbol.for("paybond-kit.openai.toolGuard");
const ORIGINAL_INVOKE = Symbol.for("paybond-kit.openai.originalInvoke");
const ORIGINAL_NEEDS_APPROVAL = Symbol.for("paybond-kit.openai.originalNeedsApproval");

/** `Agent.asTool()` returns a function tool with an `on(event, handler)` method. */
function isAgentAsTool(t: ToolLike): boolean {
  return t.type === "function" && typeof t.on === "function";
}

function isGuardedFunctionTool(t: ToolLike): boolean {
  return t.type === "function" && t[STATE] !== undefined && (t.inputGuardrails ?? []).some((x) => (x as { [GUARDRAIL]?: boolean })?.[GUARDRAIL] === true);
}

/** The audit entry of one entry of `agent.tools`. */
function toolPath(t: ToolLike): ToolPath {
  const name = String(t?.name ?? "");
  switch (t?.type) {
    case "function":
      if (isAgentAsTool(t) && isDelegated(t)) {
        return { name, kind: "agent_as_tool", guarded: true, detail: "delegateAsTool: the nested agent runs with an attenuated binding" };
      }
      if (isAgentAsTool(t)) {
        return { name, kind: "agent_as_tool", guarded: false, detail: "Agent.asTool(): the nested agent runs its own tools; guard that agent with guardAgent too" };
      }
      return isGuardedFunctionTool(t)
        ? { name, kind: "function", guarded: true, detail: "Paybond input guardrail" }
        : { name, kind: "function", guarded: false, detail: "no Paybond input guardrail" };
    case "hosted_tool":
      return name === "hosted_mcp"
        ? { name: String((t.providerData as { server_label?: unknown } | undefined)?.server_label ?? name), kind: "mcp", guarded: false, detail: "hosted MCP tool: the provider calls the MCP server, no guardrail runs" }
        : { name, kind: "hosted", guarded: false, detail: "hosted tool: runs at OpenAI, no guardrail runs" };
    case "computer":
      return { name, kind: "computer", guarded: false, detail: "computer tool: tool guardrails run only on function tools" };
    case "shell":
      return { name, kind: "shell", guarded: false, detail: "shell tool: tool guardrails run only on function tools" };
    case "apply_patch":
      return { name, kind: "other", guarded: false, detail: "apply_patch tool: tool guardrails run only on function tools" };
    default:
      return { name: name || String(t?.type ?? "tool"), kind: "other", guarded: false, detail: `a ${String(t?.type ?? "untyped")} tool Paybond does not know` };
  }
}

/** An OpenAI agent (the parts the audit reads). */
interface AgentLike {
  name?: string;
  tools?: unknown[];
  handoffs?: unknown[];
  mcpServers?: unknown[];
}

/** Marked by `delegateHandoff` / `delegateAsTool` (paybond-kit): the sub-agent runs with its own attenuated binding. */
export const DELEGATED = Symbol.for("paybond-kit.delegated");

function isDelegated(x: unknown): boolean {
  return typeof x === "object" && x !== null && (x as Record<symbol, unknown>)[DELEGATED] === true;
}

function handoffPath(h: unknown): ToolPath {
  let name = "handoff";
  let target = "";
  try {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const ho = getHandoff(h as any);
    name = ho.toolName;
    target = ho.agentName;
  } catch {
    name = String((h as { toolName?: unknown; name?: unknown })?.toolName ?? (h as { name?: unknown })?.name ?? name);
  }
  if (isDelegated(h)) {
    return { name, kind: "handoff", guarded: true, detail: `delegateHandoff: agent ${JSON.stringify(target)} runs with an attenuated binding` };
  }
  return { name, kind: "handoff", guarded: false, detail: `hands the run to agent ${JSON.stringify(target)}, whose tools this guard does not cover (guard that agent with guardAgent too)` };
}

function mcpServerPath(s: unknown): ToolPath {
  let name = "mcp_server";
  try {
    name = String((s as { name?: unknown })?.name ?? name);
  } catch {
    // a getter that throws: keep the placeholder
  }
  return { name, kind: "mcp", guarded: false, detail: "a local MCP server's tools get no tool guardrails in the JS SDK" };
}

/**
 * Lists every tool path of an OpenAI agent and whether Paybond guards it: function tools (guarded
 * when {@link guardFunctionTools} / {@link guardAgent} attached the Paybond guardrail), agents as
 * tools, hosted tools (hosted MCP as `mcp`), computer / shell tools, handoffs and MCP servers.
 * Handoff targets and nested agents are not walked: audit (and guard) them separately.
 *
 * @param agent an `Agent` (anything with `tools`, `handoffs`, `mcpServers`).
 * @returns one {@link ToolPath} per path.
 * @throws {InvalidArgumentError} when `agent` is not an object.
 */
export function auditAgent(agent: unknown): ToolPath[] {
  if (agent === null || typeof agent !== "object") {
    throw new InvalidArgumentError("invalid argument `agent`: expected an OpenAI Agents `Agent`", { field: "agent" });
  }
  const a = agent as AgentLike;
  return [
    ...(Array.isArray(a.tools) ? a.tools : []).map((t) => toolPath(t as ToolLike)),
    ...(Array.isArray(a.handoffs) ? a.handoffs : []).map(handoffPath),
    ...(Array.isArray(a.mcpServers) ? a.mcpServers : []).map(mcpServerPath),
  ];
}

/**
 * Guards every function tool in `tools` in place and returns them: adds the Paybond guardrail,
 * completes each allowed call's spend after the body (consumed on success; released when the body
 * threw, its arguments failed validation or the SDK's default error text came back), reports each
 * call to `onDecision` once it ran, and (without `onApproval`) makes a call Harbor wants approved
 * pause the run through `needsApproval` (OR-ed with the tool's own): after
 * `result.state.approve(item)` and `run(agent, result.state)` the approval is recorded with Harbor
 * and the tool runs once; `result.state.reject(item, { message })` never runs it.
 *
 * @param tools the agent's tools.
 * @param binding the binding; otherwise the run context (`run(agent, input, { context: binding })`).
 * @param options spend, `onDecision`, `onApproval` and `unguarded`.
 * @returns `tools`.
 * @throws {UnguardedToolError} when `tools` holds a path no guardrail sees (a hosted, computer or
 *   shell tool, an agent as tool) whose name is not in `unguarded`.
 * @throws {InvalidArgumentError} for a bad option.
 */
export function guardFunctionTools<T extends { type?: string; inputGuardrails?: unknown[] }>(tools: T[], binding?: CapabilityBinding, options: Omit<PaybondGuardrailOptions, "binding"> = {}): T[] {
  const opts: PaybondGuardrailOptions = { ...(options ?? {}), binding };
  const g = buildCore(opts);
  const unguarded = [...g.unguarded];
  const list = tools as unknown as ToolLike[];
  refuseUnguarded(list.map(toolPath).filter((p) => p.kind !== "function"), unguarded, "guardFunctionTools");
  logUnguarded(unguarded, "guardFunctionTools");
  guardListed(list, opts, g);
  return tools;
}

function guardListed(list: ToolLike[], opts: PaybondGuardrailOptions, g: GuardCore<GuardrailDataLike>): void {
  const st: ToolGuardState = { g, binding: opts.binding, paused: new Set(), allowed: new Map(), denied: new Map() };
  const gr = makeGuardrail(opts, g, st);
  for (const t of list) {
    if (t.type !== "function" || isAgentAsTool(t) || g.unguarded.has(String(t.name))) continue;
    const others = (t.inputGuardrails ?? []).filter((x) => (x as { [GUARDRAIL]?: boolean })?.[GUARDRAIL] !== true);
    t.inputGuardrails = [...others, gr];
    t[STATE] = st;
    finishAfterInvoke(t as unknown as InvokableTool);
    if (!opts.onApproval) approvalThroughSdk(t as unknown as ApprovableTool);
  }
}

/**
 * Guards an OpenAI agent in place: audits it, refuses a path no guardrail sees (hosted tools,
 * handoffs, agents as tools, MCP servers, shell / computer tools) unless its name is listed in
 * `unguarded`, and guards every function tool as {@link guardFunctionTools} does.
 *
 * @param agent the agent.
 * @param options the binding (or the run context), spend, `onDecision`, `onApproval` and `unguarded`.
 * @returns `agent`.
 * @throws {UnguardedToolError} naming each unguarded path not listed in `unguarded`.
 * @throws {InvalidArgumentError} for a bad option or an `agent` that is not an object.
 */
export function guardAgent<A extends object>(agent: A, options: PaybondGuardrailOptions = {}): A {
  const paths = auditAgent(agent);
  const g = buildCore(options);
  const unguarded = [...g.unguarded];
  refuseUnguarded(paths.filter((p) => p.kind !== "function"), unguarded, "guardAgent");
  logUnguarded(unguarded, "guardAgent");
  const tools = (agent as AgentLike).tools;
  guardListed((Array.isArray(tools) ? tools : []) as ToolLike[], options, g);
  return agent;
}

type ApprovalFn = (runContext: RunContextLike, input: unknown, callId?: string) => Promise<boolean>;
type ApprovableTool = ToolLike & { name: string; needsApproval?: ApprovalFn; [ORIGINAL_NEEDS_APPROVAL]?: ApprovalFn };

/**
 * `needsApproval` answers true when the tool's own policy does, or when Harbor says
 * `approval_required` for this call (the call is authorized now: an allow is the same reservation
 * the guardrail then sees again, not a second one).
 */
function approvalThroughSdk(t: ApprovableTool): void {
  const own: ApprovalFn = t[ORIGINAL_NEEDS_APPROVAL] ?? (typeof t.needsApproval === "function" ? t.needsApproval.bind(t) : async () => false);
  t[ORIGINAL_NEEDS_APPROVAL] = own;
  t.needsApproval = async (runContext, input, callId) => {
    const st = t[STATE] as ToolGuardState | undefined;
    if (await own(runContext, input, callId)) {
      if (st && callId) st.paused.add(callId);
      return true;
    }
    if (!st || !callId || st.g.onApproval || st.g.unguarded.has(t.name)) return false;
    const b = bindingOf(st.binding, runContext);
    if (!b) return false; // the guardrail reports the misconfiguration
    const data: GuardrailDataLike = { toolCall: { name: t.name, callId, arguments: JSON.stringify(input ?? {}) }, context: runContext };
    const a = await st.g.authorize(b, t.name, callId, input ?? {}, data);
    if (!isAllowed(a.decision) && !isApprovalRequired(a.decision)) {
      remember(st.denied, callId, { argsJson: JSON.stringify(input ?? {}), a, at: Date.now() });
    }
    if (!isApprovalRequired(a.decision)) return false;
    if (st.paused.size > 10_000) st.paused.clear();
    st.paused.add(callId);
    return true;
  };
}

type InvokeDetails = { toolCall?: { callId?: string }; [k: symbol]: unknown };
type InvokableTool = ToolLike & {
  name: string;
  invoke: (runContext: { context?: unknown }, input: string, details?: InvokeDetails) => Promise<unknown>;
  [ORIGINAL_INVOKE]?: InvokableTool["invoke"];
};

/** The text the SDK's default error function gives the model when a tool threw or its arguments were invalid. */
const SDK_DEFAULT_TOOL_ERROR = "An error occurred while running the tool. Please try again.";
/** The SDK's (internal) "arguments parsed" callback on the invoke details, found by its description. */
const PARSED_INPUT_CALLBACK = "openai.agents.functionToolParsedInputCallback";

/**
 * Completes the spend of every allowed call once the tool body returned (consumed) or failed
 * (released), and reports the call. A failure is: the body threw; the arguments failed the
 * schema (the SDK never reported them parsed); or the result is the SDK's default error text.
 * A custom `errorFunction`'s text for a body that threw cannot be told from a result: consumed.
 */
function finishAfterInvoke(t: InvokableTool): void {
  if (typeof t.invoke !== "function") return;
  const original = t[ORIGINAL_INVOKE] ?? t.invoke.bind(t);
  t[ORIGINAL_INVOKE] = original;
  t.invoke = async (runContext, input, details) => {
    const st = t[STATE] as ToolGuardState | undefined;
    const callId = details?.toolCall?.callId;
    if (!st || !callId) return original(runContext, input, details);
    const allowed = st.allowed.get(callId);
    st.allowed.delete(callId);
    const b = bindingOf(st.binding, runContext);
    // The body runs only on an unused allow for this call id, whatever the guardrail pass answered
    // (a pre-approval pass, a lookup that went wrong, a concurrent duplicate).
    if (!b?.claim(callId)) return describeDecision(notClaimed(callId), t.name);
    let parsed: boolean | undefined;
    let restore: (() => void) | undefined;
    const sym = details ? Object.getOwnPropertySymbols(details).find((s) => s.description === PARSED_INPUT_CALLBACK) : undefined;
    if (details && sym && typeof details[sym] === "function") {
      const cb = details[sym] as (x: unknown) => void;
      parsed = false;
      details[sym] = (x: unknown) => {
        parsed = true;
        cb(x);
      };
      restore = () => {
        details[sym] = cb;
      };
    }
    const report = async (succeeded: boolean) => {
      // A success goes on at once (its completion is sent in the background: the reservation
      // holds the budget); a failure releases its spend before the run goes on.
      if (b && succeeded) b.finishLater(t.name, callId);
      else if (b) await finishQuietly(b, t.name, callId, succeeded);
      // Called without the guardrail's allow (a direct invoke): nothing to report.
      if (allowed) st.g.emit({ toolName: t.name, callId, decision: allowed.decision, ran: parsed !== false, succeeded, approvalRequestId: allowed.approvalRequestId });
    };
    let result: unknown;
    try {
      result = await original(runContext, input, details);
    } catch (e) {
      restore?.();
      await report(false);
      throw e;
    }
    restore?.();
    await report(parsed !== false && result !== SDK_DEFAULT_TOOL_ERROR);
    return result;
  };
}
