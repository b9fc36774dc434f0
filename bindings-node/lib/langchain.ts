/**
 * LangChain JS adapters. `createPaybondMiddleware` guards every tool call of a
 * `createAgent({ middleware })` agent through `wrapToolCall`; a deny is a
 * `ToolMessage` with `status: "error"` and the tool never runs. LangGraph's
 * `ToolNode` has no wrapper option, so `guardTools` wraps the tools themselves.
 *
 * An `approval_required` answer pauses the graph with LangGraph's own `interrupt` (a
 * checkpointer and a `thread_id` are needed) and resumes with `new Command({ resume })`.
 * `auditAgent` lists an agent's tool paths; a path the guard cannot see (a provider tool,
 * a dynamic tool) is refused unless listed in `unguarded`.
 */

import { createMiddleware, ToolInvocationError, ToolMessage } from "langchain";
import { tool as makeTool } from "@langchain/core/tools";
import { Runnable } from "@langchain/core/runnables";
import { interrupt, isGraphBubbleUp, isGraphInterrupt, isParentCommand } from "@langchain/langgraph";
import type { CapabilityBinding } from "./client.js";
import {
  callIdOrNew,
  checkOptions,
  checkUnguarded,
  denyDecision,
  GuardCore,
  logUnguarded,
  NO_ANSWER,
  refuseUnguarded,
  type GuardEvent,
  type OnApproval,
  type OnError,
  type Pause,
  type SpendSpec,
} from "./guard.js";
import { InvalidArgumentError } from "./errors.js";
import { describeDecision, type ApprovalRequest, type Decision, type ToolPath } from "./types.js";

export type { GuardEvent, OnApproval, SpendSpec, ToolArgs, ToolSpend } from "./guard.js";
export type { ApprovalAnswer, ApprovalRequest, ToolPath, ToolPathKind } from "./types.js";
export { UnguardedToolError } from "./errors.js";

/** The request LangChain passes to `wrapToolCall` (the parts the guard reads). */
export interface ToolCallRequestLike {
  toolCall: { name: string; args: Record<string, unknown>; id?: string };
  /** The registered tool; `undefined` for a dynamic tool (denied unless its name is in `unguarded`). */
  tool?: unknown;
  [k: string]: unknown;
}

/** The value of the LangChain JS `interrupt` a guarded call raises when Harbor wants an approval. */
export interface PaybondInterruptPayload extends ApprovalRequest {
  type: "paybond_approval";
}

export interface PaybondMiddlewareOptions {
  binding: CapabilityBinding;
  /**
   * Cents to reserve: an exact integer in `0..=2^53-1`, a function of the request returning one,
   * or a per-tool mapping `{ book_flight: (args) => args.cost_cents, search: 0 }` whose functions
   * take the tool's arguments. A bad static value throws `InvalidArgumentError`
   * (`requestedSpendCents`) here; a resolver that throws or returns a non-spend, and a tool the
   * mapping does not name, are a deny `spend_resolver_failed`: the tool does not run.
   */
  requestedSpendCents?: SpendSpec<ToolCallRequestLike>;
  /** `"deny"` (default): a deny becomes an error ToolMessage. `"raise"`: throw PaybondDeniedError. */
  onError?: OnError;
  /** Map (request, result) to an evidence payload; signed by the payee and submitted once per call. */
  evidence?: (request: ToolCallRequestLike, result: unknown) => Record<string, unknown> | Promise<Record<string, unknown>>;
  onDecision?: (e: GuardEvent) => void;
  /**
   * Answers Harbor's `approval_required` instead of a graph `interrupt` (for apps that run without
   * a checkpointer). Without it the guard interrupts; with neither a hook nor a checkpointer the
   * call is a deny (`approval_required`).
   */
  onApproval?: OnApproval;
  /**
   * Tool names the guard accepts knowingly without Harbor: function tools listed here run
   * without a check (free tools); provider or dynamic tools listed here are let through. Logged once.
   */
  unguarded?: readonly string[];
}

/** Marks what `auditAgent` can recognise as a Paybond guard (shared by the ESM and CJS builds). */
const GUARDED_TOOL = Symbol.for("paybond-kit.langchain.guardedTool");
const MIDDLEWARE = Symbol.for("paybond-kit.langchain.middleware");

function core(o: PaybondMiddlewareOptions): GuardCore<ToolCallRequestLike> {
  if (o === null || typeof o !== "object") throw new InvalidArgumentError("invalid argument `options`: expected an object", { field: "options" });
  const spend = o.requestedSpendCents ?? 0;
  const onError = o.onError ?? "deny";
  if (!o.binding) throw new InvalidArgumentError("invalid argument `binding`: a paybond-kit CapabilityBinding is required", { field: "binding" });
  checkOptions(o.binding, onError, spend, o.onApproval);
  const unguarded = checkUnguarded(o.unguarded);
  return new GuardCore({ spend, onError, evidence: o.evidence, onDecision: o.onDecision, onApproval: o.onApproval, unguarded, backgroundFinish: true });
}

