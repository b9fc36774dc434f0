//! [`HarborClient`]: Harbor calls bound to one tenant. Every request sends
//! the bound `x-tenant-id` and a fresh bearer; every answer's echoes are
//! checked, and anything off the wire contract is an error, never an allow.

use crate::capability::read_token_binding;
use crate::error::{Error, Result};
use crate::evidence::{parse_uuid, EvidenceBody};
use crate::gateway::GatewayHarborTokenProvider;
use crate::http::{Http, Req, Resp, Service};
use crate::intent::{intent_body_bytes, sign_intent_creation, IntentCreationInput};
use crate::secret::Secret;
use crate::session::Lifecycle;
use crate::url::BaseUrl;
use bytes::Bytes;
use parking_lot::Mutex;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::sync::Arc;
use uuid::Uuid;

/// `POST /verify` request.
#[derive(Clone, Default)]
pub struct VerifyRequest {
    /// Intent the token was minted for (UUID).
    pub intent_id: String,
    /// The capability token (standard base64 Biscuit).
    pub token: Secret,
    /// The operation asked for (usually the tool name).
    pub operation: String,
    /// Spend to reserve, in minor units.
    pub requested_spend_cents: u64,
    /// The tool's name, for the audit trail.
    pub tool_name: Option<String>,
    /// The framework's tool-call id.
    pub tool_call_id: Option<String>,
    /// Idempotency key; generated when absent (so the POST can be retried).
    pub idempotency_key: Option<String>,
    /// Currency of the spend.
    pub currency: Option<String>,
    /// The agent acting.
    pub agent_subject: Option<String>,
    /// Vendor being paid.
    pub vendor_id: Option<String>,
    /// Task id, for the audit trail.
    pub task_id: Option<String>,
    /// Canonical JSON digest (64 hex) of the tool's arguments: Harbor binds the
    /// reservation to it, so one call id cannot run with other arguments.
    pub args_digest: Option<String>,
    /// Workflow id, for the audit trail.
    pub workflow_id: Option<String>,
}

impl fmt::Debug for VerifyRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyRequest")
            .field("intent_id", &self.intent_id)
            .field("token", &self.token)
            .field("operation", &self.operation)
            .field("requested_spend_cents", &self.requested_spend_cents)
            .field("tool_name", &self.tool_name)
            .field("tool_call_id", &self.tool_call_id)
            .field("idempotency_key", &self.idempotency_key)
            .finish_non_exhaustive()
    }
}

/// `POST /verify` answer, checked against the wire contract.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VerifyResponse {
    /// Harbor's decision.
    pub allow: bool,
    /// Audit record id.
    pub audit_id: Uuid,
    /// Tenant echo (equals the bound tenant).
    pub tenant: String,
    /// Intent echo (equals the requested intent).
    pub intent_id: String,
    /// Deny code, when denied.
    pub code: Option<String>,
    /// Human-readable reason.
    pub message: Option<String>,
    /// Decision id, when allowed.
    pub decision_id: Option<String>,
    /// Budget left after this reservation.
    pub remaining_cents: Option<i64>,
    /// Further reason codes.
    pub reason_codes: Vec<String>,
    /// Seconds after which a retry may succeed.
    pub retry_after: Option<f64>,
    /// The approval request a reviewer must decide, when Harbor answered
    /// `approval_required` (see [`HarborClient::decide_approval`]).
    pub approval_request_id: Option<String>,
}

/// The largest capability token the kit reads or sends (64 KiB: far above a real token).
pub const MAX_CAPABILITY_TOKEN_BYTES: usize = 64 * 1024;

/// The reason codes that mark a deny as "waiting for a reviewer" rather than final.
pub const APPROVAL_REASON_CODES: [&str; 4] = [
    "approval_required",
    "approval_threshold_exceeded",
    "approval_required_pending",
    "approval_quorum_incomplete",
];

impl VerifyResponse {
    /// The approval request id when this answer asks for a reviewer's
    /// approval (`code: "approval_required"` or one of
    /// [`APPROVAL_REASON_CODES`] in `reason_codes`) and names the request.
    pub fn pending_approval(&self) -> Option<&str> {
        if self.allow {
            return None;
        }
        let flagged = self
            .code
            .as_deref()
            .is_some_and(|c| APPROVAL_REASON_CODES.contains(&c))
            || self
                .reason_codes
                .iter()
                .any(|c| APPROVAL_REASON_CODES.contains(&c.as_str()));
        self.approval_request_id.as_deref().filter(|_| flagged)
    }
}

/// A reviewer's answer for `POST /v1/approvals/{approval_request_id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApprovalDecision {
    /// The request decided.
    pub approval_request_id: String,
    /// `approved` or `rejected`.
    pub status: String,
    /// The reviewer's reason, when given.
    #[serde(default)]
    pub reason: Option<String>,
}

/// How an allowed call ended, for `POST /v1/spend/decisions/{id}/complete`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpendOutcome {
    /// The tool ran and succeeded: the reservation is spent.
    Consumed,
    /// The tool did not run to success (raised, bad arguments, cancelled, error result): the budget comes back.
    Released,
}

