//! Every case of the hostile corpus (`tests/scenarios/hostile.json`) against
//! the core client, at the client level (the route's own call) and, for
//! verify, exchange and evidence cases, through a `ToolGuard`.
//!
//! For every case and level: never an allow, an error code the case lists,
//! no request to the evil (redirect target) or proxy listener, the hostile
//! route actually requested, done within deadline + slack, and no secret (API
//! key, Harbor JWT, capability token, or the first 16 characters of any of
//! them) in any error or deny text. All failures are collected and reported
//! together.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use paybond_devserver::hostile::{HostileCase, HostileCorpus, HostileServer};
use paybond_kit::evidence::{
    now_rfc3339, sign_payee_evidence_binding, EvidenceInput, EvidenceSignVersion,
};
use paybond_kit::guard::{EvidenceSigner, GuardOptions, ToolCall, ToolGuard, ToolOutcome};
use paybond_kit::harbor::VerifyRequest;
use paybond_kit::{
    Decision, Error, HttpOptions, Secret, ServiceAccountHarborSession, ServiceAccountSignalSession,
    SessionOptions,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Concurrent cases (one hostile server each).
const SLOTS: usize = 8;
const PAYEE_SEED: [u8; 32] = [7u8; 32];

/// The corpus: `tests/scenarios/hostile.json`, or the file `HOSTILE_CORPUS` names.
fn corpus() -> HostileCorpus {
    let path = std::env::var_os("HOSTILE_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/hostile.json")
        });
    HostileCorpus::load(&path).unwrap()
}

/// `HOSTILE_CASES=id1,id2` runs only those cases (debugging).
fn selected(case: &HostileCase) -> bool {
    match std::env::var("HOSTILE_CASES") {
        Ok(list) if !list.trim().is_empty() => list.split(',').any(|id| id.trim() == case.id),
        _ => true,
    }
}

/// Test settings, from the corpus's `defaults`.
#[derive(Clone, Debug)]
struct Settings {
    timeout: Duration,
    deadline: Duration,
    max_retries: u32,
    max_retry_after: Duration,
    max_response_bytes: usize,
    slack: Duration,
    operator_did: String,
    payee_did: String,
}

impl Settings {
    fn from(c: &HostileCorpus) -> Self {
        let d = c.defaults();
        let ms = |k: &str, default: u64| {
            Duration::from_millis(d.get(k).and_then(Value::as_u64).unwrap_or(default))
        };
        let s = |k: &str, default: &str| {
            d.get(k)
                .and_then(Value::as_str)
                .unwrap_or(default)
                .to_owned()
        };
        Settings {
            timeout: ms("timeout_ms", 500),
            deadline: ms("deadline_ms", 1500),
            max_retries: d.get("max_retries").and_then(Value::as_u64).unwrap_or(2) as u32,
            max_retry_after: ms("max_retry_after_ms", 1000),
            max_response_bytes: d
                .get("max_response_bytes")
                .and_then(Value::as_u64)
                .unwrap_or(1 << 20) as usize,
            slack: ms("elapsed_slack_ms", 2000),
            operator_did: s("signal_operator_did", "did:paybond:operator:hostile"),
            payee_did: s("payee_did", "did:paybond:payee:hostile"),
        }
    }

    fn options(&self) -> SessionOptions {
        SessionOptions {
            http: HttpOptions {
                timeout: self.timeout,
                deadline: self.deadline,
                max_retries: self.max_retries,
                max_retry_after: self.max_retry_after,
                max_response_bytes: self.max_response_bytes,
                proxy_url: None,
                ..Default::default()
            },
            ..Default::default()
        }
    }
}

/// A random standard-base64 capability token (~400 chars) with `/` and `+`
/// in it (so the escaped and percent-encoded echoes differ from the raw one),
/// but not in its first 16 characters.
fn random_token() -> String {
    loop {
        let mut bytes = Vec::with_capacity(304);
        while bytes.len() < 300 {
            bytes.extend_from_slice(Uuid::new_v4().as_bytes());
        }
        bytes.truncate(300);
        let t = B64.encode(&bytes);
        if t.contains('/') && t.contains('+') && !t[..16].contains(['/', '+']) {
            return t;
        }
    }
}

/// How one call ended.
enum Outcome {
    /// Something that must never happen: an allow, or a hostile answer accepted.
    Accepted(String),
    /// A refusal: the code and every text a user could see.
    Refused { code: String, texts: Vec<String> },
}

fn from_err(e: &Error) -> Outcome {
    Outcome::Refused {
        code: e.code().to_owned(),
        texts: vec![e.to_string(), format!("{e:?}")],
    }
}

