//! The tenant-bound Harbor client (verify, evidence, intents, ledger reads).

use crate::args::{self, opt_integer, opt_text, text};
use crate::convert::{from_py, invalid_argument, to_py_err, Json};
use crate::{awaitable, blocking, guarded, run_mode, to_json};
use paybond_kit::evidence::EvidenceBody;
use paybond_kit::harbor::{HarborClient, VerifyRequest};
use paybond_kit::intent::IntentCreationInput;
use paybond_kit::Secret;
use pyo3::prelude::*;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<HarborClientHandle>()?;
    Ok(())
}

/// Harbor calls bound to the session's tenant.
#[pyclass(frozen, name = "HarborClient", module = "paybond_kit._native")]
pub struct HarborClientHandle {
    pub(crate) inner: HarborClient,
}

#[allow(clippy::too_many_arguments)]
fn verify_request(
    intent_id: &Bound<'_, PyAny>,
    token: &Bound<'_, PyAny>,
    operation: &Bound<'_, PyAny>,
    requested_spend_cents: &Bound<'_, PyAny>,
    tool_name: Option<&Bound<'_, PyAny>>,
    tool_call_id: Option<&Bound<'_, PyAny>>,
    idempotency_key: Option<&Bound<'_, PyAny>>,
    currency: Option<&Bound<'_, PyAny>>,
    agent_subject: Option<&Bound<'_, PyAny>>,
    vendor_id: Option<&Bound<'_, PyAny>>,
    task_id: Option<&Bound<'_, PyAny>>,
    workflow_id: Option<&Bound<'_, PyAny>>,
) -> PyResult<VerifyRequest> {
    Ok(VerifyRequest {
        intent_id: text(intent_id, "intent_id")?,
        token: Secret::new(text(token, "token")?),
        operation: text(operation, "operation")?,
        requested_spend_cents: args::spend(requested_spend_cents)?,
        tool_name: opt_text(tool_name, "tool_name")?,
        tool_call_id: opt_text(tool_call_id, "tool_call_id")?,
        idempotency_key: opt_text(idempotency_key, "idempotency_key")?,
        currency: opt_text(currency, "currency")?,
        agent_subject: opt_text(agent_subject, "agent_subject")?,
        vendor_id: opt_text(vendor_id, "vendor_id")?,
        task_id: opt_text(task_id, "task_id")?,
        workflow_id: opt_text(workflow_id, "workflow_id")?,
        ..VerifyRequest::default()
    })
}

fn evidence_body(body: &Bound<'_, PyAny>) -> PyResult<EvidenceBody> {
    let v = from_py(body, "body")?;
    serde_json::from_value(v).map_err(|e| {
        invalid_argument(
            body.py(),
            "body",
            &format!("expected an evidence body (payload, artifacts, payee_did, payee_pubkey, payee_signature, submitted_at): {e}"),
        )
    })
}

fn intent_input(
    input: &Bound<'_, PyAny>,
    seed: &Bound<'_, PyAny>,
) -> PyResult<(IntentCreationInput, [u8; 32])> {
    let v = crate::args::json_object(input, "input")?;
    let inp = guarded(|| IntentCreationInput::from_json(&v).map_err(to_py_err))?;
    Ok((inp, args::seed(seed, "principal_signing_seed")?))
}