impl SpendOutcome {
    /// `"consumed"` or `"released"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SpendOutcome::Consumed => "consumed",
            SpendOutcome::Released => "released",
        }
    }
}

/// `POST /v1/spend/decisions/{decision_id}/complete` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpendCompletion {
    /// Tenant echo.
    pub tenant: String,
    /// Intent the decision spent from.
    #[serde(default)]
    pub intent_id: Option<String>,
    /// Decision echo.
    pub decision_id: String,
    /// The outcome Harbor recorded.
    pub outcome: SpendOutcome,
    /// Budget left after the completion.
    #[serde(default)]
    pub remaining_cents: Option<i64>,
    /// Fields this kit does not know yet.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST /intents/{id}/evidence` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvidenceReceipt {
    /// Tenant echo.
    pub tenant: String,
    /// Intent echo.
    pub intent_id: String,
    /// Intent state after the evidence (e.g. `evidence_accepted`).
    #[serde(default)]
    pub state: Option<String>,
    /// Whether the intent's predicate passed on this evidence.
    #[serde(default)]
    pub predicate_passed: Option<bool>,
    /// Fields this kit does not know yet.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST /intents` answer. `Debug` never shows the capability token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntentCreated {
    /// Tenant echo.
    pub tenant: String,
    /// Intent echo.
    pub intent_id: String,
    /// Intent state.
    #[serde(default)]
    pub state: Option<String>,
    /// The capability token minted for the intent, when Harbor returns one.
    /// Serializing exposes it (the bindings hand it to typed host objects that hide it).
    #[serde(
        default,
        serialize_with = "crate::secret::serialize_exposed",
        deserialize_with = "crate::secret::deserialize_opt"
    )]
    pub capability_token: Option<Secret>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GET /ledger/v1/tip`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LedgerTip {
    /// Schema version of the ledger.
    pub schema_version: u32,
    /// Tenant echo.
    pub tenant_id: String,
    /// Sequence number of the last entry (0 when empty).
    pub seq: u64,
    /// Commitment of the last entry, hex.
    pub entry_commitment_hex: Option<String>,
    /// Whether the ledger has no entry.
    pub empty: bool,
}

/// `GET /ledger/v1/authority`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LedgerAuthority {
    /// Tenant echo.
    pub tenant_id: String,
    /// Ed25519 key that signs ledger entries, hex.
    pub verifying_key_hex: String,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GET /ledger/v1/events`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LedgerEventsPage {
    /// Schema version.
    pub schema_version: u32,
    /// Tenant echo.
    pub tenant_id: String,
    /// Entries, oldest first.
    pub entries: Vec<Value>,
    /// Cursor for the next page; `None` at the end.
    pub next_after_seq: Option<u64>,
}

/// `GET /ledger/v1/merkle/latest`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MerkleLatest {
    /// Tenant echo.
    pub tenant_id: String,
    /// Latest signed checkpoint, if any.
    pub checkpoint: Option<Value>,
}

pub(crate) struct HarborInner {
    pub http: Http,
    pub base: BaseUrl,
    pub verify_url: String,
    pub tenant_id: String,
    pub tokens: GatewayHarborTokenProvider,
    pub life: Arc<Lifecycle>,
    token_binding_cache: Mutex<Option<(Secret, Option<crate::capability::TokenBinding>)>>,
    // Set once this Harbor answered 404 on the completion route (logged once; budget stays reserved).
    completion_unsupported: std::sync::atomic::AtomicBool,
}

/// Harbor calls bound to one tenant. Cheap to clone (shares the session).
#[derive(Clone)]
pub struct HarborClient {
    pub(crate) inner: Arc<HarborInner>,
}

impl fmt::Debug for HarborClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HarborClient")
            .field("harbor_base_url", &self.inner.base.as_str())
            .field("tenant_id", &self.inner.tenant_id)
            .finish()
    }
}

fn str_field<'a>(v: &'a Value, k: &str, url: &str) -> Result<&'a str> {
    v.get(k).and_then(Value::as_str).ok_or_else(|| {
        Error::invalid_response(url, format!("field `{k}` is missing or not a string"))
    })
}

fn opt_str(v: &Value, k: &str, url: &str) -> Result<Option<String>> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::invalid_response(
            url,
            format!("field `{k}` is not a string"),
        )),
    }
}

