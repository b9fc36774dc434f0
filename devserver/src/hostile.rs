//! A raw-socket hostile server for fail-closed tests.
//!
//! [`HostileServer`] plays Gateway, Harbor and Signal on one plain TCP
//! listener (no HTTP library: it writes whatever bytes a case asks for) and
//! answers every request well, except the requests of the route the current
//! case names, which get the case's hostile answer: a redirect, duplicate
//! JSON keys, a lying `content-length`, a body that never ends, a secret
//! echoed back, and so on. The cases live in a language-neutral corpus
//! (`tests/scenarios/hostile.json`, read with [`HostileCorpus`]), so the Rust,
//! Python and Node test suites run the very same answers against their
//! clients.
//!
//! Two more listeners catch clients that go where they must not: the *evil*
//! listener (the target of every redirect the corpus sends) and the *proxy*
//! listener (for `HTTP_PROXY` tests). Both answer a perfect allow and count
//! their hits; a fail-closed client never reaches either.
//!
//! Connections are HTTP/1.1 keep-alive for good answers; after a hostile
//! answer the connection is closed. Long-running behaviours (hang, trickle,
//! endless bodies) stop when the client goes away, on
//! [`HostileServer::shutdown`], or after two minutes at most.

use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use parking_lot::Mutex;
use rand::RngCore as _;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use uuid::Uuid;

/// The routes a case can target.
pub const ROUTES: [&str; 6] = [
    "exchange",
    "verify",
    "evidence",
    "principal",
    "signal_receipt",
    "ledger_tip",
];

/// The `behaviour` names a case can use.
pub const BEHAVIOURS: [&str; 11] = [
    "hang",
    "trickle",
    "close_mid_body",
    "endless_chunked",
    "slowloris_headers",
    "close_immediately",
    "huge_headers",
    "many_headers",
    "redirect_evil",
    "slow_body",
    "hang_after_headers",
];

/// The tenant the good exchange binds.
pub const HOSTILE_TENANT: &str = "tenant-hostile";

/// Largest request head read (64 KiB).
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body read (1 MiB).
const MAX_BODY: usize = 1 << 20;
/// Largest body a case may ask the server to stream.
const MAX_STREAMED_BODY: u64 = 1 << 30;
/// A keep-alive connection idle this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// Upper bound on any one hostile behaviour (hang, trickle, endless body).
const MAX_BEHAVIOUR: Duration = Duration::from_secs(120);
/// How long a closing connection waits for the client's FIN.
const LINGER: Duration = Duration::from_secs(2);
/// Pause between bytes of `trickle` and lines of `slowloris_headers`.
const DRIP: Duration = Duration::from_millis(200);

// ---------------------------------------------------------------------------
// Corpus
// ---------------------------------------------------------------------------

/// The parsed hostile corpus (`tests/scenarios/hostile.json`).
#[derive(Clone, Debug)]
pub struct HostileCorpus {
    cases: Vec<HostileCase>,
    index: HashMap<String, usize>,
    defaults: Value,
}

/// One case of the corpus.
#[derive(Clone, Debug)]
pub struct HostileCase {
    /// Unique id, e.g. `verify-dup-allow-escaped`.
    pub id: String,
    /// Class of fault (for summaries), e.g. `duplicate_keys`.
    pub class: String,
    /// Which request gets the hostile answer (one of [`ROUTES`]).
    pub route: String,
    /// Acceptable core error codes (`expect.codes`).
    pub expect_codes: Vec<String>,
    /// Whether the answer echoes a secret (`expect.secret_echo`).
    pub secret_echo: bool,
    /// The whole case object as it appears in the corpus.
    pub raw: Value,
    answer: Answer,
    /// `response.keep_alive`: keep serving the connection after the hostile answer.
    keep_alive: bool,
}

#[derive(Clone, Debug)]
enum Answer {
    /// Bytes written verbatim (placeholders substituted), then close.
    Raw(Vec<u8>),
    /// A well-formed response.
    Http {
        status: u16,
        headers: Vec<(String, String)>,
        body: Body,
    },
    /// A scripted misbehaviour.
    Behaviour { kind: Behaviour, status: u16 },
}

#[derive(Clone, Debug)]
enum Body {
    /// Text with placeholders.
    Parts(Vec<Part>),
    /// A correctly signed Signal receipt envelope, then edited.
    Receipt(ReceiptEdit),
}

#[derive(Clone, Debug)]
struct Part {
    text: String,
    times: u64,
}

#[derive(Clone, Debug, Default)]
struct ReceiptEdit {
    remove: Vec<String>,
    set: Map<String, Value>,
    sign_after_edits: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    Hang,
    Trickle,
    CloseMidBody,
    EndlessChunked,
    SlowlorisHeaders,
    CloseImmediately,
    HugeHeaders,
    ManyHeaders,
    RedirectEvil,
    SlowBody,
    HangAfterHeaders,
}

impl Behaviour {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "hang" => Behaviour::Hang,
            "trickle" => Behaviour::Trickle,
            "close_mid_body" => Behaviour::CloseMidBody,
            "endless_chunked" => Behaviour::EndlessChunked,
            "slowloris_headers" => Behaviour::SlowlorisHeaders,
            "close_immediately" => Behaviour::CloseImmediately,
            "huge_headers" => Behaviour::HugeHeaders,
            "many_headers" => Behaviour::ManyHeaders,
            "redirect_evil" => Behaviour::RedirectEvil,
            "slow_body" => Behaviour::SlowBody,
            "hang_after_headers" => Behaviour::HangAfterHeaders,
            _ => return None,
        })
    }
}

fn want_str<'a>(v: &'a Value, key: &str, what: &str) -> Result<&'a str, String> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{what}: `{key}` must be a string"))
}

fn parse_parts(v: &Value, what: &str) -> Result<Vec<Part>, String> {
    let list = v
        .as_array()
        .ok_or_else(|| format!("{what}: `body_parts` must be an array"))?;
    let mut out = Vec::with_capacity(list.len());
    let mut total: u64 = 0;
    for p in list {
        let text = want_str(p, "text", what)?.to_owned();
        let times = match p.get("times") {
            None => 1,
            Some(t) => t
                .as_u64()
                .ok_or_else(|| format!("{what}: `times` must be a non-negative integer"))?,
        };
        total = (text.len() as u64)
            .checked_mul(times)
            .and_then(|n| n.checked_add(total))
            .filter(|n| *n <= MAX_STREAMED_BODY)
            .ok_or_else(|| format!("{what}: body larger than {MAX_STREAMED_BODY} bytes"))?;
        out.push(Part { text, times });
    }
    Ok(out)
}

