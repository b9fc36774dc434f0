//! Signal sessions and reads.

use crate::args::{self, opt_text, text};
use crate::convert::Json;
use crate::{awaitable, blocking, run_mode, to_json};
use paybond_kit::ServiceAccountSignalSession;
use pyo3::prelude::*;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<SignalSession>()
}

/// A Signal session (tenant from the key's principal).
#[pyclass(frozen, module = "paybond_kit._native")]
pub struct SignalSession {
    inner: ServiceAccountSignalSession,
}

struct OpenArgs {
    gateway: String,
    api_key: String,
    options: paybond_kit::SessionOptions,
    trusted: Option<String>,
}

impl OpenArgs {
    fn from_py(
        gateway_base_url: &Bound<'_, PyAny>,
        api_key: &Bound<'_, PyAny>,
        options: &Bound<'_, PyAny>,
        trusted_signing_key_hex: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Ok(OpenArgs {
            gateway: text(gateway_base_url, "gateway_base_url")?,
            api_key: text(api_key, "api_key")?,
            options: args::session_options(options)?,
            trusted: opt_text(trusted_signing_key_hex, "trusted_signing_key_hex")?,
        })
    }

    async fn open(self) -> paybond_kit::Result<SignalSession> {
        let s =
            ServiceAccountSignalSession::open(&self.gateway, self.api_key, self.options).await?;
        let s = match self.trusted {
            Some(k) => s.with_trusted_signing_key(&k)?,
            None => s,
        };
        Ok(SignalSession { inner: s })
    }
}

impl SignalSession {
    /// One per-operator read (`operator_did` required; the core judges its content) in the
    /// caller's form (`blocking` or an awaitable).
    fn per_operator<'py, F, Fut>(
        &self,
        py: Python<'py>,
        operator_did: &Bound<'py, PyAny>,
        score_version: Option<&Bound<'py, PyAny>>,
        blocking: bool,
        read: F,
    ) -> PyResult<Bound<'py, PyAny>>
    where
        F: FnOnce(ServiceAccountSignalSession, String, Option<String>) -> Fut,
        Fut: std::future::Future<Output = paybond_kit::Result<Json>> + Send + 'static,
    {
        let did = text(operator_did, "operator_did")?;
        let sv = opt_text(score_version, "score_version")?;
        run_mode(py, blocking, read(self.inner.clone(), did, sv))
    }
}

#[pymethods]
impl SignalSession {
    /// `options`: a dict of session options (Python names; the core checks each value).
    #[staticmethod]
    #[pyo3(signature = (gateway_base_url, api_key, options, trusted_signing_key_hex=None))]
    fn open<'py>(
        py: Python<'py>,
        gateway_base_url: &Bound<'py, PyAny>,
        api_key: &Bound<'py, PyAny>,
        options: &Bound<'py, PyAny>,
        trusted_signing_key_hex: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = OpenArgs::from_py(gateway_base_url, api_key, options, trusted_signing_key_hex)?;
        awaitable(py, a.open())
    }

    #[staticmethod]
    #[pyo3(signature = (gateway_base_url, api_key, options, trusted_signing_key_hex=None))]
    fn open_sync(
        py: Python<'_>,
        gateway_base_url: &Bound<'_, PyAny>,
        api_key: &Bound<'_, PyAny>,
        options: &Bound<'_, PyAny>,
        trusted_signing_key_hex: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<SignalSession> {
        let a = OpenArgs::from_py(gateway_base_url, api_key, options, trusted_signing_key_hex)?;
        blocking(py, a.open())
    }

    #[getter]
    fn tenant_id(&self) -> String {
        self.inner.tenant_id().to_owned()
    }

    fn principal(&self) -> Json {
        to_json(self.inner.principal())
    }

    /// `GET /v1/signal/reputation/receipts/{operator_did}` (`None` on 404).
    #[pyo3(signature = (operator_did, score_version=None, blocking=false))]
    fn reputation_receipt<'py>(
        &self,
        py: Python<'py>,
        operator_did: &Bound<'py, PyAny>,
        score_version: Option<&Bound<'py, PyAny>>,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.per_operator(
            py,
            operator_did,
            score_version,
            blocking,
            |s, did, sv| async move {
                s.signal()
                    .reputation_receipt(&did, sv.as_deref())
                    .await
                    .map(|r| to_json(&r))
            },
        )
    }

    /// The tenant's portfolio summary.
    #[pyo3(signature = (score_version=None, blocking=false))]
    fn portfolio_summary<'py>(
        &self,
        py: Python<'py>,
        score_version: Option<&Bound<'py, PyAny>>,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let sv = opt_text(score_version, "score_version")?;
        let s = self.inner.clone();
        run_mode(py, blocking, async move {
            s.signal()
                .portfolio_summary(sv.as_deref())
                .await
                .map(|r| to_json(&r))
        })
    }

    /// Why the operator has its score (`None` on 404).
    #[pyo3(signature = (operator_did, score_version=None, blocking=false))]
    fn operator_explanation<'py>(
        &self,
        py: Python<'py>,
        operator_did: &Bound<'py, PyAny>,
        score_version: Option<&Bound<'py, PyAny>>,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.per_operator(
            py,
            operator_did,
            score_version,
            blocking,
            |s, did, sv| async move {
                s.signal()
                    .operator_explanation(&did, sv.as_deref())
                    .await
                    .map(|r| to_json(&r))
            },
        )
    }

    /// The operator's review status (`None` on 404).
    #[pyo3(signature = (operator_did, score_version=None, blocking=false))]
    fn operator_review_status<'py>(
        &self,
        py: Python<'py>,
        operator_did: &Bound<'py, PyAny>,
        score_version: Option<&Bound<'py, PyAny>>,
        blocking: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.per_operator(
            py,
            operator_did,
            score_version,
            blocking,
            |s, did, sv| async move {
                s.signal()
                    .operator_review_status(&did, sv.as_deref())
                    .await
                    .map(|r| to_json(&r))
            },
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