impl HarborClient {
    pub(crate) fn new(
        http: Http,
        base: BaseUrl,
        tenant_id: String,
        tokens: GatewayHarborTokenProvider,
        life: Arc<Lifecycle>,
    ) -> Self {
        HarborClient {
            inner: Arc::new(HarborInner {
                verify_url: base.join("/verify"),
                http,
                base,
                tenant_id,
                tokens,
                life,
                token_binding_cache: Mutex::new(None),
                completion_unsupported: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// The tenant this client is bound to (from the Gateway, never the caller).
    pub fn tenant_id(&self) -> &str {
        &self.inner.tenant_id
    }

    /// The Harbor base URL.
    pub fn base_url(&self) -> &str {
        self.inner.base.as_str()
    }

    /// The token provider behind this client.
    pub fn token_provider(&self) -> &GatewayHarborTokenProvider {
        &self.inner.tokens
    }

    /// Checks the token's own binding facts against the call (no request made). A token over
    /// [`MAX_CAPABILITY_TOKEN_BYTES`] is refused before it is decoded (reading a Biscuit costs
    /// more than linear time in its size, and any caller, e.g. an MCP client, may hand one in).
    pub fn check_token_binding(&self, intent_id: &Uuid, token: &Secret) -> Result<()> {
        if token.expose().len() > MAX_CAPABILITY_TOKEN_BYTES {
            return Err(Error::invalid_argument(
                "capability_token",
                format!("expected at most {MAX_CAPABILITY_TOKEN_BYTES} bytes"),
            ));
        }
        let binding = {
            let mut cache = self.inner.token_binding_cache.lock();
            match cache.as_ref() {
                Some((t, b)) if t == token => b.clone(),
                _ => {
                    let b = read_token_binding(token.expose());
                    *cache = Some((token.clone(), b.clone()));
                    b
                }
            }
        };
        let Some(binding) = binding else {
            return Ok(());
        };
        if let Some(bound) = binding.intent_id {
            if Uuid::parse_str(&bound).ok().as_ref() != Some(intent_id) {
                return Err(Error::TokenIntentMismatch {
                    bound_kind: "intent",
                    bound,
                    requested: intent_id.to_string(),
                });
            }
        }
        if let Some(bound) = binding.tenant_id {
            if bound != self.inner.tenant_id {
                return Err(Error::TokenIntentMismatch {
                    bound_kind: "tenant",
                    bound,
                    requested: self.inner.tenant_id.clone(),
                });
            }
        }
        Ok(())
    }

    /// Sends one Harbor request with bearer + tenant, re-minting once on 401.
    async fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<Bytes>,
        idempotency_key: Option<&str>,
    ) -> Result<Resp> {
        self.call_in(method, url, body, idempotency_key, None).await
    }

    /// [`HarborClient::call`]; with `held`, the caller already holds a permit of the session
    /// (a background request), so a session that is closing lets it through.
    async fn call_in(
        &self,
        method: Method,
        url: &str,
        body: Option<Bytes>,
        idempotency_key: Option<&str>,
        held: Option<&crate::session::PendingGuard>,
    ) -> Result<Resp> {
        let _permit = match held {
            Some(_) => None,
            None => Some(self.inner.life.enter()?),
        };
        let deadline = self.inner.http.call_deadline();
        let mut token = self.inner.tokens.token_by(deadline).await?;
        let mut reminted = false;
        loop {
            let req = Req {
                method: method.clone(),
                url,
                bearer: Some(&token.access_token),
                tenant: Some(&self.inner.tenant_id),
                body: body.clone(),
                idempotency_key,
                retry: method == Method::GET || idempotency_key.is_some(),
            };
            let resp = self.inner.http.send(&req, deadline).await?;
            if resp.status.as_u16() == 401 && !reminted {
                reminted = true;
                tracing::debug!(target: "paybond_kit::harbor", url, "401 from Harbor; re-minting the JWT once");
                token = self
                    .inner
                    .tokens
                    .rotate_after(token.generation(), deadline)
                    .await?;
                continue;
            }
            return resp.require_success(Service::Harbor, url);
        }
    }

    /// `e` with every secret this session knows scrubbed from its texts.
    pub(crate) fn scrub(&self, e: Error) -> Error {
        let set = &self.inner.http.secrets;
        e.map_text(|t| set.scrub(t))
    }

    /// `text` with every secret this session knows scrubbed.
    pub fn scrub_text(&self, text: &str) -> String {
        self.inner.http.secrets.scrub(text)
    }

    /// Remembers a secret (capability token, seed hex) so that no text leaving the kit carries it.
    pub fn remember_secret(&self, value: &str) {
        self.inner.http.secrets.add(value)
    }

    pub(crate) fn remember_seed(&self, seed: &[u8; 32]) {
        self.inner.http.secrets.add_seed(seed)
    }

    fn check_tenant_echo(&self, got: &str, url: &str, field: &str) -> Result<()> {
        tenant_echo(&self.inner.tenant_id, got, url, field)
    }

    fn check_intent_echo(&self, got: &str, want: &Uuid, url: &str) -> Result<()> {
        intent_echo(got, want, url)
    }

    /// `POST /verify`: may this operation run, and reserve its spend.
    ///
    /// `Ok` carries Harbor's answer (allow or deny). Everything else (transport,
    /// HTTP >= 400, malformed answer, echo mismatch, a token bound to another
    /// intent) is an `Err`, which a guard treats as a deny.
    pub async fn verify_capability(&self, req: &VerifyRequest) -> Result<VerifyResponse> {
        if !req.token.is_empty() {
            self.remember_secret(req.token.expose());
        }
        crate::unwind::catch_unwind(self.verify_inner(req))
            .await
            .map(|mut v| {
                v.message = v.message.map(|m| self.scrub_text(&m));
                v.code = v.code.map(|m| self.scrub_text(&m));
                for r in &mut v.reason_codes {
                    *r = self.scrub_text(r);
                }
                v.decision_id = v.decision_id.map(|m| self.scrub_text(&m));
                // Logged only after scrubbing: Harbor's code and message are server text.
                tracing::debug!(
                    target: "paybond_kit::harbor", tenant = %self.inner.tenant_id,
                    intent = %v.intent_id, operation = %self.scrub_text(&req.operation),
                    allow = v.allow, code = v.code.as_deref().unwrap_or(""),
                    "verify"
                );
                v
            })
            .map_err(|e| self.scrub(e))
    }

    async fn verify_inner(&self, req: &VerifyRequest) -> Result<VerifyResponse> {
        let intent = parse_uuid("intent_id", &req.intent_id)?;
        if req.operation.trim().is_empty() {
            return Err(Error::invalid_argument("operation", "must not be empty"));
        }
        if req.token.is_empty() {
            return Err(Error::invalid_argument("token", "must not be empty"));
        }
        if req.requested_spend_cents > crate::input::MAX_SAFE_INTEGER {
            return Err(Error::invalid_argument(
                "requested_spend_cents",
                format!(
                    "expected an integer between 0 and 2^53-1, got {}",
                    req.requested_spend_cents
                ),
            ));
        }
        self.check_token_binding(&intent, &req.token)?;
        let generated;
        let key: &str = match &req.idempotency_key {
            Some(k) => k,
            None => {
                generated = Uuid::new_v4().to_string();
                &generated
            }
        };
        if key.is_empty() || key.len() > 256 {
            return Err(Error::invalid_argument(
                "idempotency_key",
                "expected 1-256 characters",
            ));
        }
        let mut body = Map::with_capacity(12);
        body.insert("intent_id".into(), Value::from(intent.to_string()));
        body.insert("token".into(), Value::from(req.token.expose()));
        body.insert("operation".into(), Value::from(req.operation.as_str()));
        body.insert(
            "requested_spend_cents".into(),
            Value::from(req.requested_spend_cents),
        );
        body.insert("idempotency_key".into(), Value::from(key));
        for (k, v) in [
            ("tool_name", &req.tool_name),
            ("tool_call_id", &req.tool_call_id),
            ("currency", &req.currency),
            ("agent_subject", &req.agent_subject),
            ("vendor_id", &req.vendor_id),
            ("task_id", &req.task_id),
            ("args_digest", &req.args_digest),
            ("workflow_id", &req.workflow_id),
        ] {
            if let Some(v) = v {
                body.insert(k.into(), Value::from(v.as_str()));
            }
        }
        let bytes = Bytes::from(serde_json::to_vec(&Value::Object(body)).map_err(Error::signing)?);
        let url = &self.inner.verify_url;
        let resp = self.call(Method::POST, url, Some(bytes), Some(key)).await?;
        let out = self.parse_verify(&resp, url, &intent)?;
        Ok(out)
    }

    fn parse_verify(&self, resp: &Resp, url: &str, intent: &Uuid) -> Result<VerifyResponse> {
        parse_verify_response(resp, url, &self.inner.tenant_id, intent)
    }
}

fn tenant_echo(bound: &str, got: &str, url: &str, field: &str) -> Result<()> {
    if got != bound {
        return Err(Error::TenantBinding {
            message: format!(
                "{url} answered `{field}` = {got:?}, but this client is bound to tenant {bound:?}"
            ),
        });
    }
    Ok(())
}

fn intent_echo(got: &str, want: &Uuid, url: &str) -> Result<()> {
    if Uuid::parse_str(got).ok().as_ref() != Some(want) {
        return Err(Error::TenantBinding {
            message: format!(
                "{url} answered `intent_id` = {got:?}, but the request named intent {want}"
            ),
        });
    }
    Ok(())
}

/// Reads a `/verify` answer by the wire contract: HTTP 200, declared JSON,
/// strict JSON (no duplicate keys), an object whose `allow` is exactly a JSON
/// boolean, a UUID `audit_id`, and echoes equal to the bound tenant and the
/// requested intent. Anything else is an error (a deny for a guard).
pub(crate) fn parse_verify_response(
    resp: &Resp,
    url: &str,
    bound_tenant: &str,
    intent: &Uuid,
) -> Result<VerifyResponse> {
    {
        if resp.status.as_u16() != 200 {
            return Err(Error::invalid_response(
                url,
                format!(
                    "verify must answer HTTP 200, got {} (never read as a decision)",
                    resp.status.as_u16()
                ),
            ));
        }
        let v = resp.json(url)?;
        if !v.is_object() {
            return Err(Error::invalid_response(url, "expected a JSON object"));
        }
        let allow = match v.get("allow") {
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(Error::invalid_response(
                    url,
                    format!("`allow` must be a JSON boolean, got {other}"),
                ))
            }
            None => return Err(Error::invalid_response(url, "field `allow` is missing")),
        };
        let audit_raw = str_field(&v, "audit_id", url)?;
        let audit_id = Uuid::parse_str(audit_raw).map_err(|_| {
            Error::invalid_response(url, format!("`audit_id` is not a UUID: {audit_raw:?}"))
        })?;
        let tenant = str_field(&v, "tenant", url)?;
        tenant_echo(bound_tenant, tenant, url, "tenant")?;
        let echoed_intent = str_field(&v, "intent_id", url)?;
        intent_echo(echoed_intent, intent, url)?;
        let remaining_cents = match v.get("remaining_cents") {
            None | Some(Value::Null) => None,
            // Exact in every language the kit serves (JavaScript numbers stop at 2^53 - 1).
            Some(n) => Some(
                n.as_i64()
                    .filter(|c| c.unsigned_abs() <= crate::input::MAX_SAFE_INTEGER)
                    .ok_or_else(|| {
                        Error::invalid_response(
                            url,
                            "`remaining_cents` is not an integer within +-(2^53 - 1)",
                        )
                    })?,
            ),
        };
        let reason_codes = match v.get("reason_codes") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| x.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| Error::invalid_response(url, "`reason_codes` must be strings"))?,
            Some(_) => {
                return Err(Error::invalid_response(
                    url,
                    "`reason_codes` must be an array",
                ))
            }
        };
        let retry_after =
            match v.get("retry_after") {
                None | Some(Value::Null) => None,
                Some(n) => Some(n.as_f64().filter(|f| f.is_finite()).ok_or_else(|| {
                    Error::invalid_response(url, "`retry_after` is not a number")
                })?),
            };
        let decision_id = opt_str(&v, "decision_id", url)?;
        let approval_request_id = opt_str(&v, "approval_request_id", url)?;
        if approval_request_id
            .as_deref()
            .is_some_and(|id| !valid_path_id(id))
        {
            return Err(Error::invalid_response(
                url,
                "`approval_request_id` must be 1-128 letters, digits, '-', '_' or '.'",
            ));
        }
        Ok(VerifyResponse {
            allow,
            audit_id,
            tenant: tenant.to_owned(),
            intent_id: intent.to_string(),
            code: opt_str(&v, "code", url)?,
            message: opt_str(&v, "message", url)?,
            decision_id,
            remaining_cents,
            reason_codes,
            retry_after,
            approval_request_id,
        })
    }
}

