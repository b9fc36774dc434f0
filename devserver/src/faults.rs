//! Fault injection (`POST /dev/v1/faults`): per route, for the next N
//! requests or with a probability.

use parking_lot::Mutex;
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer `status` (with `retry_after` seconds when given) without running the handler.
    Status,
    /// Sleep `latency_ms`, then answer normally.
    Latency,
    /// Close the connection without answering, before the handler runs.
    Drop,
    /// Run the handler (its effects happen), then close the connection without answering.
    DropAfter,
    /// Answer the real status with the JSON body cut in half.
    Truncate,
    /// Answer 200 with a body that is not JSON.
    Malformed,
    /// Answer the real body with `tenant` / `tenant_id` replaced by another tenant.
    WrongTenant,
    /// Answer the real body with `intent_id` replaced by another intent.
    WrongIntent,
    /// Answer the real body with `allow` turned into a string.
    NonBooleanAllow,
    /// Answer the real body without `field`.
    RemoveField,
    /// Answer the real body with `field` set to `value`.
    SetField,
}

/// One injected fault.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Fault {
    /// Assigned id.
    #[serde(default)]
    pub id: u64,
    /// Path to match: exact, or a prefix when it ends with `*`.
    pub route: String,
    /// HTTP method to match (any when absent).
    #[serde(default)]
    pub method: Option<String>,
    /// What to do.
    pub kind: FaultKind,
    /// For `status`: the status code (default 503).
    #[serde(default)]
    pub status: Option<u16>,
    /// For `status`: a `Retry-After` header, in seconds.
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// Added latency before anything else, in ms (any kind).
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// Apply to the next N matching requests (default 1 unless `probability` is set).
    #[serde(default)]
    pub count: Option<u32>,
    /// Apply with this probability to every matching request (until removed).
    #[serde(default)]
    pub probability: Option<f64>,
    /// For `remove_field` / `set_field`: a field name or dotted path (`receipt.score`).
    #[serde(default)]
    pub field: Option<String>,
    /// For `set_field`.
    #[serde(default)]
    pub value: Option<Value>,
    /// For `status`: the body to answer (default: an `injected_fault` error object).
    #[serde(default)]
    pub body: Option<Value>,
    /// Times this fault fired.
    #[serde(default)]
    pub fired: u64,
}

impl Fault {
    /// A fault of `kind` on `route` for the next request.
    pub fn new(route: &str, kind: FaultKind) -> Self {
        Fault {
            id: 0,
            route: route.to_owned(),
            method: None,
            kind,
            status: None,
            retry_after: None,
            latency_ms: None,
            count: Some(1),
            probability: None,
            field: None,
            value: None,
            body: None,
            fired: 0,
        }
    }

    /// Sets the count.
    pub fn times(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }

    /// Sets the status.
    pub fn status(mut self, s: u16) -> Self {
        self.status = Some(s);
        self
    }

    /// Sets `Retry-After` (seconds) for a `status` fault.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// Adds latency before the fault acts.
    pub fn latency_ms(mut self, ms: u64) -> Self {
        self.latency_ms = Some(ms);
        self
    }

    /// Fires with probability `p` on every matching request (until cleared).
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = Some(p);
        self.count = None;
        self
    }

    /// Field (or dotted path) for `remove_field` / `set_field`.
    pub fn field(mut self, f: &str) -> Self {
        self.field = Some(f.to_owned());
        self
    }

    /// Value for `set_field`.
    pub fn value(mut self, v: Value) -> Self {
        self.value = Some(v);
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        let path_ok = match self.route.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == self.route,
        };
        path_ok
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    }
}

/// The faults in force.
#[derive(Default)]
pub struct FaultTable {
    inner: Mutex<(u64, Vec<Fault>)>,
}

impl FaultTable {
    /// Adds a fault; returns its id.
    pub fn add(&self, mut f: Fault) -> u64 {
        let mut g = self.inner.lock();
        g.0 += 1;
        f.id = g.0;
        f.fired = 0;
        if f.count.is_none() && f.probability.is_none() {
            f.count = Some(1);
        }
        g.1.push(f);
        g.0
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.inner.lock().1.clear();
    }

    /// The faults in force.
    pub fn list(&self) -> Vec<Fault> {
        self.inner.lock().1.clone()
    }

    /// Takes the first fault that fires for this request.
    pub fn take(&self, method: &str, path: &str) -> Option<Fault> {
        let mut g = self.inner.lock();
        if g.1.is_empty() {
            return None;
        }
        let mut fired = None;
        let mut i = 0;
        while i < g.1.len() {
            let f = &mut g.1[i];
            if f.matches(method, path) {
                let fire = match (f.count, f.probability) {
                    (_, Some(p)) => rand::thread_rng().gen_bool(p.clamp(0.0, 1.0)),
                    (Some(n), None) => n > 0,
                    (None, None) => false,
                };
                if fire {
                    f.fired += 1;
                    if f.probability.is_none() {
                        f.count = f.count.map(|n| n - 1);
                    }
                    fired = Some(f.clone());
                    if f.probability.is_none() && f.count == Some(0) {
                        g.1.remove(i);
                    }
                    break;
                }
            }
            i += 1;
        }
        fired
    }
}

/// Applies a body-rewriting fault to a JSON body; `None` when the kind does not rewrite.
pub fn rewrite(kind: FaultKind, f: &Fault, body: &[u8]) -> Option<Vec<u8>> {
    match kind {
        FaultKind::Truncate => return Some(body[..body.len() / 2].to_vec()),
        FaultKind::Malformed => return Some(b"<html>upstream error</html>".to_vec()),
        _ => {}
    }
    let mut v: Value = serde_json::from_slice(body).ok()?;
    let obj = v.as_object_mut()?;
    match kind {
        FaultKind::WrongTenant => {
            for k in ["tenant", "tenant_id"] {
                if obj.contains_key(k) {
                    obj.insert(k.into(), Value::from("tenant-intruder"));
                }
            }
            if let Some(r) = obj.get_mut("receipt").and_then(Value::as_object_mut) {
                r.insert("tenant_id".into(), Value::from("tenant-intruder"));
            }
        }
        FaultKind::WrongIntent => {
            obj.insert(
                "intent_id".into(),
                Value::from("00000000-0000-4000-8000-000000000bad"),
            );
        }
        FaultKind::NonBooleanAllow => {
            let s = obj
                .get("allow")
                .map(|a| a.to_string())
                .unwrap_or_else(|| "true".into());
            obj.insert("allow".into(), Value::from(s));
        }
        FaultKind::RemoveField | FaultKind::SetField => {
            // `field` may be a dotted path into nested objects, e.g. `receipt.score`.
            let path = f.field.clone().unwrap_or_else(|| "audit_id".into());
            let mut parts: Vec<&str> = path.split('.').collect();
            let last = parts.pop().unwrap_or("");
            let mut cur = obj;
            for p in parts {
                cur = cur.get_mut(p)?.as_object_mut()?;
            }
            if kind == FaultKind::RemoveField {
                cur.remove(last);
            } else {
                cur.insert(last.to_owned(), f.value.clone().unwrap_or(Value::Null));
            }
        }
        _ => return None,
    }
    serde_json::to_vec(&v).ok()
}