/**
 * LangGraph's `interrupt` for an approval: returns the resume value, or {@link NO_ANSWER} when
 * the graph cannot pause (no checkpointer, not inside a graph). The interrupt itself propagates.
 */
const graphPause: Pause = (request) => {
  const payload: PaybondInterruptPayload = { type: "paybond_approval", ...request };
  try {
    return interrupt(payload);
  } catch (e) {
    if (isGraphBubbleUp(e)) throw e;
    return NO_ANSWER;
  }
};

function errorMessage(callId: string, name: string, d: Decision): ToolMessage {
  return new ToolMessage({ content: describeDecision(d, name), tool_call_id: callId, name, status: "error" });
}

/** A provider (server-side) tool: anything LangChain does not run itself (not a Runnable). */
function isProviderTool(t: unknown): boolean {
  return !Runnable.isRunnable(t);
}

function providerToolName(t: unknown): string {
  const o = (t ?? {}) as { name?: unknown; type?: unknown };
  if (typeof o.name === "string" && o.name) return o.name;
  if (typeof o.type === "string" && o.type) return o.type;
  return "provider_tool";
}

function providerPath(t: unknown): ToolPath {
  return {
    name: providerToolName(t),
    kind: "provider",
    guarded: false,
    detail: "a provider tool runs at the model provider, outside ToolNode: no wrapToolCall sees it",
  };
}

/**
 * A LangChain agent middleware: verify each tool call with Harbor before it runs.
 *
 * - A deny is an error `ToolMessage` (or `PaybondDeniedError` with `onError: "raise"`).
 * - `approval_required` interrupts the graph with `{ type: "paybond_approval", toolName, callId,
 *   args, approvalRequestId, message, requestedSpendCents }` (or asks `onApproval`); resume with
 *   `new Command({ resume: "approve" | "reject" | { decision, reason? } })` on the same `thread_id`.
 *   The answer is recorded with Harbor and the call authorized again: an approved call runs once.
 * - A dynamic tool (`request.tool` undefined) is a deny `unguarded_tool` unless listed in `unguarded`.
 * - Before each model call, a provider tool offered to the model that is not listed in
 *   `unguarded` throws `UnguardedToolError` (put this middleware last so it sees the tools every
 *   other middleware adds).
 *
 * @param options the binding, spend, evidence, approval and `unguarded` options.
 * @returns the middleware for `createAgent({ middleware: [...] })`.
 * @throws {InvalidArgumentError} for a bad option (`binding`, `onError`, `requestedSpendCents`, `onApproval`, `unguarded`).
 */
