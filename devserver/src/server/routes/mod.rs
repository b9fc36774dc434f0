//! Route handlers, one module per area.

pub mod admin;
pub mod gateway;
pub mod intents;
pub mod ledger;
pub mod lifecycle;
pub mod signal;
pub mod verify;
