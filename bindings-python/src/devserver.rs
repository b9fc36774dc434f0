//! The dev server (Gateway + Harbor + Signal) in-process, for tests and demos.

use crate::convert::{from_py, invalid_argument, Json};
use crate::{rt, to_json};
use pyo3::prelude::*;
use std::time::Duration;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<DevServer>()
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
    #[pyo3(signature = (jwt_ttl_seconds=900, tenant_id=None, api_key=None, reservation_hold_seconds=300))]
    fn new(
        py: Python<'_>,
        jwt_ttl_seconds: u64,
        tenant_id: Option<String>,
        api_key: Option<String>,
        reservation_hold_seconds: u64,
    ) -> PyResult<Self> {
        let mut cfg = paybond_devserver::DevServerConfig {
            jwt_ttl: Duration::from_secs(jwt_ttl_seconds.max(1)),
            api_key,
            reservation_hold_seconds,
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

    /// Moves the dev clock ahead by whole `seconds`; returns the total offset in seconds.
    fn advance_clock(&self, seconds: u64) -> PyResult<u64> {
        self.with(|h| {
            h.advance_clock(Duration::from_secs(seconds))
                .map(|d| d.as_secs())
                .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.0))
        })
    }

    /// Decides an approval request as a reviewer would (`approve` true/false).
    #[pyo3(signature = (approval_request_id, approve, reason=None, tenant_id=None))]
    fn decide_approval(
        &self,
        approval_request_id: String,
        approve: bool,
        reason: Option<String>,
        tenant_id: Option<String>,
    ) -> PyResult<Json> {
        self.with(|h| {
            let t = tenant_id.unwrap_or_else(|| h.tenant_id.clone());
            h.decide_approval(&t, &approval_request_id, approve, reason.as_deref())
                .map(Json)
                .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.0))
        })
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
