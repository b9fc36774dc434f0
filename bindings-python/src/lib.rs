//! `paybond_kit._native`: PyO3 handles over the Rust core. Private: users
//! import `paybond_kit`, whose pure-Python layer types the results and maps
//! names. Every call releases the GIL while it waits on I/O.
//!
//! One file per concept: `args` (host values -> core inputs), `convert` (JSON and
//! errors), `session` (Harbor sessions), `harbor` (the Harbor client), `gateway` (token provider), `signal`, `guard`,
//! `signing`, `devserver` and `hostile` (test servers), `bridge` (the asyncio hand-off),
//! `logging`. No input rule lives here: the core judges every value.

mod args;
mod bridge;
mod convert;
mod devserver;
mod gateway;
mod guard;
mod harbor;
mod hostile;
mod logging;
mod session;
mod signal;
mod signing;

use convert::{to_py_err, Json};
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;
use serde_json::Value;
use std::future::Future;

/// The kit's tokio runtime: one per process, shared by every session and the dev server.
/// A `fork()` child (gunicorn, multiprocessing "fork") inherits the parent's runtime without
/// its worker threads, so the first call in a child builds the child's own runtime (the
/// parent's is left untouched: dropping it there could block on threads that do not exist).
fn rt() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<(u32, tokio::runtime::Runtime)> = std::sync::OnceLock::new();
    static FORKED: std::sync::Mutex<Option<(u32, &'static tokio::runtime::Runtime)>> =
        std::sync::Mutex::new(None);
    let (pid, main) = RT.get_or_init(|| (std::process::id(), new_runtime()));
    let now = std::process::id();
    if *pid == now {
        return main;
    }
    let mut g = FORKED.lock().unwrap_or_else(|e| e.into_inner());
    match *g {
        Some((p, r)) if p == now => r,
        _ => {
            let r: &'static tokio::runtime::Runtime = Box::leak(Box::new(new_runtime()));
            *g = Some((now, r));
            r
        }
    }
}

fn new_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("paybond-kit")
        .build()
        .expect("paybond_kit: cannot start the tokio runtime")
}

/// Runs `fut` on the kit's tokio runtime and returns an awaitable. A panic inside `fut`
/// is caught and becomes `InternalError` (never a future that does not resolve).
fn awaitable<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = paybond_kit::Result<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    bridge::spawn(py, rt(), paybond_kit::unwind::catch_unwind(fut), |py, r| {
        r.map_err(to_py_err).and_then(|v| v.into_py_any(py))
    })
}

/// Runs `fut` to completion with the GIL released; a panic becomes `InternalError`.
fn blocking<F, T>(py: Python<'_>, fut: F) -> PyResult<T>
where
    F: Future<Output = paybond_kit::Result<T>> + Send,
    T: Send,
{
    py.detach(|| rt().block_on(paybond_kit::unwind::catch_unwind(fut)))
        .map_err(to_py_err)
}

/// One native method for both forms of a call: `blocking=False` returns an awaitable,
/// `blocking=True` runs to completion with the GIL released (the Python `_sync` twin).
/// A panic inside `fut` becomes `InternalError` either way.
fn run_mode<'py, F, T>(py: Python<'py>, blocking_call: bool, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = paybond_kit::Result<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    if blocking_call {
        blocking(py, fut)?.into_bound_py_any(py)
    } else {
        awaitable(py, fut)
    }
}

/// Runs a synchronous core call; a panic becomes `InternalError` (not `PanicException`).
fn guarded<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(to_py_err(paybond_kit::Error::from_panic(&*payload))),
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Json {
    Json(serde_json::to_value(v).unwrap_or(Value::Null))
}

/// Test hook: the next `n` HTTP attempts in this process panic (`paybond_kit::testing`).
#[pyfunction]
#[pyo3(name = "_inject_panics")]
fn inject_panics(n: u32) {
    paybond_kit::testing::inject_panics(n);
}

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MAX_SAFE_INTEGER", paybond_kit::input::MAX_SAFE_INTEGER)?;
    session::register(m)?;
    harbor::register(m)?;
    gateway::register(m)?;
    signal::register(m)?;
    guard::register(m)?;
    signing::register(m)?;
    devserver::register(m)?;
    hostile::register(m)?;
    m.add_function(wrap_pyfunction!(logging::set_log_level, m)?)?;
    m.add_function(wrap_pyfunction!(inject_panics, m)?)?;
    logging::install();
    Ok(())
}