fn from_decision(d: &Decision) -> Outcome {
    match d {
        Decision::Allow { .. } => Outcome::Accepted(format!("guard allowed: {d:?}")),
        Decision::Deny { code, message, .. } => Outcome::Refused {
            code: code.clone(),
            texts: vec![message.clone(), format!("{d:?}"), d.summary()],
        },
        Decision::ApprovalRequired { message, .. } => Outcome::Refused {
            code: d.code().to_owned(),
            texts: vec![message.clone(), format!("{d:?}"), d.summary()],
        },
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    Client,
    Guard,
}

/// The answer every follow-up call gets: a well-formed Harbor deny.
const FOLLOW_UP_DENY_CASE: &str = "verify-ct-charset-deny";

struct Run<'a> {
    server: &'a HostileServer,
    case: &'a HostileCase,
    st: &'a Settings,
    intent: String,
    token: String,
    /// Hits on the case's route right after the hostile call (before any follow-up).
    route_hits: Mutex<Option<u64>>,
    extra: Mutex<Vec<String>>,
}

fn verify_outcome(r: Result<paybond_kit::harbor::VerifyResponse, Error>) -> Outcome {
    match r {
        Ok(v) if v.allow => Outcome::Accepted(format!("allow: {v:?}")),
        Ok(v) => Outcome::Refused {
            code: "harbor_denied".into(),
            texts: vec![
                format!("{v:?}"),
                v.message.clone().unwrap_or_default(),
                v.code.clone().unwrap_or_default(),
            ],
        },
        Err(e) => from_err(&e),
    }
}

