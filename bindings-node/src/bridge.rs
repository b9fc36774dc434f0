//! Settles the promises of hot-path calls (verify, authorize, evidence) from one long-lived
//! threadsafe function per JavaScript thread, instead of napi-rs' per-call machinery (a
//! threadsafe function, a cleanup hook and a captured `Error` for every call).
//!
//! A call creates a plain promise and spawns its future on the runtime. When the future ends it
//! pushes its result onto the thread's queue and, if the JS thread was not already told, makes
//! one `napi_call_threadsafe_function`. The JS thread then drains the whole queue, converting
//! and settling every finished promise. The threadsafe function is referenced only while calls
//! are pending, so a finished program exits and a pending call keeps it alive.

use napi::bindgen_prelude::*;
use napi::sys;
use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::future::Future;
use std::ptr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

type Settle = Box<dyn FnOnce(sys::napi_env) -> Result<sys::napi_value> + Send>;

struct Done {
    deferred: Raw<sys::napi_deferred>,
    settle: Settle,
}

/// A raw N-API handle moved between threads; only ever used on its JS thread.
struct Raw<T>(T);
// SAFETY: the handles are opaque tokens; they are dereferenced only by N-API calls made on the
// JS thread that created them (in `drain` / `spawn_promise`).
unsafe impl<T> Send for Raw<T> {}
unsafe impl<T> Sync for Raw<T> {}

struct Shared {
    queue: Mutex<Vec<Done>>,
    notified: AtomicBool,
    /// `None` once the env tore down: the function is freed then and must not be called.
    tsfn: Mutex<Option<Raw<sys::napi_threadsafe_function>>>,
}

impl Shared {
    fn tsfn(&self) -> Option<sys::napi_threadsafe_function> {
        self.tsfn
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|f| f.0)
    }

    fn push(&self, d: Done) {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).push(d);
        if self.notified.swap(true, Ordering::AcqRel) {
            return;
        }
        // Held across the call so the env's teardown cannot free the function meanwhile.
        let f = self.tsfn.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = f.as_ref() {
            // SAFETY: the function is alive while it is in the slot (see `teardown`).
            unsafe {
                sys::napi_call_threadsafe_function(
                    f.0,
                    ptr::null_mut(),
                    sys::ThreadsafeFunctionCallMode::nonblocking,
                );
            }
        }
    }
}

/// This JS thread's side: the shared queue and how many calls are still pending.
struct Local {
    shared: Arc<Shared>,
    pending: Cell<usize>,
}

thread_local! {
    static LOCAL: RefCell<Option<Rc<Local>>> = const { RefCell::new(None) };
}

fn check(status: sys::napi_status, what: &str) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::new(
            Status::GenericFailure,
            format!("paybond-kit: {what} failed ({status})"),
        ))
    }
}

unsafe extern "C" fn call_js(
    env: sys::napi_env,
    _js_cb: sys::napi_value,
    context: *mut c_void,
    _data: *mut c_void,
) {
    if env.is_null() || context.is_null() {
        return; // the function is being torn down
    }
    // SAFETY: `context` is the `Arc<Shared>` leaked in `local`, freed only in `finalize`.
    let shared = unsafe { &*(context as *const Shared) };
    shared.notified.store(false, Ordering::Release);
    let items = std::mem::take(&mut *shared.queue.lock().unwrap_or_else(|p| p.into_inner()));
    let n = items.len();
    for d in items {
        // SAFETY: on the JS thread, inside the scope N-API opened for this callback.
        unsafe {
            match (d.settle)(env) {
                Ok(v) => sys::napi_resolve_deferred(env, d.deferred.0, v),
                Err(e) => {
                    sys::napi_reject_deferred(env, d.deferred.0, JsError::from(e).into_value(env))
                }
            };
        }
    }
    LOCAL.with(|l| {
        if let Some(l) = l.borrow().as_ref() {
            let left = l.pending.get().saturating_sub(n);
            l.pending.set(left);
            if left == 0 {
                // SAFETY: on the JS thread that owns the function.
                if let Some(f) = l.shared.tsfn() {
                    unsafe { sys::napi_unref_threadsafe_function(env, f) };
                }
            }
        }
    });
}

unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    if !data.is_null() {
        // SAFETY: `data` is the pointer made by `Arc::into_raw` in `local`.
        drop(unsafe { Arc::from_raw(data as *const Shared) });
    }
}

