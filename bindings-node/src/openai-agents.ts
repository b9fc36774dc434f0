/**
 * OpenAI Agents JS adapter: a tool input guardrail (built with `defineToolInputGuardrail`)
 * that verifies each call with Harbor. A deny is `rejectContent` — the tool does not run and
 * the model reads the reason; a missing binding is a misconfiguration (`throwException`).
 * The guardrail never lets an error escape.
 */

import { defineToolInputGuardrail, ToolGuardrailFunctionOutputFactory } from "@openai/agents";
import { CapabilityBinding } from "./client.js";
import { InvalidArgumentError } from "./errors.js";
import { callIdOrNew, checkOptions, denyDecision, GuardCore, type GuardEvent, type SpendSpec } from "./guard.js";
import { describeDecision, isAllowed, type Decision } from "./types.js";

export type { GuardEvent } from "./guard.js";

/** What the guardrail receives (the parts it reads). */
export interface GuardrailDataLike {
  toolCall: { name: string; callId?: string; arguments?: string };
  context?: { context?: unknown };
}

export interface PaybondGuardrailOptions {
  /** The binding; otherwise the run context (`run(agent, input, { context: binding })`). */
  binding?: CapabilityBinding;
  /**
   * Cents to reserve: an exact integer in `0..=2^53-1`, or a function of the guardrail data returning one.
   * A bad static value throws `InvalidArgumentError` (`requestedSpendCents`) here; a bad result of the
   * function is a deny (`rejectContent` with `invalid_argument`): the tool does not run.
   */
  requestedSpendCents?: SpendSpec<GuardrailDataLike>;
  name?: string;
  onDecision?: (e: GuardEvent) => void;
}

function info(d: Decision): Record<string, unknown> {
  return { paybond: d.decision, code: d.code ?? null, reason: d.reason ?? null, auditId: d.auditId ?? null, remainingCents: d.remainingCents ?? null };
}

/**
 * A tool input guardrail that calls Harbor `/verify` before the tool runs.
 * @throws {InvalidArgumentError} for a bad option (`binding`, `requestedSpendCents`).
 */
export function paybondCapabilityInputGuardrail(options: PaybondGuardrailOptions = {}) {
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("invalid argument `options`: expected an object", { field: "options" });
  const spend = options.requestedSpendCents ?? 0;
  checkOptions(options.binding, "deny", spend);
  const g = new GuardCore<GuardrailDataLike>(spend, "deny", undefined, options.onDecision);
  return defineToolInputGuardrail({
    name: options.name ?? "paybond_capability",
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    run: async (data: any) => {
      const d = data as GuardrailDataLike;
      const name = String(d.toolCall?.name ?? "");
      const callId = callIdOrNew(d.toolCall?.callId);
      const b = options.binding ?? d.context?.context;
      if (!(b instanceof CapabilityBinding)) {
        return ToolGuardrailFunctionOutputFactory.throwException({
          paybond: "misconfigured",
          message: "no paybond-kit CapabilityBinding: pass binding or run(..., { context: binding })",
        });
      }
      let decision: Decision;
      try {
        const args: unknown = JSON.parse(d.toolCall?.arguments || "{}");
        decision = await g.authorize(b, name, callId, args, d);
      } catch (e) {
        decision = denyDecision("invalid_argument", `tool arguments are not JSON: ${(e as Error).message}`);
      }
      g.emit({ toolName: name, callId, decision, ran: isAllowed(decision) });
      return isAllowed(decision)
        ? ToolGuardrailFunctionOutputFactory.allow(info(decision))
        : ToolGuardrailFunctionOutputFactory.rejectContent(describeDecision(decision, name), info(decision));
    },
  });
}

/** Adds the Paybond guardrail to every function tool in `tools` (in place); returns them. */
export function guardFunctionTools<T extends { type?: string; inputGuardrails?: unknown[] }>(tools: T[], binding?: CapabilityBinding, options: Omit<PaybondGuardrailOptions, "binding"> = {}): T[] {
  const g = paybondCapabilityInputGuardrail({ ...options, binding });
  for (const t of tools) {
    if (t.type === "function") {
      const existing = (t.inputGuardrails ?? []) as { name?: string }[];
      if (!existing.some((x) => x?.name === g.name)) t.inputGuardrails = [...existing, g];
      finishAfterInvoke(t as unknown as InvokableTool, binding);
    }
  }
  return tools;
}

type InvokableTool = {
  invoke: (runContext: { context?: unknown }, input: string, details?: { toolCall?: { callId?: string } }) => Promise<unknown>;
  [ORIGINAL]?: InvokableTool["invoke"];
};
const ORIGINAL = Symbol("paybond.originalInvoke");

/**
 * Completes the spend of every allowed call once the tool body returned (consumed) or threw
 * (released), so budget is never left reserved. A tool error the SDK turns into text counts as
 * consumed: the body ran, and budget errs on the spent side.
 */
function finishAfterInvoke(t: InvokableTool, binding: CapabilityBinding | undefined): void {
  if (typeof t.invoke !== "function") return;
  const original = t[ORIGINAL] ?? t.invoke.bind(t);
  t[ORIGINAL] = original;
  t.invoke = async (runContext, input, details) => {
    const b = binding ?? (runContext?.context instanceof CapabilityBinding ? runContext.context : undefined);
    const callId = details?.toolCall?.callId;
    const finish = async (succeeded: boolean) => {
      if (!b || !callId) return;
      try {
        await b.finish(callId, succeeded);
      } catch (e) {
        console.warn(`paybond-kit: completing the spend of call ${callId} failed: ${(e as { code?: string })?.code ?? "error"}`);
      }
    };
    let result: unknown;
    try {
      result = await original(runContext, input, details);
    } catch (e) {
      await finish(false);
      throw e;
    }
    await finish(true);
    return result;
  };
}