/// An id that is safe as one URL path segment.
fn valid_path_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && id != "."
        && id != ".."
}

impl HarborClient {
    /// Signs and sends `POST /intents` as the principal. The body is signed
    /// for this client's tenant; `input.tenant_id` is overwritten with it.
    pub async fn create_intent(
        &self,
        input: &IntentCreationInput,
        principal_signing_seed: &[u8; 32],
    ) -> Result<IntentCreated> {
        self.remember_seed(principal_signing_seed);
        let out =
            crate::unwind::catch_unwind(self.create_intent_inner(input, principal_signing_seed))
                .await
                .map_err(|e| self.scrub(e))?;
        if let Some(t) = &out.capability_token {
            self.remember_secret(t.expose());
        }
        Ok(out)
    }

    async fn create_intent_inner(
        &self,
        input: &IntentCreationInput,
        principal_signing_seed: &[u8; 32],
    ) -> Result<IntentCreated> {
        let mut input = input.clone();
        input.tenant_id = self.inner.tenant_id.clone();
        let body = sign_intent_creation(&input, principal_signing_seed)?;
        let intent = parse_uuid("intent_id", &input.intent_id)?;
        let url = self.inner.base.join("/intents");
        let key = format!("intent-create-{intent}");
        let resp = self
            .call(
                Method::POST,
                &url,
                Some(Bytes::from(intent_body_bytes(&body))),
                Some(&key),
            )
            .await?;
        let v = resp.json(&url)?;
        let out: IntentCreated = serde_json::from_value(v)
            .map_err(|e| Error::invalid_response(&url, format!("unexpected shape ({e})")))?;
        self.check_tenant_echo(&out.tenant, &url, "tenant")?;
        self.check_intent_echo(&out.intent_id, &intent, &url)?;
        Ok(out)
    }

