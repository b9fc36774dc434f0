//! # Paybond Kit core
//!
//! Everything that talks to Paybond's Gateway, Harbor and Signal, or signs
//! for them: tenant-bound sessions, capability verification, the
//! framework-neutral [`guard::ToolGuard`], payee evidence signing and Signal
//! reads. The Python and Node packages are thin bindings over this crate.
//!
//! The one promise: a guarded tool cannot run unless Harbor `POST /verify`
//! said `allow: true` for that call, under the caller's own tenant, with a
//! capability token minted for that intent. Every failure on the way to an
//! allow is a deny.

#![warn(missing_docs)]

pub mod attenuate;
pub mod capability;
pub mod digest;
mod encode;
pub mod error;
pub mod evidence;
pub mod gateway;
pub mod guard;
pub mod harbor;
mod http;
pub mod input;
pub mod intent;
pub mod json;
pub mod secret;
pub mod session;
pub mod signal;
pub mod testing;
pub mod unwind;
pub mod url;

pub use attenuate::{AttenuationInput, TokenScope};
pub use error::{Error, Result};
pub use gateway::GatewayHarborTokenProvider;
pub use guard::{
    Decision, DenyCode, EvidenceSigner, GuardOptions, ToolCall, ToolGuard, ToolOutcome,
};
pub use harbor::{ApprovalDecision, HarborClient, SpendCompletion, SpendOutcome};
pub use http::HttpOptions;
pub use input::{FieldStyle, HostNumber, HostSeed, SessionOptionsInput};
pub use secret::Secret;
pub use session::{ServiceAccountHarborSession, ServiceAccountSignalSession, SessionOptions};
pub use signal::GatewaySignalClient;
