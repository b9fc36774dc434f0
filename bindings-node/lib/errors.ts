/**
 * Errors thrown by Paybond Kit. Every native error is converted in one place
 * ({@link fromNative}): the class comes from the core's `class_name()`, the fields
 * from the core's `fields()` (camelCased), plus the core's stable `code`.
 * Messages never contain an API key, JWT, capability token or seed.
 */

import { brand, isBranded } from "./brand.js";

type Opts = { cause?: unknown };

export class PaybondError extends Error {
  /** Stable machine-readable code (also the guard's deny code). */
  code: string;
  constructor(message: string, code = "paybond_error", options?: Opts) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    brand(this, new.target, PaybondError);
  }
  /** `instanceof` holds for errors from the other build (ESM / CJS) of the package too. */
  static override [Symbol.hasInstance]<T>(this: abstract new (...args: never[]) => T, x: unknown): x is T {
    return isBranded(this, x);
  }
}

/**
 * Harbor answered an HTTP status other than success (after retries; a redirect is never followed
 * and lands here too); `bodyText` is redacted. A 409 on evidence: the idempotency key was reused
 * with another body.
 */
export class HarborHttpError extends PaybondError {
  /** The HTTP status. */
  readonly statusCode: number;
  /** The request URL (never carries credentials). */
  readonly url: string;
  /** The response body, redacted and cut to 2 KiB. */
  readonly bodyText: string;
  constructor(message: string, fields: { statusCode?: number; url?: string; bodyText?: string } = {}, options?: Opts) {
    super(message, "http_error", options);
    this.statusCode = fields.statusCode ?? 0;
    this.url = fields.url ?? "";
    this.bodyText = fields.bodyText ?? "";
  }
}

/** The Gateway refused or garbled the API-key exchange, or a refresh named another tenant. */
export class GatewayAuthError extends PaybondError {
  /** The HTTP status when the Gateway answered with one. */
  readonly statusCode: number | null;
  /** The response body (redacted), when there was one. */
  readonly bodyText: string | null;
  constructor(message: string, fields: { statusCode?: number | null; bodyText?: string | null } = {}, options?: Opts) {
    super(message, "gateway_auth", options);
    this.statusCode = fields.statusCode ?? null;
    this.bodyText = fields.bodyText ?? null;
  }
}

/**
 * Signal answered an HTTP status other than success (a 404 is `null` instead, for the reads that
 * document it: receipt, explanation, review status).
 */
export class SignalHttpError extends PaybondError {
  /** The HTTP status. */
  readonly statusCode: number;
  /** The request URL. */
  readonly url: string;
  /** The response body, redacted. */
  readonly bodyText: string;
  constructor(message: string, fields: { statusCode?: number; url?: string; bodyText?: string } = {}, options?: Opts) {
    super(message, "signal_http_error", options);
    this.statusCode = fields.statusCode ?? 0;
    this.url = fields.url ?? "";
    this.bodyText = fields.bodyText ?? "";
  }
}

/** A response named another tenant, intent or operator than the client is bound to. */
export class TenantBindingError extends PaybondError {
  constructor(message: string, _fields: Record<string, never> = {}, options?: Opts) {
    super(message, "tenant_mismatch", options);
  }
}

/**
 * A base URL or `proxyUrl` that is not https:// (plain http:// is for loopback only, unless
 * `PAYBOND_ALLOW_INSECURE_GATEWAY=1`), or that carries credentials, a query or a fragment.
 */
export class InsecureUrlError extends PaybondError {
  /** The refused URL: scheme, host and port only. */
  readonly url: string | null;
  constructor(message: string, fields: { url?: string | null } = {}, options?: Opts) {
    super(message, "insecure_url", options);
    this.url = fields.url ?? null;
  }
}

/** Connection refused or reset, a body cut short, a redirect refused on the way. */
export class TransportError extends PaybondError {
  /** The request URL. */
  readonly url: string | null;
  constructor(message: string, fields: { url?: string | null } = {}, options?: Opts) {
    super(message, "transport_error", options);
    this.url = fields.url ?? null;
  }
}

/** The call's deadline passed, or the per-attempt timeout elapsed on the last attempt. */
export class PaybondTimeoutError extends PaybondError {
  /** The request URL. */
  readonly url: string | null;
  /** The per-attempt timeout (`timeoutSeconds`), in ms. */
  readonly timeoutMs: number | null;
  /** The per-call deadline across all attempts and waits (`deadlineSeconds`), in ms. */
  readonly deadlineMs: number | null;
  /** How many attempts were made. */
  readonly attempts: number | null;
  /** How long the call took in total, in ms. */
  readonly elapsedMs: number | null;
  constructor(
    message: string,
    fields: { url?: string | null; timeoutMs?: number; deadlineMs?: number; attempts?: number; elapsedMs?: number } = {},
    options?: Opts,
  ) {
    super(message, "timeout", options);
    this.url = fields.url ?? null;
    this.timeoutMs = fields.timeoutMs ?? null;
    this.deadlineMs = fields.deadlineMs ?? null;
    this.attempts = fields.attempts ?? null;
    this.elapsedMs = fields.elapsedMs ?? null;
  }
}

/** An answer off the wire contract (bad JSON, duplicate keys, wrong content type, too large, a string `allow`...). */
export class InvalidResponseError extends PaybondError {
  /** The request URL. */
  readonly url: string | null;
  constructor(message: string, fields: { url?: string | null } = {}, options?: Opts) {
    super(message, "invalid_response", options);
    this.url = fields.url ?? null;
  }
}

/** Signing failed (a bad seed, a bad timestamp, an input that cannot be encoded). */
export class SigningError extends PaybondError {
  constructor(message: string, _fields: Record<string, never> = {}, options?: Opts) {
    super(message, "signing_error", options);
  }
}