impl Run<'_> {
    fn snapshot_hits(&self) {
        *self.route_hits.lock().unwrap() = Some(self.server.hits(&self.case.route));
    }

    fn extra(&self, failure: String) {
        self.extra.lock().unwrap().push(failure);
    }

    /// Switches the server to a plain deny for the follow-up call (false when
    /// the corpus has no such case, or the case under test is that deny).
    fn deny_next(&self) -> Result<bool, String> {
        if self.case.id == FOLLOW_UP_DENY_CASE
            || self.server.corpus().case(FOLLOW_UP_DENY_CASE).is_none()
        {
            return Ok(false);
        }
        self.server.set_case(Some(FOLLOW_UP_DENY_CASE), "every")?;
        Ok(true)
    }

    async fn harbor(&self) -> Result<ServiceAccountHarborSession, String> {
        let url = self.server.url();
        ServiceAccountHarborSession::open(
            &url,
            Secret::new(self.server.api_key()),
            &url,
            self.st.options(),
        )
        .await
        .map_err(|e| format!("opening the Harbor session failed ({}): {e}", e.code()))
    }

    async fn signal_open(&self) -> Result<ServiceAccountSignalSession, Error> {
        ServiceAccountSignalSession::open(
            &self.server.url(),
            Secret::new(self.server.api_key()),
            self.st.options(),
        )
        .await
    }

    fn verify_request(&self) -> VerifyRequest {
        VerifyRequest {
            intent_id: self.intent.clone(),
            token: Secret::new(self.token.clone()),
            operation: "search".into(),
            requested_spend_cents: 1,
            ..Default::default()
        }
    }

    fn guard(&self, s: &ServiceAccountHarborSession) -> Result<ToolGuard, String> {
        ToolGuard::new(
            s.harbor().clone(),
            &self.intent,
            Secret::new(self.token.clone()),
            GuardOptions {
                evidence: Some(EvidenceSigner {
                    payee_did: self.st.payee_did.clone(),
                    seed: Arc::new(PAYEE_SEED),
                    version: Default::default(),
                }),
                ..Default::default()
            },
        )
        .map_err(|e| format!("ToolGuard::new failed ({}): {e}", e.code()))
    }

    fn call(&self) -> ToolCall {
        ToolCall {
            name: "search".into(),
            call_id: format!("call-{}", Uuid::new_v4()),
            args: json!({"q": "hostile"}),
        }
    }

    /// The call under test. `Err` is a setup failure (a step that had to succeed did not).
    async fn exercise(&self, level: Level) -> Result<Outcome, String> {
        match (self.case.route.as_str(), level) {
            ("exchange", Level::Client) => {
                self.server.set_case(Some(&self.case.id), "every")?;
                let url = self.server.url();
                let opened = ServiceAccountHarborSession::open(
                    &url,
                    Secret::new(self.server.api_key()),
                    &url,
                    self.st.options(),
                )
                .await;
                Ok(match opened {
                    Ok(s) => Outcome::Accepted(format!(
                        "session opened on a hostile exchange (tenant {:?})",
                        s.tenant_id()
                    )),
                    Err(e) => from_err(&e),
                })
            }
            ("exchange", Level::Guard) => {
                self.server.set_case(Some(&self.case.id), "after_first")?;
                let s = self.harbor().await?;
                let g = self.guard(&s)?;
                Ok(from_decision(&g.authorize(&self.call(), 1).await))
            }
            (route, level) => {
                self.server.set_case(Some(&self.case.id), "every")?;
                match (route, level) {
                    ("verify", Level::Client) => {
                        let s = self.harbor().await?;
                        let outcome = verify_outcome(
                            s.harbor().verify_capability(&self.verify_request()).await,
                        );
                        self.snapshot_hits();
                        // Desync check: the server now denies; nothing left over
                        // from the hostile connection may answer this call.
                        if self.deny_next()? {
                            let again = verify_outcome(
                                s.harbor().verify_capability(&self.verify_request()).await,
                            );
                            if let Outcome::Accepted(what) = again {
                                self.extra(format!(
                                    "a follow-up verify on the same session was ALLOWED while the server denies: {what}"
                                ));
                            }
                        }
                        Ok(outcome)
                    }
                    ("verify", Level::Guard) => {
                        let s = self.harbor().await?;
                        let g = self.guard(&s)?;
                        let outcome = from_decision(&g.authorize(&self.call(), 1).await);
                        self.snapshot_hits();
                        if self.deny_next()? {
                            let again = g.authorize(&self.call(), 1).await;
                            if again.is_allow() {
                                self.extra(format!(
                                    "a follow-up authorize on the same session was ALLOWED while the server denies: {again:?}"
                                ));
                            }
                        }
                        Ok(outcome)
                    }
                    ("evidence", Level::Client) => {
                        let s = self.harbor().await?;
                        let payload = json!({"result": "ok"});
                        let signed = sign_payee_evidence_binding(
                            &EvidenceInput {
                                tenant_id: s.tenant_id(),
                                intent_id: &self.intent,
                                payee_did: &self.st.payee_did,
                                payload: &payload,
                                artifacts_blake3_hex: &[],
                                submitted_at_rfc3339: &now_rfc3339(),
                            },
                            &PAYEE_SEED,
                            EvidenceSignVersion::V2,
                        )
                        .map_err(|e| format!("signing evidence failed: {e}"))?;
                        Ok(
                            match s
                                .harbor()
                                .submit_evidence(&self.intent, &signed.body, None)
                                .await
                            {
                                Ok(r) => Outcome::Accepted(format!("evidence accepted: {r:?}")),
                                Err(e) => from_err(&e),
                            },
                        )
                    }
                    ("evidence", Level::Guard) => {
                        let s = self.harbor().await?;
                        let g = self.guard(&s)?;
                        let call = self.call();
                        let d = g.authorize(&call, 1).await;
                        if !d.is_allow() {
                            return Err(format!(
                                "authorize should allow (default verify), got {}",
                                d.summary()
                            ));
                        }
                        Ok(
                            match g
                                .complete(&call, &d, &ToolOutcome::Success(json!({"result": "ok"})))
                                .await
                            {
                                Ok(r) => Outcome::Accepted(format!("complete returned Ok({r:?})")),
                                Err(e) => from_err(&e),
                            },
                        )
                    }
                    ("ledger_tip", _) => {
                        let s = self.harbor().await?;
                        Ok(match s.harbor().ledger_tip().await {
                            Ok(t) => Outcome::Accepted(format!("ledger tip accepted: {t:?}")),
                            Err(e) => from_err(&e),
                        })
                    }
                    ("principal", _) => Ok(match self.signal_open().await {
                        Ok(s) => Outcome::Accepted(format!(
                            "Signal session opened on a hostile principal: {s:?}"
                        )),
                        Err(e) => from_err(&e),
                    }),
                    ("signal_receipt", _) => {
                        let s = self.signal_open().await.map_err(|e| {
                            format!("opening the Signal session failed ({}): {e}", e.code())
                        })?;
                        Ok(
                            match s
                                .signal()
                                .reputation_receipt(&self.st.operator_did, None)
                                .await
                            {
                                Ok(r) => Outcome::Accepted(format!("receipt accepted: {r:?}")),
                                Err(e) => from_err(&e),
                            },
                        )
                    }
                    (other, _) => Err(format!("unknown route {other:?}")),
                }
            }
        }
    }
}

/// `HOSTILE_VERBOSE=1` prints every outcome (code, time, message).
fn verbose() -> bool {
    std::env::var_os("HOSTILE_VERBOSE").is_some_and(|v| v != "0")
}

fn levels(route: &str) -> &'static [Level] {
    match route {
        "verify" | "exchange" | "evidence" => &[Level::Client, Level::Guard],
        _ => &[Level::Client],
    }
}