    /// `POST /intents/{intent_id}/evidence` with an idempotency key (generated when `None`).
    /// Retrying with the same key and body lands once; a different body under the same key is a 409.
    pub async fn submit_evidence(
        &self,
        intent_id: &str,
        body: &EvidenceBody,
        idempotency_key: Option<&str>,
    ) -> Result<EvidenceReceipt> {
        crate::unwind::catch_unwind(self.submit_evidence_inner(intent_id, body, idempotency_key))
            .await
            .map_err(|e| self.scrub(e))
    }

    async fn submit_evidence_inner(
        &self,
        intent_id: &str,
        body: &EvidenceBody,
        idempotency_key: Option<&str>,
    ) -> Result<EvidenceReceipt> {
        let intent = parse_uuid("intent_id", intent_id)?;
        let generated;
        let key = match idempotency_key {
            Some(k) => k,
            None => {
                generated = Uuid::new_v4().to_string();
                &generated
            }
        };
        if key.is_empty() || key.len() > 256 {
            return Err(Error::invalid_argument(
                "idempotency_key",
                "expected 1-256 characters",
            ));
        }
        let url = self.inner.base.join(&format!("/intents/{intent}/evidence"));
        let bytes = Bytes::from(serde_json::to_vec(body).map_err(Error::signing)?);
        let resp = self
            .call(Method::POST, &url, Some(bytes), Some(key))
            .await?;
        let v = resp.json(&url)?;
        let out: EvidenceReceipt = serde_json::from_value(v)
            .map_err(|e| Error::invalid_response(&url, format!("unexpected shape ({e})")))?;
        self.check_tenant_echo(&out.tenant, &url, "tenant")?;
        self.check_intent_echo(&out.intent_id, &intent, &url)?;
        Ok(out)
    }