fn parse_body(obj: &Map<String, Value>, what: &str) -> Result<Body, String> {
    let keys = ["body", "body_repeat", "body_parts", "body_receipt"];
    let present: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| obj.contains_key(*k))
        .collect();
    if present.len() > 1 {
        return Err(format!(
            "{what}: at most one of body, body_repeat, body_parts, body_receipt"
        ));
    }
    match present.first().copied() {
        None => Ok(Body::Parts(Vec::new())),
        Some("body") => {
            let text = obj["body"]
                .as_str()
                .ok_or_else(|| format!("{what}: `body` must be a string"))?;
            Ok(Body::Parts(vec![Part {
                text: text.to_owned(),
                times: 1,
            }]))
        }
        Some("body_repeat") => {
            // Sugar: {prefix?, text, times, suffix?}.
            let r = &obj["body_repeat"];
            let mut parts = Vec::new();
            if let Some(p) = r.get("prefix") {
                parts.push(json!({"text": p}));
            }
            parts.push(json!({"text": r.get("text"), "times": r.get("times")}));
            if let Some(s) = r.get("suffix") {
                parts.push(json!({"text": s}));
            }
            parse_parts(&Value::Array(parts), what).map(Body::Parts)
        }
        Some("body_parts") => parse_parts(&obj["body_parts"], what).map(Body::Parts),
        Some(_) => {
            let r = &obj["body_receipt"];
            let remove = match r.get("remove") {
                None => Vec::new(),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|x| x.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| format!("{what}: `remove` must be strings"))?,
                Some(_) => return Err(format!("{what}: `remove` must be an array")),
            };
            let set = match r.get("set") {
                None => Map::new(),
                Some(Value::Object(m)) => m.clone(),
                Some(_) => return Err(format!("{what}: `set` must be an object")),
            };
            let sign_after_edits = r
                .get("sign_after_edits")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            Ok(Body::Receipt(ReceiptEdit {
                remove,
                set,
                sign_after_edits,
            }))
        }
    }
}

fn parse_status(v: &Value, what: &str) -> Result<u16, String> {
    v.as_u64()
        .filter(|s| *s <= 9999)
        .map(|s| s as u16)
        .ok_or_else(|| format!("{what}: `status` must be an integer 0..=9999"))
}

fn parse_answer(resp: &Value, what: &str) -> Result<Answer, String> {
    let obj = resp
        .as_object()
        .ok_or_else(|| format!("{what}: `response` must be an object"))?;
    if let Some(b) = obj.get("behaviour") {
        let name = b
            .as_str()
            .ok_or_else(|| format!("{what}: `behaviour` must be a string"))?;
        let kind =
            Behaviour::parse(name).ok_or_else(|| format!("{what}: unknown behaviour {name:?}"))?;
        if obj.contains_key("raw") || obj.contains_key("raw_b64") {
            return Err(format!("{what}: `behaviour` excludes raw and raw_b64"));
        }
        let status = match obj.get("status") {
            None => {
                if kind == Behaviour::RedirectEvil {
                    307
                } else {
                    200
                }
            }
            Some(s) => parse_status(s, what)?,
        };
        return Ok(Answer::Behaviour { kind, status });
    }
    let forms = ["raw", "raw_b64", "status"]
        .iter()
        .filter(|k| obj.contains_key(**k))
        .count();
    if forms != 1 {
        return Err(format!(
            "{what}: `response` needs exactly one of raw, raw_b64, status, behaviour"
        ));
    }
    if let Some(r) = obj.get("raw") {
        let text = r
            .as_str()
            .ok_or_else(|| format!("{what}: `raw` must be a string"))?;
        return Ok(Answer::Raw(text.as_bytes().to_vec()));
    }
    if let Some(r) = obj.get("raw_b64") {
        let text = r
            .as_str()
            .ok_or_else(|| format!("{what}: `raw_b64` must be a string"))?;
        let bytes = B64
            .decode(text.trim())
            .map_err(|e| format!("{what}: `raw_b64` is not standard base64 ({e})"))?;
        return Ok(Answer::Raw(bytes));
    }
    let status = parse_status(&obj["status"], what)?;
    let headers = match obj.get("headers") {
        None => Vec::new(),
        Some(Value::Array(list)) => {
            let mut out = Vec::with_capacity(list.len());
            for h in list {
                match h.as_array().map(Vec::as_slice) {
                    Some([Value::String(k), Value::String(v)]) => out.push((k.clone(), v.clone())),
                    _ => {
                        return Err(format!(
                            "{what}: each header must be a [name, value] pair of strings"
                        ))
                    }
                }
            }
            out
        }
        Some(_) => return Err(format!("{what}: `headers` must be an array")),
    };
    let body = parse_body(obj, what)?;
    Ok(Answer::Http {
        status,
        headers,
        body,
    })
}

fn parse_case(v: &Value) -> Result<HostileCase, String> {
    let id = v
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or("a case has no `id` string")?
        .to_owned();
    let what = format!("case {id:?}");
    let class = want_str(v, "class", &what)?.to_owned();
    let route = want_str(v, "route", &what)?.to_owned();
    if !ROUTES.contains(&route.as_str()) {
        return Err(format!("{what}: unknown route {route:?}"));
    }
    let resp = v
        .get("response")
        .ok_or_else(|| format!("{what}: no `response`"))?;
    let answer = parse_answer(resp, &what)?;
    let keep_alive = match resp.get("keep_alive") {
        None => false,
        Some(Value::Bool(b)) if !matches!(answer, Answer::Behaviour { .. }) => *b,
        Some(_) => {
            return Err(format!(
                "{what}: `keep_alive` must be a boolean, and only with raw, raw_b64 or status"
            ))
        }
    };
    let expect = v
        .get("expect")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{what}: no `expect` object"))?;
    let expect_codes = expect
        .get("codes")
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .map(|c| c.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
        })
        .filter(|c| !c.is_empty())
        .ok_or_else(|| format!("{what}: `expect.codes` must be a non-empty array of strings"))?;
    let secret_echo = expect
        .get("secret_echo")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(HostileCase {
        id,
        class,
        route,
        expect_codes,
        secret_echo,
        raw: v.clone(),
        answer,
        keep_alive,
    })
}

impl HostileCorpus {
    /// Parses and checks a corpus (`{"defaults": {...}, "cases": [...]}`).
    pub fn from_json(text: &str) -> Result<Self, String> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| format!("corpus is not valid JSON: {e}"))?;
        let list = v
            .get("cases")
            .and_then(Value::as_array)
            .ok_or("corpus has no `cases` array")?;
        let mut cases = Vec::with_capacity(list.len());
        let mut index = HashMap::with_capacity(list.len());
        for c in list {
            let case = parse_case(c)?;
            if index.insert(case.id.clone(), cases.len()).is_some() {
                return Err(format!("duplicate case id {:?}", case.id));
            }
            cases.push(case);
        }
        Ok(HostileCorpus {
            cases,
            index,
            defaults: v.get("defaults").cloned().unwrap_or(Value::Null),
        })
    }

    /// Reads and parses a corpus file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::from_json(&text)
    }

    /// Case ids in corpus order.
    pub fn case_ids(&self) -> Vec<String> {
        self.cases.iter().map(|c| c.id.clone()).collect()
    }

    /// One case by id.
    pub fn case(&self, id: &str) -> Option<&HostileCase> {
        self.index.get(id).map(|i| &self.cases[*i])
    }

    /// All cases in corpus order.
    pub fn cases(&self) -> &[HostileCase] {
        &self.cases
    }

    /// The corpus's `defaults` object (test settings), `Null` when absent.
    pub fn defaults(&self) -> &Value {
        &self.defaults
    }
}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExchangeMode {
    Every,
    AfterFirst,
}