/// Runs every level of one case on `server`; returns the failures.
async fn run_case(server: &HostileServer, case: &HostileCase, st: &Settings) -> Vec<String> {
    let mut failures = Vec::new();
    for &level in levels(&case.route) {
        let run = Run {
            server,
            case,
            st,
            intent: Uuid::new_v4().to_string(),
            token: random_token(),
            route_hits: Mutex::new(None),
            extra: Mutex::new(Vec::new()),
        };
        let tag = format!("{} [{level:?}]", case.id);
        let started = Instant::now();
        let outcome = run.exercise(level).await;
        let elapsed = started.elapsed();
        let secrets = [
            ("api key", server.api_key()),
            ("Harbor JWT", server.jwt()),
            ("capability token", run.token.clone()),
        ];
        match outcome {
            Err(setup) => failures.push(format!("{tag}: {setup}")),
            Ok(Outcome::Accepted(what)) => failures.push(format!("{tag}: ACCEPTED: {what}")),
            Ok(Outcome::Refused { code, texts }) => {
                if verbose() {
                    println!(
                        "{tag}: {code} in {elapsed:?}: {}",
                        texts.first().map(String::as_str).unwrap_or("")
                    );
                }
                if !case.expect_codes.contains(&code) {
                    failures.push(format!(
                        "{tag}: code {code:?} not in {:?}: {}",
                        case.expect_codes,
                        texts.first().map(String::as_str).unwrap_or("")
                    ));
                }
                for text in &texts {
                    for (name, secret) in &secrets {
                        if secret.is_empty() {
                            continue;
                        }
                        let prefix: String = secret.chars().take(16).collect();
                        if text.contains(secret.as_str()) || text.contains(&prefix) {
                            failures.push(format!(
                                "{tag}: the {name} (or its first 16 chars) leaks in {text:?}"
                            ));
                        }
                    }
                }
            }
        }
        failures.append(&mut run.extra.lock().unwrap());
        let snapshot = *run.route_hits.lock().unwrap();
        let route_hits = snapshot.unwrap_or_else(|| server.hits(&case.route));
        let want_hits = if case.route == "exchange" && level == Level::Guard {
            2
        } else {
            1
        };
        if route_hits < want_hits {
            failures.push(format!(
                "{tag}: route {} requested {route_hits} times (want >= {want_hits}): the hostile answer was never seen",
                case.route
            ));
        }
        if server.evil_hits() > 0 {
            failures.push(format!(
                "{tag}: the evil listener got {} requests (a redirect was followed)",
                server.evil_hits()
            ));
        }
        if server.proxy_hits() > 0 {
            failures.push(format!(
                "{tag}: the proxy listener got {} requests",
                server.proxy_hits()
            ));
        }
        if elapsed > st.deadline + st.slack {
            failures.push(format!(
                "{tag}: took {elapsed:?} (deadline {:?} + slack {:?})",
                st.deadline, st.slack
            ));
        }
    }
    failures
}

/// A case and its failures (empty: passed).
type CaseResult = (HostileCase, Vec<String>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_case_fails_closed() {
    let corpus = corpus();
    let st = Arc::new(Settings::from(&corpus));
    let all = corpus.cases().len();
    assert!(all >= 90, "only {all} cases");
    let cases: Vec<HostileCase> = corpus
        .cases()
        .iter()
        .filter(|c| selected(c))
        .cloned()
        .collect();
    let total = cases.len();
    assert!(total > 0, "HOSTILE_CASES selects no case");
    let queue = Arc::new(Mutex::new(cases.into_iter().collect::<VecDeque<_>>()));
    let results: Arc<Mutex<Vec<CaseResult>>> = Arc::default();
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..SLOTS.min(total) {
        let server = HostileServer::start(corpus.clone()).await.unwrap();
        let (queue, results, st) = (queue.clone(), results.clone(), st.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let Some(case) = queue.lock().unwrap().pop_front() else {
                    break;
                };
                let failures = run_case(&server, &case, &st).await;
                results.lock().unwrap().push((case, failures));
            }
            server.shutdown();
        }));
    }
    for w in workers {
        w.await.expect("a worker panicked");
    }
    let results = std::mem::take(&mut *results.lock().unwrap());
    assert_eq!(results.len(), total);

    let mut per_class: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for (case, f) in &results {
        let e = per_class.entry(case.class.clone()).or_default();
        e.1 += 1;
        if f.is_empty() {
            e.0 += 1;
        }
        failures.extend(f.iter().cloned());
    }
    failures.sort();
    println!(
        "hostile corpus: {total} cases in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for (class, (pass, all)) in &per_class {
        println!("  {class:<16} {pass:>3}/{all:<3} passed");
    }
    assert!(
        failures.is_empty(),
        "{} failures in {} of {total} cases:\n{}",
        failures.len(),
        results.iter().filter(|(_, f)| !f.is_empty()).count(),
        failures.join("\n")
    );
}