    /// `POST /v1/spend/decisions/{decision_id}/complete`: tells Harbor how an
    /// allowed call ended (`consumed` after success, `released` otherwise).
    /// Idempotent (retried with a key derived from the decision). `Ok(None)`
    /// when this Harbor does not have the route (HTTP 404 on the route): logged
    /// once, and the budget stays reserved until Harbor's hold period ends.
    pub async fn complete_decision(
        &self,
        decision_id: &str,
        outcome: SpendOutcome,
    ) -> Result<Option<SpendCompletion>> {
        self.complete_guarded(decision_id, outcome, None).await
    }

    /// [`HarborClient::complete_decision`] sent in the background: `held` is the session
    /// permit it took when it started, so it still goes out while the session closes.
    pub(crate) async fn complete_decision_held(
        &self,
        decision_id: &str,
        outcome: SpendOutcome,
        held: &crate::session::PendingGuard,
    ) -> Result<Option<SpendCompletion>> {
        self.complete_guarded(decision_id, outcome, Some(held))
            .await
    }

    /// `complete_inner` under the unwind guard, its error scrubbed of secrets.
    async fn complete_guarded(
        &self,
        decision_id: &str,
        outcome: SpendOutcome,
        held: Option<&crate::session::PendingGuard>,
    ) -> Result<Option<SpendCompletion>> {
        crate::unwind::catch_unwind(self.complete_inner(decision_id, outcome, held))
            .await
            .map_err(|e| self.scrub(e))
    }

    async fn complete_inner(
        &self,
        decision_id: &str,
        outcome: SpendOutcome,
        held: Option<&crate::session::PendingGuard>,
    ) -> Result<Option<SpendCompletion>> {
        use std::sync::atomic::Ordering;
        // A Harbor that answered 404 on the route has none: do not ask on every call.
        if self.inner.completion_unsupported.load(Ordering::Relaxed) {
            return Ok(None);
        }
        if decision_id.trim().is_empty() || decision_id.len() > 256 {
            return Err(Error::invalid_argument(
                "decision_id",
                "expected the allow's decision id (1-256 characters)",
            ));
        }
        let url = self.inner.base.join(&format!(
            "/v1/spend/decisions/{}/complete",
            crate::signal::encode_component(decision_id)
        ));
        let key = format!(
            "pbk-complete-{}",
            &blake3::hash(decision_id.as_bytes()).to_hex()[..40]
        );
        let body = Bytes::from(
            serde_json::to_vec(&serde_json::json!({ "outcome": outcome.as_str() }))
                .map_err(Error::signing)?,
        );
        let resp = match self
            .call_in(Method::POST, &url, Some(body), Some(&key), held)
            .await
        {
            Err(Error::HarborHttp {
                status_code: 404,
                body_text,
                ..
            }) if !body_text.contains("decision_not_found") => {
                if !self
                    .inner
                    .completion_unsupported
                    .swap(true, Ordering::Relaxed)
                {
                    tracing::warn!(
                        target: "paybond_kit::harbor", url = %url,
                        "this Harbor has no spend-completion route (HTTP 404); reservations stay until Harbor's hold period ends"
                    );
                }
                return Ok(None);
            }
            other => other?,
        };
        let v = resp.json(&url)?;
        let out: SpendCompletion = serde_json::from_value(v)
            .map_err(|e| Error::invalid_response(&url, format!("unexpected shape ({e})")))?;
        self.check_tenant_echo(&out.tenant, &url, "tenant")?;
        if out.decision_id != decision_id {
            return Err(Error::invalid_response(
                &url,
                "the answer names another decision_id",
            ));
        }
        if out.outcome != outcome {
            return Err(Error::invalid_response(
                &url,
                format!(
                    "asked to record {:?}, Harbor recorded {:?}",
                    outcome.as_str(),
                    out.outcome.as_str()
                ),
            ));
        }
        Ok(Some(out))
    }