#[derive(Default)]
struct CaseState {
    case: Option<usize>,
    after_first: bool,
    first_exchange_done: bool,
    harbor_401_pending: bool,
    hits: HashMap<&'static str, u64>,
}

struct Shared {
    corpus: HostileCorpus,
    state: Mutex<CaseState>,
    evil_hits: AtomicU64,
    proxy_hits: AtomicU64,
    panics: AtomicU64,
    url: String,
    evil_url: String,
    proxy_url: String,
    api_key: String,
    jwt: String,
    signal_key: SigningKey,
}

struct Handle {
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// A running hostile server: main, evil and proxy listeners on 127.0.0.1.
/// Cheap to clone; stops when the last clone is dropped or on [`shutdown`](Self::shutdown).
#[derive(Clone)]
pub struct HostileServer {
    inner: Arc<Handle>,
}

impl fmt::Debug for HostileServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.inner.shared;
        f.debug_struct("HostileServer")
            .field("url", &s.url)
            .field("evil_url", &s.evil_url)
            .field("proxy_url", &s.proxy_url)
            .field("api_key", &"***")
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Main,
    Evil,
    Proxy,
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

fn make_jwt() -> String {
    // `kid` first, so even the token's first 16 characters differ per server.
    let header = format!(r#"{{"kid":"{}","alg":"EdDSA","typ":"JWT"}}"#, random_hex(8));
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        + 900;
    let claims = json!({
        "iss": "paybond-hostile",
        "sub": "service-account-hostile",
        "tid": HOSTILE_TENANT,
        "exp": exp,
        "jti": Uuid::new_v4().to_string(),
    });
    let mut sig = [0u8; 64];
    rand::thread_rng().fill_bytes(&mut sig);
    format!(
        "{}.{}.{}",
        B64URL.encode(header),
        B64URL.encode(claims.to_string()),
        B64URL.encode(sig)
    )
}

fn base_url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

impl HostileServer {
    /// Binds the three listeners on 127.0.0.1 (free ports) and serves on the current tokio runtime.
    pub async fn start(corpus: HostileCorpus) -> std::io::Result<Self> {
        let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let main = TcpListener::bind(any).await?;
        let evil = TcpListener::bind(any).await?;
        let proxy = TcpListener::bind(any).await?;
        let mut seed = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut seed);
        let shared = Arc::new(Shared {
            corpus,
            state: Mutex::new(CaseState::default()),
            evil_hits: AtomicU64::new(0),
            proxy_hits: AtomicU64::new(0),
            panics: AtomicU64::new(0),
            url: base_url(main.local_addr()?),
            evil_url: base_url(evil.local_addr()?),
            proxy_url: base_url(proxy.local_addr()?),
            api_key: format!("paybond_sk_sandbox_{}_{}", random_hex(16), random_hex(32)),
            jwt: make_jwt(),
            signal_key: SigningKey::from_bytes(&seed),
        });
        let (tx, rx) = watch::channel(false);
        for (listener, role) in [(main, Role::Main), (evil, Role::Evil), (proxy, Role::Proxy)] {
            tokio::spawn(accept_loop(listener, shared.clone(), role, rx.clone()));
        }
        Ok(HostileServer {
            inner: Arc::new(Handle {
                shared,
                shutdown: tx,
            }),
        })
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// `http://127.0.0.1:PORT`: use it as both the Gateway and the Harbor base URL.
    pub fn url(&self) -> String {
        self.shared().url.clone()
    }

    /// The evil listener every redirect points at (answers a perfect allow, counts hits).
    pub fn evil_url(&self) -> String {
        self.shared().evil_url.clone()
    }

    /// A listener that acts as an HTTP proxy answering a perfect allow (counts hits).
    pub fn proxy_url(&self) -> String {
        self.shared().proxy_url.clone()
    }

    /// Selects the case served from now on (`None`: all answers good) and
    /// resets the per-route hit counters. `exchange_mode` is `"every"` (every
    /// exchange gets the case answer) or `"after_first"` (for `exchange`
    /// cases: the first exchange is good, the next Harbor request answers 401
    /// once so the client re-mints, and every later exchange gets the case
    /// answer). Other routes ignore the mode.
    pub fn set_case(&self, id: Option<&str>, exchange_mode: &str) -> Result<(), String> {
        let mode = match exchange_mode {
            "every" => ExchangeMode::Every,
            "after_first" => ExchangeMode::AfterFirst,
            other => {
                return Err(format!(
                    "exchange_mode must be \"every\" or \"after_first\", got {other:?}"
                ))
            }
        };
        let shared = self.shared();
        let case = match id {
            None => None,
            Some(id) => Some(
                *shared
                    .corpus
                    .index
                    .get(id)
                    .ok_or_else(|| format!("no case {id:?} in the corpus"))?,
            ),
        };
        *shared.state.lock() = CaseState {
            case,
            after_first: mode == ExchangeMode::AfterFirst,
            ..CaseState::default()
        };
        Ok(())
    }

    /// Requests the evil listener received since start (redirects followed).
    pub fn evil_hits(&self) -> u64 {
        self.shared().evil_hits.load(Ordering::SeqCst)
    }

    /// Requests the proxy listener received since start.
    pub fn proxy_hits(&self) -> u64 {
        self.shared().proxy_hits.load(Ordering::SeqCst)
    }

    /// Requests the main listener received for `route` (one of [`ROUTES`] or
    /// `"other"`) since the last [`set_case`](Self::set_case).
    pub fn hits(&self, route: &str) -> u64 {
        self.shared()
            .state
            .lock()
            .hits
            .get(route)
            .copied()
            .unwrap_or(0)
    }

    /// The API key tests should use (`paybond_sk_sandbox_<32 hex>_<64 hex>`,
    /// random per server). Any bearer is accepted.
    pub fn api_key(&self) -> String {
        self.shared().api_key.clone()
    }

    /// The Harbor JWT the good exchange hands out (JWT-shaped, random per server).
    pub fn jwt(&self) -> String {
        self.shared().jwt.clone()
    }

    /// Hex of the Ed25519 key that signs the server's Signal receipts.
    pub fn signal_public_key_hex(&self) -> String {
        hex::encode(self.shared().signal_key.verifying_key().as_bytes())
    }

    /// The corpus this server serves.
    pub fn corpus(&self) -> &HostileCorpus {
        &self.shared().corpus
    }

    /// Stops all listeners and ends every open connection (also done when the last clone drops).
    pub fn shutdown(&self) {
        let _ = self.inner.shutdown.send(true);
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    role: Role,
    rx: watch::Receiver<bool>,
) {
    let mut own = rx.clone();
    loop {
        tokio::select! {
            _ = async { let _ = own.wait_for(|stop| *stop).await; } => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let sh = shared.clone();
                    let mut stop = rx.clone();
                    let task = tokio::spawn(async move {
                        tokio::select! {
                            _ = connection(&sh, stream, role) => {}
                            _ = async { let _ = stop.wait_for(|s| *s).await; } => {}
                        }
                    });
                    let sh = shared.clone();
                    tokio::spawn(async move {
                        if let Err(e) = task.await {
                            if e.is_panic() {
                                sh.panics.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    });
                }
                // Out of file descriptors and the like: back off, keep serving.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
        }
    }
}

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

struct Request {
    method: String,
    /// Origin-form path with query (absolute-form targets are reduced to it).
    target: String,
    /// `target` without the query.
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    close: bool,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn bearer(&self) -> Option<&str> {
        let v = self.header("authorization")?.trim();
        let (scheme, rest) = v.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| rest.trim())
            .filter(|s| !s.is_empty())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Why a request could not be read: close quietly, or answer this status and close.
enum ReadFail {
    Closed,
    Status(u16),
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), ReadFail> {
    let mut chunk = [0u8; 16 * 1024];
    match tokio::time::timeout(IDLE_TIMEOUT, stream.read(&mut chunk)).await {
        Ok(Ok(0)) | Ok(Err(_)) | Err(_) => Err(ReadFail::Closed),
        Ok(Ok(n)) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(())
        }
    }
}

fn origin_form(target: &str) -> String {
    for scheme in ["http://", "https://"] {
        let head = target.get(..scheme.len());
        if head.is_some_and(|h| h.eq_ignore_ascii_case(scheme)) {
            let rest = &target[scheme.len()..];
            return match rest.find('/') {
                Some(i) => rest[i..].to_owned(),
                None => "/".to_owned(),
            };
        }
    }
    target.to_owned()
}

/// Reads one request; `buf` keeps bytes of the next one (pipelining).
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Request, ReadFail> {
    let head_end = loop {
        if let Some(p) = find(buf, b"\r\n\r\n") {
            break p + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(ReadFail::Status(431));
        }
        read_more(stream, buf).await?;
    };
    if head_end > MAX_HEAD {
        return Err(ReadFail::Status(431));
    }
    let head = std::str::from_utf8(&buf[..head_end - 4]).map_err(|_| ReadFail::Status(400))?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadFail::Status(400));
    };
    if method.is_empty() || target.is_empty() || !version.starts_with("HTTP/1.") {
        return Err(ReadFail::Status(400));
    }
    let mut headers = Vec::new();
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            return Err(ReadFail::Status(400));
        };
        if k.is_empty() || k.contains([' ', '\t']) {
            return Err(ReadFail::Status(400));
        }
        headers.push((k.to_owned(), v.trim().to_owned()));
        if headers.len() > 256 {
            return Err(ReadFail::Status(431));
        }
    }
    let mut req = Request {
        method: method.to_owned(),
        target: origin_form(target),
        path: String::new(),
        headers,
        body: Vec::new(),
        close: false,
    };
    req.path = req.target.split('?').next().unwrap_or("").to_owned();
    let connection = req.header("connection").unwrap_or("").to_ascii_lowercase();
    req.close = connection.contains("close")
        || (version == "HTTP/1.0" && !connection.contains("keep-alive"));
    if req.header("transfer-encoding").is_some() {
        return Err(ReadFail::Status(501));
    }
    let len = match req.header("content-length") {
        None => 0,
        Some(v) => v.parse::<usize>().map_err(|_| ReadFail::Status(400))?,
    };
    if len > MAX_BODY {
        return Err(ReadFail::Status(413));
    }
    if len > 0
        && buf.len() < head_end + len
        && req
            .header("expect")
            .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        stream
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .map_err(|_| ReadFail::Closed)?;
    }
    while buf.len() < head_end + len {
        read_more(stream, buf).await?;
    }
    req.body = buf[head_end..head_end + len].to_vec();
    buf.drain(..head_end + len);
    Ok(req)
}

