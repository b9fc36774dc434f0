//! `paybond_kit._native`: PyO3 handles over the Rust core. Private: users
//! import `paybond_kit`, whose pure-Python layer types the results and maps
//! names. Every call releases the GIL while it waits on I/O.

mod bridge;
mod convert;
mod logging;

use convert::{from_py, invalid_argument, to_py_err, Json};
use paybond_kit::evidence::{EvidenceBody, EvidenceInput, EvidenceSignVersion};
use paybond_kit::guard::{EvidenceSigner, GuardOptions, ToolCall, ToolGuard};
use paybond_kit::harbor::{HarborClient, VerifyRequest};
use paybond_kit::{
    GatewayHarborTokenProvider, HttpOptions, Secret, ServiceAccountHarborSession,
    ServiceAccountSignalSession, SessionOptions,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use pyo3::IntoPyObjectExt;
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The kit's tokio runtime: one per process, shared by every session and the dev server.
fn rt() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("paybond-kit")
            .build()
            .expect("paybond_kit: cannot start the tokio runtime")
    })
}

/// Runs `fut` on the kit's tokio runtime and returns an awaitable.
fn awaitable<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = paybond_kit::Result<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    bridge::spawn(py, rt(), fut, |py, r| {
        r.map_err(to_py_err).and_then(|v| v.into_py_any(py))
    })
}

/// Runs `fut` to completion with the GIL released.
fn blocking<F, T>(py: Python<'_>, fut: F) -> PyResult<T>
where
    F: Future<Output = paybond_kit::Result<T>> + Send,
    T: Send,
{
    py.detach(|| rt().block_on(fut)).map_err(to_py_err)
}

fn to_json<T: serde::Serialize>(v: &T) -> Json {
    Json(serde_json::to_value(v).unwrap_or(Value::Null))
}

fn session_options(
    timeout_seconds: f64,
    max_retries: u32,
    refresh_skew_seconds: f64,
    expected_tenant_id: Option<String>,
    expected_environment: Option<String>,
) -> PyResult<SessionOptions> {
    if !(timeout_seconds.is_finite() && timeout_seconds > 0.0) {
        return Err(Python::attach(|py| {
            invalid_argument(py, "timeout_seconds", "expected a number of seconds > 0")
        }));
    }
    if !(refresh_skew_seconds.is_finite() && refresh_skew_seconds >= 0.0) {
        return Err(Python::attach(|py| {
            invalid_argument(
                py,
                "refresh_skew_seconds",
                "expected a number of seconds >= 0",
            )
        }));
    }
    if max_retries == 0 {
        return Err(Python::attach(|py| {
            invalid_argument(py, "max_retries", "expected total attempts >= 1")
        }));
    }
    Ok(SessionOptions {
        http: HttpOptions {
            timeout: Duration::from_secs_f64(timeout_seconds),
            max_retries,
            ..HttpOptions::default()
        },
        refresh_skew: Duration::from_secs_f64(refresh_skew_seconds),
        expected_tenant_id,
        expected_environment,
    })
}

fn seed_arg(py: Python<'_>, field: &str, seed: &Bound<'_, PyAny>) -> PyResult<[u8; 32]> {
    if let Ok(b) = seed.cast::<PyBytes>() {
        return b
            .as_bytes()
            .try_into()
            .map_err(|_| invalid_argument(py, field, "expected 32 bytes"));
    }
    let s: String = seed
        .extract()
        .map_err(|_| invalid_argument(py, field, "expected 64 hex digits or 32 bytes"))?;
    paybond_kit::evidence::seed_from_hex(field, &s).map_err(to_py_err)
}

fn spend_arg(py: Python<'_>, field: &str, v: i64) -> PyResult<u64> {
    u64::try_from(v).map_err(|_| invalid_argument(py, field, "expected an integer >= 0"))
}

/// A Harbor session opened from one service-account API key.
#[pyclass(frozen, module = "paybond_kit._native")]
struct HarborSession {
    inner: ServiceAccountHarborSession,
}

#[pymethods]
impl HarborSession {
    #[staticmethod]
    #[pyo3(signature = (gateway_base_url, api_key, harbor_base_url, timeout_seconds=30.0, max_retries=3, refresh_skew_seconds=90.0, expected_tenant_id=None))]
    #[allow(clippy::too_many_arguments)]
    fn open<'py>(
        py: Python<'py>,
        gateway_base_url: String,
        api_key: String,
        harbor_base_url: String,
        timeout_seconds: f64,
        max_retries: u32,
        refresh_skew_seconds: f64,
        expected_tenant_id: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let opts = session_options(
            timeout_seconds,
            max_retries,
            refresh_skew_seconds,
            expected_tenant_id,
            None,
        )?;
        awaitable(py, async move {
            ServiceAccountHarborSession::open(&gateway_base_url, api_key, &harbor_base_url, opts)
                .await
                .map(|inner| HarborSession { inner })
        })
    }

    #[staticmethod]
    #[pyo3(signature = (gateway_base_url, api_key, harbor_base_url, timeout_seconds=30.0, max_retries=3, refresh_skew_seconds=90.0, expected_tenant_id=None))]
    #[allow(clippy::too_many_arguments)]
    fn open_sync(
        py: Python<'_>,
        gateway_base_url: String,
        api_key: String,
        harbor_base_url: String,
        timeout_seconds: f64,
        max_retries: u32,
        refresh_skew_seconds: f64,
        expected_tenant_id: Option<String>,
    ) -> PyResult<HarborSession> {
        let opts = session_options(
            timeout_seconds,
            max_retries,
            refresh_skew_seconds,
            expected_tenant_id,
            None,
        )?;
        blocking(py, async move {
            ServiceAccountHarborSession::open(&gateway_base_url, api_key, &harbor_base_url, opts)
                .await
                .map(|inner| HarborSession { inner })
        })
    }

    #[getter]
    fn tenant_id(&self) -> String {
        self.inner.tenant_id().to_owned()
    }

    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    fn harbor(&self) -> HarborClientHandle {
        HarborClientHandle {
            inner: self.inner.harbor().clone(),
        }
    }

    fn token_provider(&self) -> TokenProvider {
        TokenProvider {
            inner: self.inner.token_provider().clone(),
        }
    }

    fn rotate_harbor_token<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = self.inner.clone();
        awaitable(py, async move { s.rotate_harbor_token().await })
    }

    fn rotate_harbor_token_sync(&self, py: Python<'_>) -> PyResult<()> {
        blocking(py, self.inner.rotate_harbor_token())
    }

    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = self.inner.clone();
        awaitable(py, async move {
            s.close().await;
            Ok(())
        })
    }

    fn close_sync(&self, py: Python<'_>) -> PyResult<()> {
        blocking(py, async {
            self.inner.close().await;
            Ok(())
        })
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}

