/**
 * LangChain JS adapters. `createPaybondMiddleware` guards every tool call of a
 * `createAgent({ middleware })` agent through `wrapToolCall`; a deny is a
 * `ToolMessage` with `status: "error"` and the tool never runs. LangGraph's
 * `ToolNode` has no wrapper option, so `guardTools` wraps the tools themselves.
 */

import { createMiddleware, ToolMessage } from "langchain";
import { tool as makeTool } from "@langchain/core/tools";
import type { CapabilityBinding } from "./client.js";
import { callIdOrNew, checkOptions, GuardCore, type GuardEvent, type OnError, type SpendSpec } from "./guard.js";
import { InvalidArgumentError } from "./errors.js";
import { describeDecision } from "./types.js";

export type { GuardEvent } from "./guard.js";

/** The request LangChain passes to `wrapToolCall` (the parts the guard reads). */
export interface ToolCallRequestLike {
  toolCall: { name: string; args: Record<string, unknown>; id?: string };
  [k: string]: unknown;
}

export interface PaybondMiddlewareOptions {
  binding: CapabilityBinding;
  /**
   * Cents to reserve: an exact integer in `0..=2^53-1`, or a function of the request returning one.
   * A bad static value throws `InvalidArgumentError` (`requestedSpendCents`) here; a bad result of
   * the function is a deny (`invalid_argument`) for that call: the tool does not run.
   */
  requestedSpendCents?: SpendSpec<ToolCallRequestLike>;
  /** `"deny"` (default): a deny becomes an error ToolMessage. `"raise"`: throw PaybondDeniedError. */
  onError?: OnError;
  /** Map (request, result) to an evidence payload; signed by the payee and submitted once per call. */
  evidence?: (request: ToolCallRequestLike, result: unknown) => Record<string, unknown> | Promise<Record<string, unknown>>;
  onDecision?: (e: GuardEvent) => void;
}

function core(o: PaybondMiddlewareOptions): GuardCore<ToolCallRequestLike> {
  if (o === null || typeof o !== "object") throw new InvalidArgumentError("invalid argument `options`: expected an object", { field: "options" });
  const spend = o.requestedSpendCents ?? 0;
  const onError = o.onError ?? "deny";
  if (!o.binding) throw new InvalidArgumentError("invalid argument `binding`: a paybond-kit CapabilityBinding is required", { field: "binding" });
  checkOptions(o.binding, onError, spend);
  return new GuardCore(spend, onError, o.evidence, o.onDecision);
}

/**
 * A LangChain agent middleware: verify each tool call with Harbor before it runs.
 * @throws {InvalidArgumentError} for a bad option (`binding`, `onError`, `requestedSpendCents`).
 */
export function createPaybondMiddleware(options: PaybondMiddlewareOptions) {
  const g = core(options);
  const binding = options.binding;
  return createMiddleware({
    name: "PaybondToolGuard",
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    wrapToolCall: async (request: any, handler: any) => {
      const tc = (request as ToolCallRequestLike).toolCall;
      const name = String(tc.name ?? "");
      const callId = callIdOrNew(tc.id);
      return g.run(binding, name, callId, tc.args ?? {}, request as ToolCallRequestLike, () => handler(request), (d) =>
        new ToolMessage({ content: describeDecision(d, name), tool_call_id: callId, name, status: "error" }),
        isErrorToolMessage,
      );
    },
  });
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
 */
export function guardTools<T extends AnyTool>(tools: readonly T[], options: PaybondMiddlewareOptions): T[] {
  const g = core(options);
  const binding = options.binding;
  return tools.map((t) =>
    makeTool(
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async (input: any, config: any) => {
        const callId = callIdOrNew(config?.toolCall?.id);
        const request: ToolCallRequestLike = { toolCall: { name: t.name, args: input, id: callId } };
        return g.run(binding, t.name, callId, input, request, () => t.invoke(input, config), (d) =>
          new ToolMessage({ content: describeDecision(d, t.name), tool_call_id: callId, name: t.name, status: "error" }),
          isErrorToolMessage,
        );
      },
      { name: t.name, description: t.description, schema: t.schema },
    ) as unknown as T,
  );
}
