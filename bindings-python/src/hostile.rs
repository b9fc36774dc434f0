//! The raw-socket hostile server (`paybond_devserver::hostile`), for fail-closed tests.

use crate::convert::{to_py, Json};
use crate::rt;
use paybond_devserver::hostile::{HostileCorpus, HostileServer as Server};
use pyo3::exceptions::{PyKeyError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<HostileServer>()
}

/// Gateway, Harbor and Signal on one loopback port, answering the corpus case in force.
#[pyclass(frozen, module = "paybond_kit._native")]
struct HostileServer {
    inner: std::sync::Mutex<Option<Server>>,
    corpus: HostileCorpus,
}

impl HostileServer {
    fn with<T>(&self, f: impl FnOnce(&Server) -> PyResult<T>) -> PyResult<T> {
        let g = self
            .inner
            .lock()
            .map_err(|_| PyRuntimeError::new_err("hostile server lock poisoned"))?;
        match g.as_ref() {
            Some(s) => f(s),
            None => Err(PyRuntimeError::new_err("the hostile server was shut down")),
        }
    }
}

#[pymethods]
impl HostileServer {
    /// Loads the corpus at `corpus_path` and starts the listeners on 127.0.0.1.
    #[new]
    fn new(py: Python<'_>, corpus_path: std::path::PathBuf) -> PyResult<Self> {
        let corpus = HostileCorpus::load(&corpus_path).map_err(PyValueError::new_err)?;
        let c = corpus.clone();
        let server = py
            .detach(|| rt().block_on(Server::start(c)))
            .map_err(|e| PyOSError::new_err(format!("cannot start the hostile server: {e}")))?;
        Ok(HostileServer {
            inner: std::sync::Mutex::new(Some(server)),
            corpus,
        })
    }

    #[getter]
    fn url(&self) -> PyResult<String> {
        self.with(|s| Ok(s.url()))
    }

    #[getter]
    fn evil_url(&self) -> PyResult<String> {
        self.with(|s| Ok(s.evil_url()))
    }

    #[getter]
    fn proxy_url(&self) -> PyResult<String> {
        self.with(|s| Ok(s.proxy_url()))
    }

    #[getter]
    fn api_key(&self) -> PyResult<String> {
        self.with(|s| Ok(s.api_key()))
    }

    #[getter]
    fn jwt(&self) -> PyResult<String> {
        self.with(|s| Ok(s.jwt()))
    }

    #[getter]
    fn signal_public_key_hex(&self) -> PyResult<String> {
        self.with(|s| Ok(s.signal_public_key_hex()))
    }

    /// Serves case `case_id` from now on (`None`: every answer good); resets the hit counters.
    #[pyo3(signature = (case_id, exchange_mode="every"))]
    fn set_case(&self, case_id: Option<String>, exchange_mode: &str) -> PyResult<()> {
        self.with(|s| {
            s.set_case(case_id.as_deref(), exchange_mode)
                .map_err(PyValueError::new_err)
        })
    }

    fn evil_hits(&self) -> PyResult<u64> {
        self.with(|s| Ok(s.evil_hits()))
    }

    fn proxy_hits(&self) -> PyResult<u64> {
        self.with(|s| Ok(s.proxy_hits()))
    }

    fn hits(&self, route: &str) -> PyResult<u64> {
        self.with(|s| Ok(s.hits(route)))
    }

    fn case_ids(&self) -> Vec<String> {
        self.corpus.case_ids()
    }

    /// `{id, class, route, expect_codes, secret_echo, raw}` of one case.
    fn case<'py>(&self, py: Python<'py>, case_id: &str) -> PyResult<Bound<'py, PyDict>> {
        let c = self
            .corpus
            .case(case_id)
            .ok_or_else(|| PyKeyError::new_err(case_id.to_owned()))?;
        let d = PyDict::new(py);
        d.set_item("id", &c.id)?;
        d.set_item("class", &c.class)?;
        d.set_item("route", &c.route)?;
        d.set_item("expect_codes", c.expect_codes.clone())?;
        d.set_item("secret_echo", c.secret_echo)?;
        d.set_item("raw", to_py(py, &c.raw)?)?;
        Ok(d)
    }

    /// The corpus's `defaults` object (test settings).
    fn defaults(&self) -> Json {
        Json(self.corpus.defaults().clone())
    }

    fn shutdown(&self) {
        if let Ok(mut g) = self.inner.lock() {
            if let Some(s) = g.take() {
                s.shutdown();
            }
        }
    }

    #[getter]
    fn running(&self) -> bool {
        self.inner.lock().map(|g| g.is_some()).unwrap_or(false)
    }

    fn __repr__(&self) -> String {
        match self
            .inner
            .lock()
            .ok()
            .and_then(|g| g.as_ref().map(|s| format!("{s:?}")))
        {
            Some(s) => s,
            None => "HostileServer(shut down)".into(),
        }
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
