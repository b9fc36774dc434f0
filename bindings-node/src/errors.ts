/**
 * Errors thrown by Paybond Kit. Every native error is converted in one place
 * ({@link fromNative}); messages never contain an API key, JWT, capability token or seed.
 */

export class PaybondError extends Error {
  /** Stable machine-readable code. */
  code: string;
  constructor(message: string, code = "paybond_error", options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Harbor answered HTTP >= 400 (after retries); `bodyText` is redacted. */
export class HarborHttpError extends PaybondError {
  constructor(message: string, readonly statusCode: number, readonly url: string, readonly bodyText: string, options?: { cause?: unknown }) {
    super(message, "http_error", options);
  }
}

/** The Gateway refused the API-key exchange, or a refresh named another tenant. */
export class GatewayAuthError extends PaybondError {
  constructor(message: string, readonly statusCode: number | null = null, readonly bodyText: string | null = null, options?: { cause?: unknown }) {
    super(message, "gateway_auth", options);
  }
}

/** Signal answered HTTP >= 400. */
export class SignalHttpError extends PaybondError {
  constructor(message: string, readonly statusCode: number, readonly url: string, readonly bodyText: string, options?: { cause?: unknown }) {
    super(message, "signal_http_error", options);
  }
}

/** A response named another tenant, intent or operator than the client is bound to. */
export class TenantBindingError extends PaybondError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, "tenant_mismatch", options);
  }
}

/** A base URL that is not https:// (plain http:// is for loopback only). */
export class InsecureUrlError extends PaybondError {
  constructor(message: string, readonly url: string | null = null, options?: { cause?: unknown }) {
    super(message, "insecure_url", options);
  }
}

/** Connection refused or reset, a body cut short. */
export class TransportError extends PaybondError {
  constructor(message: string, readonly url: string | null = null, options?: { cause?: unknown }) {
    super(message, "transport_error", options);
  }
}

/** Every attempt timed out. */
export class PaybondTimeoutError extends PaybondError {
  constructor(message: string, readonly url: string | null = null, options?: { cause?: unknown }) {
    super(message, "timeout", options);
  }
}

/** A 2xx answer off the wire contract (bad JSON, a string `allow`, a missing `audit_id`...). */
export class InvalidResponseError extends PaybondError {
  constructor(message: string, readonly url: string | null = null, options?: { cause?: unknown }) {
    super(message, "invalid_response", options);
  }
}

/** Signing failed. */
export class SigningError extends PaybondError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, "signing_error", options);
  }
}

/** A signature that should verify does not (e.g. a tampered Signal receipt). */
export class SignatureInvalidError extends PaybondError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, "signature_invalid", options);
  }
}

/** The capability token is bound to another intent or tenant; nothing was sent. */
export class TokenIntentMismatchError extends PaybondError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, "token_intent_mismatch", options);
  }
}

/** The session was closed and refuses new calls. */
export class SessionClosedError extends PaybondError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, "session_closed", options);
  }
}

/** A caller argument is wrong; `field` names it. */
export class InvalidArgumentError extends PaybondError {
  constructor(message: string, readonly field: string | null = null, options?: { cause?: unknown }) {
    super(message, "invalid_argument", options);
  }
}

/** Thrown by adapters with `onError: "raise"` when a guarded call is denied. */
export class PaybondDeniedError extends PaybondError {
  constructor(message: string, readonly toolName: string, readonly denyCode: string, readonly reason: string | null) {
    super(message, "denied");
  }
}

const MARK = "PAYBOND_ERROR:";

interface NativePayload {
  kind: string;
  code: string;
  message: string;
  statusCode?: number | null;
  url?: string | null;
  bodyText?: string | null;
  field?: string | null;
}

/** Converts any error thrown by the native module into the matching class. */
export function fromNative(err: unknown): Error {
  if (err instanceof PaybondError) return err;
  const raw = err instanceof Error ? err.message : String(err);
  const at = raw.indexOf(MARK);
  if (at < 0) return err instanceof Error ? new PaybondError(raw, "internal", { cause: err }) : new PaybondError(raw, "internal");
  let p: NativePayload;
  try {
    p = JSON.parse(raw.slice(at + MARK.length)) as NativePayload;
  } catch {
    return new PaybondError(raw, "internal");
  }
  const o = { cause: err };
  const m = p.message;
  switch (p.kind) {
    case "HarborHttpError":
      return new HarborHttpError(m, p.statusCode ?? 0, p.url ?? "", p.bodyText ?? "", o);
    case "SignalHttpError":
      return new SignalHttpError(m, p.statusCode ?? 0, p.url ?? "", p.bodyText ?? "", o);
    case "GatewayAuthError":
      return new GatewayAuthError(m, p.statusCode ?? null, p.bodyText ?? null, o);
    case "TenantBindingError":
      return new TenantBindingError(m, o);
    case "InsecureUrlError":
      return new InsecureUrlError(m, p.url ?? null, o);
    case "TransportError":
      return new TransportError(m, p.url ?? null, o);
    case "PaybondTimeoutError":
      return new PaybondTimeoutError(m, p.url ?? null, o);
    case "InvalidResponseError":
      return new InvalidResponseError(m, p.url ?? null, o);
    case "SigningError":
      return new SigningError(m, o);
    case "SignatureInvalidError":
      return new SignatureInvalidError(m, o);
    case "TokenIntentMismatchError":
      return new TokenIntentMismatchError(m, o);
    case "SessionClosedError":
      return new SessionClosedError(m, o);
    case "InvalidArgumentError":
      return new InvalidArgumentError(m, p.field ?? null, o);
    default:
      return new PaybondError(m, p.code, o);
  }
}

/** Awaits a native promise, converting its rejection. */
export async function call<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
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
