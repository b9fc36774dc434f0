//! N-API handles over the Paybond Kit core. Private: users import the
//! `paybond-kit` package, whose TypeScript layer types results and converts
//! every native error in one place (`fromNative`).
//!
//! The glue judges nothing: host values are handed to the core as they are
//! ([`convert`]: a JS number is an `f64`, a bigint an `i128`, anything else
//! names its type) and the core's rules decide. Every entry point runs
//! through the core's unwind guard, so a bug is an `InternalError`, never a
//! crash or napi's untyped "Panic in async function".
//!
//! One file per concept: [`convert`] (host values in, errors out), [`session`]
//! (sessions, Harbor and Signal clients, token provider), [`guard`] (the tool
//! guard), [`evidence`] (payee signing), [`testing`] (dev server, hostile server).

use napi::bindgen_prelude::*;
use napi_derive::napi;

pub mod convert;
pub mod evidence;
pub mod guard;
pub mod harbor;
pub mod session;
pub mod signal;
pub mod testing;

pub(crate) use convert::{spawn_owned, sync, to_json};

/// Makes the next `n` HTTP attempts in this process panic (tests only: proves
/// that a panic becomes an `InternalError` / a deny). Not part of the public API.
#[napi(js_name = "_injectPanics")]
pub fn inject_panics(n: u32) {
    paybond_kit::testing::inject_panics(n);
}

/// Judges a spend with the core's rule (an exact integer in `0..=2^53-1`) and
/// returns it; throws `InvalidArgumentError` (`requestedSpendCents`) otherwise.
/// Used by the TypeScript adapters to check a static spend at construction.
#[napi(js_name = "_checkSpendCents")]
pub fn check_spend_cents(value: Unknown<'_>) -> Result<f64> {
    sync(|| {
        let n = convert::host_number("requested_spend_cents", Some(&value))?;
        paybond_kit::input::spend_cents(paybond_kit::FieldStyle::Camel, &n).map(|s| s as f64)
    })
}
