//! Hands results of the kit's tokio tasks to asyncio without touching Python off its thread.
//!
//! Each event loop gets one [`LoopBridge`]: a queue of finished calls and a pipe the loop
//! watches with `add_reader`. A finished task pushes its result and, if the loop was not
//! already told, writes one byte. The loop thread wakes, drains the whole queue and sets
//! each `asyncio.Future` — converting results and errors to Python objects there, with the
//! GIL it already holds. So a call costs one hop into tokio and one back, tokio threads never
//! take the GIL (nothing can block them behind Python, and nothing touches a finalizing
//! interpreter at exit), and a burst of completions wakes the loop once.
//!
//! A loop without `add_reader` for pipes (Windows' proactor) gets the same queue, with the
//! wake-up done by `loop.call_soon_threadsafe(bridge.drain)` from the finishing task.

use pyo3::exceptions::PyRuntimeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use std::future::Future;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

type Make = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

/// One finished call: the future to complete and how to build its result under the GIL.
struct Done {
    fut: Py<PyAny>,
    make: Make,
}

enum Wake {
    /// Write a byte to the pipe the loop watches.
    Pipe(std::io::PipeWriter),
    /// `loop.call_soon_threadsafe(bridge.drain)` (needs the GIL on the finishing thread).
    Threadsafe {
        call_soon: Py<PyAny>,
        drain: Py<PyAny>,
    },
}

struct Shared {
    queue: Mutex<Vec<Done>>,
    /// Set once the loop has been told about the queue; cleared by `drain` before it takes it.
    notified: AtomicBool,
    wake: OnceLock<Wake>,
}

impl Shared {
    fn push(&self, d: Done) {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).push(d);
        if self.notified.swap(true, Ordering::AcqRel) {
            return;
        }
        match self.wake.get() {
            Some(Wake::Pipe(w)) => {
                // Non-blocking: a full pipe already means "readable", so a lost byte is harmless.
                let _ = (&*w).write(&[1]);
            }
            Some(Wake::Threadsafe { call_soon, drain }) => {
                Python::attach(|py| {
                    if let Err(e) = call_soon.bind(py).call1((drain.bind(py),)) {
                        // The loop is closed: nobody is waiting on these futures any more.
                        drop(e);
                    }
                });
            }
            None => {}
        }
    }
}

/// The per-event-loop queue of finished calls (private to `paybond_kit._native`).
#[pyclass(frozen, module = "paybond_kit._native")]
pub struct LoopBridge {
    shared: Arc<Shared>,
    reader: std::io::PipeReader,
}

#[pymethods]
impl LoopBridge {
    /// Completes every finished call's future; the loop calls this when the pipe is readable.
    fn drain(&self, py: Python<'_>) {
        if matches!(self.shared.wake.get(), Some(Wake::Pipe(_))) {
            // Empty the (non-blocking) pipe: one byte per wake-up, a few at most.
            let mut buf = [0u8; 64];
            while let Ok(n) = (&self.reader).read(&mut buf) {
                if n < buf.len() {
                    break;
                }
            }
        }
        self.shared.notified.store(false, Ordering::Release);
        let items =
            std::mem::take(&mut *self.shared.queue.lock().unwrap_or_else(|p| p.into_inner()));
        for d in items {
            let fut = d.fut.bind(py);
            // A cancelled future is done already; its result is dropped.
            if fut
                .call_method0(intern!(py, "done"))
                .and_then(|x| x.is_truthy())
                .unwrap_or(true)
            {
                continue;
            }
            // A panic while building the result still completes the future (InternalError).
            let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (d.make)(py)))
                .unwrap_or_else(|payload| {
                    Err(crate::convert::to_py_err(paybond_kit::Error::from_panic(
                        &*payload,
                    )))
                });
            let r = match made {
                Ok(v) => fut.call_method1(intern!(py, "set_result"), (v,)),
                Err(e) => fut.call_method1(intern!(py, "set_exception"), (e.into_value(py),)),
            };
            drop(r);
        }
    }
}

/// Aborts the tokio task when its future is cancelled (an `add_done_callback` callable).
#[pyclass(frozen, module = "paybond_kit._native")]
pub struct AbortOnCancel(tokio::task::AbortHandle);