/// Harbor calls bound to the session's tenant.
#[pyclass(frozen, name = "HarborClient", module = "paybond_kit._native")]
struct HarborClientHandle {
    inner: HarborClient,
}

#[allow(clippy::too_many_arguments)]
fn verify_request(
    py: Python<'_>,
    intent_id: String,
    token: String,
    operation: String,
    requested_spend_cents: i64,
    tool_name: Option<String>,
    tool_call_id: Option<String>,
    idempotency_key: Option<String>,
    currency: Option<String>,
    agent_subject: Option<String>,
    vendor_id: Option<String>,
    task_id: Option<String>,
    workflow_id: Option<String>,
) -> PyResult<VerifyRequest> {
    Ok(VerifyRequest {
        intent_id,
        token: Secret::new(token),
        operation,
        requested_spend_cents: spend_arg(py, "requested_spend_cents", requested_spend_cents)?,
        tool_name,
        tool_call_id,
        idempotency_key,
        currency,
        agent_subject,
        vendor_id,
        task_id,
        workflow_id,
    })
}

fn evidence_body(py: Python<'_>, body: &Bound<'_, PyAny>) -> PyResult<EvidenceBody> {
    let v = from_py(body, "body")?;
    serde_json::from_value(v).map_err(|e| invalid_argument(py, "body", &format!("expected an evidence body (payload, artifacts, payee_did, payee_pubkey, payee_signature, submitted_at): {e}")))
}

#[pymethods]
impl HarborClientHandle {
    #[getter]
    fn tenant_id(&self) -> String {
        self.inner.tenant_id().to_owned()
    }

    #[getter]
    fn base_url(&self) -> String {
        self.inner.base_url().to_owned()
    }

