//! The framework-neutral guard (`ToolGuard`) and the spend check the adapters use.

use crate::args::{self, host_number, opt_text, opt_text_map, text};
use crate::convert::{from_py, invalid_argument, to_py_err, Json};
use crate::harbor::HarborClientHandle;
use crate::{awaitable, blocking, guarded, rt, to_json};
use paybond_kit::guard::{EvidenceSigner, GuardOptions, ToolCall, ToolGuard};
use paybond_kit::{Secret, SpendOutcome};

fn spend_outcome(succeeded: bool) -> SpendOutcome {
    if succeeded {
        SpendOutcome::Consumed
    } else {
        SpendOutcome::Released
    }
}
use pyo3::prelude::*;
use serde_json::Value;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ToolGuardHandle>()?;
    m.add_function(wrap_pyfunction!(check_spend, m)?)?;
    m.add_function(wrap_pyfunction!(settle, m)?)?;
    m.add_function(wrap_pyfunction!(settle_sync, m)?)?;
    m.add_function(wrap_pyfunction!(pending_completions, m)?)?;
    Ok(())
}

/// Waits (awaitable) until every spend completion sent in the background has ended.
#[pyfunction]
fn settle(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    awaitable(py, async {
        paybond_kit::guard::settle().await;
        Ok(())
    })
}

/// Blocking [`settle`] (the GIL released); returns at once when none is running.
#[pyfunction]
fn settle_sync(py: Python<'_>) -> PyResult<()> {
    if paybond_kit::guard::pending_completions() == 0 {
        return Ok(());
    }
    blocking(py, async {
        paybond_kit::guard::settle().await;
        Ok(())
    })
}

/// How many spend completions sent in the background are still running in this process.
#[pyfunction]
fn pending_completions() -> usize {
    paybond_kit::guard::pending_completions()
}

/// The spend as the core accepts it (an exact integer in `0..=2^53-1`), or
/// `InvalidArgumentError(field="requested_spend_cents")`. Adapters check static spends with it.
#[pyfunction]
fn check_spend(value: &Bound<'_, PyAny>) -> PyResult<u64> {
    args::spend(value)
}

/// The framework-neutral guard for one intent and capability token.
#[pyclass(frozen, name = "ToolGuard", module = "paybond_kit._native")]
struct ToolGuardHandle {
    inner: ToolGuard,
}

fn tool_call(
    tool_name: &Bound<'_, PyAny>,
    call_id: &Bound<'_, PyAny>,
    args: Option<&Bound<'_, PyAny>>,
) -> PyResult<ToolCall> {
    Ok(ToolCall {
        name: text(tool_name, "tool_name")?,
        call_id: text(call_id, "call_id")?,
        args: match args {
            Some(a) => from_py(a, "args")?,
            None => Value::Null,
        },
    })
}

