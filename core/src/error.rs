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
    /// The per-attempt timeout elapsed on every attempt.
    #[error("timed out after {timeout_ms} ms calling {url}")]
    Timeout {
        /// The request URL.
        url: String,
        /// The per-attempt timeout.
        timeout_ms: u64,
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
    /// A caller-supplied argument is wrong; names the field and what was expected.
    #[error("invalid argument `{field}`: {message}")]
    InvalidArgument {
        /// The argument or field name.
        field: String,
        /// What was expected.
        message: String,
    },
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
    let is_tok =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'/' | b'=' | b'.');
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
    word.starts_with("paybond_sk_")
        || (word.starts_with("eyJ") && word.matches('.').count() >= 2)
        || (word.len() >= 120 && !word.contains('.'))
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
