//! Turning a panic into an error: every hand-off to a host language (and the
//! guard itself) runs its future through [`catch_unwind`], so a bug is an
//! [`crate::Error::Internal`] (a deny), never a hang or a crash.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Runs a future and turns a panic inside it into [`crate::Error::Internal`].
pub async fn catch_unwind<T, F>(fut: F) -> crate::Result<T>
where
    F: Future<Output = crate::Result<T>>,
{
    CatchUnwind(Box::pin(fut)).await
}

/// Runs a closure and turns a panic inside it into [`crate::Error::Internal`].
pub fn catch_unwind_sync<T>(f: impl FnOnce() -> crate::Result<T>) -> crate::Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|payload| Err(crate::Error::from_panic(&*payload)))
}

struct CatchUnwind<F>(Pin<Box<F>>);

impl<T, F> Future for CatchUnwind<F>
where
    F: Future<Output = crate::Result<T>>,
{
    type Output = crate::Result<T>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(p) => p,
            Err(payload) => Poll::Ready(Err(crate::Error::from_panic(&*payload))),
        }
    }
}