    /// Records a reviewer's decision on an approval request:
    /// `POST /v1/approvals/{approval_request_id}` with
    /// `{"decision": "approve" | "reject", "reason"?}`. Harbor decides who
    /// may review (the dev server accepts the tenant's API key or its Harbor
    /// token). Deciding the same way twice is idempotent; the other way is an
    /// HTTP 409 error. After `approve`, verifying the same call again reserves
    /// its spend once.
    pub async fn decide_approval(
        &self,
        approval_request_id: &str,
        approve: bool,
        reason: Option<&str>,
    ) -> Result<ApprovalDecision> {
        crate::unwind::catch_unwind(self.decide_approval_inner(
            approval_request_id,
            approve,
            reason,
        ))
        .await
        .map_err(|e| self.scrub(e))
    }

    async fn decide_approval_inner(
        &self,
        id: &str,
        approve: bool,
        reason: Option<&str>,
    ) -> Result<ApprovalDecision> {
        if !valid_path_id(id) {
            return Err(Error::invalid_argument(
                "approval_request_id",
                "expected the id Harbor gave (1-128 letters, digits, '-', '_' or '.')",
            ));
        }
        if reason.is_some_and(|r| r.len() > 2000) {
            return Err(Error::invalid_argument(
                "reason",
                "expected at most 2000 bytes",
            ));
        }
        let decision = if approve { "approve" } else { "reject" };
        let url = self.inner.base.join(&format!("/v1/approvals/{id}"));
        let mut body = serde_json::json!({ "decision": decision });
        if let Some(r) = reason {
            body["reason"] = r.into();
        }
        let key = format!(
            "pbk-approval-{}",
            &blake3::hash(format!("{id}\n{decision}").as_bytes()).to_hex()[..40]
        );
        let body = Bytes::from(serde_json::to_vec(&body).map_err(Error::signing)?);
        let resp = self
            .call(Method::POST, &url, Some(body), Some(&key))
            .await?;
        let v = resp.json(&url)?;
        let tenant = str_field(&v, "tenant", &url)?;
        self.check_tenant_echo(tenant, &url, "tenant")?;
        let out: ApprovalDecision = serde_json::from_value(v)
            .map_err(|e| Error::invalid_response(&url, format!("unexpected shape ({e})")))?;
        if out.approval_request_id != id {
            return Err(Error::invalid_response(
                &url,
                "the answer names another approval_request_id",
            ));
        }
        let wanted = if approve { "approved" } else { "rejected" };
        if out.status != wanted {
            return Err(Error::invalid_response(
                &url,
                format!(
                    "asked to record {decision:?}, Harbor answered status {:?}",
                    out.status
                ),
            ));
        }
        Ok(out)
    }

    async fn ledger_get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T> {
        crate::unwind::catch_unwind(self.ledger_get_inner(path))
            .await
            .map_err(|e| self.scrub(e))
    }

    async fn ledger_get_inner<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T> {
        let url = self.inner.base.join(path);
        let resp = self.call(Method::GET, &url, None, None).await?;
        let v = resp.json(&url)?;
        let tenant = str_field(&v, "tenant_id", &url)?;
        self.check_tenant_echo(tenant, &url, "tenant_id")?;
        serde_json::from_value(v)
            .map_err(|e| Error::invalid_response(&url, format!("unexpected shape ({e})")))
    }

    /// `GET /ledger/v1/tip`.
    pub async fn ledger_tip(&self) -> Result<LedgerTip> {
        self.ledger_get("/ledger/v1/tip").await
    }

    /// `GET /ledger/v1/authority`.
    pub async fn ledger_authority(&self) -> Result<LedgerAuthority> {
        self.ledger_get("/ledger/v1/authority").await
    }

    /// `GET /ledger/v1/events?after_seq=N&limit=L` (exclusive cursor; limit 1..=256, default 64).
    pub async fn ledger_events(
        &self,
        after_seq: Option<u64>,
        limit: Option<u32>,
    ) -> Result<LedgerEventsPage> {
        let limit = limit.unwrap_or(64);
        if !(1..=256).contains(&limit) {
            return Err(Error::invalid_argument(
                "limit",
                format!("expected 1..=256, got {limit}"),
            ));
        }
        let mut path = format!("/ledger/v1/events?limit={limit}");
        if let Some(a) = after_seq {
            path.push_str(&format!("&after_seq={a}"));
        }
        self.ledger_get(&path).await
    }

