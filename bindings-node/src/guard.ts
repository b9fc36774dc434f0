/** Shared guard plumbing for the framework adapters (no framework imports here). */

import { randomUUID } from "node:crypto";
import { CapabilityBinding } from "./client.js";
import { callSync, InvalidArgumentError, PaybondDeniedError } from "./errors.js";
import native from "./native-binding.js";
import { describeDecision, isAllowed, type Decision, type EvidenceReceipt } from "./types.js";

export type OnError = "deny" | "raise";
/**
 * Cents to reserve per call: an exact integer in `0..=2^53-1` (a number or a bigint), or a
 * function of the call returning one. Anything else (`NaN`, `Infinity`, `99.99`, `"300"`,
 * `true`...) is judged by the core: a static value throws `InvalidArgumentError`
 * (`requestedSpendCents`) at construction; a function's result becomes a deny
 * (`invalid_argument`) before any request, and the tool does not run.
 */
export type SpendSpec<T> = number | bigint | ((arg: T) => number | bigint | Promise<number | bigint>);

/** What happened to one guarded call (passed to `onDecision`). */
export interface GuardEvent {
  toolName: string;
  callId: string;
  decision: Decision;
  ran: boolean;
  /** Whether the tool returned a non-error result (`undefined` when it did not run). */
  succeeded?: boolean;
  evidence?: EvidenceReceipt | null;
  evidenceError?: string | null;
  /** The error code of a failed evidence submission (`evidence_conflict`, `invalid_response`, ...). */
  evidenceErrorCode?: string | null;
}

export function denyDecision(code: string, message: string): Decision {
  return { decision: "deny", code, message };
}

export function callIdOrNew(raw: unknown): string {
  return raw ? String(raw) : `pbk-${randomUUID()}`;
}

/** Checks adapter options; throws `InvalidArgumentError` naming the option. */
export function checkOptions(binding: unknown, onError: unknown, spend: unknown): void {
  if (binding !== undefined && !(binding instanceof CapabilityBinding)) {
    throw new InvalidArgumentError("invalid argument `binding`: expected a paybond-kit CapabilityBinding", { field: "binding" });
  }
  if (onError !== "deny" && onError !== "raise") {
    throw new InvalidArgumentError(`invalid argument \`onError\`: expected "deny" or "raise", got ${typeof onError === "string" ? JSON.stringify(onError) : typeof onError}`, { field: "onError" });
  }
  // A static spend is judged by the core now; a function's result at each call.
  if (typeof spend !== "function") callSync(() => native._checkSpendCents(spend));
}

export class GuardCore<A> {
  constructor(
    readonly spend: SpendSpec<A>,
    readonly onError: OnError,
    readonly evidence: ((arg: A, result: unknown) => Record<string, unknown> | Promise<Record<string, unknown>>) | undefined,
    readonly onDecision: ((e: GuardEvent) => void) | undefined,
  ) {}

  emit(e: GuardEvent): void {
    try {
      this.onDecision?.(e);
    } catch {
      // a reporting hook never changes the outcome
    }
  }

  /** Never throws: any failure on the way to an allow is a deny (a bad spend is judged by the core). */
  async authorize(binding: CapabilityBinding, name: string, callId: string, args: unknown, spendArg: A): Promise<Decision> {
    try {
      const s = typeof this.spend === "function" ? await this.spend(spendArg) : this.spend;
      return await binding.authorize(name, callId, args ?? {}, s);
    } catch (e) {
      const err = e as { code?: string; message?: string };
      return denyDecision(err?.code ?? "guard_error", err?.message ?? String(e));
    }
  }

  /**
   * authorize → run → finish (consumed after success; released when the tool threw or gave an
   * error result) → evidence (only after success). `deny` builds the framework's deny value;
   * `isError` recognises the framework's error results.
   */
  async run<R>(binding: CapabilityBinding, name: string, callId: string, args: unknown, arg: A, execute: () => Promise<R>, deny: (d: Decision) => R, isError?: (r: R) => boolean): Promise<R> {
    const decision = await this.authorize(binding, name, callId, args, arg);
    if (!isAllowed(decision)) {
      this.emit({ toolName: name, callId, decision, ran: false });
      if (this.onError === "raise") throw new PaybondDeniedError(describeDecision(decision, name), name, decision.code ?? "denied", decision.reason ?? null);
      return deny(decision);
    }
    let result: R;
    try {
      result = await execute();
    } catch (e) {
      await finishQuietly(binding, name, callId, false);
      this.emit({ toolName: name, callId, decision, ran: true, succeeded: false });
      throw e;
    }
    const succeeded = !(isError?.(result) ?? false);
    await finishQuietly(binding, name, callId, succeeded);
    let evidence: EvidenceReceipt | null = null;
    let evidenceError: string | null = null;
    let evidenceErrorCode: string | null = null;
    if (succeeded && this.evidence) {
      try {
        evidence = await binding.submitEvidence(name, callId, await this.evidence(arg, result));
      } catch (e) {
        evidenceErrorCode = e instanceof Error ? ((e as { code?: string }).code ?? e.name) : "error";
        evidenceError = e instanceof Error ? `${evidenceErrorCode}: ${e.message}` : String(e);
        if (this.onError === "raise") throw e;
      }
    }
    this.emit({ toolName: name, callId, decision, ran: true, succeeded, evidence, evidenceError, evidenceErrorCode });
    return result;
  }
}

/** Completes the spend of a call that ran; a failure is logged, never a second tool failure. */
async function finishQuietly(binding: CapabilityBinding, name: string, callId: string, succeeded: boolean): Promise<void> {
  try {
    await binding.finish(callId, succeeded);
  } catch (e) {
    const code = (e as { code?: string })?.code ?? (e instanceof Error ? e.name : "error");
    console.warn(`paybond-kit: completing the spend of ${name} (${callId}) failed: ${code}`);
  }
}