unsafe extern "C" fn teardown(_arg: *mut c_void) {
    LOCAL.with(|l| {
        if let Some(l) = l.borrow_mut().take() {
            // SAFETY: the env is tearing down on this thread; abort stops further calls.
            let f = l
                .shared
                .tsfn
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            if let Some(f) = f {
                unsafe {
                    sys::napi_release_threadsafe_function(
                        f.0,
                        sys::ThreadsafeFunctionReleaseMode::abort,
                    )
                };
            }
        }
    });
}

fn local(env: sys::napi_env) -> Result<Rc<Local>> {
    if let Some(l) = LOCAL.with(|l| l.borrow().clone()) {
        return Ok(l);
    }
    let mut name = ptr::null_mut();
    let label = "paybond-kit";
    // SAFETY: plain N-API calls on the JS thread with valid out-pointers.
    unsafe {
        check(
            sys::napi_create_string_utf8(
                env,
                label.as_ptr().cast(),
                label.len() as isize,
                &mut name,
            ),
            "napi_create_string_utf8",
        )?;
    }
    // The context must exist before the function does; its handle is filled in right after.
    let shared = Arc::new(Shared {
        queue: Mutex::new(Vec::new()),
        notified: AtomicBool::new(false),
        tsfn: Mutex::new(None),
    });
    let mut tsfn = ptr::null_mut();
    let ctx = Arc::into_raw(shared.clone()) as *mut c_void;
    // SAFETY: as above; `ctx` stays alive until `finalize` runs.
    let status = unsafe {
        sys::napi_create_threadsafe_function(
            env,
            ptr::null_mut(),
            ptr::null_mut(),
            name,
            0,
            1,
            ctx,
            Some(finalize),
            ctx,
            Some(call_js),
            &mut tsfn,
        )
    };
    if let Err(e) = check(status, "napi_create_threadsafe_function") {
        // SAFETY: the function was not created, so `finalize` will not free `ctx`.
        drop(unsafe { Arc::from_raw(ctx as *const Shared) });
        return Err(e);
    }
    *shared.tsfn.lock().unwrap_or_else(|p| p.into_inner()) = Some(Raw(tsfn));
    // SAFETY: on the JS thread; the hook runs before Node finalizes the function.
    unsafe {
        sys::napi_unref_threadsafe_function(env, tsfn);
        sys::napi_add_env_cleanup_hook(env, Some(teardown), ptr::null_mut());
    }
    let l = Rc::new(Local {
        shared,
        pending: Cell::new(0),
    });
    LOCAL.with(|slot| *slot.borrow_mut() = Some(l.clone()));
    Ok(l)
}

/// Runs `fut` on the runtime and returns a promise settled on this JS thread with
/// `resolve(value)`, or rejected with the error.
pub fn spawn_promise<'env, F, T, R>(
    env: &'env Env,
    fut: F,
    resolve: R,
) -> Result<PromiseRaw<'env, ()>>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
    R: FnOnce(sys::napi_env, T) -> Result<sys::napi_value> + Send + 'static,
{
    let raw = env.raw();
    let l = local(raw)?;
    let (mut deferred, mut promise) = (ptr::null_mut(), ptr::null_mut());
    // SAFETY: on the JS thread with valid out-pointers.
    unsafe {
        check(
            sys::napi_create_promise(raw, &mut deferred, &mut promise),
            "napi_create_promise",
        )?
    };
    if l.pending.get() == 0 {
        // SAFETY: on the JS thread that owns the function.
        if let Some(f) = l.shared.tsfn() {
            unsafe { sys::napi_ref_threadsafe_function(raw, f) };
        }
    }
    l.pending.set(l.pending.get() + 1);
    let shared = l.shared.clone();
    let deferred = Raw(deferred);
    napi::bindgen_prelude::spawn(async move {
        let out = fut.await;
        shared.push(Done {
            deferred,
            settle: Box::new(move |env| out.and_then(|v| resolve(env, v))),
        });
    });
    Ok(PromiseRaw::new(raw, promise))
}

/// `resolve` for results that are JSON values.
pub fn json(env: sys::napi_env, v: serde_json::Value) -> Result<sys::napi_value> {
    // SAFETY: on the JS thread, inside the callback's scope.
    unsafe { serde_json::Value::to_napi_value(env, v) }
}