/** A signature that should verify does not (a tampered or unsigned Signal receipt). */
export class SignatureInvalidError extends PaybondError {
  constructor(message: string, _fields: Record<string, never> = {}, options?: Opts) {
    super(message, "signature_invalid", options);
  }
}

/** The capability token is bound to another intent or tenant; nothing was sent. */
export class TokenIntentMismatchError extends PaybondError {
  /** `"intent"` or `"tenant"`. */
  readonly boundKind: string | null;
  /** The intent or tenant the token is bound to. */
  readonly bound: string | null;
  /** The one the call asked for. */
  readonly requested: string | null;
  constructor(message: string, fields: { boundKind?: string; bound?: string; requested?: string } = {}, options?: Opts) {
    super(message, "token_intent_mismatch", options);
    this.boundKind = fields.boundKind ?? null;
    this.bound = fields.bound ?? null;
    this.requested = fields.requested ?? null;
  }
}

/** The session was closed and refuses new calls. */
export class SessionClosedError extends PaybondError {
  constructor(message: string, _fields: Record<string, never> = {}, options?: Opts) {
    super(message, "session_closed", options);
  }
}

/** A caller argument is wrong; `field` names it in camelCase (`requestedSpendCents`, `timeoutSeconds`...). */
export class InvalidArgumentError extends PaybondError {
  /** The argument or option, in camelCase. */
  readonly field: string | null;
  constructor(message: string, fields: { field?: string | null } = {}, options?: Opts) {
    super(message, "invalid_argument", options);
    this.field = fields.field ?? null;
  }
}

/** Evidence for this call id was already signed with a different payload; the first payload stands. */
export class EvidenceConflictError extends PaybondError {
  /** The tool-call id that already has evidence. */
  readonly callId: string | null;
  constructor(message: string, fields: { callId?: string | null } = {}, options?: Opts) {
    super(message, "evidence_conflict", options);
    this.callId = fields.callId ?? null;
  }
}

/** A bug in the kit (a caught panic). Never an allow: guards turn it into a deny. */
export class InternalError extends PaybondError {
  constructor(message: string, _fields: Record<string, never> = {}, options?: Opts) {
    super(message, "internal", options);
  }
}

/** Thrown by adapters with `onError: "raise"` when a guarded call is denied. */
export class PaybondDeniedError extends PaybondError {
  /**
   * @param message the deny text (`"Paybond denied <tool>: <code>: <message>"`).
   * @param toolName the tool that was denied (it did not run).
   * @param denyCode the deny code (`harbor_denied`, `timeout`, ...).
   * @param reason Harbor's own code when Harbor denied, else null.
   */
  constructor(message: string, readonly toolName: string, readonly denyCode: string, readonly reason: string | null) {
    super(message, "denied");
  }
}

/**
 * A guard was asked to cover an agent or a tool list with a path it cannot guard (a hosted or
 * provider tool, a handoff, an agent used as a tool, an MCP server, a shell or computer tool...).
 * Thrown when the guard is built (for `createPaybondMiddleware`: before the first model call that
 * offers such a tool), never a silent skip. `paths` names each one as `"<kind>:<name>"`; list a
 * path's name in `unguarded: [...]` to accept it knowingly.
 */
export class UnguardedToolError extends PaybondError {
  readonly paths: readonly string[];
  constructor(message: string, fields: { paths?: readonly string[] } = {}, options?: Opts) {
    super(message, "unguarded_tool", options);
    this.paths = Object.freeze([...(fields.paths ?? [])]);
  }
}

const MARK = "PAYBOND_ERROR:";

type ErrorClass = new (message: string, fields?: never, options?: Opts) => PaybondError;

/** Core `class_name()` → class. */
const CLASSES: Record<string, ErrorClass> = {
  HarborHttpError,
  GatewayAuthError,
  SignalHttpError,
  TenantBindingError,
  InsecureUrlError,
  TransportError,
  PaybondTimeoutError,
  InvalidResponseError,
  SigningError,
  SignatureInvalidError,
  TokenIntentMismatchError,
  SessionClosedError,
  InvalidArgumentError,
  EvidenceConflictError,
  InternalError,
} as unknown as Record<string, ErrorClass>;

interface NativePayload {
  kind: string;
  code: string;
  message: string;
  fields?: Record<string, unknown>;
}

/**
 * Converts any error thrown by the native module into the matching class (the kit calls it for
 * you; exported for code that calls the native module directly).
 * @param err what the native module threw.
 * @returns the matching `PaybondError` subclass (never a plain `Error`: an unknown one is `InternalError`).
 */
export function fromNative(err: unknown): Error {
  if (err instanceof PaybondError) return err;
  const raw = err instanceof Error ? err.message : String(err);
  const at = raw.indexOf(MARK);
  // Not from the kit's own conversion (should not happen): still typed, never an allow.
  if (at < 0) return new InternalError(`unexpected native error: ${raw}`);
  let p: NativePayload;
  try {
    p = JSON.parse(raw.slice(at + MARK.length)) as NativePayload;
  } catch {
    return new InternalError("unreadable native error");
  }
  const Cls = Object.hasOwn(CLASSES, p.kind) ? CLASSES[p.kind]! : undefined;
  if (!Cls) return new PaybondError(p.message, p.code);
  return new Cls(p.message, (p.fields ?? {}) as never);
}

/** Runs a native call that returns a promise; converts a sync throw or a rejection. */
export async function call<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw fromNative(e);
  }
}

/** Runs a native sync call, converting its throw. */
export function callSync<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw fromNative(e);
  }
}