export function createPaybondMiddleware(options: PaybondMiddlewareOptions) {
  const g = core(options);
  const binding = options.binding;
  const unguarded = [...g.unguarded];
  logUnguarded(unguarded, "createPaybondMiddleware");
  const pause = options.onApproval ? undefined : graphPause;
  const mw = createMiddleware({
    name: "PaybondToolGuard",
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    wrapModelCall: async (request: any, handler: any) => {
      const offered = Array.isArray(request?.tools) ? (request.tools as unknown[]) : [];
      refuseUnguarded(offered.filter(isProviderTool).map(providerPath), unguarded, "createPaybondMiddleware");
      return handler(request);
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    wrapToolCall: async (request: any, handler: any) => {
      const req = request as ToolCallRequestLike;
      const tc = req.toolCall;
      const name = String(tc.name ?? "");
      const callId = callIdOrNew(tc.id);
      if (g.unguarded.has(name)) return handler(request);
      if (req.tool === undefined || req.tool === null) {
        const d = denyDecision("unguarded_tool", `${name} is not a tool this agent registered (a dynamic tool): Paybond cannot verify it; list it in unguarded: [...] to run it without Paybond`);
        g.denied(name, callId, { decision: d, spendCents: null, approvalRequestId: null });
        return errorMessage(callId, name, d);
      }
      return g.run(binding, name, callId, tc.args ?? {}, req, () => handler(request), (d) => errorMessage(callId, name, d), {
        isError: isErrorToolMessage,
        pause,
        isPause: isGraphInterrupt,
        isHandoff: isParentCommand,
        notRun: (e) => ToolInvocationError.isInstance(e),
      });
    },
  });
  Object.defineProperty(mw, MIDDLEWARE, { value: Object.freeze({ unguarded }), enumerable: false });
  return mw;
}

/**
 * An error `ToolMessage` (bad arguments, a tool error the framework turned into a message): the
 * tool did not succeed, so its spend is released and no evidence is sent. Duck-typed, so a second
 * copy of `@langchain/core` is recognised too.
 */
function isErrorToolMessage(r: unknown): boolean {
  if (typeof r !== "object" || r === null) return false;
  const m = r as { status?: unknown; tool_call_id?: unknown };
  return m.status === "error" && typeof m.tool_call_id === "string";
}

/** A structured LangChain tool (the parts `guardTools` uses). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyTool = { name: string; description: string; schema: any; invoke: (input: any, config?: any) => Promise<any> };

/**
 * Wraps LangChain tools for LangGraph's `ToolNode` (which has no wrapper option): each wrapped
 * tool verifies with Harbor first; a deny returns an error `ToolMessage` and the original tool never runs.
 * Each wrapper is a structured tool with the original's name, description and schema, typed as
 * the tool it wraps, so `new ToolNode(guardTools(tools, options))` type-checks as `new ToolNode(tools)` does.
 * `approval_required` interrupts as in {@link createPaybondMiddleware}. Tools named in `unguarded`
 * are returned as they are (free tools, no Harbor check).
 *
 * @param tools the tools to guard.
 * @param options the binding, spend, evidence, approval and `unguarded` options.
 * @returns the guarded tools, in order.
 * @throws {UnguardedToolError} when the list holds a provider tool (which no wrapper can guard) not listed in `unguarded`.
 * @throws {InvalidArgumentError} for a bad option.
 */
export function guardTools<T extends AnyTool>(tools: readonly T[], options: PaybondMiddlewareOptions): T[] {
  const g = core(options);
  const binding = options.binding;
  const unguarded = [...g.unguarded];
  refuseUnguarded(tools.filter(isProviderTool).map(providerPath), unguarded, "guardTools");
  logUnguarded(unguarded, "guardTools");
  const pause = options.onApproval ? undefined : graphPause;
  return tools.map((t) => {
    if (isProviderTool(t) || g.unguarded.has(t.name)) return t;
    const wrapped = makeTool(
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async (input: any, config: any) => {
        const callId = callIdOrNew(config?.toolCall?.id);
        const request: ToolCallRequestLike = { toolCall: { name: t.name, args: input, id: callId }, tool: t };
        return g.run(binding, t.name, callId, input, request, () => t.invoke(input, config), (d) => errorMessage(callId, t.name, d), {
          isError: isErrorToolMessage,
          pause,
          isPause: isGraphInterrupt,
          isHandoff: isParentCommand,
        });
      },
      { name: t.name, description: t.description, schema: t.schema },
    );
    Object.defineProperty(wrapped, GUARDED_TOOL, { value: true, enumerable: false });
    return wrapped as unknown as T;
  });
}

/**
 * Lists every tool path of a LangChain agent and whether Paybond guards it.
 *
 * @param agent a `createAgent(...)` agent, a `ToolNode`, or a list of tools.
 * @returns one {@link ToolPath} per tool: `function` tools are guarded when the agent has
 *   {@link createPaybondMiddleware} (and the name is not in its `unguarded`) or the tool came from
 *   {@link guardTools}; `provider` tools are never guarded.
 * @throws {InvalidArgumentError} when `agent` is none of these.
 */
export function auditAgent(agent: unknown): ToolPath[] {
  let tools: unknown[];
  let mwUnguarded: readonly string[] | null = null;
  const a = agent as { options?: { tools?: unknown[]; middleware?: unknown[] }; tools?: unknown[] } | null;
  if (Array.isArray(agent)) {
    tools = agent;
  } else if (a && typeof a === "object" && a.options && typeof a.options === "object") {
    const middleware = Array.isArray(a.options.middleware) ? a.options.middleware : [];
    const fromMiddleware = middleware.flatMap((m) => (Array.isArray((m as { tools?: unknown[] })?.tools) ? (m as { tools: unknown[] }).tools : []));
    tools = [...(Array.isArray(a.options.tools) ? a.options.tools : []), ...fromMiddleware];
    const ours = middleware.find((m) => m !== null && typeof m === "object" && MIDDLEWARE in (m as object)) as
      | { [MIDDLEWARE]: { unguarded: readonly string[] } }
      | undefined;
    mwUnguarded = ours ? ours[MIDDLEWARE].unguarded : null;
  } else if (a && typeof a === "object" && Array.isArray(a.tools)) {
    tools = a.tools;
  } else {
    throw new InvalidArgumentError("invalid argument `agent`: expected a createAgent agent, a ToolNode or a list of tools", { field: "agent" });
  }
  return tools.map((t): ToolPath => {
    if (isProviderTool(t)) return providerPath(t);
    const name = String((t as { name?: unknown }).name ?? "");
    if ((t as { [GUARDED_TOOL]?: boolean })[GUARDED_TOOL] === true) {
      return { name, kind: "function", guarded: true, detail: "wrapped by guardTools" };
    }
    if (mwUnguarded !== null) {
      return mwUnguarded.includes(name)
        ? { name, kind: "function", guarded: false, detail: "listed in unguarded: runs without Harbor" }
        : { name, kind: "function", guarded: true, detail: "checked by createPaybondMiddleware (wrapToolCall)" };
    }
    return { name, kind: "function", guarded: false, detail: "no Paybond middleware or guardTools wrapper" };
  });
}