    #[pyo3(signature = (intent_id, token, operation, requested_spend_cents, tool_name=None, tool_call_id=None, idempotency_key=None, currency=None, agent_subject=None, vendor_id=None, task_id=None, workflow_id=None))]
    #[allow(clippy::too_many_arguments)]
    fn verify_capability<'py>(
        &self,
        py: Python<'py>,
        intent_id: String,
        token: String,
        operation: String,
        requested_spend_cents: i64,
        tool_name: Option<String>,
        tool_call_id: Option<String>,
        idempotency_key: Option<String>,
        currency: Option<String>,
        agent_subject: Option<String>,
        vendor_id: Option<String>,
        task_id: Option<String>,
        workflow_id: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let req = verify_request(
            py,
            intent_id,
            token,
            operation,
            requested_spend_cents,
            tool_name,
            tool_call_id,
            idempotency_key,
            currency,
            agent_subject,
            vendor_id,
            task_id,
            workflow_id,
        )?;
        let c = self.inner.clone();
        awaitable(py, async move {
            c.verify_capability(&req).await.map(|r| to_json(&r))
        })
    }

    #[pyo3(signature = (intent_id, token, operation, requested_spend_cents, tool_name=None, tool_call_id=None, idempotency_key=None, currency=None, agent_subject=None, vendor_id=None, task_id=None, workflow_id=None))]
    #[allow(clippy::too_many_arguments)]
    fn verify_capability_sync(
        &self,
        py: Python<'_>,
        intent_id: String,
        token: String,
        operation: String,
        requested_spend_cents: i64,
        tool_name: Option<String>,
        tool_call_id: Option<String>,
        idempotency_key: Option<String>,
        currency: Option<String>,
        agent_subject: Option<String>,
        vendor_id: Option<String>,
        task_id: Option<String>,
        workflow_id: Option<String>,
    ) -> PyResult<Json> {
        let req = verify_request(
            py,
            intent_id,
            token,
            operation,
            requested_spend_cents,
            tool_name,
            tool_call_id,
            idempotency_key,
            currency,
            agent_subject,
            vendor_id,
            task_id,
            workflow_id,
        )?;
        blocking(py, async {
            self.inner
                .verify_capability(&req)
                .await
                .map(|r| to_json(&r))
        })
    }

    #[pyo3(signature = (intent_id, body, idempotency_key=None))]
    fn submit_evidence<'py>(
        &self,
        py: Python<'py>,
        intent_id: String,
        body: &Bound<'py, PyAny>,
        idempotency_key: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let body = evidence_body(py, body)?;
        let c = self.inner.clone();
        awaitable(py, async move {
            c.submit_evidence(&intent_id, &body, idempotency_key.as_deref())
                .await
                .map(|r| to_json(&r))
        })
    }

    #[pyo3(signature = (intent_id, body, idempotency_key=None))]
    fn submit_evidence_sync(
        &self,
        py: Python<'_>,
        intent_id: String,
        body: &Bound<'_, PyAny>,
        idempotency_key: Option<String>,
    ) -> PyResult<Json> {
        let body = evidence_body(py, body)?;
        blocking(py, async {
            self.inner
                .submit_evidence(&intent_id, &body, idempotency_key.as_deref())
                .await
                .map(|r| to_json(&r))
        })
    }

    /// `input` is a dict of `IntentCreationInput` fields (payee_pubkey: standard base64).
    fn create_intent<'py>(
        &self,
        py: Python<'py>,
        input: &Bound<'py, PyAny>,
        principal_signing_seed: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (inp, seed) = intent_input(py, input, principal_signing_seed)?;
        let c = self.inner.clone();
        awaitable(py, async move {
            c.create_intent(&inp, &seed).await.map(|r| to_json(&r))
        })
    }

    fn create_intent_sync(
        &self,
        py: Python<'_>,
        input: &Bound<'_, PyAny>,
        principal_signing_seed: &Bound<'_, PyAny>,
    ) -> PyResult<Json> {
        let (inp, seed) = intent_input(py, input, principal_signing_seed)?;
        blocking(py, async {
            self.inner
                .create_intent(&inp, &seed)
                .await
                .map(|r| to_json(&r))
        })
    }

    /// `which` is `tip`, `authority` or `merkle_latest`; `events` takes the cursor arguments.
    fn ledger<'py>(&self, py: Python<'py>, which: String) -> PyResult<Bound<'py, PyAny>> {
        let c = self.inner.clone();
        awaitable(py, async move { ledger_read(&c, &which).await })
    }

    fn ledger_sync(&self, py: Python<'_>, which: String) -> PyResult<Json> {
        blocking(py, ledger_read(&self.inner, &which))
    }

    #[pyo3(signature = (after_seq=None, limit=None))]
    fn ledger_events<'py>(
        &self,
        py: Python<'py>,
        after_seq: Option<u64>,
        limit: Option<u32>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = self.inner.clone();
        awaitable(py, async move {
            c.ledger_events(after_seq, limit).await.map(|r| to_json(&r))
        })
    }

    #[pyo3(signature = (after_seq=None, limit=None))]
    fn ledger_events_sync(
        &self,
        py: Python<'_>,
        after_seq: Option<u64>,
        limit: Option<u32>,
    ) -> PyResult<Json> {
        blocking(py, async {
            self.inner
                .ledger_events(after_seq, limit)
                .await
                .map(|r| to_json(&r))
        })
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}

