/**
 * Delegation: give a sub-agent its own, narrower capability binding.
 *
 * A sub-agent should get *less* authority than the agent that delegates to it. Each helper here
 * makes the sub-agent's binding with {@link CapabilityBinding.attenuate} — the parent's capability
 * token plus one appended Biscuit block whose checks only narrow (tools ⊆ the parent's, a lower
 * per-call cap, an earlier expiry, `maxCalls` counted by Harbor) — computed offline, in the core.
 * Harbor enforces every block on each verify, so a sub-agent's call outside its scope is denied even
 * where the parent could have made it; spend under the child counts against the parent's intent.
 *
 * OpenAI Agents JS:
 * - {@link delegateHandoff}: wraps a `handoff(agent)` so each handoff runs the sub-agent with a fresh
 *   child binding on its function tools;
 * - {@link delegateAsTool}: `agent.asTool(...)` whose every call runs the sub-agent with a fresh child
 *   binding (the SDK runs no tool guardrail on handoffs or agent tools: the guard sits on the
 *   sub-agent's own function tools);
 * - {@link guardSubagent}: a copy of an agent whose function tools are guarded with a given binding.
 *
 * LangGraph JS: {@link delegateNode}, a node that runs a sub-agent built for a fresh child binding on
 * every run.
 *
 * Importing this module (or `paybond-kit`) loads no framework: the OpenAI helpers load
 * `paybond-kit/openai-agents` when a delegation happens.
 */

import { CapabilityBinding, type AttenuateOptions } from "./client.js";
import { InvalidArgumentError, PaybondError } from "./errors.js";
import type { GuardEvent, SpendSpec } from "./guard.js";

/** The narrowing of one delegation; each field left out keeps the parent's limit. */
export interface DelegationLimits {
  /** Tool names (or tools with a `name`) the sub-agent may call; each must be allowed by the parent. */
  tools?: readonly (string | { name: string })[];
  /** The child's per-call cap in cents (at most the parent's). */
  maxSpendPerCallCents?: number | bigint;
  /** The child expires this many seconds after each delegation (not after the parent). */
  expiresInSeconds?: number | bigint;
  /** Calls Harbor allows under one delegation's child binding. */
  maxCalls?: number | bigint;
}

/** What the guardrail of a sub-agent's tool receives (the parts a spend function reads). */
export interface DelegatedCallLike {
  toolCall: { name: string; callId?: string; arguments?: string };
  context?: { context?: unknown };
}

/** Options of the OpenAI Agents delegation helpers. */
export interface DelegationOptions extends DelegationLimits {
  /** The parent binding; otherwise the run context (`run(agent, input, { context: binding })`) at each delegation. */
  binding?: CapabilityBinding;
  /** Spend per call of the sub-agent's tools, as for `guardFunctionTools`. */
  requestedSpendCents?: SpendSpec<DelegatedCallLike>;
  /** Called with each guard event of the sub-agent's tools. */
  onDecision?: (e: GuardEvent) => void;
}

/** The parts of an OpenAI Agents `Agent` the helpers use. */
export interface AgentLike {
  name: string;
  tools: readonly unknown[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  clone(config: any): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  asTool(options: any): unknown;
}

/** The parts of an OpenAI Agents `Handoff` {@link delegateHandoff} uses. */
export interface HandoffLike {
  agent: unknown;
  onInvokeHandoff: (context: never, args: string) => unknown;
}

type ToolLike = { type?: string; name?: string; inputGuardrails?: unknown[]; invoke?: (...a: never[]) => unknown };
type Invoke = (runContext: { context?: unknown }, input: string, details?: unknown) => Promise<unknown>;

function invalid(field: string, message: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid argument \`${field}\`: ${message}`, { field });
}

function toolNames(tools: DelegationLimits["tools"]): string[] | undefined {
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) throw invalid("tools", `expected an array of tool names, got ${typeof tools}`);
  return tools.map((t: unknown) => {
    const name = typeof t === "string" ? t : (t as { name?: unknown } | null)?.name;
    if (typeof name !== "string") throw invalid("tools", "expected tool names or tools with a name");
    return name;
  });
}

function isAgent(x: unknown): x is AgentLike {
  const a = x as AgentLike | null;
  return a !== null && typeof a === "object" && Array.isArray(a.tools) && typeof a.clone === "function";
}

function functionToolNames(agent: AgentLike): string[] | undefined {
  const names = (agent.tools as ToolLike[]).filter((t) => t?.type === "function" && typeof t.name === "string").map((t) => t.name as string);
  return names.length > 0 ? names : undefined;
}

/** The limits as `attenuate` options (`tools` defaulting to `defaultTools`). */
function limitsOf(o: DelegationLimits, defaultTools?: string[]): AttenuateOptions {
  const tools = toolNames(o.tools) ?? defaultTools;
  return { tools, maxSpendPerCallCents: o.maxSpendPerCallCents, expiresInSeconds: o.expiresInSeconds, maxCalls: o.maxCalls };
}