fn route_of(path: &str) -> &'static str {
    match path {
        "/v1/auth/harbor-access" => "exchange",
        "/v1/auth/principal" => "principal",
        "/verify" => "verify",
        "/ledger/v1/tip" => "ledger_tip",
        p if p.starts_with("/intents/") && p.ends_with("/evidence") => "evidence",
        p if p.starts_with("/reputation/") => "signal_receipt",
        _ => "other",
    }
}

fn is_gateway_path(path: &str) -> bool {
    path.starts_with("/v1/auth/")
        || path.starts_with("/reputation/")
        || path.starts_with("/signal/")
}

fn is_harbor_route(route: &str) -> bool {
    matches!(route, "verify" | "evidence" | "ledger_tip")
}

/// What the request carried and what answers may echo.
struct Ctx {
    intent_id: String,
    token: String,
    jwt: String,
    api_key: String,
    operator_did: String,
    evil_url: String,
}

impl Ctx {
    fn new(shared: &Shared, req: &Request) -> Self {
        let body: Option<Value> = serde_json::from_slice(&req.body).ok();
        let body_str = |k: &str| {
            body.as_ref()
                .and_then(|b| b.get(k))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let path_intent = req
            .path
            .strip_prefix("/intents/")
            .and_then(|r| r.split('/').next())
            .filter(|s| !s.is_empty())
            .map(percent_decode);
        let intent_id = body_str("intent_id")
            .or(path_intent)
            .unwrap_or_else(|| Uuid::nil().to_string());
        let operator_did = req
            .path
            .strip_prefix("/reputation/")
            .map(percent_decode)
            .unwrap_or_default();
        let gateway = is_gateway_path(&req.path);
        let bearer = req.bearer().map(str::to_owned);
        Ctx {
            intent_id,
            token: body_str("token").unwrap_or_default(),
            jwt: bearer
                .clone()
                .filter(|_| !gateway)
                .unwrap_or_else(|| shared.jwt.clone()),
            api_key: bearer
                .filter(|_| gateway)
                .unwrap_or_else(|| shared.api_key.clone()),
            operator_did,
            evil_url: shared.evil_url.clone(),
        }
    }

    fn value(&self, name: &str) -> Option<String> {
        match name {
            "tenant" => return Some(HOSTILE_TENANT.to_owned()),
            "intent_id" => return Some(self.intent_id.clone()),
            "audit_id" => return Some(Uuid::new_v4().to_string()),
            "evil_url" => return Some(self.evil_url.clone()),
            "operator_did" => return Some(self.operator_did.clone()),
            _ => {}
        }
        for (base, secret) in [
            ("token", &self.token),
            ("jwt", &self.jwt),
            ("api_key", &self.api_key),
        ] {
            let Some(variant) = name.strip_prefix(base) else {
                continue;
            };
            return match variant {
                "" => Some(secret.clone()),
                "_json_escaped" => Some(secret.replace('/', "\\/")),
                "_pct" => Some(
                    secret
                        .replace('/', "%2F")
                        .replace('+', "%2B")
                        .replace('=', "%3D"),
                ),
                "_prefix100" => Some(secret.chars().take(100).collect()),
                _ => None,
            };
        }
        None
    }

    /// Replaces `{{name}}` placeholders; unknown ones stay as they are.
    fn subst(&self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len() + 64);
        let mut i = 0;
        while i < input.len() {
            if input[i..].starts_with(b"{{") {
                let window = &input[i + 2..input.len().min(i + 2 + 48)];
                if let Some(end) = find(window, b"}}") {
                    let value = std::str::from_utf8(&window[..end])
                        .ok()
                        .and_then(|n| self.value(n));
                    if let Some(v) = value {
                        out.extend_from_slice(v.as_bytes());
                        i += 4 + end;
                        continue;
                    }
                }
            }
            out.push(input[i]);
            i += 1;
        }
        out
    }

