//! Signal sessions and reads.

use crate::args::{self, opt_text, text};
use crate::convert::Json;
use crate::{awaitable, blocking, to_json};
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

struct Read {
    which: String,
    did: Option<String>,
    score_version: Option<String>,
}

impl Read {
    fn from_py(
        which: String,
        operator_did: Option<&Bound<'_, PyAny>>,
        score_version: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Ok(Read {
            which,
            did: opt_text(operator_did, "operator_did")?,
            score_version: opt_text(score_version, "score_version")?,
        })
    }

    async fn run(&self, s: &ServiceAccountSignalSession) -> paybond_kit::Result<Json> {
        let sig = s.signal();
        let sv = self.score_version.as_deref();
        let did = || {
            self.did
                .as_deref()
                .ok_or_else(|| paybond_kit::Error::invalid_argument("operator_did", "required"))
        };
        match self.which.as_str() {
            "reputation_receipt" => sig
                .reputation_receipt(did()?, sv)
                .await
                .map(|r| to_json(&r)),
            "portfolio_summary" => sig.portfolio_summary(sv).await.map(|r| to_json(&r)),
            "operator_explanation" => sig
                .operator_explanation(did()?, sv)
                .await
                .map(|r| to_json(&r)),
            "operator_review_status" => sig
                .operator_review_status(did()?, sv)
                .await
                .map(|r| to_json(&r)),
            other => Err(paybond_kit::Error::invalid_argument(
                "which",
                format!("unknown Signal read {other:?}"),
            )),
        }
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

    #[pyo3(signature = (which, operator_did=None, score_version=None))]
    fn read<'py>(
        &self,
        py: Python<'py>,
        which: String,
        operator_did: Option<&Bound<'py, PyAny>>,
        score_version: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let r = Read::from_py(which, operator_did, score_version)?;
        let s = self.inner.clone();
        awaitable(py, async move { r.run(&s).await })
    }

    #[pyo3(signature = (which, operator_did=None, score_version=None))]
    fn read_sync(
        &self,
        py: Python<'_>,
        which: String,
        operator_did: Option<&Bound<'_, PyAny>>,
        score_version: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Json> {
        let r = Read::from_py(which, operator_did, score_version)?;
        blocking(py, r.run(&self.inner))
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