function attenuateFrom(parent: unknown, limits: AttenuateOptions): CapabilityBinding {
  if (!(parent instanceof CapabilityBinding)) {
    throw invalid("binding", "no paybond-kit CapabilityBinding to delegate from: pass binding or run(..., { context: binding })");
  }
  return parent.attenuate(limits);
}

function checkOptions(options: unknown): DelegationOptions {
  if (options === undefined || options === null) return {};
  if (typeof options !== "object") throw invalid("options", "expected an object");
  const o = options as DelegationOptions;
  if (o.binding !== undefined && !(o.binding instanceof CapabilityBinding)) {
    throw invalid("binding", "expected a paybond-kit CapabilityBinding");
  }
  return o;
}

/**
 * A copy of OpenAI Agents `agent` whose function tools are guarded with `binding`.
 *
 * Each function tool is copied (the original agent and its tools are left as they are) and guarded
 * by `guardFunctionTools` for `binding`, which replaces any Paybond guardrail the tool had: a tool
 * the parent guarded with its own binding runs under `binding` in the copy. Other tools are kept
 * as they are (unguarded, as with `guardFunctionTools`).
 *
 * @param agent an `Agent`.
 * @param binding the sub-agent's binding (usually `parent.attenuate(...)`).
 * @param options `requestedSpendCents` and `onDecision`, as for `guardFunctionTools`.
 * @returns the guarded copy (loading `paybond-kit/openai-agents`, hence a Promise).
 * @throws {InvalidArgumentError} for a bad `binding` or option.
 */
export async function guardSubagent<A extends AgentLike>(
  agent: A,
  binding: CapabilityBinding,
  options: Pick<DelegationOptions, "requestedSpendCents" | "onDecision"> = {},
): Promise<A> {
  if (!(binding instanceof CapabilityBinding)) throw invalid("binding", "expected a paybond-kit CapabilityBinding");
  if (!isAgent(agent)) throw invalid("agent", "expected an OpenAI Agents Agent");
  const { guardFunctionTools } = await import("./openai-agents.js");
  const copies = (agent.tools as ToolLike[]).map((t) =>
    t?.type === "function" ? (Object.assign(Object.create(Object.getPrototypeOf(t) as object), t) as ToolLike) : t,
  );
  guardFunctionTools(
    copies.filter((t) => t?.type === "function"),
    binding,
    { requestedSpendCents: options.requestedSpendCents, onDecision: options.onDecision } as Parameters<typeof guardFunctionTools>[2],
  );
  return agent.clone({ tools: copies }) as A;
}

/**
 * Makes a `handoff(agent)` run the sub-agent with a narrower binding.
 *
 * Each time the model takes the handoff, the parent binding (`options.binding`, or the run context)
 * is attenuated with the limits and the run continues with a copy of the handoff's agent whose
 * function tools are guarded by that child binding ({@link guardSubagent}). `expiresInSeconds`
 * and `maxCalls` count from each handoff. The handoff's own `onHandoff` still runs first.
 *
 * @param handoff a `Handoff` from `handoff(agent, ...)` (wrapped in place and returned).
 * @param options the parent `binding`, the limits (`tools` default: the sub-agent's function
 *   tools), `requestedSpendCents`, `onDecision`.
 * @returns `handoff`.
 * @throws {InvalidArgumentError} naming the limit that is bad or asks for more than the parent
 *   allows — here when `options.binding` is given, else when the handoff is taken (the run then
 *   fails: closed).
 */
export function delegateHandoff<H extends HandoffLike>(handoff: H, options: DelegationOptions = {}): H {
  const o = checkOptions(options);
  if (handoff === null || typeof handoff !== "object" || typeof handoff.onInvokeHandoff !== "function" || !isAgent(handoff.agent)) {
    throw invalid("handoff", "expected a Handoff from handoff(agent) of @openai/agents");
  }
  const agent = handoff.agent;
  const limits = limitsOf(o, functionToolNames(agent));
  if (o.binding) attenuateFrom(o.binding, limits); // refuse a bad delegation now, not mid-run
  const original = handoff.onInvokeHandoff.bind(handoff) as (context: unknown, args: string) => unknown;
  (handoff as { onInvokeHandoff: unknown }).onInvokeHandoff = async (context: { context?: unknown }, args: string) => {
    await original(context, args);
    const child = attenuateFrom(o.binding ?? context?.context, limits);
    return guardSubagent(agent, child, o);
  };
  Object.defineProperty(handoff, Symbol.for("paybond-kit.delegated"), { value: true });
  return handoff;
}

