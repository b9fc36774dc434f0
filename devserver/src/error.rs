//! The one error type of the dev server: every refusal a handler makes is an
//! [`ApiError`], and [`IntoResponse`] turns it into the JSON answer.
//!
//! Body: `{"error": <code>, "message": <text>}`. Errors of the tool-call
//! lifecycle (decisions, approvals, call binding) also carry `"code": <code>`
//! and context fields (see [`ApiError::coded`] and [`ApiError::with`]).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{Map, Value};

/// An error a handler turns into an HTTP answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Stable code.
    pub code: &'static str,
    /// Message.
    pub message: String,
    /// More fields of the body (beside `error` and `message`).
    pub fields: Map<String, Value>,
}

impl ApiError {
    /// `{"error": code, "message": message}` with `status`.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            fields: Map::new(),
        }
    }

    /// Like [`ApiError::new`], and the body also names the code as `code`
    /// (the shape of the lifecycle wire: `{"code": …, "message": …}`).
    pub fn coded(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(status, code, message).with("code", code)
    }

    /// Adds a field to the body.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(key.to_owned(), value.into());
        self
    }

    /// `400 invalid_argument`.
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::new(400, "invalid_argument", message)
    }

    /// `403 tenant_unknown` (the tenant of a valid credential was removed).
    pub fn tenant_unknown() -> Self {
        ApiError::new(403, "tenant_unknown", "tenant no longer exists")
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut m = Map::new();
        m.insert("error".into(), self.code.into());
        m.insert("message".into(), self.message.clone().into());
        for (k, v) in &self.fields {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.body())).into_response()
    }
}

/// What a JSON handler answers.
pub type ApiResult = Result<Json<Value>, ApiError>;