    fn subst_str(&self, input: &str) -> String {
        String::from_utf8_lossy(&self.subst(input.as_bytes())).into_owned()
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

// ---------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        413 => "Content Too Large",
        418 => "I'm a teapot",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn allow_body(ctx: &Ctx) -> Value {
    json!({
        "allow": true,
        "audit_id": Uuid::new_v4().to_string(),
        "tenant": HOSTILE_TENANT,
        "intent_id": ctx.intent_id,
        "decision_id": Uuid::new_v4().to_string(),
        "remaining_cents": 100,
    })
}

impl Shared {
    fn receipt(&self, did: &str, edit: &ReceiptEdit) -> Value {
        let mut r = Map::new();
        r.insert("tenant_id".into(), HOSTILE_TENANT.into());
        r.insert("operator_did".into(), did.into());
        r.insert("score_version".into(), "1.0".into());
        r.insert("scoring_model".into(), "hostile-fixed-v1".into());
        r.insert("score".into(), 700.into());
        r.insert(
            "metrics".into(),
            json!({"settled_intents": 3, "disputed_intents": 0}),
        );
        r.insert("confidence".into(), json!(0.5));
        r.insert("reason_codes".into(), json!(["steady_settlement"]));
        r.insert("ledger_watermark_seq".into(), 0.into());
        if !edit.sign_after_edits {
            paybond_kit::signal::sign_receipt(&mut r, &self.signal_key);
        }
        for (k, v) in &edit.set {
            r.insert(k.clone(), v.clone());
        }
        if edit.sign_after_edits {
            paybond_kit::signal::sign_receipt(&mut r, &self.signal_key);
        }
        for k in &edit.remove {
            r.remove(k);
        }
        json!({
            "schema_version": 1,
            "updated_at": "2026-01-01T00:00:00Z",
            "receipt": Value::Object(r),
        })
    }

    /// The good answer for a route: `(status, JSON body)`.
    fn good(&self, route: &str, ctx: &Ctx) -> (u16, Value) {
        match route {
            "exchange" => (
                200,
                json!({
                    "access_token": self.jwt,
                    "expires_in": 900,
                    "tenant_id": HOSTILE_TENANT,
                    "token_type": "Bearer",
                }),
            ),
            "verify" => (200, allow_body(ctx)),
            "evidence" => (
                200,
                json!({
                    "tenant": HOSTILE_TENANT,
                    "intent_id": ctx.intent_id,
                    "state": "evidence_accepted",
                    "predicate_passed": true,
                }),
            ),
            "principal" => (
                200,
                json!({"tenant_id": HOSTILE_TENANT, "environment": "sandbox"}),
            ),
            "ledger_tip" => (
                200,
                json!({
                    "schema_version": 1,
                    "tenant_id": HOSTILE_TENANT,
                    "seq": 0,
                    "entry_commitment_hex": null,
                    "empty": true,
                }),
            ),
            "signal_receipt" => (
                200,
                self.receipt(&ctx.operator_did, &ReceiptEdit::default()),
            ),
            _ => (404, json!({"error": "not_found"})),
        }
    }

    /// Picks the answer for a request on the main listener and counts the hit.
    fn pick(&self, route: &'static str) -> Pick {
        let mut st = self.state.lock();
        *st.hits.entry(route).or_insert(0) += 1;
        let Some(i) = st.case else {
            return Pick::Good;
        };
        let case_route = self.corpus.cases[i].route.as_str();
        if st.after_first && case_route == "exchange" {
            if route == "exchange" {
                if !st.first_exchange_done {
                    st.first_exchange_done = true;
                    st.harbor_401_pending = true;
                    return Pick::Good;
                }
                return Pick::Case(i);
            }
            if is_harbor_route(route) && st.harbor_401_pending {
                st.harbor_401_pending = false;
                return Pick::Unauthorized;
            }
            return Pick::Good;
        }
        if route == case_route {
            Pick::Case(i)
        } else {
            Pick::Good
        }
    }
}

enum Pick {
    Good,
    Case(usize),
    Unauthorized,
}

fn json_head(status: u16, len: usize, close: bool) -> String {
    format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {len}\r\n{}\r\n",
        reason(status),
        if close { "connection: close\r\n" } else { "" }
    )
}

async fn write_json(
    stream: &mut TcpStream,
    status: u16,
    body: &Value,
    close: bool,
) -> std::io::Result<()> {
    let body = body.to_string();
    let mut out = json_head(status, body.len(), close).into_bytes();
    out.extend_from_slice(body.as_bytes());
    stream.write_all(&out).await
}

/// Half-closes and waits (briefly) for the client's FIN so the answer is not cut by a reset.
async fn finish(stream: &mut TcpStream) {
    let _ = stream.flush().await;
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(LINGER, async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
}

/// Reads and discards until the client closes (or errors).
async fn drain_until_closed(stream: &mut TcpStream) {
    let mut sink = [0u8; 4096];
    loop {
        match stream.read(&mut sink).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Writes `bytes` one at a time with `DRIP` between them; stops on the first failed write.
async fn drip(stream: &mut TcpStream, bytes: &[u8]) -> std::io::Result<()> {
    for b in bytes {
        stream.write_all(std::slice::from_ref(b)).await?;
        stream.flush().await?;
        tokio::time::sleep(DRIP).await;
    }
    Ok(())
}

/// Writes `text` `times` times in writes of at most ~64 KiB (never builds the whole body).
async fn write_repeated(stream: &mut TcpStream, text: &[u8], times: u64) -> std::io::Result<()> {
    if text.is_empty() || times == 0 {
        return Ok(());
    }
    let per_block = (64 * 1024 / text.len()).max(1) as u64;
    let block = text.repeat(per_block.min(times) as usize);
    let mut left = times;
    while left >= per_block {
        stream.write_all(&block).await?;
        left -= per_block;
    }
    if left > 0 {
        stream
            .write_all(&block[..text.len() * left as usize])
            .await?;
    }
    Ok(())
}

async fn connection(shared: &Shared, mut stream: TcpStream, role: Role) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    loop {
        let req = match read_request(&mut stream, &mut buf).await {
            Ok(r) => r,
            Err(ReadFail::Closed) => return,
            Err(ReadFail::Status(status)) => {
                let _ =
                    write_json(&mut stream, status, &json!({"error": "bad_request"}), true).await;
                finish(&mut stream).await;
                return;
            }
        };
        let keep_going = match role {
            Role::Main => serve_main(shared, &mut stream, &req).await,
            Role::Evil | Role::Proxy => {
                let counter = if role == Role::Evil {
                    &shared.evil_hits
                } else {
                    &shared.proxy_hits
                };
                counter.fetch_add(1, Ordering::SeqCst);
                if req.method.eq_ignore_ascii_case("CONNECT") {
                    let _ =
                        write_json(&mut stream, 403, &json!({"error": "no_tunnels"}), true).await;
                    false
                } else {
                    let ctx = Ctx::new(shared, &req);
                    let (status, body) = shared.good(route_of(&req.path), &ctx);
                    write_json(&mut stream, status, &body, req.close)
                        .await
                        .is_ok()
                }
            }
        };
        if !keep_going || req.close {
            finish(&mut stream).await;
            return;
        }
    }
}

/// Serves one request on the main listener; `false` when the connection must close.
async fn serve_main(shared: &Shared, stream: &mut TcpStream, req: &Request) -> bool {
    let route = route_of(&req.path);
    let ctx = Ctx::new(shared, req);
    match shared.pick(route) {
        Pick::Good => {
            let (status, body) = shared.good(route, &ctx);
            write_json(stream, status, &body, req.close).await.is_ok()
        }
        Pick::Unauthorized => {
            let body =
                json!({"error": "unauthorized", "message": "the token expired; mint a new one"});
            write_json(stream, 401, &body, req.close).await.is_ok()
        }
        Pick::Case(i) => {
            let case = &shared.corpus.cases[i];
            let served = tokio::time::timeout(
                MAX_BEHAVIOUR,
                serve_case(shared, stream, req, &ctx, &case.answer),
            )
            .await;
            case.keep_alive && matches!(served, Ok(Ok(())))
        }
    }
}

async fn serve_case(
    shared: &Shared,
    stream: &mut TcpStream,
    req: &Request,
    ctx: &Ctx,
    answer: &Answer,
) -> std::io::Result<()> {
    match answer {
        Answer::Raw(bytes) => stream.write_all(&ctx.subst(bytes)).await,
        Answer::Http {
            status,
            headers,
            body,
        } => write_http(shared, stream, *status, headers, body, ctx).await,
        Answer::Behaviour { kind, status } => {
            behave(shared, stream, req, ctx, *kind, *status).await
        }
    }
}

async fn write_http(
    shared: &Shared,
    stream: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &Body,
    ctx: &Ctx,
) -> std::io::Result<()> {
    // Substitute each part once; repeated parts repeat the substituted text.
    let parts: Vec<(Vec<u8>, u64)> = match body {
        Body::Parts(parts) => parts
            .iter()
            .map(|p| (ctx.subst(p.text.as_bytes()), p.times))
            .collect(),
        Body::Receipt(edit) => vec![(
            shared
                .receipt(&ctx.operator_did, edit)
                .to_string()
                .into_bytes(),
            1,
        )],
    };
    let len = parts
        .iter()
        .map(|(t, n)| (t.len() as u64).saturating_mul(*n))
        .fold(0u64, u64::saturating_add);
    let has = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (k, v) in headers {
        head.push_str(&ctx.subst_str(k));
        head.push_str(": ");
        head.push_str(&ctx.subst_str(v));
        head.push_str("\r\n");
    }
    if !has("content-length") && !has("transfer-encoding") {
        head.push_str(&format!("content-length: {len}\r\n"));
    }
    if !has("connection") {
        head.push_str("connection: close\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    for (text, times) in &parts {
        write_repeated(stream, text, *times).await?;
    }
    Ok(())
}

async fn behave(
    shared: &Shared,
    stream: &mut TcpStream,
    req: &Request,
    ctx: &Ctx,
    kind: Behaviour,
    status: u16,
) -> std::io::Result<()> {
    let allow = allow_body(ctx).to_string();
    match kind {
        Behaviour::Hang => {
            drain_until_closed(stream).await;
            Ok(())
        }
        Behaviour::CloseImmediately => Ok(()),
        Behaviour::Trickle => {
            let mut all = json_head(200, allow.len(), true).into_bytes();
            all.extend_from_slice(allow.as_bytes());
            drip(stream, &all).await
        }
        Behaviour::SlowBody => {
            // Headers at once, then the body one byte at a time.
            stream
                .write_all(json_head(200, allow.len(), true).as_bytes())
                .await?;
            drip(stream, allow.as_bytes()).await
        }
        Behaviour::HangAfterHeaders => {
            stream
                .write_all(json_head(200, allow.len(), true).as_bytes())
                .await?;
            drain_until_closed(stream).await;
            Ok(())
        }
        Behaviour::CloseMidBody => {
            stream
                .write_all(json_head(200, 500, true).as_bytes())
                .await?;
            stream.write_all(&allow.as_bytes()[..20]).await
        }
        Behaviour::EndlessChunked => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
            stream.write_all(head.as_bytes()).await?;
            let opening = "{\"allow\":true,\"pad\":\"";
            stream
                .write_all(format!("{:x}\r\n{opening}\r\n", opening.len()).as_bytes())
                .await?;
            let chunk = format!("100\r\n{}\r\n", "x".repeat(0x100));
            loop {
                // write_all waits while the client does not read: nothing piles up here.
                stream.write_all(chunk.as_bytes()).await?;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        Behaviour::SlowlorisHeaders => {
            stream.write_all(b"HTTP/1.1 200 OK\r\n").await?;
            for n in 0u64.. {
                stream
                    .write_all(format!("x-slow-{n}: {n}\r\n").as_bytes())
                    .await?;
                stream.flush().await?;
                tokio::time::sleep(DRIP).await;
            }
            Ok(())
        }
        Behaviour::HugeHeaders => {
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-huge: ")
                .await?;
            write_repeated(stream, b"a", 1 << 20).await?;
            let tail = format!(
                "\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{allow}",
                allow.len()
            );
            stream.write_all(tail.as_bytes()).await
        }
        Behaviour::ManyHeaders => {
            let mut head = String::from("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n");
            for i in 0..500 {
                head.push_str(&format!("x-many-{i}: {i}\r\n"));
            }
            head.push_str(&format!(
                "content-length: {}\r\nconnection: close\r\n\r\n{allow}",
                allow.len()
            ));
            stream.write_all(head.as_bytes()).await
        }
        Behaviour::RedirectEvil => {
            let head = format!(
                "HTTP/1.1 {status} {}\r\nlocation: {}{}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                reason(status),
                shared.evil_url,
                req.target
            );
            stream.write_all(head.as_bytes()).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus_path() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios/hostile.json")
    }

    fn corpus() -> HostileCorpus {
        HostileCorpus::load(&corpus_path()).unwrap()
    }

    async fn connect(s: &HostileServer) -> TcpStream {
        TcpStream::connect(s.url().trim_start_matches("http://"))
            .await
            .unwrap()
    }

    fn request(method: &str, path: &str, bearer: &str, body: &str) -> Vec<u8> {
        format!(
            "{method} {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {bearer}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    /// Reads one content-length framed response: (status, headers text, body).
    async fn read_response(c: &mut TcpStream) -> (u16, String, Vec<u8>) {
        let mut buf = Vec::new();
        let head_end = loop {
            if let Some(p) = find(&buf, b"\r\n\r\n") {
                break p + 4;
            }
            let mut chunk = [0u8; 4096];
            let n = c.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed before the head ended");
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
        let status: u16 = head[9..12].parse().unwrap();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .map(|v| v.trim().parse().unwrap())
            .unwrap_or(0);
        while buf.len() < head_end + len {
            let mut chunk = [0u8; 4096];
            let n = c.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed mid-body");
            buf.extend_from_slice(&chunk[..n]);
        }
        (status, head, buf[head_end..head_end + len].to_vec())
    }

    async fn read_to_end(c: &mut TcpStream) -> Vec<u8> {
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut out))
            .await
            .unwrap()
            .unwrap();
        out
    }

    const INTENT: &str = "6f1c2a9e-1111-4222-8333-444455556666";

    fn verify_body(token: &str) -> String {
        json!({"intent_id": INTENT, "token": token, "operation": "search", "requested_spend_cents": 1})
            .to_string()
    }

    #[test]
    fn corpus_is_complete() {
        let c = corpus();
        assert!(c.cases().len() >= 90, "{} cases", c.cases().len());
        for r in ROUTES {
            assert!(c.cases().iter().any(|k| k.route == r), "no case for {r}");
        }
        for b in BEHAVIOURS {
            assert!(
                c.cases()
                    .iter()
                    .any(|k| k.raw["response"]["behaviour"] == b),
                "behaviour {b} unused"
            );
        }
        for k in c.cases() {
            assert!(!k.expect_codes.iter().any(|c| c == "internal"), "{}", k.id);
        }
        let d = c.defaults();
        assert_eq!(d["timeout_ms"], 500);
        assert_eq!(d["max_response_bytes"], 1_048_576);
        assert!(HostileCorpus::from_json("{\"cases\":[{\"id\":\"x\"}]}").is_err());
        assert!(HostileCorpus::from_json("{}").is_err());
    }

    #[tokio::test]
    async fn good_answers_keep_alive_and_after_first() {
        let s = HostileServer::start(corpus()).await.unwrap();
        let key = s.api_key();
        assert!(key.starts_with("paybond_sk_sandbox_") && key.len() == 116);
        let mut c = connect(&s).await;
        c.write_all(&request("POST", "/v1/auth/harbor-access", &key, ""))
            .await
            .unwrap();
        let (st, head, body) = read_response(&mut c).await;
        assert_eq!(st, 200);
        assert!(head.contains("content-type: application/json"));
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["tenant_id"], HOSTILE_TENANT);
        assert_eq!(v["access_token"], s.jwt());
        // Same connection: a verify allow that echoes the intent.
        c.write_all(&request("POST", "/verify", &s.jwt(), &verify_body("tok")))
            .await
            .unwrap();
        let (st, _, body) = read_response(&mut c).await;
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            (st, v["allow"].clone(), v["intent_id"].clone()),
            (200, json!(true), json!(INTENT))
        );
        assert_eq!(s.hits("exchange"), 1);
        assert_eq!(s.hits("verify"), 1);

        // after_first: good exchange, one 401 on Harbor, then the case answer.
        s.set_case(Some("exchange-expires-in-zero"), "after_first")
            .unwrap();
        assert_eq!(s.hits("exchange"), 0);
        c.write_all(&request("POST", "/v1/auth/harbor-access", &key, ""))
            .await
            .unwrap();
        let (_, _, body) = read_response(&mut c).await;
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap()["expires_in"],
            900
        );
        c.write_all(&request("POST", "/verify", &s.jwt(), &verify_body("tok")))
            .await
            .unwrap();
        assert_eq!(read_response(&mut c).await.0, 401);
        c.write_all(&request("POST", "/v1/auth/harbor-access", &key, ""))
            .await
            .unwrap();
        let (_, _, body) = read_response(&mut c).await;
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap()["expires_in"],
            0
        );
        // A hostile answer closes the connection.
        assert!(read_to_end(&mut c).await.is_empty());
        assert!(s.set_case(Some("no-such-case"), "every").is_err());
        assert!(s.set_case(None, "sometimes").is_err());
        assert_eq!(s.shared().panics.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn placeholders_redirects_and_raw() {
        let s = HostileServer::start(corpus()).await.unwrap();
        let token = "ab/cd+ef==".repeat(20);
        // Location echo of the token, percent-encoded.
        s.set_case(Some("verify-redirect-307-location-token"), "every")
            .unwrap();
        let mut c = connect(&s).await;
        c.write_all(&request("POST", "/verify", &s.jwt(), &verify_body(&token)))
            .await
            .unwrap();
        let (st, head, _) = read_response(&mut c).await;
        assert_eq!(st, 307);
        let pct = token
            .replace('/', "%2F")
            .replace('+', "%2B")
            .replace('=', "%3D");
        assert!(
            head.contains(&format!("{}/verify?token={pct}", s.evil_url())),
            "{head}"
        );

        // The evil redirect behaviour points at the evil listener, which allows and counts.
        s.set_case(Some("verify-redirect-308-evil"), "every")
            .unwrap();
        let mut c = connect(&s).await;
        c.write_all(&request("POST", "/verify", &s.jwt(), &verify_body(&token)))
            .await
            .unwrap();
        let (st, head, _) = read_response(&mut c).await;
        assert_eq!(st, 308);
        assert!(head.contains(&format!("location: {}/verify", s.evil_url())));
        let mut e = TcpStream::connect(s.evil_url().trim_start_matches("http://"))
            .await
            .unwrap();
        e.write_all(&request("POST", "/verify", "x", &verify_body(&token)))
            .await
            .unwrap();
        let (_, _, body) = read_response(&mut e).await;
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap()["allow"],
            true
        );
        assert_eq!(s.evil_hits(), 1);

        // Duplicate keys are written verbatim, the intent echoed.
        s.set_case(Some("verify-dup-allow-escaped"), "every")
            .unwrap();
        let mut c = connect(&s).await;
        c.write_all(&request("POST", "/verify", &s.jwt(), &verify_body(&token)))
            .await
            .unwrap();
        let (_, _, body) = read_response(&mut c).await;
        let text = String::from_utf8(body).unwrap();
        assert!(
            text.contains(r#""\u0061llow":true"#) && text.contains(INTENT),
            "{text}"
        );

        // Raw bytes with a BOM-free invalid UTF-8 body arrive verbatim.
        s.set_case(Some("verify-json-invalid-utf8-in-string"), "every")
            .unwrap();
        let mut c = connect(&s).await;
        c.write_all(&request("POST", "/verify", &s.jwt(), &verify_body(&token)))
            .await
            .unwrap();
        let all = read_to_end(&mut c).await;
        assert!(all.starts_with(b"HTTP/1.1 200"));
        assert!(std::str::from_utf8(&all).is_err());

        // keep_alive: the deny, the smuggled allow after it, and the connection still serves.
        s.set_case(Some("verify-frame-smuggled-second-response"), "every")
            .unwrap();
        let mut c = connect(&s).await;
        let one = request("POST", "/verify", &s.jwt(), &verify_body(&token));
        c.write_all(&one).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        c.write_all(&one).await.unwrap();
        let mut seen = Vec::new();
        let _ = tokio::time::timeout(Duration::from_millis(400), async {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = c.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&chunk[..n]);
            }
        })
        .await;
        let text = String::from_utf8_lossy(&seen);
        assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 4, "{text}");
        assert_eq!(text.matches(r#""allow":true"#).count(), 2, "{text}");
        assert_eq!(s.hits("verify"), 2);

        // Proxy listener: absolute-form request, counted.
        let mut p = TcpStream::connect(s.proxy_url().trim_start_matches("http://"))
            .await
            .unwrap();
        let target = format!("{}/verify", s.url());
        p.write_all(&request("POST", &target, "x", &verify_body(&token)))
            .await
            .unwrap();
        let (_, _, body) = read_response(&mut p).await;
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap()["intent_id"],
            INTENT
        );
        assert_eq!(s.proxy_hits(), 1);
    }

    #[tokio::test]
    async fn signal_receipts_and_streaming() {
        let s = HostileServer::start(corpus()).await.unwrap();
        let mut c = connect(&s).await;
        c.write_all(&request(
            "GET",
            "/reputation/did%3Apaybond%3Aop",
            &s.api_key(),
            "",
        ))
        .await
        .unwrap();
        let (_, _, body) = read_response(&mut c).await;
        let v: Value = serde_json::from_slice(&body).unwrap();
        let receipt = v["receipt"].as_object().unwrap();
        assert_eq!(receipt["operator_did"], "did:paybond:op");
        paybond_kit::signal::verify_receipt_signature(receipt, None).unwrap();
        assert_eq!(receipt["signing_public_key_hex"], s.signal_public_key_hex());

        // A 2 MiB body is streamed with the right content-length.
        s.set_case(Some("verify-size-2mib-allow"), "every").unwrap();
        let mut c = connect(&s).await;
        c.write_all(&request("POST", "/verify", &s.jwt(), &verify_body("t")))
            .await
            .unwrap();
        let (st, _, body) = read_response(&mut c).await;
        assert_eq!(st, 200);
        assert!(body.len() > 2 << 20);
        assert!(serde_json::from_slice::<Value>(&body).is_ok());

        // Endless chunked: keeps sending, stops once the client is gone.
        s.set_case(Some("verify-frame-endless-chunked"), "every")
            .unwrap();
        let mut c = connect(&s).await;
        c.write_all(&request("POST", "/verify", &s.jwt(), &verify_body("t")))
            .await
            .unwrap();
        let mut got = 0;
        let mut chunk = [0u8; 8192];
        while got < 64 * 1024 {
            got += c.read(&mut chunk).await.unwrap();
        }
        drop(c);

        // Hang: no answer, socket stays open until the client leaves.
        s.set_case(Some("verify-frame-hang"), "every").unwrap();
        let mut c = connect(&s).await;
        c.write_all(&request("POST", "/verify", &s.jwt(), &verify_body("t")))
            .await
            .unwrap();
        let r = tokio::time::timeout(Duration::from_millis(300), c.read(&mut chunk)).await;
        assert!(r.is_err(), "hang answered");
        drop(c);

        // Close immediately: EOF without a byte.
        s.set_case(Some("verify-frame-close-immediately"), "every")
            .unwrap();
        let mut c = connect(&s).await;
        c.write_all(&request("POST", "/verify", &s.jwt(), &verify_body("t")))
            .await
            .unwrap();
        assert!(read_to_end(&mut c).await.is_empty());
        assert_eq!(s.shared().panics.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn every_case_and_garbage_requests_never_panic() {
        let s = HostileServer::start(corpus()).await.unwrap();
        let ids = s.corpus().case_ids();
        for id in &ids {
            let case = s.corpus().case(id).unwrap().clone();
            s.set_case(Some(id), "every").unwrap();
            let (method, path) = match case.route.as_str() {
                "exchange" => ("POST", "/v1/auth/harbor-access".to_owned()),
                "verify" => ("POST", "/verify".to_owned()),
                "evidence" => ("POST", format!("/intents/{INTENT}/evidence")),
                "principal" => ("GET", "/v1/auth/principal".to_owned()),
                "signal_receipt" => ("GET", "/reputation/did%3Ax".to_owned()),
                _ => ("GET", "/ledger/v1/tip".to_owned()),
            };
            let mut c = connect(&s).await;
            c.write_all(&request(method, &path, "bearer", &verify_body("t/+=")))
                .await
                .unwrap();
            let mut chunk = [0u8; 65536];
            let _ = tokio::time::timeout(Duration::from_millis(50), async {
                loop {
                    match c.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
            })
            .await;
            assert_eq!(s.hits(&case.route), 1, "{id}");
        }
        s.set_case(None, "every").unwrap();
        for garbage in [
            &b"\r\n\r\n"[..],
            b"GET\r\n\r\n",
            b"GET / HTTP/1.1\r\ncontent-length: nope\r\n\r\n",
            b"GET / HTTP/1.1\r\ncontent-length: 99999999999\r\n\r\n",
            b"GET / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n",
            b"\xff\xfe\x00 / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nno-colon\r\n\r\n",
            "GET ht\u{20ac}p://x/verify HTTP/1.1\r\nconnection: close\r\n\r\n".as_bytes(),
            "GET https\u{20ac}//x HTTP/1.1\r\nconnection: close\r\n\r\n".as_bytes(),
        ] {
            let mut c = connect(&s).await;
            c.write_all(garbage).await.unwrap();
            let out = read_to_end(&mut c).await;
            assert!(out.starts_with(b"HTTP/1.1 4") || out.starts_with(b"HTTP/1.1 5"));
        }
        let mut c = connect(&s).await;
        c.write_all(&vec![b'a'; MAX_HEAD + 10]).await.unwrap();
        assert!(read_to_end(&mut c).await.starts_with(b"HTTP/1.1 431"));
        // expect: 100-continue gets the interim answer, then the real one.
        let mut c = connect(&s).await;
        let body = verify_body("t");
        c.write_all(
            format!(
                "POST /verify HTTP/1.1\r\ncontent-length: {}\r\nexpect: 100-continue\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        let mut interim = [0u8; 25];
        c.read_exact(&mut interim).await.unwrap();
        assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
        c.write_all(body.as_bytes()).await.unwrap();
        assert_eq!(read_response(&mut c).await.0, 200);
        // Still serving.
        let mut c = connect(&s).await;
        c.write_all(&request("GET", "/v1/auth/principal", "k", ""))
            .await
            .unwrap();
        assert_eq!(read_response(&mut c).await.0, 200);
        assert_eq!(s.shared().panics.load(Ordering::SeqCst), 0);

        // Shutdown ends open connections and the listeners.
        s.set_case(Some("verify-frame-hang"), "every").unwrap();
        let mut c = connect(&s).await;
        c.write_all(&request("POST", "/verify", "j", &verify_body("t")))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        s.shutdown();
        let out = read_to_end(&mut c).await;
        assert!(out.is_empty());
    }
}
