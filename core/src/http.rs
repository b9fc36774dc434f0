//! The one HTTP client a session shares, configured to fail closed: no
//! redirect is ever followed, no proxy is read from the environment, only
//! 2xx `application/json` bodies under a size cap are read as answers, and
//! one deadline bounds each call across all attempts and waits. Retries on
//! 429/500/502/503/504 and transport errors, with `Retry-After` honoured and
//! capped, jittered exponential backoff.

use crate::error::{redact, Error, Result};
use crate::secret::{Secret, SecretSet};
use crate::url::BaseUrl;
use bytes::{Bytes, BytesMut};
use rand::Rng as _;
use reqwest::header::{
    HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION,
    RETRY_AFTER,
};
use reqwest::{Method, StatusCode};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Transport settings shared by every request of a session.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Timeout of one attempt, connect to last body byte (default 10 s).
    pub timeout: Duration,
    /// Bound on one call across all attempts, backoffs and `Retry-After` waits (default 30 s).
    pub deadline: Duration,
    /// Total attempts for a retryable request (default 3; at least 1).
    pub max_retries: u32,
    /// Cap on a server-provided `Retry-After` (default 30 s).
    pub max_retry_after: Duration,
    /// Cap on computed backoff (default 5 s).
    pub max_backoff: Duration,
    /// Base of the exponential backoff (default 200 ms).
    pub backoff_base: Duration,
    /// Largest response body read (default 1 MiB); a larger one is `InvalidResponse`.
    pub max_response_bytes: usize,
    /// An explicit HTTP(S) proxy (same URL policy as the base URLs). The
    /// environment (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`) is never read.
    pub proxy_url: Option<String>,
}

/// Default per-attempt timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default per-call deadline.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);
/// Default response size cap.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1 << 20;

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout: DEFAULT_TIMEOUT,
            deadline: DEFAULT_DEADLINE,
            max_retries: 3,
            max_retry_after: Duration::from_secs(30),
            max_backoff: Duration::from_secs(5),
            backoff_base: Duration::from_millis(200),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            proxy_url: None,
        }
    }
}

/// Which service answered, so a non-2xx status maps to the right error.
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
    content_type: Option<String>,
    location: Option<String>,
    secrets: Arc<SecretSet>,
}

impl Resp {
    #[cfg(test)]
    pub(crate) fn for_test(status: u16, content_type: Option<&str>, body: &[u8]) -> Resp {
        Resp {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            body: Bytes::copy_from_slice(body),
            content_type: content_type.map(str::to_owned),
            location: None,
            secrets: Arc::new(SecretSet::new()),
        }
    }

    /// Redacted body text for errors.
    pub fn body_text(&self) -> String {
        redact(&self.secrets.scrub(&String::from_utf8_lossy(&self.body)))
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// `Ok` for a 2xx answer; the service's error for anything else (a 3xx
    /// names its `Location`: redirects are never followed).
    pub fn require_success(self, service: Service, url: &str) -> Result<Resp> {
        if self.is_success() {
            Ok(self)
        } else {
            Err(self.error_for(service, url))
        }
    }

    /// Maps a non-2xx status to the service's error.
    pub fn error_for(&self, service: Service, url: &str) -> Error {
        let status_code = self.status.as_u16();
        let mut body_text = self.body_text();
        if self.status.is_redirection() {
            let to = self
                .location
                .as_deref()
                .map(|l| format!("{:?}", redact(&self.secrets.scrub(l))))
                .unwrap_or_else(|| "no Location".to_owned());
            body_text = format!("redirect ({to}) not followed; body: {body_text}");
        }
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
                message: if self.status.is_redirection() {
                    format!("the Gateway answered HTTP {status_code}, a redirect (not followed)")
                } else {
                    format!("the Gateway answered HTTP {status_code}")
                },
                body_text: Some(body_text),
            },
        }
    }

    /// Checks that a success body is declared JSON (`application/json` or `…+json`).
    pub fn check_json_type(&self) -> std::result::Result<(), String> {
        let Some(ct) = self.content_type.as_deref() else {
            return Err("the answer has no content-type (expected application/json)".into());
        };
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let ok = essence == "application/json"
            || (essence.starts_with("application/") && essence.ends_with("+json"));
        if ok {
            Ok(())
        } else {
            Err(format!(
                "content-type {:?} is not JSON (expected application/json)",
                redact(&self.secrets.scrub(ct))
                    .chars()
                    .take(80)
                    .collect::<String>()
            ))
        }
    }

    /// Parses a success body strictly (declared JSON, valid JSON, no duplicate keys),
    /// or explains why not.
    pub fn json_checked(&self) -> std::result::Result<serde_json::Value, String> {
        self.check_json_type()?;
        crate::json::parse_strict(&self.body).map_err(|e| {
            format!(
                "body is not valid JSON ({})",
                redact(&self.secrets.scrub(&e.0))
            )
        })
    }

    /// Parses a success body, or an `InvalidResponse` naming the URL.
    pub fn json(&self, url: &str) -> Result<serde_json::Value> {
        self.json_checked()
            .map_err(|m| Error::invalid_response(url, m))
    }
}

