//! One error type for everything the kit does.
//!
//! Every variant carries what a support ticket needs (status code, URL, a
//! redacted body) and none of the secrets: bodies pass through
//! [`redact`] before they are stored, and URLs never carry credentials.

use std::fmt;

/// Result alias used across the kit.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every failure the kit reports. Each variant has a stable [`Error::code`].
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Harbor answered with HTTP >= 400 (after retries, where retries apply).
    #[error("Harbor returned HTTP {status_code} for {url}: {body_text}")]
    HarborHttp {
        /// HTTP status code.
        status_code: u16,
        /// The request URL (never carries credentials).
        url: String,
        /// Response body, redacted and cut to 2 KiB.
        body_text: String,
    },
    /// The Gateway refused or garbled the API-key exchange, or a refresh named another tenant.
    #[error("Gateway auth failed{}: {message}", fmt_status(*status_code))]
    GatewayAuth {
        /// HTTP status code when the Gateway answered with one.
        status_code: Option<u16>,
        /// Response body (redacted), when there was one.
        body_text: Option<String>,
        /// What went wrong.
        message: String,
    },
    /// Signal (on the Gateway) answered with HTTP >= 400.
    #[error("Signal returned HTTP {status_code} for {url}: {body_text}")]
    SignalHttp {
        /// HTTP status code.
        status_code: u16,
        /// The request URL.
        url: String,
        /// Response body, redacted.
        body_text: String,
    },
    /// A response names another tenant (or intent, or operator) than the one this client is bound to.
    #[error("tenant binding violated: {message}")]
    TenantBinding {
        /// Which echo did not match, with the expected and received values.
        message: String,
    },
    /// A base URL that is not `https://` (or loopback `http://`).
    #[error("insecure base URL {url:?}: {message}")]
    InsecureUrl {
        /// The offending URL.
        url: String,
        /// Why it was refused.
        message: String,
    },
    /// Connection refused, reset, DNS failure, or a body cut short.
    #[error("transport error calling {url}: {message}")]
    Transport {
        /// The request URL.
        url: String,
        /// The underlying error, without secrets.
        message: String,
    },
    /// The call's deadline passed, or the per-attempt timeout elapsed on the last attempt.
    #[error("timed out calling {url}: {attempts} attempt(s) in {elapsed_ms} ms (per-attempt timeout {timeout_ms} ms, deadline {deadline_ms} ms)")]
    Timeout {
        /// The request URL.
        url: String,
        /// The per-attempt timeout.
        timeout_ms: u64,
        /// The per-call deadline across all attempts and waits.
        deadline_ms: u64,
        /// How many attempts were made.
        attempts: u32,
        /// How long the call took in total.
        elapsed_ms: u64,
    },
    /// A 2xx answer that is not what the wire contract says (bad JSON, missing or mistyped field).
    #[error("invalid response from {url}: {message}")]
    InvalidResponse {
        /// The request URL.
        url: String,
        /// What was wrong with it.
        message: String,
    },
    /// Signing failed (bad seed, bad timestamp, unencodable input).
    #[error("signing failed: {message}")]
    Signing {
        /// What went wrong.
        message: String,
    },
    /// A signature that should verify does not (tampered receipt, wrong key).
    #[error("signature invalid: {message}")]
    SignatureInvalid {
        /// What did not verify.
        message: String,
    },
    /// A capability token bound to another intent or tenant than the call names.
    #[error("capability token is bound to {bound_kind} {bound:?}, not {requested:?}")]
    TokenIntentMismatch {
        /// `"intent"` or `"tenant"`.
        bound_kind: &'static str,
        /// What the token is bound to.
        bound: String,
        /// What the call asked for.
        requested: String,
    },
    /// The session was closed (or poisoned by a tenant change) and refuses new calls.
    #[error("session closed: {message}")]
    SessionClosed {
        /// Why the session no longer accepts calls.
        message: String,
    },
    /// Evidence for this call was already signed with a different payload.
    #[error("evidence conflict for call {call_id:?}: {message}")]
    EvidenceConflict {
        /// The tool-call id that already has evidence.
        call_id: String,
        /// What happened.
        message: String,
    },
    /// A bug in the kit (a caught panic). Never an allow.
    #[error("internal error in paybond-kit: {message}")]
    Internal {
        /// What was caught.
        message: String,
    },
    /// A caller-supplied argument is wrong; names the field and what was expected.
    #[error("invalid argument `{field}`: {message}")]
    InvalidArgument {
        /// The argument or field name.
        field: String,
        /// What was expected.
        message: String,
    },
}