    /// `GET /ledger/v1/merkle/latest`.
    pub async fn ledger_merkle_latest(&self) -> Result<MerkleLatest> {
        self.ledger_get("/ledger/v1/merkle/latest").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Resp;
    use proptest::prelude::*;

    const URL: &str = "http://127.0.0.1:1/verify";
    const TENANT: &str = "tenant-a";

    fn intent() -> Uuid {
        Uuid::parse_str("7f2a9b1e-2f66-4f4f-9c6e-8f4b8e85c401").unwrap()
    }

    fn parse(status: u16, ct: Option<&str>, body: &[u8]) -> Result<VerifyResponse> {
        parse_verify_response(&Resp::for_test(status, ct, body), URL, TENANT, &intent())
    }

    fn allow_body() -> String {
        format!(
            r#"{{"allow":true,"audit_id":"{}","tenant":"{TENANT}","intent_id":"{}"}}"#,
            Uuid::nil(),
            intent()
        )
    }

    fn deny_body(extra: &str) -> String {
        format!(
            r#"{{"allow":false,"audit_id":"{}","tenant":"{TENANT}","intent_id":"{}"{extra}}}"#,
            Uuid::nil(),
            intent()
        )
    }

    #[test]
    fn approval_needs_both_a_flag_and_a_safe_id() {
        let p = |extra: &str| parse(200, Some("application/json"), deny_body(extra).as_bytes());
        let by_code = p(r#","code":"approval_required","approval_request_id":"ap-1""#).unwrap();
        assert_eq!(by_code.pending_approval(), Some("ap-1"));
        let by_reason =
            p(r#","reason_codes":["approval_quorum_incomplete"],"approval_request_id":"ap-2""#)
                .unwrap();
        assert_eq!(by_reason.pending_approval(), Some("ap-2"));
        // Flagged without an id, or an id without a flag: a plain deny.
        assert_eq!(
            p(r#","code":"approval_required""#)
                .unwrap()
                .pending_approval(),
            None
        );
        assert_eq!(
            p(r#","code":"budget_exceeded","approval_request_id":"ap-3""#)
                .unwrap()
                .pending_approval(),
            None
        );
        // An allow never waits.
        let allow = allow_body().replace(
            "\"allow\":true",
            "\"allow\":true,\"code\":\"approval_required\",\"approval_request_id\":\"x\"",
        );
        assert_eq!(
            parse(200, Some("application/json"), allow.as_bytes())
                .unwrap()
                .pending_approval(),
            None
        );
        // An id that is not one safe path segment is a malformed answer.
        for bad in [r#""../x""#, r#""a/b""#, r#""""#, "7"] {
            let e = p(&format!(
                r#","code":"approval_required","approval_request_id":{bad}"#
            ));
            assert!(e.is_err(), "{bad}");
        }
    }

    #[test]
    fn only_a_genuine_allow_is_an_allow() {
        let good = allow_body();
        assert!(
            parse(200, Some("application/json"), good.as_bytes())
                .unwrap()
                .allow
        );
        assert!(parse(
            200,
            Some("application/problem+json; charset=utf-8"),
            good.as_bytes()
        )
        .is_ok());
        let dup = good.replacen(
            "{\"allow\":true",
            "{\"allow\":false,\"\\u0061llow\":true",
            1,
        );
        let foreign_tenant = good.replacen("{", "{\"tenant\":\"tenant-b\",", 1);
        for (status, ct, body) in [
            (201, Some("application/json"), good.clone()),
            (204, Some("application/json"), good.clone()),
            (300, Some("application/json"), good.clone()),
            (200, Some("text/html"), good.clone()),
            (200, None, good.clone()),
            (200, Some("application/jsonx"), good.clone()),
            (200, Some("application/json"), dup),
            (200, Some("application/json"), foreign_tenant),
            (
                200,
                Some("application/json"),
                good.replace("true", "\"true\""),
            ),
            (200, Some("application/json"), good.replace("true", "1")),
            (200, Some("application/json"), format!("\u{feff}{good}")),
            (200, Some("application/json"), format!("{good} {{}}")),
            (200, Some("application/json"), "null".into()),
            (200, Some("application/json"), "[]".into()),
            (200, Some("application/json"), String::new()),
        ] {
            assert!(
                parse(status, ct, body.as_bytes()).is_err(),
                "{status} {ct:?} {body}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic_and_never_allow(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(v) = parse(200, Some("application/json"), &body) {
                // Only a body whose `allow` is exactly one JSON `true` may be an allow.
                let strict = crate::json::parse_strict(&body).unwrap();
                prop_assert_eq!(v.allow, strict.get("allow") == Some(&Value::Bool(true)));
            }
        }

        #[test]
        fn mutated_allow_values_are_never_an_allow(
            allow in prop_oneof![
                Just("1".to_owned()), Just("\"true\"".to_owned()), Just("null".to_owned()),
                Just("[true]".to_owned()), Just("{\"v\":true}".to_owned()), Just("1e400".to_owned()),
                Just("tru".to_owned()), Just("TRUE".to_owned()), "[a-z0-9\"{}\\[\\]]{0,8}"
            ],
            dup in any::<bool>(),
        ) {
            let mut body = allow_body().replacen("\"allow\":true", &format!("\"allow\":{allow}"), 1);
            if dup {
                body = body.replacen('{', "{\"allow\":true,", 1);
            }
            if let Ok(v) = parse(200, Some("application/json"), body.as_bytes()) {
                prop_assert!(!v.allow || (allow == "true" && !dup), "{}", body);
            }
        }

        #[test]
        fn strict_json_agrees_with_serde_json_on_duplicate_free_values(v in arb_json()) {
            let text = serde_json::to_vec(&v).unwrap();
            prop_assert_eq!(crate::json::parse_strict(&text).unwrap(), serde_json::from_slice::<Value>(&text).unwrap());
        }
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
                .map(Value::Number)),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::btree_map(".{0,8}", inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
