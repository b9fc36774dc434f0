/** Shared guard plumbing for the framework adapters (no framework imports here). */

import { randomUUID } from "node:crypto";
import { CapabilityBinding, warnFinishFailed } from "./client.js";
import { callSync, fromNative, InvalidArgumentError, PaybondDeniedError, UnguardedToolError } from "./errors.js";
import native from "./native-binding.js";
import {
  describeDecision,
  isAllowed,
  isApprovalRequired,
  type ApprovalAnswer,
  type ApprovalRequest,
  type Decision,
  type EvidenceReceipt,
  type ToolPath,
} from "./types.js";

export type OnError = "deny" | "raise";

/** A tool's arguments as a per-tool spend resolver receives them (the parsed JSON object). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ToolArgs = Record<string, any>;

/** The spend of one tool in a per-tool mapping: cents, or a function of the tool's arguments. */
export type ToolSpend = number | bigint | ((args: ToolArgs) => number | bigint | Promise<number | bigint>);

/**
 * Cents to reserve per call, in one of three forms:
 * - an exact integer in `0..=2^53-1` (a number or a bigint) for every call;
 * - a function of the call (the adapter's request object) returning one;
 * - a per-tool mapping, `{ book_flight: (args) => args.cost_cents, search: 0 }`, whose functions
 *   take the tool's arguments.
 *
 * A bad static value (`NaN`, `Infinity`, `99.99`, `"300"`, `true`, an empty mapping...) throws
 * `InvalidArgumentError` (`requestedSpendCents`) when the guard is built. A resolver that throws,
 * or returns something that is not such an integer, and a tool the mapping does not name, are a
 * deny `spend_resolver_failed` naming the tool (and the error type): the tool does not run and
 * nothing is sent to Harbor.
 */
export type SpendSpec<T> =
  | number
  | bigint
  | ((arg: T) => number | bigint | Promise<number | bigint>)
  | { readonly [toolName: string]: ToolSpend };

/**
 * Answers an approval request instead of a framework pause (apps without one). May be async.
 * Throwing is a deny (`approval_required`): the call stays unapproved.
 */
export type OnApproval = (request: ApprovalRequest) => ApprovalAnswer | Promise<ApprovalAnswer>;

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
  /** The approval request this call went through (`null` when none was needed). */
  approvalRequestId: string | null;
}

/** How many times one call may go back to a reviewer (a quorum still incomplete) before it is denied. */
export const MAX_APPROVAL_ROUNDS = 5;

/** A framework pause had no answer to give (no checkpointer, no SDK approval for this call). */
export const NO_ANSWER: unique symbol = Symbol("paybond.noApprovalAnswer");

/**
 * A framework's pause for one approval request: returns the reviewer's answer (after a resume),
 * {@link NO_ANSWER} when it cannot pause, or throws to suspend the run (let through untouched).
 */
export type Pause = (request: ApprovalRequest) => unknown;

/**
 * A deny decision made by the guard itself (no Harbor call).
 * @param code the stable deny code (`spend_resolver_failed`, `unguarded_tool`, ...).
 * @param message what the model reads after the code.
 * @returns `{ decision: "deny", code, message }`.
 */
export function denyDecision(code: string, message: string): Decision {
  return { decision: "deny", code, message };
}

/**
 * The framework's call id, or a fresh unique one when it gave none.
 * @param raw the framework's call id (may be missing or empty).
 * @returns a non-empty call id.
 */