#[derive(Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    /// The process that built `client`. After a `fork()` its pooled connections and their
    /// tasks belong to the parent's runtime, so a child builds its own client (see [`Http::client`]).
    pid: u32,
    forked: Arc<parking_lot::Mutex<Option<(u32, reqwest::Client)>>>,
    pub opts: HttpOptions,
    pub secrets: Arc<SecretSet>,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http").field("opts", &self.opts).finish()
    }
}

fn is_retry_status(s: StatusCode) -> bool {
    matches!(s.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// Parses a numeric `Retry-After` (seconds) and clamps it to `cap` without
/// ever converting an out-of-range float.
pub(crate) fn parse_retry_after(raw: &str, cap: Duration) -> Option<Duration> {
    let s: f64 = raw.trim().parse().ok()?;
    if !s.is_finite() || s < 0.0 {
        return None;
    }
    Some(Duration::try_from_secs_f64(s.min(cap.as_secs_f64())).unwrap_or(cap))
}

pub(crate) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Deadline `d` from now, saturating far in the future instead of overflowing.
pub(crate) fn deadline_after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365))
}

/// A client by the transport rules: no redirects, no environment proxy (only an explicit
/// `proxy_url` under the URL policy), bounded connect time, a kept-alive pool.
fn build_client(opts: &HttpOptions) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(opts.timeout.min(Duration::from_secs(10)))
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        .user_agent(concat!("paybond-kit/", env!("CARGO_PKG_VERSION")));
    if let Some(p) = &opts.proxy_url {
        let checked = BaseUrl::parse("proxy_url", p)?;
        let proxy = reqwest::Proxy::all(checked.as_str())
            .map_err(|_| Error::invalid_argument("proxy_url", "not a usable proxy URL"))?;
        builder = builder.proxy(proxy);
    }
    builder.build().map_err(|e| Error::Transport {
        url: String::new(),
        message: format!("cannot build HTTP client: {e}"),
    })
}

impl Http {
    pub fn new(opts: HttpOptions) -> Result<Self> {
        Self::with_secrets(opts, Arc::new(SecretSet::new()))
    }

    pub fn with_secrets(opts: HttpOptions, secrets: Arc<SecretSet>) -> Result<Self> {
        let client = build_client(&opts)?;
        Ok(Http {
            client,
            pid: std::process::id(),
            forked: Arc::new(parking_lot::Mutex::new(None)),
            opts,
            secrets,
        })
    }

