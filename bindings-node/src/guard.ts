/** Shared guard plumbing for the framework adapters (no framework imports here). */

import { randomUUID } from "node:crypto";
import { CapabilityBinding } from "./client.js";
import { PaybondDeniedError } from "./errors.js";
import { describeDecision, isAllowed, type Decision, type EvidenceReceipt } from "./types.js";

export type OnError = "deny" | "raise";
export type SpendSpec<T> = number | ((arg: T) => number | Promise<number>);

/** What happened to one guarded call (passed to `onDecision`). */
export interface GuardEvent {
  toolName: string;
  callId: string;
  decision: Decision;
  ran: boolean;
  evidence?: EvidenceReceipt | null;
  evidenceError?: string | null;
}

export function denyDecision(code: string, message: string): Decision {
  return { decision: "deny", code, message };
}

export function callIdOrNew(raw: unknown): string {
  return raw ? String(raw) : `pbk-${randomUUID()}`;
}

export function checkOptions(binding: unknown, onError: unknown, spend: unknown): void {
  if (binding !== undefined && !(binding instanceof CapabilityBinding)) {
    throw new TypeError("binding: expected a paybond-kit CapabilityBinding");
  }
  if (onError !== "deny" && onError !== "raise") throw new TypeError(`onError: expected "deny" or "raise", got ${String(onError)}`);
  if (!(typeof spend === "function" || (Number.isInteger(spend) && (spend as number) >= 0))) {
    throw new TypeError("requestedSpendCents: expected an integer >= 0 or a function returning one");
  }
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

  /** Never throws: any failure on the way to an allow is a deny. */
  async authorize(binding: CapabilityBinding, name: string, callId: string, args: unknown, spendArg: A): Promise<Decision> {
    try {
      const s = typeof this.spend === "function" ? await this.spend(spendArg) : this.spend;
      if (!Number.isInteger(s) || s < 0) return denyDecision("invalid_argument", `requestedSpendCents must resolve to an integer >= 0, got ${String(s)}`);
      return await binding.authorize(name, callId, args ?? {}, s);
    } catch (e) {
      const err = e as { code?: string; message?: string };
      return denyDecision(err.code ?? "guard_error", err.message ?? String(e));
    }
  }

  /** authorize → run → evidence. `deny` builds the framework's deny value. */
  async run<R>(binding: CapabilityBinding, name: string, callId: string, args: unknown, arg: A, execute: () => Promise<R>, deny: (d: Decision) => R): Promise<R> {
    const decision = await this.authorize(binding, name, callId, args, arg);
    if (!isAllowed(decision)) {
      this.emit({ toolName: name, callId, decision, ran: false });
      if (this.onError === "raise") throw new PaybondDeniedError(describeDecision(decision, name), name, decision.code ?? "denied", decision.reason ?? null);
      return deny(decision);
    }
    const result = await execute();
    let evidence: EvidenceReceipt | null = null;
    let evidenceError: string | null = null;
    if (this.evidence) {
      try {
        evidence = await binding.submitEvidence(name, callId, await this.evidence(arg, result));
      } catch (e) {
        evidenceError = e instanceof Error ? `${(e as { code?: string }).code ?? e.name}: ${e.message}` : String(e);
        if (this.onError === "raise") throw e;
      }
    }
    this.emit({ toolName: name, callId, decision, ran: true, evidence, evidenceError });
    return result;
  }
}