#[pymethods]
impl AbortOnCancel {
    fn __call__(&self, fut: &Bound<'_, PyAny>) -> PyResult<()> {
        if fut
            .call_method0(intern!(fut.py(), "cancelled"))?
            .is_truthy()?
        {
            self.0.abort();
        }
        Ok(())
    }
}

static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static BRIDGES: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn bridge_for<'py>(py: Python<'py>, lp: &Bound<'py, PyAny>) -> PyResult<Bound<'py, LoopBridge>> {
    let bridges = BRIDGES.get_or_try_init(py, || {
        py.import("weakref")?
            .getattr("WeakKeyDictionary")?
            .call0()
            .map(Bound::unbind)
    })?;
    let bridges = bridges.bind(py);
    let got = bridges.call_method1(intern!(py, "get"), (lp,))?;
    if let Ok(b) = got.cast_into::<LoopBridge>() {
        return Ok(b);
    }
    let (reader, writer) = std::io::pipe().map_err(|e| {
        PyRuntimeError::new_err(format!("cannot create the loop's wake-up pipe: {e}"))
    })?;
    let shared = Arc::new(Shared {
        queue: Mutex::new(Vec::new()),
        notified: AtomicBool::new(false),
        wake: OnceLock::new(),
    });
    let bridge = Bound::new(
        py,
        LoopBridge {
            shared: shared.clone(),
            reader,
        },
    )?;
    let drain = bridge.getattr(intern!(py, "drain"))?;
    let wake = if watch_pipe(lp, &bridge.get().reader, &writer, &drain) {
        Wake::Pipe(writer)
    } else {
        // No fd watching here (e.g. the proactor loop): wake it through call_soon_threadsafe.
        Wake::Threadsafe {
            call_soon: lp.getattr(intern!(py, "call_soon_threadsafe"))?.unbind(),
            drain: drain.unbind(),
        }
    };
    let _ = shared.wake.set(wake);
    bridges.set_item(lp, &bridge)?;
    Ok(bridge)
}

/// Makes both ends non-blocking and asks the loop to call `drain` when the pipe is readable.
#[cfg(unix)]
fn watch_pipe(
    lp: &Bound<'_, PyAny>,
    r: &std::io::PipeReader,
    w: &std::io::PipeWriter,
    drain: &Bound<'_, PyAny>,
) -> bool {
    use std::os::fd::AsRawFd;
    let py = lp.py();
    let (rfd, wfd) = (r.as_raw_fd(), w.as_raw_fd());
    let ok = (|| -> PyResult<()> {
        let os = py.import("os")?;
        os.call_method1("set_blocking", (rfd, false))?;
        os.call_method1("set_blocking", (wfd, false))?;
        lp.call_method1(intern!(py, "add_reader"), (rfd, drain))?;
        Ok(())
    })();
    ok.is_ok()
}

#[cfg(not(unix))]
fn watch_pipe(
    _: &Bound<'_, PyAny>,
    _: &std::io::PipeReader,
    _: &std::io::PipeWriter,
    _: &Bound<'_, PyAny>,
) -> bool {
    false
}

/// Runs `fut` on `rt` and returns an `asyncio.Future` of the running loop that gets its
/// result (built by `make` on the loop thread). Cancelling the future aborts the task.
/// Callers hand in a future that cannot unwind (`paybond_kit::unwind::catch_unwind`, see
/// `awaitable` in lib.rs); a panic in `make` is caught in `drain`.
pub fn spawn<'py, F, T, M>(
    py: Python<'py>,
    rt: &tokio::runtime::Runtime,
    fut: F,
    make: M,
) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
    M: FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>> + Send + 'static,
{
    let get_loop = GET_RUNNING_LOOP.get_or_try_init(py, || {
        py.import("asyncio")?
            .getattr("get_running_loop")
            .map(Bound::unbind)
    })?;
    let lp = get_loop.bind(py).call0()?;
    let bridge = bridge_for(py, &lp)?;
    let pyfut = lp.call_method0(intern!(py, "create_future"))?;
    let shared = bridge.get().shared.clone();
    let target = pyfut.clone().unbind();
    let task = rt.spawn(async move {
        let out = fut.await;
        shared.push(Done {
            fut: target,
            make: Box::new(move |py| make(py, out)),
        });
    });
    pyfut.call_method1(
        intern!(py, "add_done_callback"),
        (Bound::new(py, AbortOnCancel(task.abort_handle()))?,),
    )?;
    Ok(pyfut)
}