async fn ledger_read(c: &HarborClient, which: &str) -> paybond_kit::Result<Json> {
    match which {
        "tip" => c.ledger_tip().await.map(|r| to_json(&r)),
        "authority" => c.ledger_authority().await.map(|r| to_json(&r)),
        "merkle_latest" => c.ledger_merkle_latest().await.map(|r| to_json(&r)),
        other => Err(paybond_kit::Error::invalid_argument(
            "which",
            format!("unknown ledger read {other:?}"),
        )),
    }
}

fn intent_input(
    py: Python<'_>,
    input: &Bound<'_, PyAny>,
    seed: &Bound<'_, PyAny>,
) -> PyResult<(paybond_kit::intent::IntentCreationInput, [u8; 32])> {
    let inp = paybond_kit::intent::IntentCreationInput::from_json(&from_py(input, "input")?)
        .map_err(to_py_err)?;
    Ok((inp, seed_arg(py, "principal_signing_seed", seed)?))
}

/// Exchanges an API key for Harbor JWTs and keeps one fresh.
#[pyclass(frozen, module = "paybond_kit._native")]
struct TokenProvider {
    inner: GatewayHarborTokenProvider,
}

#[pymethods]
impl TokenProvider {
    #[new]
    #[pyo3(signature = (gateway_base_url, api_key, timeout_seconds=30.0, max_retries=3, refresh_skew_seconds=90.0))]
    fn new(
        gateway_base_url: String,
        api_key: String,
        timeout_seconds: f64,
        max_retries: u32,
        refresh_skew_seconds: f64,
    ) -> PyResult<Self> {
        let opts = session_options(
            timeout_seconds,
            max_retries,
            refresh_skew_seconds,
            None,
            None,
        )?;
        // reqwest's client needs a runtime context to be built.
        let _g = rt().enter();
        GatewayHarborTokenProvider::new(&gateway_base_url, Secret::new(api_key), &opts)
            .map(|inner| TokenProvider { inner })
            .map_err(to_py_err)
    }

    #[getter]
    fn tenant_id(&self) -> Option<String> {
        self.inner.tenant_id()
    }

    #[getter]
    fn exchange_count(&self) -> u64 {
        self.inner.exchange_count()
    }

    fn bearer<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let p = self.inner.clone();
        awaitable(py, async move {
            p.bearer().await.map(|s| s.expose().to_owned())
        })
    }

    fn bearer_sync(&self, py: Python<'_>) -> PyResult<String> {
        blocking(py, async {
            self.inner.bearer().await.map(|s| s.expose().to_owned())
        })
    }

    fn force_rotate<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let p = self.inner.clone();
        awaitable(py, async move { p.force_rotate().await.map(|_| ()) })
    }

    fn force_rotate_sync(&self, py: Python<'_>) -> PyResult<()> {
        blocking(py, async { self.inner.force_rotate().await.map(|_| ()) })
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}

/// A Signal session (tenant from the key's principal).
#[pyclass(frozen, module = "paybond_kit._native")]
struct SignalSession {
    inner: ServiceAccountSignalSession,
}

async fn signal_read(
    s: &ServiceAccountSignalSession,
    which: &str,
    did: Option<&str>,
    score_version: Option<&str>,
) -> paybond_kit::Result<Json> {
    let sig = s.signal();
    let did_req =
        || did.ok_or_else(|| paybond_kit::Error::invalid_argument("operator_did", "required"));
    match which {
        "reputation_receipt" => sig
            .reputation_receipt(did_req()?, score_version)
            .await
            .map(|r| to_json(&r)),
        "portfolio_summary" => sig
            .portfolio_summary(score_version)
            .await
            .map(|r| to_json(&r)),
        "operator_explanation" => sig
            .operator_explanation(did_req()?, score_version)
            .await
            .map(|r| to_json(&r)),
        "operator_review_status" => sig
            .operator_review_status(did_req()?, score_version)
            .await
            .map(|r| to_json(&r)),
        other => Err(paybond_kit::Error::invalid_argument(
            "which",
            format!("unknown Signal read {other:?}"),
        )),
    }
}