/**
 * `agent.asTool(asToolOptions)` whose every call runs the sub-agent with a narrower binding.
 *
 * Each call of the returned tool attenuates the parent binding (`options.binding`, or the run
 * context) with the limits and runs a copy of `agent` whose function tools are guarded by that
 * child binding. `expiresInSeconds` and `maxCalls` count per call of the tool.
 *
 * @param agent the sub-agent.
 * @param asToolOptions passed to `agent.asTool` (`toolName`, `toolDescription`, ...).
 * @param options the parent `binding`, the limits (`tools` default: the sub-agent's function
 *   tools), `requestedSpendCents`, `onDecision`.
 * @returns the agent tool.
 * @throws {InvalidArgumentError} naming the limit that is bad or asks for more than the parent
 *   allows — here when `options.binding` is given; else that call of the tool answers
 *   `"Paybond denied <tool>: invalid_argument: ..."` to the model and the sub-agent does not run.
 */
export function delegateAsTool<A extends AgentLike>(
  agent: A,
  asToolOptions: { toolName?: string; toolDescription?: string; [k: string]: unknown },
  options: DelegationOptions = {},
): ReturnType<A["asTool"]> {
  const o = checkOptions(options);
  if (!isAgent(agent)) throw invalid("agent", "expected an OpenAI Agents Agent");
  const limits = limitsOf(o, functionToolNames(agent));
  if (o.binding) attenuateFrom(o.binding, limits);
  const outer = agent.asTool(asToolOptions) as ToolLike & { name: string; invoke: Invoke };
  outer.invoke = async (runContext, input, details) => {
    let child: CapabilityBinding;
    try {
      child = attenuateFrom(o.binding ?? runContext?.context, limits);
    } catch (e) {
      // No delegation, no sub-agent run: the model reads why.
      const code = e instanceof PaybondError ? e.code : "internal";
      return `Paybond denied ${outer.name}: ${code}: ${(e as Error).message}`;
    }
    const sub = await guardSubagent(agent, child, o);
    const inner = sub.asTool(asToolOptions) as { invoke: Invoke };
    return inner.invoke(runContext, input, details);
  };
  Object.defineProperty(outer, Symbol.for("paybond-kit.delegated"), { value: true });
  return outer as ReturnType<A["asTool"]>;
}

/** The parts of a LangGraph / LangChain runnable {@link delegateNode} uses. */
export interface InvokableLike {
  invoke(input: unknown, config?: unknown): Promise<unknown>;
}

/** Options of {@link delegateNode}. */
export interface DelegateNodeOptions extends DelegationLimits {
  /** Tool names (or tools) the sub-agent may call: required, so it never gets more than meant. */
  tools: readonly (string | { name: string })[];
  /** `state -> sub-agent input` (default: the state itself). */
  mapInput?: (state: unknown) => unknown;
  /** `sub-agent result -> state update` (default: the result itself). */
  mapOutput?: (result: unknown) => unknown;
}

/**
 * A LangGraph node that runs a sub-agent with a narrower binding on every run.
 *
 * Each run attenuates `binding` with the limits, calls `build(child)` for the sub-agent — any
 * runnable whose tools are guarded with `child` (e.g. `createAgent({ model, tools, middleware:
 * [createPaybondMiddleware({ binding: child })] })`) — and invokes it with the node's state and
 * config.
 *
 * @param build `child binding -> runnable` (or a Promise of one), called once per run.
 * @param binding the parent binding.
 * @param options the limits (`tools` required), `mapInput`, `mapOutput`.
 * @returns `(state, config) => Promise<update>` for `StateGraph.addNode`.
 * @throws {InvalidArgumentError} here for a bad limit or one that asks for more than `binding`
 *   allows (`tools`, `maxSpendPerCallCents`, `expiresInSeconds`, `maxCalls`), a bad `binding` or `build`.
 */
export function delegateNode(
  build: (child: CapabilityBinding) => InvokableLike | Promise<InvokableLike>,
  binding: CapabilityBinding,
  options: DelegateNodeOptions,
): (state: unknown, config?: unknown) => Promise<unknown> {
  if (!(binding instanceof CapabilityBinding)) throw invalid("binding", "expected a paybond-kit CapabilityBinding");
  if (typeof build !== "function") throw invalid("build", "expected a function (child binding) => runnable");
  if (options === null || typeof options !== "object") throw invalid("options", "expected an object");
  if (options.tools === undefined) throw invalid("tools", "is required: name the tools the sub-agent may call");
  const limits = limitsOf(options);
  binding.attenuate(limits);
  return async (state: unknown, config?: unknown) => {
    const sub = await build(binding.attenuate(limits));
    const input = options.mapInput ? options.mapInput(state) : state;
    const out = await sub.invoke(input, config);
    return options.mapOutput ? options.mapOutput(out) : out;
  };
}