    /// The HTTP client for this process: the one built at construction, or, in a forked
    /// child, one built there (the parent's connections are not usable in the child).
    fn client(&self) -> Result<reqwest::Client> {
        let pid = std::process::id();
        if pid == self.pid {
            return Ok(self.client.clone());
        }
        let mut g = self.forked.lock();
        match &*g {
            Some((p, c)) if *p == pid => Ok(c.clone()),
            _ => {
                let c = build_client(&self.opts)?;
                *g = Some((pid, c.clone()));
                Ok(c)
            }
        }
    }

    /// The deadline of a call that starts now.
    pub fn call_deadline(&self) -> Instant {
        deadline_after(self.opts.deadline)
    }

    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(ra) = retry_after {
            return ra.min(self.opts.max_retry_after);
        }
        let base = self.opts.backoff_base.as_secs_f64() * 2f64.powi(attempt.min(16) as i32);
        let jitter = rand::thread_rng().gen_range(0.0..0.1);
        Duration::try_from_secs_f64(base + jitter)
            .unwrap_or(self.opts.max_backoff)
            .min(self.opts.max_backoff)
    }

    /// Sends `req` before `deadline`, retrying when `req.retry` allows it.
    pub async fn send(&self, req: &Req<'_>, deadline: Instant) -> Result<Resp> {
        use tracing::Instrument as _;
        let span = tracing::debug_span!(
            target: "paybond_kit::http", "paybond.request",
            method = %req.method, url = req.url, tenant = req.tenant.unwrap_or("")
        );
        self.send_inner(req, deadline).instrument(span).await
    }

    fn timeout_error(&self, url: &str, attempts: u32, started: Instant) -> Error {
        Error::Timeout {
            url: url.to_owned(),
            timeout_ms: ms(self.opts.timeout),
            deadline_ms: ms(self.opts.deadline),
            attempts,
            elapsed_ms: ms(started.elapsed()),
        }
    }

    async fn send_inner(&self, req: &Req<'_>, deadline: Instant) -> Result<Resp> {
        let attempts = if req.retry {
            self.opts.max_retries.max(1)
        } else {
            1
        };
        let call_started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let started = Instant::now();
            if started >= deadline {
                return Err(self.timeout_error(req.url, attempt - 1, call_started));
            }
            // This attempt's budget: its own timeout, never past the call's deadline. reqwest
            // applies it from connecting to the last body byte (one timer per attempt).
            let budget = self
                .opts
                .timeout
                .min(deadline.saturating_duration_since(started));
            let result = self.once(req, budget).await;
            let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            let (wait, last) = match result {
                Ok((resp, retry_after)) => {
                    tracing::debug!(
                        target: "paybond_kit::http",
                        method = %req.method, url = req.url, status = resp.status.as_u16(),
                        attempt, latency_us = elapsed_us, tenant = req.tenant.unwrap_or(""),
                        "request"
                    );
                    if !(is_retry_status(resp.status) && attempt < attempts) {
                        return Ok(resp);
                    }
                    (self.backoff(attempt - 1, retry_after), Ok(resp))
                }
                Err(err) => {
                    tracing::debug!(
                        target: "paybond_kit::http",
                        method = %req.method, url = req.url, attempt, latency_us = elapsed_us,
                        code = err.code(), error = %err, "request failed"
                    );
                    if !(err.is_retryable() && attempt < attempts) {
                        return Err(self.with_attempts(err, attempt, call_started));
                    }
                    (self.backoff(attempt - 1, None), Err(err))
                }
            };
            // A wait that would pass the deadline ends the retries now, with the last answer.
            let resume = Instant::now().checked_add(wait);
            if resume.is_none_or(|t| t >= deadline) {
                return last.map_err(|e| self.with_attempts(e, attempt, call_started));
            }
            tokio::time::sleep(wait).await;
        }
    }

    fn with_attempts(&self, err: Error, attempts: u32, started: Instant) -> Error {
        match err {
            Error::Transport { url, message } => Error::Transport {
                url,
                message: format!(
                    "{message} ({attempts} attempt(s) in {} ms)",
                    ms(started.elapsed())
                ),
            },
            Error::Timeout { url, .. } => self.timeout_error(&url, attempts, started),
            other => other,
        }
    }

    async fn once(&self, req: &Req<'_>, budget: Duration) -> Result<(Resp, Option<Duration>)> {
        crate::testing::maybe_panic();
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
        let mut rb = self
            .client()?
            .request(req.method.clone(), req.url)
            .timeout(budget);
        if let Some(body) = &req.body {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            rb = rb.body(body.clone());
        }
        let mut resp = rb
            .headers(headers)
            .send()
            .await
            .map_err(|e| self.map_err(req.url, e))?;
        let status = resp.status();
        let h = resp.headers();
        let text = |name| {
            h.get(name)
                .map(|v: &HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        let retry_after = h
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, self.opts.max_retry_after));
        let content_type = text(CONTENT_TYPE);
        let location = text(LOCATION);
        let cap = self.opts.max_response_bytes;
        let declared = h
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > cap as u64) {
            return Err(Error::invalid_response(
                req.url,
                format!(
                    "the answer declares {} bytes, over the {cap}-byte cap (max_response_bytes)",
                    declared.unwrap_or(0)
                ),
            ));
        }
        // Read chunk by chunk, counting against the cap; a body in one chunk is kept as is.
        let over = || {
            Error::invalid_response(
                req.url,
                format!("the answer is over the {cap}-byte cap (max_response_bytes)"),
            )
        };
        let mut first: Option<Bytes> = None;
        let mut rest: Option<BytesMut> = None;
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.map_err(req.url, e))? {
            match (&mut first, &mut rest) {
                (None, _) => {
                    if chunk.len() > cap {
                        return Err(over());
                    }
                    first = Some(chunk);
                }
                (Some(f), None) => {
                    if f.len() + chunk.len() > cap {
                        return Err(over());
                    }
                    let mut b = BytesMut::with_capacity(f.len() + chunk.len());
                    b.extend_from_slice(f);
                    b.extend_from_slice(&chunk);
                    rest = Some(b);
                }
                (Some(_), Some(b)) => {
                    if b.len() + chunk.len() > cap {
                        return Err(over());
                    }
                    b.extend_from_slice(&chunk);
                }
            }
        }
        let body = match (first, rest) {
            (_, Some(b)) => b.freeze(),
            (Some(f), None) => f,
            (None, None) => Bytes::new(),
        };
        Ok((
            Resp {
                status,
                body,
                content_type,
                location,
                secrets: self.secrets.clone(),
            },
            retry_after,
        ))
    }

    fn map_err(&self, url: &str, e: reqwest::Error) -> Error {
        if e.is_timeout() {
            return Error::Timeout {
                url: url.to_owned(),
                timeout_ms: ms(self.opts.timeout),
                deadline_ms: ms(self.opts.deadline),
                attempts: 1,
                elapsed_ms: 0,
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
        let lower = message.to_ascii_lowercase();
        if url.starts_with("https://")
            && (lower.contains("invalidcontenttype")
                || lower.contains("corrupt message")
                || lower.contains("tls")
                || lower.contains("handshake"))
        {
            message = format!(
                "TLS handshake failed; is this port serving plain HTTP? (an https:// URL needs a TLS server): {message}"
            );
        }
        Error::Transport {
            url: url.to_owned(),
            message: redact(&self.secrets.scrub(&message)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_never_panics() {
        let cap = Duration::from_secs(30);
        for (raw, want) in [
            ("1e20", Some(cap)),
            ("99999999999999999999", Some(cap)),
            ("-1", None),
            ("NaN", None),
            ("inf", None),
            ("2", Some(Duration::from_secs(2))),
            ("0.5", Some(Duration::from_millis(500))),
            ("Wed, 21 Oct 2015 07:28:00 GMT", None),
        ] {
            assert_eq!(parse_retry_after(raw, cap), want, "{raw}");
        }
    }

    #[test]
    fn deadline_saturates() {
        let _ = deadline_after(Duration::MAX);
    }
}