/// A value of one of an error's structured fields (see [`Error::fields`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorField {
    /// A text.
    Text(String),
    /// A number.
    Int(u64),
    /// Absent.
    Null,
}

fn fmt_status(status: Option<u16>) -> String {
    status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
}

impl Error {
    /// A stable, machine-readable code for this error (also the guard's deny code).
    pub fn code(&self) -> &'static str {
        match self {
            Error::HarborHttp { .. } => "http_error",
            Error::GatewayAuth { .. } => "gateway_auth",
            Error::SignalHttp { .. } => "signal_http_error",
            Error::TenantBinding { .. } => "tenant_mismatch",
            Error::InsecureUrl { .. } => "insecure_url",
            Error::Transport { .. } => "transport_error",
            Error::Timeout { .. } => "timeout",
            Error::InvalidResponse { .. } => "invalid_response",
            Error::Signing { .. } => "signing_error",
            Error::SignatureInvalid { .. } => "signature_invalid",
            Error::TokenIntentMismatch { .. } => "token_intent_mismatch",
            Error::SessionClosed { .. } => "session_closed",
            Error::InvalidArgument { .. } => "invalid_argument",
            Error::EvidenceConflict { .. } => "evidence_conflict",
            Error::Internal { .. } => "internal",
        }
    }

    /// The kind of error: the name of the class the Python and Node packages
    /// raise for it (`"HarborHttpError"`, ...). Same as [`Error::class_name`].
    pub fn kind(&self) -> &'static str {
        self.class_name()
    }

    /// The name of the error class the Python and Node packages raise for this variant.
    pub fn class_name(&self) -> &'static str {
        match self {
            Error::HarborHttp { .. } => "HarborHttpError",
            Error::GatewayAuth { .. } => "GatewayAuthError",
            Error::SignalHttp { .. } => "SignalHttpError",
            Error::TenantBinding { .. } => "TenantBindingError",
            Error::InsecureUrl { .. } => "InsecureUrlError",
            Error::Transport { .. } => "TransportError",
            Error::Timeout { .. } => "PaybondTimeoutError",
            Error::InvalidResponse { .. } => "InvalidResponseError",
            Error::Signing { .. } => "SigningError",
            Error::SignatureInvalid { .. } => "SignatureInvalidError",
            Error::TokenIntentMismatch { .. } => "TokenIntentMismatchError",
            Error::SessionClosed { .. } => "SessionClosedError",
            Error::InvalidArgument { .. } => "InvalidArgumentError",
            Error::EvidenceConflict { .. } => "EvidenceConflictError",
            Error::Internal { .. } => "InternalError",
        }
    }

    /// The structured fields of this error (snake_case names), for the bindings'
    /// one generic conversion. Every text is already redacted.
    pub fn fields(&self) -> Vec<(&'static str, ErrorField)> {
        use ErrorField::{Int, Null, Text};
        let opt_int = |v: Option<u16>| v.map(|n| Int(n.into())).unwrap_or(Null);
        match self {
            Error::HarborHttp {
                status_code,
                url,
                body_text,
            }
            | Error::SignalHttp {
                status_code,
                url,
                body_text,
            } => vec![
                ("status_code", Int((*status_code).into())),
                ("url", Text(url.clone())),
                ("body_text", Text(body_text.clone())),
            ],
            Error::GatewayAuth {
                status_code,
                body_text,
                ..
            } => vec![
                ("status_code", opt_int(*status_code)),
                ("body_text", body_text.clone().map(Text).unwrap_or(Null)),
            ],
            Error::InsecureUrl { url, .. }
            | Error::Transport { url, .. }
            | Error::InvalidResponse { url, .. } => vec![("url", Text(url.clone()))],
            Error::Timeout {
                url,
                timeout_ms,
                deadline_ms,
                attempts,
                elapsed_ms,
            } => vec![
                ("url", Text(url.clone())),
                ("timeout_ms", Int(*timeout_ms)),
                ("deadline_ms", Int(*deadline_ms)),
                ("attempts", Int((*attempts).into())),
                ("elapsed_ms", Int(*elapsed_ms)),
            ],
            Error::InvalidArgument { field, .. } => vec![("field", Text(field.clone()))],
            Error::EvidenceConflict { call_id, .. } => vec![("call_id", Text(call_id.clone()))],
            Error::TokenIntentMismatch {
                bound_kind,
                bound,
                requested,
            } => vec![
                ("bound_kind", Text((*bound_kind).to_owned())),
                ("bound", Text(bound.clone())),
                ("requested", Text(requested.clone())),
            ],
            Error::TenantBinding { .. }
            | Error::Signing { .. }
            | Error::SignatureInvalid { .. }
            | Error::SessionClosed { .. }
            | Error::Internal { .. } => Vec::new(),
        }
    }

    /// Every text of this error passed through `f` (used to scrub known secrets by value).
    pub fn map_text(self, f: impl Fn(&str) -> String) -> Self {
        match self {
            Error::HarborHttp {
                status_code,
                url,
                body_text,
            } => Error::HarborHttp {
                status_code,
                url: f(&url),
                body_text: f(&body_text),
            },
            Error::GatewayAuth {
                status_code,
                body_text,
                message,
            } => Error::GatewayAuth {
                status_code,
                body_text: body_text.map(|b| f(&b)),
                message: f(&message),
            },
            Error::SignalHttp {
                status_code,
                url,
                body_text,
            } => Error::SignalHttp {
                status_code,
                url: f(&url),
                body_text: f(&body_text),
            },
            Error::TenantBinding { message } => Error::TenantBinding {
                message: f(&message),
            },
            Error::InsecureUrl { url, message } => Error::InsecureUrl {
                url: f(&url),
                message: f(&message),
            },
            Error::Transport { url, message } => Error::Transport {
                url: f(&url),
                message: f(&message),
            },
            Error::Timeout {
                url,
                timeout_ms,
                deadline_ms,
                attempts,
                elapsed_ms,
            } => Error::Timeout {
                url: f(&url),
                timeout_ms,
                deadline_ms,
                attempts,
                elapsed_ms,
            },
            Error::InvalidResponse { url, message } => Error::InvalidResponse {
                url: f(&url),
                message: f(&message),
            },
            Error::Signing { message } => Error::Signing {
                message: f(&message),
            },
            Error::SignatureInvalid { message } => Error::SignatureInvalid {
                message: f(&message),
            },
            Error::TokenIntentMismatch {
                bound_kind,
                bound,
                requested,
            } => Error::TokenIntentMismatch {
                bound_kind,
                bound: f(&bound),
                requested: f(&requested),
            },
            Error::SessionClosed { message } => Error::SessionClosed {
                message: f(&message),
            },
            Error::InvalidArgument { field, message } => Error::InvalidArgument {
                field,
                message: f(&message),
            },
            Error::EvidenceConflict { call_id, message } => Error::EvidenceConflict {
                call_id: f(&call_id),
                message: f(&message),
            },
            Error::Internal { message } => Error::Internal {
                message: f(&message),
            },
        }
    }

    /// An [`Error::Internal`] for a caught panic payload.
    pub fn from_panic(payload: &(dyn std::any::Any + Send)) -> Self {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_owned());
        Error::Internal {
            message: format!("caught a panic ({}); the call is refused", redact(&what)),
        }
    }

    /// The HTTP status, for the variants that have one.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Error::HarborHttp { status_code, .. } | Error::SignalHttp { status_code, .. } => {
                Some(*status_code)
            }
            Error::GatewayAuth { status_code, .. } => *status_code,
            _ => None,
        }
    }

    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid_argument(field: impl Into<String>, message: impl fmt::Display) -> Self {
        Error::InvalidArgument {
            field: field.into(),
            message: message.to_string(),
        }
    }

    /// Shorthand for [`Error::InvalidResponse`].
    pub fn invalid_response(url: impl Into<String>, message: impl fmt::Display) -> Self {
        Error::InvalidResponse {
            url: url.into(),
            message: message.to_string(),
        }
    }

    /// Shorthand for [`Error::Signing`].
    pub fn signing(message: impl fmt::Display) -> Self {
        Error::Signing {
            message: message.to_string(),
        }
    }

    /// Whether a retry of the same request may succeed (used by the retry loop).
    pub(crate) fn is_retryable(&self) -> bool {
        matches!(self, Error::Transport { .. } | Error::Timeout { .. })
    }
}

