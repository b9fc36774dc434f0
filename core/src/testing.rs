//! Test hooks: let the kit's own tests (in every language) prove that a
//! panic inside a call is caught and becomes a deny. Nothing here is reachable
//! from network input; only code that links the crate can arm it.

use std::sync::atomic::{AtomicU32, Ordering};

static ARMED: AtomicU32 = AtomicU32::new(0);

/// Makes the next `n` HTTP attempts in this process panic before sending.
#[doc(hidden)]
pub fn inject_panics(n: u32) {
    ARMED.store(n, Ordering::SeqCst);
}

/// Panics when armed (called at the start of every HTTP attempt).
#[inline]
pub(crate) fn maybe_panic() {
    if ARMED.load(Ordering::Relaxed) == 0 {
        return;
    }
    let took = ARMED
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if took {
        // resume_unwind skips the panic hook: no backtrace noise in test output.
        std::panic::resume_unwind(Box::new(
            "injected panic (paybond_kit::testing::inject_panics)",
        ));
    }
}
