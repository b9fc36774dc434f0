//! The Gateway token provider: API key in, fresh Harbor JWTs out.

use crate::args::{self, text};
use crate::convert::to_py_err;
use crate::{awaitable, blocking, guarded, rt};
use paybond_kit::{GatewayHarborTokenProvider, Secret};
use pyo3::prelude::*;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<TokenProvider>()?;
    Ok(())
}

/// Exchanges an API key for Harbor JWTs and keeps one fresh.
#[pyclass(frozen, module = "paybond_kit._native")]
pub struct TokenProvider {
    pub(crate) inner: GatewayHarborTokenProvider,
}

#[pymethods]
impl TokenProvider {
    /// `options`: a dict of session options (transport settings and `refresh_skew_seconds`).
    #[new]
    fn new(
        gateway_base_url: &Bound<'_, PyAny>,
        api_key: &Bound<'_, PyAny>,
        options: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let gateway = text(gateway_base_url, "gateway_base_url")?;
        let key = text(api_key, "api_key")?;
        let opts = args::session_options(options)?;
        guarded(|| {
            // reqwest's client needs a runtime context to be built.
            let _g = rt().enter();
            GatewayHarborTokenProvider::new(&gateway, Secret::new(key), &opts)
                .map(|inner| TokenProvider { inner })
                .map_err(to_py_err)
        })
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