#[pymethods]
impl SignalSession {
    #[staticmethod]
    #[pyo3(signature = (gateway_base_url, api_key, timeout_seconds=30.0, max_retries=3, expected_environment=None, expected_tenant_id=None, trusted_signing_key_hex=None))]
    #[allow(clippy::too_many_arguments)]
    fn open<'py>(
        py: Python<'py>,
        gateway_base_url: String,
        api_key: String,
        timeout_seconds: f64,
        max_retries: u32,
        expected_environment: Option<String>,
        expected_tenant_id: Option<String>,
        trusted_signing_key_hex: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let opts = session_options(
            timeout_seconds,
            max_retries,
            90.0,
            expected_tenant_id,
            expected_environment,
        )?;
        awaitable(py, async move {
            open_signal(gateway_base_url, api_key, opts, trusted_signing_key_hex).await
        })
    }

    #[staticmethod]
    #[pyo3(signature = (gateway_base_url, api_key, timeout_seconds=30.0, max_retries=3, expected_environment=None, expected_tenant_id=None, trusted_signing_key_hex=None))]
    #[allow(clippy::too_many_arguments)]
    fn open_sync(
        py: Python<'_>,
        gateway_base_url: String,
        api_key: String,
        timeout_seconds: f64,
        max_retries: u32,
        expected_environment: Option<String>,
        expected_tenant_id: Option<String>,
        trusted_signing_key_hex: Option<String>,
    ) -> PyResult<SignalSession> {
        let opts = session_options(
            timeout_seconds,
            max_retries,
            90.0,
            expected_tenant_id,
            expected_environment,
        )?;
        blocking(
            py,
            open_signal(gateway_base_url, api_key, opts, trusted_signing_key_hex),
        )
    }

    #[getter]
    fn tenant_id(&self) -> String {
        self.inner.tenant_id().to_owned()
    }

    fn principal(&self) -> Json {
        to_json(self.inner.principal())
    }

    #[pyo3(signature = (which, operator_did=None, score_version=None))]
    fn read<'py>(
        &self,
        py: Python<'py>,
        which: String,
        operator_did: Option<String>,
        score_version: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let s = self.inner.clone();
        awaitable(py, async move {
            signal_read(
                &s,
                &which,
                operator_did.as_deref(),
                score_version.as_deref(),
            )
            .await
        })
    }

    #[pyo3(signature = (which, operator_did=None, score_version=None))]
    fn read_sync(
        &self,
        py: Python<'_>,
        which: String,
        operator_did: Option<String>,
        score_version: Option<String>,
    ) -> PyResult<Json> {
        blocking(
            py,
            signal_read(
                &self.inner,
                &which,
                operator_did.as_deref(),
                score_version.as_deref(),
            ),
        )
    }

    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = self.inner.clone();
        awaitable(py, async move {
            s.close().await;
            Ok(())
        })
    }

    fn close_sync(&self, py: Python<'_>) -> PyResult<()> {
        blocking(py, async {
            self.inner.close().await;
            Ok(())
        })
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}

async fn open_signal(
    gateway: String,
    key: String,
    opts: SessionOptions,
    trusted: Option<String>,
) -> paybond_kit::Result<SignalSession> {
    let s = ServiceAccountSignalSession::open(&gateway, key, opts).await?;
    let s = match trusted {
        Some(k) => s.with_trusted_signing_key(&k)?,
        None => s,
    };
    Ok(SignalSession { inner: s })
}

/// The framework-neutral guard for one intent and capability token.
#[pyclass(frozen, name = "ToolGuard", module = "paybond_kit._native")]
struct ToolGuardHandle {
    inner: ToolGuard,
}

