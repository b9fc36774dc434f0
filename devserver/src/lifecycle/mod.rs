//! The tool-call lifecycle, as state (the routes are in
//! `server::routes::{verify, lifecycle}`).
//!
//! - **Decisions** (`spend.rs`): an allow reserves its spend as a
//!   [`Decision`] (`reserved`). The caller completes it once: `consumed`
//!   keeps the spend, `released` gives it back. The same outcome again
//!   answers the first completion; the other outcome is a 409
//!   `decision_already_completed` naming the recorded `outcome`. A
//!   reservation not completed within the hold period is released by the
//!   server (measured on the dev clock, swept lazily on access), and any
//!   completion after that is a 409 with `"outcome": "released"`.
//! - **Call binding**: a verify that names a `tool_call_id` binds
//!   `(intent, tool_call_id)` to its [`CallArgs`] (args digest, operation,
//!   spend) when it reserves or asks for approval. Later verifies of that
//!   call with other arguments are a 409 `call_args_changed`; with the same
//!   ones they answer the same decision while it is reserved (no new
//!   reservation, whatever the idempotency key) and deny `call_replayed`
//!   once it was completed or expired.
//! - **Approvals** (`approval.rs`): on an intent with an approval threshold,
//!   a call spending more than it answers `approval_required` with an
//!   [`Approval`] id and reserves nothing; the same call again while
//!   pending answers the same id. A reviewer approves (the next verify of
//!   the call reserves, once) or rejects (verifies deny `approval_rejected`
//!   with the reviewer's reason). Deciding the same way again answers the
//!   first decision; the other way is a 409 `approval_already_decided`.

mod approval;
mod spend;

pub use approval::{decide, request_approval, Approval, ApprovalStatus};
pub use spend::{complete, decision_record, reserve, sweep};

use crate::clock::ClockOverflow;
use crate::error::ApiError;
use crate::state::App;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};

/// Where a decision is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecisionState {
    /// Spend reserved, not completed yet.
    Reserved,
    /// Completed: the spend stays spent.
    Consumed,
    /// Completed (or expired): the spend went back to the intent.
    Released,
}

impl DecisionState {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionState::Reserved => "reserved",
            DecisionState::Consumed => "consumed",
            DecisionState::Released => "released",
        }
    }
}

/// How a caller completes a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The tool ran: keep the spend.
    Consumed,
    /// The tool did not run (or failed): give the spend back.
    Released,
}

impl Outcome {
    /// `consumed` | `released`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "consumed" => Some(Outcome::Consumed),
            "released" => Some(Outcome::Released),
            _ => None,
        }
    }

    pub(crate) fn state(self) -> DecisionState {
        match self {
            Outcome::Consumed => DecisionState::Consumed,
            Outcome::Released => DecisionState::Released,
        }
    }
}

/// What identifies a call's arguments: a second verify of the same call id
/// must carry the same ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallArgs {
    /// The digest of the tool arguments, when sent.
    pub args_digest: Option<String>,
    /// Operation.
    pub operation: String,
    /// Requested spend.
    pub spend: i64,
}

/// An allow's reservation.
#[derive(Clone, Debug)]
pub struct Decision {
    /// Decision id (UUID).
    pub decision_id: String,
    /// Intent charged.
    pub intent_id: String,
    /// Tool call id, when the verify named one.
    pub tool_call_id: Option<String>,
    /// The call's arguments.
    pub args: CallArgs,
    /// State.
    pub state: DecisionState,
    /// When reserved (dev clock).
    pub reserved_at: SystemTime,
    /// When the server releases it if not completed.
    pub hold_until: SystemTime,
    /// When completed or expired.
    pub completed_at: Option<SystemTime>,
    /// Released by the server after the hold, not by the caller.
    pub auto_released: bool,
    /// The verify answer (replayed to a re-verify of the same call).
    pub allow_answer: Value,
    /// The completion answer (replayed to the same completion again).
    pub completion: Option<Value>,
}

/// A tool call id's binding within one intent.
#[derive(Clone, Debug)]
pub struct CallBinding {
    /// The arguments the call id is bound to.
    pub args: CallArgs,
    /// Its decision, once one was reserved.
    pub decision_id: Option<String>,
    /// Its approval request, when one was needed.
    pub approval_id: Option<String>,
}

/// One tenant's decisions, call bindings and approvals.
#[derive(Debug, Default)]
pub struct Lifecycle {
    /// Decisions by id.
    pub decisions: HashMap<String, Decision>,
    /// Call bindings by `(intent_id, tool_call_id)`.
    pub calls: HashMap<(String, String), CallBinding>,
    /// Approval requests by id.
    pub approvals: HashMap<String, Approval>,
    /// Reserved decisions in order of `hold_until` (the hold is constant and
    /// the clock only moves forward, so reservation order is expiry order).
    pub(crate) hold_queue: VecDeque<(SystemTime, String)>,
}

impl App {
    /// Moves the dev clock ahead (and releases what expired); returns the new offset.
    pub fn advance_clock(&self, by: Duration) -> Result<Duration, ClockOverflow> {
        let off = self.clock.advance(by)?;
        self.sweep_expired();
        Ok(off)
    }

    /// Releases every tenant's expired reservations.
    pub fn sweep_expired(&self) {
        let now = self.clock.now();
        for t in self.data.lock().tenants.values_mut() {
            sweep(t, now);
        }
    }

    /// Releases one tenant's expired reservations.
    pub fn sweep_tenant(&self, tenant: &str) {
        let now = self.clock.now();
        if let Some(t) = self.data.lock().tenants.get_mut(tenant) {
            sweep(t, now);
        }
    }

    /// Completes a decision of `tenant`.
    pub fn complete_decision(
        &self,
        tenant: &str,
        id: &str,
        outcome: Outcome,
    ) -> Result<Value, ApiError> {
        let now = self.clock.now();
        let mut d = self.data.lock();
        let t = d
            .tenants
            .get_mut(tenant)
            .ok_or_else(ApiError::tenant_unknown)?;
        sweep(t, now);
        complete(t, id, outcome, now)
    }

    /// Decides an approval request of `tenant`.
    pub fn decide_approval(
        &self,
        tenant: &str,
        id: &str,
        approve: bool,
        reason: Option<&str>,
    ) -> Result<Value, ApiError> {
        let mut d = self.data.lock();
        let t = d
            .tenants
            .get_mut(tenant)
            .ok_or_else(ApiError::tenant_unknown)?;
        decide(t, tenant, id, approve, reason)
    }
}