fn cursor(
    after_seq: Option<&Bound<'_, PyAny>>,
    limit: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Option<u64>, Option<u32>)> {
    // Conversions only; the core checks the limit's range (1..=256).
    let after = opt_integer(after_seq, "after_seq", 0, i64::MAX as u64)?;
    let limit = opt_integer(limit, "limit", 0, u32::MAX.into())?.map(|l| l as u32);
    Ok((after, limit))
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
        intent_id: &Bound<'py, PyAny>,
        token: &Bound<'py, PyAny>,
        operation: &Bound<'py, PyAny>,
        requested_spend_cents: &Bound<'py, PyAny>,
        tool_name: Option<&Bound<'py, PyAny>>,
        tool_call_id: Option<&Bound<'py, PyAny>>,
        idempotency_key: Option<&Bound<'py, PyAny>>,
        currency: Option<&Bound<'py, PyAny>>,
        agent_subject: Option<&Bound<'py, PyAny>>,
        vendor_id: Option<&Bound<'py, PyAny>>,
        task_id: Option<&Bound<'py, PyAny>>,
        workflow_id: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let req = verify_request(
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
        intent_id: &Bound<'_, PyAny>,
        token: &Bound<'_, PyAny>,
        operation: &Bound<'_, PyAny>,
        requested_spend_cents: &Bound<'_, PyAny>,
        tool_name: Option<&Bound<'_, PyAny>>,
        tool_call_id: Option<&Bound<'_, PyAny>>,
        idempotency_key: Option<&Bound<'_, PyAny>>,
        currency: Option<&Bound<'_, PyAny>>,
        agent_subject: Option<&Bound<'_, PyAny>>,
        vendor_id: Option<&Bound<'_, PyAny>>,
        task_id: Option<&Bound<'_, PyAny>>,
        workflow_id: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Json> {
        let req = verify_request(
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
        intent_id: &Bound<'py, PyAny>,
        body: &Bound<'py, PyAny>,
        idempotency_key: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let intent = text(intent_id, "intent_id")?;
        let body = evidence_body(body)?;
        let key = opt_text(idempotency_key, "idempotency_key")?;
        let c = self.inner.clone();
        awaitable(py, async move {
            c.submit_evidence(&intent, &body, key.as_deref())
                .await
                .map(|r| to_json(&r))
        })
    }

    #[pyo3(signature = (intent_id, body, idempotency_key=None))]
    fn submit_evidence_sync(
        &self,
        py: Python<'_>,
        intent_id: &Bound<'_, PyAny>,
        body: &Bound<'_, PyAny>,
        idempotency_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Json> {
        let intent = text(intent_id, "intent_id")?;
        let body = evidence_body(body)?;
        let key = opt_text(idempotency_key, "idempotency_key")?;
        blocking(py, async {
            self.inner
                .submit_evidence(&intent, &body, key.as_deref())
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
        let (inp, seed) = intent_input(input, principal_signing_seed)?;
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
        let (inp, seed) = intent_input(input, principal_signing_seed)?;
        blocking(py, async {
            self.inner
                .create_intent(&inp, &seed)
                .await
                .map(|r| to_json(&r))
        })
    }

    /// `GET /ledger/v1/tip` (`blocking=True`: the result, else an awaitable).
    #[pyo3(signature = (blocking=false))]
    fn ledger_tip<'py>(&self, py: Python<'py>, blocking: bool) -> PyResult<Bound<'py, PyAny>> {
        let c = self.inner.clone();
        run_mode(py, blocking, async move {
            c.ledger_tip().await.map(|r| to_json(&r))
        })
    }

    /// `GET /ledger/v1/authority`.
    #[pyo3(signature = (blocking=false))]
    fn ledger_authority<'py>(
        &self,
        py: Python<'py>,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = self.inner.clone();
        run_mode(py, blocking, async move {
            c.ledger_authority().await.map(|r| to_json(&r))
        })
    }

    /// `GET /ledger/v1/merkle/latest`.
    #[pyo3(signature = (blocking=false))]
    fn ledger_merkle_latest<'py>(
        &self,
        py: Python<'py>,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = self.inner.clone();
        run_mode(py, blocking, async move {
            c.ledger_merkle_latest().await.map(|r| to_json(&r))
        })
    }

    #[pyo3(signature = (after_seq=None, limit=None))]
    fn ledger_events<'py>(
        &self,
        py: Python<'py>,
        after_seq: Option<&Bound<'py, PyAny>>,
        limit: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (after, limit) = cursor(after_seq, limit)?;
        let c = self.inner.clone();
        awaitable(py, async move {
            c.ledger_events(after, limit).await.map(|r| to_json(&r))
        })
    }

    #[pyo3(signature = (after_seq=None, limit=None))]
    fn ledger_events_sync(
        &self,
        py: Python<'_>,
        after_seq: Option<&Bound<'_, PyAny>>,
        limit: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Json> {
        let (after, limit) = cursor(after_seq, limit)?;
        blocking(py, async {
            self.inner
                .ledger_events(after, limit)
                .await
                .map(|r| to_json(&r))
        })
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}
