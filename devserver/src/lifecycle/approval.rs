//! Approval requests: a call above an intent's threshold waits for a
//! reviewer's `approve` or `reject`.

use super::{CallArgs, CallBinding};
use crate::error::ApiError;
use crate::state::Tenant;
use serde_json::{json, Value};
use std::time::SystemTime;

/// Where an approval request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApprovalStatus {
    /// Waiting for a reviewer.
    Pending,
    /// Approved: the next verify of the call reserves.
    Approved,
    /// Rejected: verifies of the call deny `approval_rejected`.
    Rejected,
}

impl ApprovalStatus {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Rejected => "rejected",
        }
    }
}

/// A call waiting for (or decided by) a reviewer.
#[derive(Clone, Debug)]
pub struct Approval {
    /// Id (UUID).
    pub approval_request_id: String,
    /// Intent.
    pub intent_id: String,
    /// Tool call id, when the verify named one.
    pub tool_call_id: Option<String>,
    /// The call's arguments.
    pub args: CallArgs,
    /// Status.
    pub status: ApprovalStatus,
    /// The reviewer's reason.
    pub reason: Option<String>,
    /// When requested (dev clock).
    pub requested_at: SystemTime,
    /// The decide answer (replayed to the same decision again).
    pub answer: Option<Value>,
}

/// Opens an approval request for a call (bound to its call id when it has one); returns its id.
pub fn request_approval(
    t: &mut Tenant,
    intent_id: &str,
    call: Option<&str>,
    args: CallArgs,
    now: SystemTime,
) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let l = &mut t.lifecycle;
    if let Some(c) = call {
        l.calls.insert(
            (intent_id.to_owned(), c.to_owned()),
            CallBinding {
                args: args.clone(),
                decision_id: None,
                approval_id: Some(id.clone()),
            },
        );
    }
    l.approvals.insert(
        id.clone(),
        Approval {
            approval_request_id: id.clone(),
            intent_id: intent_id.to_owned(),
            tool_call_id: call.map(str::to_owned),
            args,
            status: ApprovalStatus::Pending,
            reason: None,
            requested_at: now,
            answer: None,
        },
    );
    id
}

/// Decides approval request `id` of `t` (rules: [`crate::lifecycle`]).
pub fn decide(
    t: &mut Tenant,
    tenant: &str,
    id: &str,
    approve: bool,
    reason: Option<&str>,
) -> Result<Value, ApiError> {
    let a = t.lifecycle.approvals.get_mut(id).ok_or_else(|| {
        ApiError::coded(
            404,
            "approval_not_found",
            "no such approval request in this tenant",
        )
        .with("approval_request_id", id)
    })?;
    let wanted = if approve {
        ApprovalStatus::Approved
    } else {
        ApprovalStatus::Rejected
    };
    match a.status {
        ApprovalStatus::Pending => {
            a.status = wanted;
            a.reason = reason.map(str::to_owned);
            let answer = json!({
                "tenant": tenant, "approval_request_id": id, "status": wanted.as_str(), "reason": a.reason,
            });
            a.answer = Some(answer.clone());
            Ok(answer)
        }
        s if s == wanted => Ok(a.answer.clone().unwrap_or(Value::Null)),
        s => Err(ApiError::coded(
            409,
            "approval_already_decided",
            "this approval request was already decided the other way",
        )
        .with("approval_request_id", id)
        .with("status", s.as_str())),
    }
}
