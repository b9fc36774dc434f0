//! Idempotency keys, scoped by tenant and operation: the same key with the
//! same body replays the stored answer; with another body it is a 409.
//!
//! A handler takes a [`Scope`], [`Scope::lookup`]s under the state lock, and
//! when it goes on to change state it must [`Scope::store`] its answer in the
//! same critical section, so that concurrent twins act exactly once.

use crate::error::ApiError;
use crate::state::Tenant;
use axum::http::HeaderMap;
use paybond_kit::digest::json_value_digest;
use serde_json::Value;

/// An idempotency record: digest of the request and the stored answer.
#[derive(Clone, Debug)]
pub struct IdemRecord {
    /// Canonical digest of the request body.
    pub request_digest: [u8; 32],
    /// HTTP status answered.
    pub status: u16,
    /// Body answered.
    pub response: Value,
}

/// What a lookup found.
#[derive(Debug)]
pub enum Idem {
    /// No record: act.
    Fresh,
    /// The stored answer of an identical earlier request.
    Replay(u16, Value),
}

/// One request's idempotency scope.
#[derive(Debug, Clone)]
pub struct Scope {
    op: &'static str,
    key: Option<String>,
    digest: [u8; 32],
}

/// The `idempotency-key` header, or else (when `body_field`) the body's
/// `idempotency_key`; 1–256 characters.
pub fn request_key(h: &HeaderMap, body: Option<&Value>) -> Result<Option<String>, ApiError> {
    let k = h
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            body.and_then(|b| b.get("idempotency_key"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    match &k {
        Some(k) if k.is_empty() || k.len() > 256 => Err(ApiError::invalid(
            "idempotency-key must be 1-256 characters",
        )),
        _ => Ok(k),
    }
}

impl Scope {
    /// The scope of operation `op` for a request with `key` and JSON `body`.
    pub fn new(op: &'static str, key: Option<String>, body: &Value) -> Self {
        Scope {
            op,
            key,
            digest: json_value_digest(body),
        }
    }

    /// Whether the request carries a key at all.
    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }

    /// The record of this key in `t`, judged against this request's body.
    pub fn lookup(&self, t: &Tenant) -> Result<Idem, ApiError> {
        let Some(key) = &self.key else {
            return Ok(Idem::Fresh);
        };
        match t.idempotency.get(&(self.op.to_owned(), key.clone())) {
            None => Ok(Idem::Fresh),
            Some(r) if r.request_digest == self.digest => {
                Ok(Idem::Replay(r.status, r.response.clone()))
            }
            Some(_) => Err(ApiError::new(
                409,
                "idempotency_conflict",
                "this idempotency key was used with a different body",
            )),
        }
    }

    /// Stores this request's answer (no-op without a key).
    pub fn store(&self, t: &mut Tenant, status: u16, response: &Value) {
        if let Some(k) = &self.key {
            t.idempotency.insert(
                (self.op.to_owned(), k.clone()),
                IdemRecord {
                    request_digest: self.digest,
                    status,
                    response: response.clone(),
                },
            );
        }
    }
}
