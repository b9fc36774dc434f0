//! Caller input, judged once for every language.
//!
//! The bindings hand over host values as they are ([`HostNumber`] for any
//! number-ish argument, `Option<String>` for texts) and the rules live here:
//! a spend is an exact integer in `0..=2^53-1`; every numeric option is
//! finite and in range; errors name the field in the caller's own spelling
//! ([`FieldStyle`]).

use crate::error::{Error, Result};
use crate::http::HttpOptions;
use crate::session::SessionOptions;
use std::time::Duration;

/// The largest integer every language represents exactly (JavaScript's `Number.MAX_SAFE_INTEGER`).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// How the caller's language spells field names in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FieldStyle {
    /// `requested_spend_cents` (Rust, Python).
    #[default]
    Snake,
    /// `requestedSpendCents` (JavaScript / TypeScript).
    Camel,
}

impl FieldStyle {
    /// `snake` (a snake_case name) in this style.
    pub fn name(self, snake: &str) -> String {
        match self {
            FieldStyle::Snake => snake.to_owned(),
            FieldStyle::Camel => {
                let mut out = String::with_capacity(snake.len());
                let mut upper = false;
                for c in snake.chars() {
                    if c == '_' {
                        upper = true;
                    } else if upper {
                        out.extend(c.to_uppercase());
                        upper = false;
                    } else {
                        out.push(c);
                    }
                }
                out
            }
        }
    }

    /// An [`Error::InvalidArgument`] naming `snake` in this style.
    pub fn invalid(self, snake: &str, message: impl std::fmt::Display) -> Error {
        Error::invalid_argument(self.name(snake), message)
    }
}

/// A number-ish value exactly as the host language gave it.
#[derive(Clone, Debug, PartialEq)]
pub enum HostNumber {
    /// An integer (Python `int`, JS `bigint`) that fits in 128 bits.
    Int(i128),
    /// A floating-point number (Python `float`, every JS `number`).
    Float(f64),
    /// A boolean (Python's `bool` is an `int` subclass: refused as a number).
    Bool(bool),
    /// Anything else; the text names the host type (`str`, `int (more than 128 bits)`, `object`).
    Other(String),
}

impl From<u64> for HostNumber {
    fn from(v: u64) -> Self {
        HostNumber::Int(v.into())
    }
}

impl From<f64> for HostNumber {
    fn from(v: f64) -> Self {
        HostNumber::Float(v)
    }
}

impl HostNumber {
    fn describe(&self) -> String {
        match self {
            HostNumber::Int(i) => i.to_string(),
            HostNumber::Float(f) => format!("{f:?}"),
            HostNumber::Bool(b) => format!("the boolean {b}"),
            HostNumber::Other(t) => format!("a value of type {t}"),
        }
    }

    /// The exact integer this value is, if it is one.
    fn exact_integer(&self) -> Option<i128> {
        match self {
            HostNumber::Int(i) => Some(*i),
            // Below 2^63 an integral f64 converts exactly.
            HostNumber::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.2e18 => {
                Some(*f as i128)
            }
            _ => None,
        }
    }

    fn finite_float(&self) -> Option<f64> {
        match self {
            HostNumber::Int(i) => Some(*i as f64),
            HostNumber::Float(f) if f.is_finite() => Some(*f),
            _ => None,
        }
    }
}

/// A 32-byte Ed25519 seed exactly as the host gave it.
#[derive(Clone, PartialEq, Eq)]
pub enum HostSeed {
    /// Text (expected: 64 hex digits).
    Text(String),
    /// Raw bytes (expected: 32).
    Bytes(Vec<u8>),
    /// Anything else; names the host type.
    Other(String),
}

impl std::fmt::Debug for HostSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostSeed(***)")
    }
}

/// The one seed rule: 64 hex digits (either case) or exactly 32 bytes.
pub fn seed(style: FieldStyle, field: &str, value: &HostSeed) -> Result<[u8; 32]> {
    match value {
        HostSeed::Text(t) => crate::evidence::seed_from_hex(&style.name(field), t),
        HostSeed::Bytes(b) => <[u8; 32]>::try_from(b.as_slice()).map_err(|_| {
            style.invalid(
                field,
                format!("expected 32 bytes (an Ed25519 seed), got {} bytes", b.len()),
            )
        }),
        HostSeed::Other(t) => Err(style.invalid(
            field,
            format!("expected 64 hex digits or 32 bytes, got a value of type {t}"),
        )),
    }
}