export function callIdOrNew(raw: unknown): string {
  return raw ? String(raw) : `pbk-${randomUUID()}`;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** A static spend is judged by the core now (every static value of a mapping too); a function's result at each call. */
function checkSpend(spend: unknown): void {
  if (typeof spend === "function") return;
  if (!isMapping(spend)) {
    callSync(() => native._checkSpendCents(spend));
    return;
  }
  const entries = Object.entries(spend);
  if (entries.length === 0) {
    throw new InvalidArgumentError("invalid argument `requestedSpendCents`: a per-tool mapping needs at least one tool (every call would be denied)", { field: "requestedSpendCents" });
  }
  for (const [tool, v] of entries) {
    if (typeof v === "function") continue;
    try {
      callSync(() => native._checkSpendCents(v));
    } catch (e) {
      throw new InvalidArgumentError(`invalid argument \`requestedSpendCents\`: for tool ${JSON.stringify(tool)}: ${(e as Error).message}`, { field: "requestedSpendCents" });
    }
  }
}

/**
 * Checks adapter options when a guard is built.
 * @param binding a `CapabilityBinding`, or undefined (then the run context supplies it).
 * @param onError `"deny"` or `"raise"`.
 * @param spend the `requestedSpendCents` option (static values, of a mapping too, are judged by the core).
 * @param onApproval the `onApproval` option: undefined or a function.
 * @throws {InvalidArgumentError} naming the bad option (`binding`, `onError`, `requestedSpendCents`, `onApproval`).
 */
export function checkOptions(binding: unknown, onError: unknown, spend: unknown, onApproval?: unknown): void {
  if (binding !== undefined && !(binding instanceof CapabilityBinding)) {
    throw new InvalidArgumentError("invalid argument `binding`: expected a paybond-kit CapabilityBinding", { field: "binding" });
  }
  if (onError !== "deny" && onError !== "raise") {
    throw new InvalidArgumentError(`invalid argument \`onError\`: expected "deny" or "raise", got ${typeof onError === "string" ? JSON.stringify(onError) : typeof onError}`, { field: "onError" });
  }
  if (onApproval !== undefined && typeof onApproval !== "function") {
    throw new InvalidArgumentError(`invalid argument \`onApproval\`: expected a function (request) => "approve" | "reject" | { decision, reason? }, got ${typeof onApproval}`, { field: "onApproval" });
  }
  checkSpend(spend);
}

/**
 * Reads the `unguarded` option.
 * @param unguarded undefined, or an array of non-empty tool names.
 * @returns the names (a copy; empty when undefined).
 * @throws {InvalidArgumentError} (`unguarded`) for anything else.
 */
export function checkUnguarded(unguarded: unknown): string[] {
  if (unguarded === undefined) return [];
  if (!Array.isArray(unguarded)) {
    throw new InvalidArgumentError(`invalid argument \`unguarded\`: expected an array of tool names, got ${typeof unguarded}`, { field: "unguarded" });
  }
  for (const n of unguarded) {
    if (typeof n !== "string" || n === "") {
      throw new InvalidArgumentError(`invalid argument \`unguarded\`: expected non-empty tool names, got ${typeof n === "string" ? '""' : typeof n}`, { field: "unguarded" });
    }
  }
  return [...unguarded] as string[];
}

/**
 * @param p a tool path.
 * @returns `"<kind>:<name>"`, the form `UnguardedToolError.paths` uses.
 */
export function pathLabel(p: ToolPath): string {
  return `${p.kind}:${p.name}`;
}

/**
 * Refuses to build a guard around paths it cannot see.
 * @param paths the paths of the agent or tool list.
 * @param unguarded the names the caller accepts knowingly.
 * @param where the helper's name, for the message.
 * @throws {UnguardedToolError} naming every path that is not guarded and whose name is not listed.
 */
export function refuseUnguarded(paths: readonly ToolPath[], unguarded: readonly string[], where: string): void {
  const bad = paths.filter((p) => !p.guarded && !unguarded.includes(p.name));
  if (bad.length === 0) return;
  const listed = bad.map((p) => (p.detail ? `${pathLabel(p)} (${p.detail})` : pathLabel(p))).join(", ");
  throw new UnguardedToolError(
    `${where}: Paybond cannot guard ${listed}; list the name(s) in unguarded: [...] to accept them knowingly, or remove them`,
    { paths: bad.map(pathLabel) },
  );
}

/**
 * Logs (once per built guard, `console.warn`) what runs without Harbor because the caller listed it.
 * @param names the `unguarded` names.
 * @param where the helper's name.
 */
export function logUnguarded(names: readonly string[], where: string): void {
  if (names.length > 0) console.warn(`paybond-kit: ${where}: not guarded by Paybond (listed in unguarded): ${names.join(", ")}`);
}

/**
 * @param e anything thrown.
 * @returns the name of its type (`TypeError`, a subclass's name), or `a thrown <typeof>` for a non-Error.
 */
export function errorType(e: unknown): string {
  if (e instanceof Error) {
    const ctor = (e as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof ctor === "string" && ctor !== "" && ctor !== "Error" ? ctor : e.name;
  }
  return `a thrown ${e === null ? "null" : typeof e}`;
}

function errorText(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.length > 300 ? `${m.slice(0, 300)}...` : m;
}

function show(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (Array.isArray(v)) return "an array";
  if (v !== null && typeof v === "object") return "an object";
  return String(v);
}

class SpendResolverFailed extends Error {}

/**
 * The spend of one call of tool `name`: the static value, what the function returns for `arg`,
 * or, for a per-tool mapping, the tool's value or what its function returns for `args`.
 * @throws {SpendResolverFailed} naming the tool (and the error type) for any failure.
 */
async function resolveSpend(spec: unknown, name: string, args: unknown, arg: unknown): Promise<number | bigint> {
  let s = spec;
  let input = arg;
  if (isMapping(spec)) {
    if (!Object.hasOwn(spec, name)) {
      const known = Object.keys(spec).map((k) => JSON.stringify(k)).join(", ");
      throw new SpendResolverFailed(`no spend for tool ${JSON.stringify(name)}: requestedSpendCents maps only ${known}`);
    }
    s = spec[name];
    input = args;
  }
  if (typeof s !== "function") return s as number | bigint; // checked when the guard was built
  let v: unknown;
  try {
    v = await (s as (x: unknown) => unknown)(input);
  } catch (e) {
    throw new SpendResolverFailed(`the spend resolver for ${name} raised ${errorType(e)}: ${errorText(e)}`);
  }
  try {
    native._checkSpendCents(v);
  } catch (e) {
    const err = fromNative(e);
    throw new SpendResolverFailed(`the spend resolver for ${name} returned ${show(v)}, not a spend (${err.name}: ${err.message})`);
  }
  return v as number | bigint;
}

/**
 * Reads a reviewer's answer. Accepted: `"approve"` / `"reject"`, `true` / `false`,
 * `{ decision, reason? }`, `{ type, message? }`; anything else is a reject saying so.
 * @param answer the resume value or the `onApproval` result.
 * @returns `{ approve, reason }` (`reason` null when none was given).
 */
export function parseApprovalAnswer(answer: unknown): { approve: boolean; reason: string | null } {
  if (typeof answer === "boolean") return { approve: answer, reason: null };
  if (answer === "approve" || answer === "reject") return { approve: answer === "approve", reason: null };
  if (isMapping(answer)) {
    const d = answer.decision ?? answer.type;
    const r = answer.reason ?? answer.message;
    if (d === "approve" || d === "reject") return { approve: d === "approve", reason: r === undefined || r === null ? null : String(r) };
  }
  let shown: string;
  try {
    shown = typeof answer === "bigint" ? `${answer}n` : (JSON.stringify(answer) ?? String(answer));
  } catch {
    shown = typeof answer;
  }
  return {
    approve: false,
    reason: `the approval answer was not understood (expected "approve" or "reject", true or false, { decision, reason? } or { type, message? }), got ${shown}`.slice(0, 500),
  };
}

function denyFor(e: unknown): Decision {
  const err = e as { code?: string; message?: string };
  return denyDecision(err?.code ?? "guard_error", err?.message ?? String(e));
}

/** A decision and the approval request it went through (if any). */
export interface Authorized {
  decision: Decision;
  /** The resolved spend (`null` when it could not be resolved). */
  spendCents: number | bigint | null;
  approvalRequestId: string | null;
}

export interface GuardCoreOptions<A> {
  spend: SpendSpec<A>;
  onError: OnError;
  evidence?: (arg: A, result: unknown) => Record<string, unknown> | Promise<Record<string, unknown>>;
  onDecision?: (e: GuardEvent) => void;
  onApproval?: OnApproval;
  unguarded?: readonly string[];
  /**
   * Complete a successful call without evidence in the background (agent adapters: the run goes
   * on, the reservation holds the budget). Servers (MCP) answer only after the completion.
   */
  backgroundFinish?: boolean;
}

/** Hooks of one framework for {@link GuardCore.run}. */
export interface RunHooks<R> {
  /** Recognises the framework's error results (the tool did not succeed). */
  isError?: (r: R) => boolean;
  /** The framework's pause for an approval (asked before `onApproval`). */
  pause?: Pause;
  /** An exception that suspends the run inside the tool (not a failure: let through, the call not finished). */
  isPause?: (e: unknown) => boolean;
  /** An exception that says the body never ran (its arguments failed validation): reported as `ran: false`. */
  notRun?: (e: unknown) => boolean;
  /** An exception that says the body handed control on (LangGraph's `ParentCommand`): a success, consumed. */
  isHandoff?: (e: unknown) => boolean;
}

export class GuardCore<A> {
  readonly spend: SpendSpec<A>;
  readonly onError: OnError;
  readonly evidence: GuardCoreOptions<A>["evidence"];
  readonly onDecision: GuardCoreOptions<A>["onDecision"];
  readonly onApproval: OnApproval | undefined;
  /** Names that run without Harbor (free tools), as the caller listed them. */
  readonly unguarded: ReadonlySet<string>;
  readonly backgroundFinish: boolean;

  constructor(o: GuardCoreOptions<A>) {
    this.backgroundFinish = o.backgroundFinish ?? false;
    this.spend = o.spend;
    this.onError = o.onError;
    this.evidence = o.evidence;
    this.onDecision = o.onDecision;
    this.onApproval = o.onApproval;
    this.unguarded = new Set(o.unguarded ?? []);
  }

  emit(e: GuardEvent): void {
    try {
      this.onDecision?.(e);
    } catch {
      // a reporting hook never changes the outcome
    }
  }

  /**
   * The decision for one call; never throws, except a framework pause suspending the run.
   * `approval_required` goes to `onApproval` when set, else to `pause` (the framework's);
   * the answer is recorded with Harbor and the same call authorized again (at most
   * {@link MAX_APPROVAL_ROUNDS} times). With neither it stays `approval_required` (not an allow).
   * @param binding the binding to verify with.
   * @param name the tool.
   * @param callId the call (the reservation is bound to it and to `args`).
   * @param args the tool's arguments (a per-tool spend resolver receives them).
   * @param spendArg what a spend function of the request receives.
   * @param pause the framework's pause, asked before `onApproval`.
   * @returns the decision, the resolved spend and the approval request it went through.
   */
  async authorize(binding: CapabilityBinding, name: string, callId: string, args: unknown, spendArg: A, pause?: Pause): Promise<Authorized> {
    let cents: number | bigint;
    try {
      cents = await resolveSpend(this.spend, name, args, spendArg);
    } catch (e) {
      if (e instanceof SpendResolverFailed) return { decision: denyDecision("spend_resolver_failed", e.message), spendCents: null, approvalRequestId: null };
      return { decision: denyFor(e), spendCents: null, approvalRequestId: null };
    }
    let decision = await binding.authorize(name, callId, args ?? {}, cents);
    let approvalRequestId: string | null = null;
    for (let round = 0; round < MAX_APPROVAL_ROUNDS && isApprovalRequired(decision); round++) {
      const request: ApprovalRequest = {
        toolName: name,
        callId,
        args: args ?? {},
        approvalRequestId: String(decision.approvalRequestId ?? ""),
        message: String(decision.message ?? ""),
        requestedSpendCents: Number(cents),
      };
      approvalRequestId = request.approvalRequestId;
      let answer: unknown = NO_ANSWER;
      if (this.onApproval) {
        // The caller's reviewer answers instead of the framework's pause (as in Python).
        try {
          answer = await this.onApproval(request);
        } catch (e) {
          const msg = `the onApproval hook for ${name} raised ${errorType(e)}: ${errorText(e)}; the call stays unapproved (approval request ${request.approvalRequestId})`;
          return { decision: denyDecision("approval_required", msg), spendCents: cents, approvalRequestId };
        }
      } else if (pause) {
        answer = await pause(request); // a framework pause throws here to suspend the run
      }
      if (answer === NO_ANSWER) break;
      if (answer !== null && typeof answer === "object" && Object.hasOwn(answer, request.approvalRequestId)) {
        // Several pauses in one step resume with one mapping: each call takes its own answer.
        answer = (answer as Record<string, unknown>)[request.approvalRequestId];
      }
      const { approve, reason } = parseApprovalAnswer(answer);
      try {
        await binding.decideApproval(request.approvalRequestId, approve ? "approve" : "reject", reason ?? undefined);
      } catch (e) {
        return { decision: denyFor(e), spendCents: cents, approvalRequestId };
      }
      decision = await binding.authorize(name, callId, args ?? {}, cents);
    }
    return { decision, spendCents: cents, approvalRequestId: approvalRequestId ?? decision.approvalRequestId ?? null };
  }

  /**
   * Reports a call that will not run.
   * @param name the tool.
   * @param callId the call.
   * @param a the decision and its approval request.
   * @throws {PaybondDeniedError} with `onError: "raise"`.
   */
  denied(name: string, callId: string, a: Authorized): void {
    this.emit({ toolName: name, callId, decision: a.decision, ran: false, approvalRequestId: a.approvalRequestId });
    if (this.onError === "raise") {
      const d = a.decision;
      throw new PaybondDeniedError(describeDecision(d, name), name, d.code ?? d.decision, d.reason ?? null);
    }
  }

  /**
   * authorize → run → finish (consumed after success; released when the tool threw or gave an
   * error result) → evidence (only after success). A name listed in `unguarded` runs without
   * Harbor. `deny` builds the framework's deny value. An exception `hooks.isPause` accepts (the
   * framework suspending the run inside the tool) is let through: the call is neither finished nor
   * marked as run, so its resume goes on with the same reservation.
   * @param execute runs the tool (the framework's handler).
   * @param deny builds the framework's deny value from a decision.
   * @param hooks the framework's error results, pause and pause exceptions.
   * @returns the tool's result, or `deny(decision)`.
   * @throws what the tool threw (after releasing its spend), a pause exception, or `PaybondDeniedError` with `onError: "raise"`.
   */
  async run<R>(binding: CapabilityBinding, name: string, callId: string, args: unknown, arg: A, execute: () => Promise<R>, deny: (d: Decision) => R, hooks: RunHooks<R> = {}): Promise<R> {
    if (this.unguarded.has(name)) return execute();
    const a = await this.authorize(binding, name, callId, args, arg, hooks.pause);
    if (isAllowed(a.decision) && !binding.claim(callId)) a.decision = notClaimed(callId);
    const { decision, approvalRequestId } = a;
    if (!isAllowed(decision)) {
      this.denied(name, callId, a);
      return deny(decision);
    }
    let result: R;
    try {
      result = await execute();
    } catch (e) {
      if (hooks.isPause?.(e)) {
        binding.unclaim(callId); // the resume runs the body again, on the same allow
        throw e;
      }
      const done = hooks.isHandoff?.(e) ?? false;
      await finishQuietly(binding, name, callId, done);
      this.emit({ toolName: name, callId, decision, ran: !(hooks.notRun?.(e) ?? false), succeeded: done, approvalRequestId });
      throw e;
    }
    const succeeded = !(hooks.isError?.(result) ?? false);
    if (succeeded && !this.evidence && this.backgroundFinish) binding.finishLater(name, callId);
    else await finishQuietly(binding, name, callId, succeeded);
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
    this.emit({ toolName: name, callId, decision, ran: true, succeeded, evidence, evidenceError, evidenceErrorCode, approvalRequestId });
    return result;
  }
}

/**
 * The deny for a body that may not start: its call has no unused allow (it ran, is running now,
 * or was never allowed). Every adapter claims the call right before the body starts.
 * @param callId the call.
 */
export function notClaimed(callId: string): Decision {
  return denyDecision("call_replayed", `call id ${JSON.stringify(callId)} has no unused allow (it ran, is running now, or was never allowed): a call id runs its tool once, after an allow`);
}

/**
 * Completes the spend of a call that ran; a failure is logged, never a second tool failure.
 * @param binding the binding that allowed the call.
 * @param name the tool (for the log line).
 * @param callId the call.
 * @param succeeded true: consumed; false: released.
 */
export async function finishQuietly(binding: CapabilityBinding, name: string, callId: string, succeeded: boolean): Promise<void> {
  try {
    await binding.finish(callId, succeeded);
  } catch (e) {
    warnFinishFailed(name, callId, e);
  }
}