/// Longest body kept on an error.
const MAX_BODY_TEXT: usize = 2048;

/// Masks anything in `text` that looks like a credential: Paybond API keys,
/// JWTs, `Bearer` values and long base64 runs (capability tokens), then cuts
/// the result to 2 KiB on a character boundary.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_BODY_TEXT + 16));
    let bytes = text.as_bytes();
    let mut i = 0;
    let is_tok = |b: u8| {
        b.is_ascii_alphanumeric()
            || matches!(b, b'_' | b'-' | b'+' | b'/' | b'=' | b'.' | b'%' | b'\\')
    };
    while i < bytes.len() {
        if is_tok(bytes[i]) {
            let start = i;
            while i < bytes.len() && is_tok(bytes[i]) {
                i += 1;
            }
            let word = &text[start..i];
            if looks_secret(word) {
                out.push_str("***");
            } else {
                out.push_str(word);
            }
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
        if out.len() > MAX_BODY_TEXT {
            let mut cut = MAX_BODY_TEXT;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push('…');
            break;
        }
    }
    out
}

fn looks_secret(word: &str) -> bool {
    // `access_token=eyJ..`, `key=paybond_sk_..`: judge what follows the last `=` too.
    let tail = word
        .trim_end_matches('=')
        .rsplit('=')
        .next()
        .unwrap_or(word);
    [word, tail].iter().any(|w| {
        w.contains("paybond_sk_")
            || (w.contains("eyJ") && w.matches('.').count() >= 2)
            || (w.len() >= 120 && w.matches('.').count() < 2)
            || (w.len() >= 64
                && w.bytes().all(|b| b.is_ascii_hexdigit())
                && w.len() % 2 == 0
                && w.len() <= 128)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_keys_jwts_and_tokens() {
        let key = format!("paybond_sk_sandbox_{}_{}", "a".repeat(32), "b".repeat(64));
        let jwt = "eyJhbGciOiJFZERTQSJ9.eyJ0aWQiOiJ0In0.c2lnbmF0dXJl";
        let tok = "En0KEwoE".repeat(30);
        let text = format!(
            "{{\"k\":\"{key}\",\"j\":\"Bearer {jwt}\",\"t\":\"{tok}\",\"ok\":\"tenant-1\"}}"
        );
        let r = redact(&text);
        assert!(
            !r.contains(&key) && !r.contains(jwt) && !r.contains(&tok),
            "{r}"
        );
        assert!(r.contains("tenant-1"));
    }

    #[test]
    fn cuts_long_bodies_on_char_boundary() {
        let r = redact(&"é ".repeat(5000));
        assert!(r.len() <= MAX_BODY_TEXT + 4);
    }
}