#[pymethods]
impl ToolGuardHandle {
    #[new]
    #[pyo3(signature = (harbor, intent_id, capability_token, operations=None, payee_did=None, payee_signing_seed=None, evidence_version=2, currency=None, agent_subject=None, workflow_id=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        harbor: &HarborClientHandle,
        intent_id: String,
        capability_token: String,
        operations: Option<std::collections::HashMap<String, String>>,
        payee_did: Option<String>,
        payee_signing_seed: Option<&Bound<'_, PyAny>>,
        evidence_version: u8,
        currency: Option<String>,
        agent_subject: Option<String>,
        workflow_id: Option<String>,
    ) -> PyResult<Self> {
        let version = EvidenceSignVersion::from_byte(evidence_version).map_err(to_py_err)?;
        let evidence = match (payee_did, payee_signing_seed) {
            (Some(did), Some(seed)) => Some(EvidenceSigner {
                payee_did: did,
                seed: Arc::new(seed_arg(py, "payee_signing_seed", seed)?),
                version,
            }),
            (None, None) => None,
            _ => {
                return Err(invalid_argument(
                    py,
                    "payee_signing_seed",
                    "payee_did and payee_signing_seed go together",
                ))
            }
        };
        let options = GuardOptions {
            operations: operations.unwrap_or_default(),
            evidence,
            currency,
            agent_subject,
            workflow_id,
        };
        ToolGuard::new(
            harbor.inner.clone(),
            &intent_id,
            Secret::new(capability_token),
            options,
        )
        .map(|inner| ToolGuardHandle { inner })
        .map_err(to_py_err)
    }

    #[getter]
    fn intent_id(&self) -> String {
        self.inner.intent_id()
    }

    #[getter]
    fn tenant_id(&self) -> String {
        self.inner.harbor().tenant_id().to_owned()
    }

    /// Never raises for a failed verify: any failure is a deny dict.
    fn authorize<'py>(
        &self,
        py: Python<'py>,
        tool_name: String,
        call_id: String,
        args: &Bound<'py, PyAny>,
        spend_cents: i64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let call = ToolCall {
            name: tool_name,
            call_id,
            args: from_py(args, "args")?,
        };
        let spend = spend_arg(py, "requested_spend_cents", spend_cents)?;
        let g = self.inner.clone();
        awaitable(
            py,
            async move { Ok(to_json(&g.authorize(&call, spend).await)) },
        )
    }

    fn authorize_sync(
        &self,
        py: Python<'_>,
        tool_name: String,
        call_id: String,
        args: &Bound<'_, PyAny>,
        spend_cents: i64,
    ) -> PyResult<Json> {
        let call = ToolCall {
            name: tool_name,
            call_id,
            args: from_py(args, "args")?,
        };
        let spend = spend_arg(py, "requested_spend_cents", spend_cents)?;
        blocking(py, async {
            Ok(to_json(&self.inner.authorize(&call, spend).await))
        })
    }

    /// Signs `payload` as payee evidence for this call (once per call id) and submits it.
    fn submit_evidence<'py>(
        &self,
        py: Python<'py>,
        tool_name: String,
        call_id: String,
        payload: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let call = ToolCall {
            name: tool_name,
            call_id,
            args: Value::Null,
        };
        let payload = from_py(payload, "payload")?;
        let g = self.inner.clone();
        awaitable(py, async move { submit(&g, &call, &payload).await })
    }

    fn submit_evidence_sync(
        &self,
        py: Python<'_>,
        tool_name: String,
        call_id: String,
        payload: &Bound<'_, PyAny>,
    ) -> PyResult<Json> {
        let call = ToolCall {
            name: tool_name,
            call_id,
            args: Value::Null,
        };
        let payload = from_py(payload, "payload")?;
        blocking(py, submit(&self.inner, &call, &payload))
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}

async fn submit(g: &ToolGuard, call: &ToolCall, payload: &Value) -> paybond_kit::Result<Json> {
    g.submit_evidence(call, payload).await.map(|r| to_json(&r))
}

