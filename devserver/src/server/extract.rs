//! Request extractors: who is calling (Harbor JWT + tenant, Gateway API key),
//! from where (loopback for admin routes), and the JSON object body. Each
//! rejects with an [`ApiError`], so handlers hold only the happy path.

use crate::error::ApiError;
use crate::state::App;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// The peer address of a request (inserted by the serve loop).
#[derive(Clone, Copy, Debug)]
pub struct RemoteAddr(pub SocketAddr);

/// The token of `authorization: Bearer <token>`.
pub fn bearer(h: &HeaderMap) -> Option<&str> {
    let v = h.get("authorization")?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// Whether a bearer is an API key (as opposed to a Harbor JWT).
pub fn is_api_key(token: &str) -> bool {
    token.starts_with("paybond_sk_")
}

/// Gateway auth: the tenant of `authorization: Bearer <api key>`.
#[derive(Debug, Clone)]
pub struct ApiKeyTenant(pub String);

/// Resolves an API key bearer to its tenant.
pub fn api_key_tenant(app: &App, h: &HeaderMap) -> Result<String, ApiError> {
    let key = bearer(h).ok_or_else(|| {
        ApiError::new(
            401,
            "unauthenticated",
            "missing `authorization: Bearer <api key>`",
        )
    })?;
    app.tenant_for_key(key)
        .ok_or_else(|| ApiError::new(401, "invalid_api_key", "unknown API key"))
}

impl FromRequestParts<Arc<App>> for ApiKeyTenant {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        api_key_tenant(app, &parts.headers).map(ApiKeyTenant)
    }
}

/// Harbor auth: a valid Harbor JWT (not an API key) and `x-tenant-id` equal to its `tid`.
#[derive(Debug, Clone)]
pub struct HarborTenant(pub String);

/// The tenant of a Harbor JWT bearer, checked against `x-tenant-id`.
pub fn harbor_tenant(app: &App, h: &HeaderMap) -> Result<String, ApiError> {
    let token = bearer(h).ok_or_else(|| {
        ApiError::new(
            401,
            "unauthenticated",
            "missing `authorization: Bearer <harbor JWT>`",
        )
    })?;
    if is_api_key(token) {
        return Err(ApiError::new(
            401,
            "jwt_required",
            "Harbor needs a Harbor JWT, not an API key: exchange the key at POST /v1/auth/harbor-access",
        ));
    }
    let tid = jwt_tid(app, token)?;
    match tenant_header(h) {
        "" => {
            return Err(ApiError::new(
                403,
                "tenant_header_required",
                "missing x-tenant-id",
            ))
        }
        t if t != tid => {
            return Err(ApiError::new(
                403,
                "tenant_mismatch",
                "x-tenant-id does not match the JWT's tenant",
            ))
        }
        _ => {}
    }
    existing_tenant(app, tid)
}

/// The `tid` of a valid Harbor JWT (signature, audience, expiry on the dev clock).
pub fn jwt_tid(app: &App, token: &str) -> Result<String, ApiError> {
    app.verified_jwts
        .verify(&app.keys.jwt.verifying_key(), token, app.clock.now_unix())
        .map(|c| c.tid)
        .map_err(|e| ApiError::new(401, "invalid_token", format!("Harbor JWT rejected: {e:?}")))
}

/// `tid` when that tenant exists (`403 tenant_unknown` otherwise).
pub fn existing_tenant(app: &App, tid: String) -> Result<String, ApiError> {
    if app.data.lock().tenants.contains_key(&tid) {
        Ok(tid)
    } else {
        Err(ApiError::tenant_unknown())
    }
}

/// `x-tenant-id`, or `""`.
pub fn tenant_header(h: &HeaderMap) -> &str {
    h.get("x-tenant-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

impl FromRequestParts<Arc<App>> for HarborTenant {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        harbor_tenant(app, &parts.headers).map(HarborTenant)
    }
}

/// Reviewer auth (approvals, on Harbor): the tenant's API key or its Harbor
/// JWT; `x-tenant-id` is optional and must match when sent.
#[derive(Debug, Clone)]
pub struct ReviewerTenant(pub String);

impl FromRequestParts<Arc<App>> for ReviewerTenant {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let h = &parts.headers;
        let token = bearer(h).ok_or_else(|| {
            ApiError::new(
                401,
                "unauthenticated",
                "missing `authorization: Bearer <api key>`",
            )
        })?;
        let tenant = if is_api_key(token) {
            api_key_tenant(app, h)?
        } else {
            existing_tenant(app, jwt_tid(app, token)?)?
        };
        match tenant_header(h) {
            "" => Ok(ReviewerTenant(tenant)),
            t if t == tenant => Ok(ReviewerTenant(tenant)),
            _ => Err(ApiError::new(
                403,
                "tenant_mismatch",
                "x-tenant-id does not match the credential's tenant",
            )),
        }
    }
}

/// Admin routes: the peer must be on loopback.
#[derive(Debug, Clone, Copy)]
pub struct Loopback;

impl<S: Send + Sync> FromRequestParts<S> for Loopback {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        match parts.extensions.get::<RemoteAddr>() {
            Some(RemoteAddr(a)) if a.ip().is_loopback() => Ok(Loopback),
            _ => Err(ApiError::new(
                403,
                "loopback_only",
                "admin routes answer on loopback only",
            )),
        }
    }
}

/// Signal reads: `?score_version=` is absent or `1.0`.
#[derive(Debug, Clone, Copy)]
pub struct ScoreVersion;

impl<S: Send + Sync> FromRequestParts<S> for ScoreVersion {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, ApiError> {
        let q = Query::<HashMap<String, String>>::from_request_parts(parts, s)
            .await
            .map(|Query(q)| q)
            .unwrap_or_default();
        match q.get("score_version").map(String::as_str) {
            None | Some("1.0") => Ok(ScoreVersion),
            Some(other) => Err(ApiError::new(
                400,
                "unsupported_score_version",
                format!("score_version {other:?} is not served; use 1.0"),
            )),
        }
    }
}

/// The raw body (as [`Bytes`]), its rejection as an [`ApiError`].
pub async fn body_bytes<S: Send + Sync>(req: Request, s: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, s)
        .await
        .map_err(|r| ApiError::new(r.status().as_u16(), "invalid_body", r.body_text()))
}

/// Parses a body that must be a JSON object.
pub fn parse_object(body: &[u8]) -> Result<Value, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::new(400, "invalid_json", format!("body is not JSON: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::new(
            400,
            "invalid_json",
            "body must be a JSON object",
        ));
    }
    Ok(v)
}

/// A body that is a JSON object (`400 invalid_json` otherwise).
#[derive(Debug, Clone)]
pub struct JsonObject(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;
    async fn from_request(req: Request, s: &S) -> Result<Self, ApiError> {
        parse_object(&body_bytes(req, s).await?).map(JsonObject)
    }
}

/// A body that is JSON of type `T` (`400 invalid_argument` naming `T::WHAT` otherwise).
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

/// Names a body type in its parse error (`"<what>: <serde error>"`).
pub trait BodyName {
    /// The prefix of the parse error.
    const WHAT: &'static str;
}

impl<S: Send + Sync, T: serde::de::DeserializeOwned + BodyName> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, s: &S) -> Result<Self, ApiError> {
        let b = body_bytes(req, s).await?;
        serde_json::from_slice(&b)
            .map(JsonBody)
            .map_err(|e| ApiError::invalid(format!("{}: {e}", T::WHAT)))
    }
}