/// The one rule for numbers inside JSON data from a host (payloads,
/// arguments): integers must fit in 64 bits, floats must be finite, a
/// boolean stays a boolean.
pub fn json_number(
    style: FieldStyle,
    field: &str,
    value: &HostNumber,
) -> Result<serde_json::Value> {
    use serde_json::Value;
    match value {
        HostNumber::Bool(b) => Ok(Value::Bool(*b)),
        HostNumber::Int(i) => {
            if let Ok(v) = i64::try_from(*i) {
                Ok(Value::from(v))
            } else if let Ok(v) = u64::try_from(*i) {
                Ok(Value::from(v))
            } else {
                Err(style.invalid(field, "integers in JSON data must fit in 64 bits"))
            }
        }
        HostNumber::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .ok_or_else(|| style.invalid(field, "NaN and infinity are not JSON numbers")),
        HostNumber::Other(t) => Err(style.invalid(
            field,
            format!("expected JSON-compatible data, got a value of type {t}"),
        )),
    }
}

/// An exact integer in `min..=max`, or an error naming `field`.
pub fn integer_in(
    style: FieldStyle,
    field: &str,
    value: &HostNumber,
    min: u64,
    max: u64,
) -> Result<u64> {
    match value.exact_integer() {
        Some(i) if i >= i128::from(min) && i <= i128::from(max) => Ok(i as u64),
        _ => Err(style.invalid(
            field,
            format!(
                "expected an integer between {min} and {max}, got {}",
                value.describe()
            ),
        )),
    }
}

/// The spend of a tool call in minor units: an exact integer in `0..=2^53-1`.
pub fn spend_cents(style: FieldStyle, value: &HostNumber) -> Result<u64> {
    integer_in(style, "requested_spend_cents", value, 0, MAX_SAFE_INTEGER)
}

/// A number of seconds in `min..=max` (finite), as a `Duration`.
pub fn seconds_in(
    style: FieldStyle,
    field: &str,
    value: &HostNumber,
    min: f64,
    max: f64,
    min_exclusive: bool,
) -> Result<Duration> {
    let bad = || {
        let lower = if min_exclusive { ">" } else { ">=" };
        style.invalid(
            field,
            format!(
                "expected a number of seconds {lower} {min} and <= {max}, got {}",
                value.describe()
            ),
        )
    };
    let s = value.finite_float().ok_or_else(bad)?;
    let in_range = if min_exclusive { s > min } else { s >= min } && s <= max;
    if !in_range {
        return Err(bad());
    }
    Duration::try_from_secs_f64(s).map_err(|_| bad())
}

/// Session options as a caller gives them; [`SessionOptionsInput::build`] checks them.
#[derive(Clone, Debug, Default)]
pub struct SessionOptionsInput {
    /// Per-attempt timeout in seconds (default 10; `0 < t <= 3600`).
    pub timeout_seconds: Option<HostNumber>,
    /// Per-call deadline across all attempts and waits in seconds (default 30; `0 < d <= 3600`).
    pub deadline_seconds: Option<HostNumber>,
    /// Total attempts for a retryable call (default 3; `1..=10`).
    pub max_retries: Option<HostNumber>,
    /// Cap on a server's `Retry-After` in seconds (default 30; `0..=300`).
    pub max_retry_after_seconds: Option<HostNumber>,
    /// Refresh the JWT this long before expiry, in seconds (default 90; `0..=86400`).
    pub refresh_skew_seconds: Option<HostNumber>,
    /// Largest response body in bytes (default 1 MiB; `1024..=67108864`).
    pub max_response_bytes: Option<HostNumber>,
    /// Explicit proxy URL (environment proxies are never used).
    pub proxy_url: Option<String>,
    /// A tenant the caller expects (never overrides the Gateway).
    pub expected_tenant_id: Option<String>,
    /// For Signal sessions: `live` or `sandbox`.
    pub expected_environment: Option<String>,
}