/// Signs an evidence binding as the payee: `{"sign_bytes": bytes, "body": dict}`.
#[pyfunction]
#[pyo3(signature = (tenant_id, intent_id, payee_did, payload, artifacts_blake3_hex, submitted_at_rfc3339, payee_signing_seed, version=2))]
#[allow(clippy::too_many_arguments)]
fn sign_payee_evidence_binding<'py>(
    py: Python<'py>,
    tenant_id: String,
    intent_id: String,
    payee_did: String,
    payload: &Bound<'py, PyAny>,
    artifacts_blake3_hex: Vec<String>,
    submitted_at_rfc3339: String,
    payee_signing_seed: &Bound<'py, PyAny>,
    version: u8,
) -> PyResult<Bound<'py, PyDict>> {
    let payload = from_py(payload, "payload")?;
    let seed = seed_arg(py, "payee_signing_seed", payee_signing_seed)?;
    let version = EvidenceSignVersion::from_byte(version).map_err(to_py_err)?;
    let input = EvidenceInput {
        tenant_id: &tenant_id,
        intent_id: &intent_id,
        payee_did: &payee_did,
        payload: &payload,
        artifacts_blake3_hex: &artifacts_blake3_hex,
        submitted_at_rfc3339: &submitted_at_rfc3339,
    };
    let signed = paybond_kit::evidence::sign_payee_evidence_binding(&input, &seed, version)
        .map_err(to_py_err)?;
    let d = PyDict::new(py);
    d.set_item("sign_bytes", PyBytes::new(py, &signed.sign_bytes))?;
    // Wire order at the top level (the payload itself is canonical: keys sorted by UTF-8 bytes).
    let b = &signed.body;
    let body = PyDict::new(py);
    body.set_item("payload", convert::to_py(py, &b.payload)?)?;
    body.set_item("artifacts", b.artifacts.clone())?;
    body.set_item("payee_did", &b.payee_did)?;
    body.set_item("payee_pubkey", &b.payee_pubkey)?;
    body.set_item("payee_signature", &b.payee_signature)?;
    body.set_item("submitted_at", &b.submitted_at)?;
    d.set_item("body", body)?;
    Ok(d)
}

/// BLAKE3 of the canonical JSON of `value`.
#[pyfunction]
fn json_value_digest<'py>(
    py: Python<'py>,
    value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let v = from_py(value, "value")?;
    Ok(PyBytes::new(
        py,
        &paybond_kit::digest::json_value_digest(&v),
    ))
}

/// BLAKE3 of the concatenated artifact digests.
#[pyfunction]
fn artifacts_digest<'py>(
    py: Python<'py>,
    artifacts_blake3_hex: Vec<String>,
) -> PyResult<Bound<'py, PyBytes>> {
    let raw = artifacts_blake3_hex
        .iter()
        .map(|a| paybond_kit::digest::parse_artifact_hex(a))
        .collect::<paybond_kit::Result<Vec<_>>>()
        .map_err(to_py_err)?;
    Ok(PyBytes::new(
        py,
        &paybond_kit::digest::artifacts_digest(&raw),
    ))
}

/// Principal-signed `POST /intents` body for `input` (a dict, with `tenant_id`).
#[pyfunction]
fn sign_intent_creation<'py>(
    py: Python<'py>,
    input: &Bound<'py, PyAny>,
    principal_signing_seed: &Bound<'py, PyAny>,
) -> PyResult<Json> {
    let (inp, seed) = intent_input(py, input, principal_signing_seed)?;
    if inp.tenant_id.is_empty() {
        return Err(invalid_argument(
            py,
            "tenant_id",
            "expected the tenant the intent is signed for",
        ));
    }
    paybond_kit::intent::sign_intent_creation(&inp, &seed)
        .map(Json)
        .map_err(to_py_err)
}

/// The dev server, in-process on port 0 (for tests and demos).
#[pyclass(module = "paybond_kit._native")]
struct DevServer {
    inner: std::sync::Mutex<Option<paybond_devserver::LocalHarbor>>,
}

impl DevServer {
    fn with<T>(
        &self,
        f: impl FnOnce(&paybond_devserver::LocalHarbor) -> PyResult<T>,
    ) -> PyResult<T> {
        let g = self
            .inner
            .lock()
            .map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("dev server lock poisoned"))?;
        match g.as_ref() {
            Some(h) => f(h),
            None => Err(pyo3::exceptions::PyRuntimeError::new_err(
                "the dev server is not running (call start())",
            )),
        }
    }
}

#[pymethods]
impl DevServer {
    #[new]
    #[pyo3(signature = (jwt_ttl_seconds=900, tenant_id=None, api_key=None))]
    fn new(
        py: Python<'_>,
        jwt_ttl_seconds: u64,
        tenant_id: Option<String>,
        api_key: Option<String>,
    ) -> PyResult<Self> {
        let mut cfg = paybond_devserver::DevServerConfig {
            jwt_ttl: Duration::from_secs(jwt_ttl_seconds.max(1)),
            api_key,
            ..Default::default()
        };
        if let Some(t) = tenant_id {
            cfg.tenant_id = t;
        }
        let h = py
            .detach(|| rt().block_on(paybond_devserver::LocalHarbor::start(cfg)))
            .map_err(|e| {
                pyo3::exceptions::PyOSError::new_err(format!("cannot start the dev server: {e}"))
            })?;
        Ok(DevServer {
            inner: std::sync::Mutex::new(Some(h)),
        })
    }