#[pymethods]
impl ToolGuardHandle {
    #[new]
    #[pyo3(signature = (harbor, intent_id, capability_token, operations=None, payee_did=None, payee_signing_seed=None, evidence_version=None, currency=None, agent_subject=None, workflow_id=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        harbor: &Bound<'_, PyAny>,
        intent_id: &Bound<'_, PyAny>,
        capability_token: &Bound<'_, PyAny>,
        operations: Option<&Bound<'_, PyAny>>,
        payee_did: Option<&Bound<'_, PyAny>>,
        payee_signing_seed: Option<&Bound<'_, PyAny>>,
        evidence_version: Option<&Bound<'_, PyAny>>,
        currency: Option<&Bound<'_, PyAny>>,
        agent_subject: Option<&Bound<'_, PyAny>>,
        workflow_id: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let harbor = harbor.cast::<HarborClientHandle>().map_err(|_| {
            invalid_argument(py, "harbor", "expected a HarborClient (session.harbor)")
        })?;
        let intent_id = text(intent_id, "intent_id")?;
        let token = text(capability_token, "capability_token")?;
        let operations = opt_text_map(operations, "operations")?;
        let payee_did = opt_text(payee_did, "payee_did")?;
        let seed = payee_signing_seed
            .filter(|s| !s.is_none())
            .map(|s| args::host_seed(s, "payee_signing_seed"))
            .transpose()?;
        let version = evidence_version
            .filter(|v| !v.is_none())
            .map(|v| host_number(v));
        // The core's rule: DID and seed together (or neither), one seed rule, version 1 or 2.
        let evidence =
            EvidenceSigner::from_parts(args::STYLE, payee_did, seed, version).map_err(to_py_err)?;
        let options = GuardOptions {
            operations,
            evidence,
            currency: opt_text(currency, "currency")?,
            agent_subject: opt_text(agent_subject, "agent_subject")?,
            workflow_id: opt_text(workflow_id, "workflow_id")?,
        };
        let client = harbor.get().inner.clone();
        guarded(|| {
            ToolGuard::new(client, &intent_id, Secret::new(token), options)
                .map(|inner| ToolGuardHandle { inner })
                .map_err(to_py_err)
        })
    }

    #[getter]
    fn intent_id(&self) -> String {
        self.inner.intent_id()
    }

    #[getter]
    fn tenant_id(&self) -> String {
        self.inner.harbor().tenant_id().to_owned()
    }

    /// Never raises for a failed verify: any failure is a deny dict. A bad argument
    /// (spend, types) raises `InvalidArgumentError` before any request.
    fn authorize<'py>(
        &self,
        py: Python<'py>,
        tool_name: &Bound<'py, PyAny>,
        call_id: &Bound<'py, PyAny>,
        args: &Bound<'py, PyAny>,
        requested_spend_cents: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let call = tool_call(tool_name, call_id, Some(args))?;
        let spend = args::spend(requested_spend_cents)?;
        let g = self.inner.clone();
        awaitable(
            py,
            async move { Ok(to_json(&g.authorize(&call, spend).await)) },
        )
    }

    fn authorize_sync(
        &self,
        py: Python<'_>,
        tool_name: &Bound<'_, PyAny>,
        call_id: &Bound<'_, PyAny>,
        args: &Bound<'_, PyAny>,
        requested_spend_cents: &Bound<'_, PyAny>,
    ) -> PyResult<Json> {
        let call = tool_call(tool_name, call_id, Some(args))?;
        let spend = args::spend(requested_spend_cents)?;
        blocking(py, async {
            Ok(to_json(&self.inner.authorize(&call, spend).await))
        })
    }

    /// Ends the call after its tool ran: `succeeded` → the spend is consumed,
    /// else released; the call id is spent (authorizing it again is `call_replayed`).
    fn finish<'py>(
        &self,
        py: Python<'py>,
        call_id: &Bound<'py, PyAny>,
        succeeded: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = text(call_id, "call_id")?;
        let g = self.inner.clone();
        awaitable(py, async move {
            g.finish(&id, spend_outcome(succeeded))
                .await
                .map(|r| to_json(&r))
        })
    }

    fn finish_sync(
        &self,
        py: Python<'_>,
        call_id: &Bound<'_, PyAny>,
        succeeded: bool,
    ) -> PyResult<Json> {
        let id = text(call_id, "call_id")?;
        blocking(py, async {
            self.inner
                .finish(&id, spend_outcome(succeeded))
                .await
                .map(|r| to_json(&r))
        })
    }

    /// `finish` without waiting for Harbor's answer: the call id is spent now and the
    /// completion is sent by the kit's runtime (`settle` waits for it; so does closing the
    /// session). A failure is logged.
    fn finish_later(&self, call_id: &Bound<'_, PyAny>, succeeded: bool) -> PyResult<()> {
        let id = text(call_id, "call_id")?;
        let fut = self
            .inner
            .finish_in_background(&id, spend_outcome(succeeded));
        // Nobody awaits the result: the core logged a failure. A panic is caught in the task
        // (the count is given back as it unwinds).
        drop(rt().spawn(paybond_kit::unwind::catch_unwind(fut)));
        Ok(())
    }

    /// Claims the call for one run of its tool body (see the core's `ToolGuard::claim`).
    fn claim(&self, call_id: &Bound<'_, PyAny>) -> PyResult<bool> {
        let id = text(call_id, "call_id")?;
        Ok(self.inner.claim(&id))
    }

    /// Gives a claim back after the framework suspended the run inside the tool.
    fn unclaim(&self, call_id: &Bound<'_, PyAny>) -> PyResult<()> {
        let id = text(call_id, "call_id")?;
        self.inner.unclaim(&id);
        Ok(())
    }

    /// Records a reviewer's decision (`approve` true/false, optional reason)
    /// on an approval request this guard's call got.
    #[pyo3(signature = (approval_request_id, approve, reason=None))]
    fn decide_approval<'py>(
        &self,
        py: Python<'py>,
        approval_request_id: &Bound<'py, PyAny>,
        approve: bool,
        reason: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = text(approval_request_id, "approval_request_id")?;
        let reason = reason.map(|r| text(r, "reason")).transpose()?;
        let g = self.inner.clone();
        awaitable(py, async move {
            g.decide_approval(&id, approve, reason.as_deref())
                .await
                .map(|r| to_json(&r))
        })
    }

    #[pyo3(signature = (approval_request_id, approve, reason=None))]
    fn decide_approval_sync(
        &self,
        py: Python<'_>,
        approval_request_id: &Bound<'_, PyAny>,
        approve: bool,
        reason: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Json> {
        let id = text(approval_request_id, "approval_request_id")?;
        let reason = reason.map(|r| text(r, "reason")).transpose()?;
        blocking(py, async {
            self.inner
                .decide_approval(&id, approve, reason.as_deref())
                .await
                .map(|r| to_json(&r))
        })
    }

    /// A guard for a sub-agent: this guard's token narrowed offline by one appended
    /// block (`tools` ⊆ this token's, a lower per-call cap, an earlier expiry,
    /// `max_calls`), same Harbor client, intent and options. The core judges every
    /// value; a bad one, or one asking for more than this token allows, raises
    /// `InvalidArgumentError` naming the field. No request is made.
    #[pyo3(signature = (tools=None, max_spend_per_call_cents=None, expires_in_seconds=None, max_calls=None))]
    fn attenuate(
        &self,
        tools: Option<&Bound<'_, PyAny>>,
        max_spend_per_call_cents: Option<&Bound<'_, PyAny>>,
        expires_in_seconds: Option<&Bound<'_, PyAny>>,
        max_calls: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        fn number(o: Option<&Bound<'_, PyAny>>) -> Option<paybond_kit::HostNumber> {
            o.filter(|v| !v.is_none()).map(host_number)
        }
        let input = paybond_kit::AttenuationInput {
            tools: tools
                .filter(|t| !t.is_none())
                .map(|t| args::text_list(t, "tools"))
                .transpose()?,
            max_spend_per_call_cents: number(max_spend_per_call_cents),
            expires_in_seconds: number(expires_in_seconds),
            max_calls: number(max_calls),
        };
        guarded(|| {
            self.inner
                .attenuate(&input, args::STYLE)
                .map(|inner| ToolGuardHandle { inner })
                .map_err(to_py_err)
        })
    }

    /// Signs `payload` as payee evidence for this call (once per call id) and submits it.
    fn submit_evidence<'py>(
        &self,
        py: Python<'py>,
        tool_name: &Bound<'py, PyAny>,
        call_id: &Bound<'py, PyAny>,
        payload: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let call = tool_call(tool_name, call_id, None)?;
        let payload = from_py(payload, "payload")?;
        let g = self.inner.clone();
        awaitable(py, async move {
            g.submit_evidence(&call, &payload)
                .await
                .map(|r| to_json(&r))
        })
    }

    fn submit_evidence_sync(
        &self,
        py: Python<'_>,
        tool_name: &Bound<'_, PyAny>,
        call_id: &Bound<'_, PyAny>,
        payload: &Bound<'_, PyAny>,
    ) -> PyResult<Json> {
        let call = tool_call(tool_name, call_id, None)?;
        let payload = from_py(payload, "payload")?;
        blocking(py, async {
            self.inner
                .submit_evidence(&call, &payload)
                .await
                .map(|r| to_json(&r))
        })
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}