impl SessionOptionsInput {
    /// Checks every option and builds [`SessionOptions`]; errors name the field in `style`.
    pub fn build(&self, style: FieldStyle) -> Result<SessionOptions> {
        let d = HttpOptions::default();
        let mut http = HttpOptions {
            timeout: opt_secs(
                style,
                "timeout_seconds",
                &self.timeout_seconds,
                0.0,
                3600.0,
                true,
            )?
            .unwrap_or(d.timeout),
            deadline: opt_secs(
                style,
                "deadline_seconds",
                &self.deadline_seconds,
                0.0,
                3600.0,
                true,
            )?
            .unwrap_or(d.deadline),
            max_retry_after: opt_secs(
                style,
                "max_retry_after_seconds",
                &self.max_retry_after_seconds,
                0.0,
                300.0,
                false,
            )?
            .unwrap_or(d.max_retry_after),
            ..d
        };
        if let Some(n) = &self.max_retries {
            http.max_retries = integer_in(style, "max_retries", n, 1, 10)? as u32;
        }
        if let Some(n) = &self.max_response_bytes {
            http.max_response_bytes =
                integer_in(style, "max_response_bytes", n, 1024, 64 << 20)? as usize;
        }
        if let Some(p) = &self.proxy_url {
            // Same policy as the base URLs; checked again when the client is built.
            crate::url::BaseUrl::parse(&style.name("proxy_url"), p)?;
            http.proxy_url = Some(p.clone());
        }
        let refresh_skew = opt_secs(
            style,
            "refresh_skew_seconds",
            &self.refresh_skew_seconds,
            0.0,
            86_400.0,
            false,
        )?
        .unwrap_or(crate::gateway::DEFAULT_REFRESH_SKEW);
        let text = |field: &str, v: &Option<String>| -> Result<Option<String>> {
            match v {
                Some(s) if s.trim().is_empty() => {
                    Err(style.invalid(field, "must not be empty when given"))
                }
                other => Ok(other.clone()),
            }
        };
        Ok(SessionOptions {
            http,
            refresh_skew,
            expected_tenant_id: text("expected_tenant_id", &self.expected_tenant_id)?,
            expected_environment: text("expected_environment", &self.expected_environment)?,
        })
    }
}

fn opt_secs(
    style: FieldStyle,
    field: &str,
    v: &Option<HostNumber>,
    min: f64,
    max: f64,
    min_exclusive: bool,
) -> Result<Option<Duration>> {
    v.as_ref()
        .map(|n| seconds_in(style, field, n, min, max, min_exclusive))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spend_is_an_exact_safe_integer() {
        for ok in [
            HostNumber::Int(0),
            HostNumber::Int(300),
            HostNumber::Float(300.0),
            HostNumber::Int(MAX_SAFE_INTEGER as i128),
        ] {
            assert!(spend_cents(FieldStyle::Snake, &ok).is_ok(), "{ok:?}");
        }
        for bad in [
            HostNumber::Float(f64::NAN),
            HostNumber::Float(f64::INFINITY),
            HostNumber::Float(f64::NEG_INFINITY),
            HostNumber::Float(-0.5),
            HostNumber::Float(99.99),
            HostNumber::Float(1e20),
            HostNumber::Int(-1),
            HostNumber::Int(1 << 64),
            HostNumber::Int(MAX_SAFE_INTEGER as i128 + 1),
            HostNumber::Bool(true),
            HostNumber::Other("str".into()),
        ] {
            let e = spend_cents(FieldStyle::Camel, &bad).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidArgument { field, .. } if field == "requestedSpendCents"),
                "{bad:?}: {e}"
            );
        }
    }

    #[test]
    fn options_are_checked() {
        let o = SessionOptionsInput::default()
            .build(FieldStyle::Snake)
            .unwrap();
        assert_eq!(o.http.timeout, Duration::from_secs(10));
        assert_eq!(o.http.deadline, Duration::from_secs(30));
        for (input, field) in [
            (
                SessionOptionsInput {
                    timeout_seconds: Some(HostNumber::Float(1e20)),
                    ..Default::default()
                },
                "timeoutSeconds",
            ),
            (
                SessionOptionsInput {
                    deadline_seconds: Some(HostNumber::Float(0.0)),
                    ..Default::default()
                },
                "deadlineSeconds",
            ),
            (
                SessionOptionsInput {
                    max_retries: Some(HostNumber::Float(2.5)),
                    ..Default::default()
                },
                "maxRetries",
            ),
            (
                SessionOptionsInput {
                    refresh_skew_seconds: Some(HostNumber::Float(f64::NAN)),
                    ..Default::default()
                },
                "refreshSkewSeconds",
            ),
            (
                SessionOptionsInput {
                    proxy_url: Some("ftp://x".into()),
                    ..Default::default()
                },
                "proxyUrl",
            ),
        ] {
            let e = input.build(FieldStyle::Camel).unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.contains(field) || e.code() == "insecure_url",
                "{field}: {msg}"
            );
        }
    }
}