    fn stop(&self) {
        if let Ok(mut g) = self.inner.lock() {
            if let Some(h) = g.take() {
                h.stop();
            }
        }
    }

    #[getter]
    fn running(&self) -> bool {
        self.inner.lock().map(|g| g.is_some()).unwrap_or(false)
    }

    #[getter]
    fn gateway_url(&self) -> PyResult<String> {
        self.with(|h| Ok(h.gateway_url.clone()))
    }

    #[getter]
    fn harbor_url(&self) -> PyResult<String> {
        self.with(|h| Ok(h.harbor_url.clone()))
    }

    #[getter]
    fn api_key(&self) -> PyResult<String> {
        self.with(|h| Ok(h.api_key().to_owned()))
    }

    #[getter]
    fn tenant_id(&self) -> PyResult<String> {
        self.with(|h| Ok(h.tenant_id.clone()))
    }

    #[getter]
    fn signal_public_key_hex(&self) -> PyResult<String> {
        self.with(|h| Ok(h.signal_public_key_hex()))
    }

    /// `request` holds `POST /dev/v1/intents` fields; `tenant_id` picks another tenant.
    #[pyo3(signature = (request, tenant_id=None))]
    fn create_intent(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        tenant_id: Option<String>,
    ) -> PyResult<Json> {
        let v = from_py(request, "request")?;
        let req: paybond_devserver::DevIntentRequest = serde_json::from_value(v)
            .map_err(|e| invalid_argument(py, "request", &e.to_string()))?;
        self.with(|h| {
            let tenant = tenant_id.unwrap_or_else(|| h.tenant_id.clone());
            h.create_intent_for(&tenant, &req)
                .map(|i| Json(i.raw))
                .map_err(|e| invalid_argument(py, "request", &e.0))
        })
    }

    fn add_fault(&self, py: Python<'_>, spec: &Bound<'_, PyAny>) -> PyResult<u64> {
        let v = from_py(spec, "fault")?;
        let f: paybond_devserver::Fault =
            serde_json::from_value(v).map_err(|e| invalid_argument(py, "fault", &e.to_string()))?;
        self.with(|h| Ok(h.add_fault(f)))
    }

    fn clear_faults(&self) -> PyResult<()> {
        self.with(|h| {
            h.clear_faults();
            Ok(())
        })
    }

    fn faults(&self) -> PyResult<Json> {
        self.with(|h| Ok(to_json(&h.app().faults.list())))
    }

    fn stats(&self) -> PyResult<Json> {
        self.with(|h| Ok(Json(h.stats_json())))
    }

    #[pyo3(signature = (tenant_id=None))]
    fn create_tenant(&self, tenant_id: Option<String>) -> PyResult<(String, String)> {
        self.with(|h| Ok(h.create_tenant(tenant_id.as_deref())))
    }

    fn rebind_api_key(&self, api_key: String, tenant_id: String) -> PyResult<bool> {
        self.with(|h| Ok(h.rebind_api_key(&api_key, &tenant_id)))
    }

    fn __repr__(&self) -> String {
        match self
            .inner
            .lock()
            .ok()
            .and_then(|g| g.as_ref().map(|h| format!("{h:?}")))
        {
            Some(s) => s,
            None => "DevServer(stopped)".into(),
        }
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        self.stop();
    }
}

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<HarborSession>()?;
    m.add_class::<HarborClientHandle>()?;
    m.add_class::<TokenProvider>()?;
    m.add_class::<SignalSession>()?;
    m.add_class::<ToolGuardHandle>()?;
    m.add_class::<DevServer>()?;
    m.add_function(wrap_pyfunction!(sign_payee_evidence_binding, m)?)?;
    m.add_function(wrap_pyfunction!(json_value_digest, m)?)?;
    m.add_function(wrap_pyfunction!(artifacts_digest, m)?)?;
    m.add_function(wrap_pyfunction!(sign_intent_creation, m)?)?;
    m.add_function(wrap_pyfunction!(logging::set_log_level, m)?)?;
    logging::install();
    Ok(())
}
