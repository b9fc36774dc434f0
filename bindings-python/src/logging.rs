//! The core's `tracing` events, redacted, into Python's `logging` (logger `paybond_kit`).

use pyo3::prelude::*;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

// 0 = off; otherwise the most verbose tracing level forwarded (1 error .. 5 trace).
static MAX: AtomicU8 = AtomicU8::new(0);

fn rank(l: &Level) -> u8 {
    match *l {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

/// Forwards events at or above Python `level` (a `logging` level number); 0 or above 50 turns it off.
#[pyfunction]
pub fn set_log_level(level: i32) {
    let r = match level {
        l if l <= 0 || l > 50 => 0,
        l if l <= 5 => 5,
        l if l <= 10 => 4,
        l if l <= 20 => 3,
        l if l <= 30 => 2,
        _ => 1,
    };
    MAX.store(r, Ordering::Relaxed);
    tracing::callsite::rebuild_interest_cache();
}

struct Fields(String);
impl Visit for Fields {
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        if f.name() == "message" {
            let _ = write!(self.0, "{v:?} ");
        } else {
            let _ = write!(self.0, "{}={v:?} ", f.name());
        }
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        if f.name() == "message" {
            let _ = write!(self.0, "{v} ");
        } else {
            let _ = write!(self.0, "{}={v:?} ", f.name());
        }
    }
}

struct PyLogLayer;

impl<S: Subscriber> Layer<S> for PyLogLayer {
    fn enabled(&self, meta: &tracing::Metadata<'_>, _: Context<'_, S>) -> bool {
        let max = MAX.load(Ordering::Relaxed);
        max != 0 && meta.target().starts_with("paybond") && rank(meta.level()) <= max
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        let mut f = Fields(String::with_capacity(128));
        event.record(&mut f);
        let msg = paybond_kit::error::redact(f.0.trim_end());
        let level = match *meta.level() {
            Level::ERROR => 40,
            Level::WARN => 30,
            Level::INFO => 20,
            Level::DEBUG => 10,
            Level::TRACE => 5,
        };
        let target = meta.target().to_owned();
        Python::attach(|py| {
            let r = (|| -> PyResult<()> {
                let logger = py
                    .import("logging")?
                    .call_method1("getLogger", ("paybond_kit",))?;
                logger.call_method1("log", (level, "%s: %s", target, msg))?;
                Ok(())
            })();
            if let Err(e) = r {
                e.print(py);
            }
        });
    }
}

/// Installs the forwarding layer as the global subscriber (once; ignored if the host set one).
pub fn install() {
    let _ = tracing_subscriber::registry().with(PyLogLayer).try_init();
}
