//! Harbor sessions opened from one service-account API key.

use crate::args::{self, text};
use crate::gateway::TokenProvider;
use crate::harbor::HarborClientHandle;
use crate::{awaitable, blocking};
use paybond_kit::ServiceAccountHarborSession;
use pyo3::prelude::*;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<HarborSession>()?;
    Ok(())
}

/// What `open` needs, converted from Python before any request.
struct OpenArgs {
    gateway: String,
    api_key: String,
    harbor: String,
    options: paybond_kit::SessionOptions,
}

impl OpenArgs {
    fn from_py(
        gateway_base_url: &Bound<'_, PyAny>,
        api_key: &Bound<'_, PyAny>,
        harbor_base_url: &Bound<'_, PyAny>,
        options: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        Ok(OpenArgs {
            gateway: text(gateway_base_url, "gateway_base_url")?,
            api_key: text(api_key, "api_key")?,
            harbor: text(harbor_base_url, "harbor_base_url")?,
            options: args::session_options(options)?,
        })
    }

    async fn open(self) -> paybond_kit::Result<HarborSession> {
        ServiceAccountHarborSession::open(&self.gateway, self.api_key, &self.harbor, self.options)
            .await
            .map(|inner| HarborSession { inner })
    }
}

/// A Harbor session opened from one service-account API key.
#[pyclass(frozen, module = "paybond_kit._native")]
pub struct HarborSession {
    inner: ServiceAccountHarborSession,
}

#[pymethods]
impl HarborSession {
    /// `options`: a dict of session options (Python names; the core checks each value).
    #[staticmethod]
    fn open<'py>(
        py: Python<'py>,
        gateway_base_url: &Bound<'py, PyAny>,
        api_key: &Bound<'py, PyAny>,
        harbor_base_url: &Bound<'py, PyAny>,
        options: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = OpenArgs::from_py(gateway_base_url, api_key, harbor_base_url, options)?;
        awaitable(py, a.open())
    }

    #[staticmethod]
    fn open_sync(
        py: Python<'_>,
        gateway_base_url: &Bound<'_, PyAny>,
        api_key: &Bound<'_, PyAny>,
        harbor_base_url: &Bound<'_, PyAny>,
        options: &Bound<'_, PyAny>,
    ) -> PyResult<HarborSession> {
        let a = OpenArgs::from_py(gateway_base_url, api_key, harbor_base_url, options)?;
        blocking(py, a.open())
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
