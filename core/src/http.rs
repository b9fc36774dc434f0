//! The one HTTP client a session shares: keep-alive, rustls, per-attempt
//! timeout, retries on 429/500/502/503/504 and transport errors with
//! `Retry-After` honoured and capped, jittered exponential backoff.

use crate::error::{redact, Error, Result};
use crate::secret::Secret;
use bytes::Bytes;
use rand::Rng as _;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use std::time::{Duration, Instant};

/// Transport settings shared by every request of a session.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Timeout of one attempt (default 30 s).
    pub timeout: Duration,
    /// Total attempts for a retryable request (default 3; at least 1).
    pub max_retries: u32,
    /// Cap on a server-provided `Retry-After` (default 30 s).
    pub max_retry_after: Duration,
    /// Cap on computed backoff (default 5 s).
    pub max_backoff: Duration,
    /// Base of the exponential backoff (default 200 ms).
    pub backoff_base: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout: Duration::from_secs(30),
            max_retries: 3,
            max_retry_after: Duration::from_secs(30),
            max_backoff: Duration::from_secs(5),
            backoff_base: Duration::from_millis(200),
        }
    }
}

/// Which service answered, so a status >= 400 maps to the right error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    Gateway,
    Harbor,
    Signal,
}

/// One request. Borrowed so the hot path allocates little.
pub(crate) struct Req<'a> {
    pub method: Method,
    pub url: &'a str,
    pub bearer: Option<&'a Secret>,
    pub tenant: Option<&'a str>,
    pub body: Option<Bytes>,
    pub idempotency_key: Option<&'a str>,
    /// Whether a failed attempt may be repeated (GET, a POST with an
    /// idempotency key, or the side-effect-free token exchange).
    pub retry: bool,
}

/// A response after retries: any status.
pub(crate) struct Resp {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Resp {
    /// Redacted body text for errors.
    pub fn body_text(&self) -> String {
        redact(&String::from_utf8_lossy(&self.body))
    }

    /// Maps a status >= 400 to the service's error.
    pub fn error_for(&self, service: Service, url: &str) -> Error {
        let status_code = self.status.as_u16();
        let body_text = self.body_text();
        match service {
            Service::Harbor => Error::HarborHttp {
                status_code,
                url: url.to_owned(),
                body_text,
            },
            Service::Signal => Error::SignalHttp {
                status_code,
                url: url.to_owned(),
                body_text,
            },
            Service::Gateway => Error::GatewayAuth {
                status_code: Some(status_code),
                message: format!("the Gateway answered HTTP {status_code}"),
                body_text: Some(body_text),
            },
        }
    }

    /// Parses the body as JSON, or an `InvalidResponse` naming the URL.
    pub fn json(&self, url: &str) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::invalid_response(url, format!("body is not valid JSON ({e})")))
    }
}

#[derive(Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    pub opts: HttpOptions,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http").field("opts", &self.opts).finish()
    }
}

fn is_retry_status(s: StatusCode) -> bool {
    matches!(s.as_u16(), 429 | 500 | 502 | 503 | 504)
}

impl Http {
    pub fn new(opts: HttpOptions) -> Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(opts.timeout)
            .connect_timeout(opts.timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true)
            .user_agent(concat!("paybond-kit/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Transport {
                url: String::new(),
                message: format!("cannot build HTTP client: {e}"),
            })?;
        Ok(Http { client, opts })
    }

    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(ra) = retry_after {
            return ra.min(self.opts.max_retry_after);
        }
        let base = self.opts.backoff_base.as_secs_f64() * 2f64.powi(attempt.min(16) as i32);
        let jitter = rand::thread_rng().gen_range(0.0..0.1);
        Duration::from_secs_f64(base + jitter).min(self.opts.max_backoff)
    }

    /// Sends `req`, retrying when `req.retry` allows it.
    pub async fn send(&self, req: &Req<'_>) -> Result<Resp> {
        use tracing::Instrument as _;
        let span = tracing::debug_span!(
            target: "paybond_kit::http", "paybond.request",
            method = %req.method, url = req.url, tenant = req.tenant.unwrap_or("")
        );
        self.send_inner(req).instrument(span).await
    }

    async fn send_inner(&self, req: &Req<'_>) -> Result<Resp> {
        let attempts = if req.retry {
            self.opts.max_retries.max(1)
        } else {
            1
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let started = Instant::now();
            let result = self.once(req).await;
            let elapsed_us = started.elapsed().as_micros() as u64;
            match result {
                Ok((resp, retry_after)) => {
                    tracing::debug!(
                        target: "paybond_kit::http",
                        method = %req.method, url = req.url, status = resp.status.as_u16(),
                        attempt, latency_us = elapsed_us, tenant = req.tenant.unwrap_or(""),
                        "request"
                    );
                    if is_retry_status(resp.status) && attempt < attempts {
                        tokio::time::sleep(self.backoff(attempt - 1, retry_after)).await;
                        continue;
                    }
                    return Ok(resp);
                }
                Err(err) => {
                    tracing::debug!(
                        target: "paybond_kit::http",
                        method = %req.method, url = req.url, attempt, latency_us = elapsed_us,
                        code = err.code(), error = %err, "request failed"
                    );
                    if err.is_retryable() && attempt < attempts {
                        tokio::time::sleep(self.backoff(attempt - 1, None)).await;
                        continue;
                    }
                    return Err(err);
                }
            }
        }
    }

    async fn once(&self, req: &Req<'_>) -> Result<(Resp, Option<Duration>)> {
        let mut headers = HeaderMap::with_capacity(5);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(b) = req.bearer {
            let mut v = HeaderValue::from_str(&format!("Bearer {}", b.expose())).map_err(|_| {
                Error::invalid_argument("api_key", "contains characters not allowed in a header")
            })?;
            v.set_sensitive(true);
            headers.insert(AUTHORIZATION, v);
        }
        if let Some(t) = req.tenant {
            headers.insert(
                "x-tenant-id",
                HeaderValue::from_str(t).map_err(|_| {
                    Error::invalid_argument("tenant_id", "not a valid header value")
                })?,
            );
        }
        if let Some(k) = req.idempotency_key {
            headers.insert(
                "idempotency-key",
                HeaderValue::from_str(k).map_err(|_| {
                    Error::invalid_argument(
                        "idempotency_key",
                        "expected 1-256 visible ASCII characters",
                    )
                })?,
            );
        }
        let mut rb = self.client.request(req.method.clone(), req.url);
        if let Some(body) = &req.body {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            rb = rb.body(body.clone());
        }
        let resp = rb
            .headers(headers)
            .send()
            .await
            .map_err(|e| self.map_err(req.url, e))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        let body = resp.bytes().await.map_err(|e| self.map_err(req.url, e))?;
        Ok((Resp { status, body }, retry_after))
    }

    fn map_err(&self, url: &str, e: reqwest::Error) -> Error {
        if e.is_timeout() {
            return Error::Timeout {
                url: url.to_owned(),
                timeout_ms: self.opts.timeout.as_millis() as u64,
            };
        }
        // reqwest's Display never includes headers; walk the source chain for the root cause.
        let mut message = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            message.push_str(": ");
            message.push_str(&s.to_string());
            src = s.source();
        }
        Error::Transport {
            url: url.to_owned(),
            message: redact(&message),
        }
    }
}
