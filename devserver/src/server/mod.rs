//! HTTP: the Gateway and Harbor routers over the handlers in [`routes`],
//! the extractors in [`extract`], and the serve loop with the fault layer in
//! [`serve()`].

pub mod extract;
pub mod routes;
mod serve_loop;

pub use extract::RemoteAddr;
pub use routes::admin::stats_json;
pub use serve_loop::serve;

use crate::state::App;
use axum::routing::{get, post};
use axum::Router;
use routes::{admin, gateway, intents, ledger, lifecycle, signal, verify};
use std::sync::Arc;

fn admin_routes(r: Router<Arc<App>>) -> Router<Arc<App>> {
    r.route("/dev/v1/tenants", post(admin::tenants))
        .route("/dev/v1/intents", post(admin::intents))
        .route(
            "/dev/v1/faults",
            post(admin::faults_add)
                .get(admin::faults_list)
                .delete(admin::faults_clear),
        )
        .route("/dev/v1/stats", get(admin::stats))
        .route("/dev/v1/api-keys/rebind", post(admin::rebind))
        .route("/dev/v1/operators/{did}/appeals", post(admin::appeal))
        .route("/dev/v1/keys", get(admin::keys))
        .route("/dev/v1/clock/advance", post(admin::clock_advance))
        .route("/healthz", get(|| async { "ok" }))
}

/// The Gateway router (auth, Signal, admin).
pub fn gateway_router(app: Arc<App>) -> Router {
    use signal::{operator_read, Explanation, Receipt, ReviewStatus};
    admin_routes(
        Router::new()
            .route("/v1/auth/harbor-access", post(gateway::harbor_access))
            .route("/v1/auth/principal", get(gateway::principal))
            .route("/reputation/{did}", get(operator_read::<Receipt>))
            .route("/signal/v1/portfolio/summary", get(signal::portfolio))
            .route(
                "/signal/v1/operators/{did}/explanation",
                get(operator_read::<Explanation>),
            )
            .route(
                "/signal/v1/operators/{did}/review-status",
                get(operator_read::<ReviewStatus>),
            ),
    )
    .with_state(app)
}

/// The Harbor router (verify, intents, evidence, ledger, admin).
pub fn harbor_router(app: Arc<App>) -> Router {
    admin_routes(
        Router::new()
            .route("/verify", post(verify::verify))
            .route("/intents", post(intents::create))
            .route("/intents/{id}", get(intents::get))
            .route("/intents/{id}/evidence", post(intents::evidence))
            .route(
                "/v1/spend/decisions/{decision_id}/complete",
                post(lifecycle::complete),
            )
            .route("/v1/spend/decisions/{decision_id}", get(lifecycle::get))
            .route(
                "/v1/approvals/{approval_request_id}",
                post(lifecycle::decide),
            )
            .route("/ledger/v1/tip", get(ledger::tip))
            .route("/ledger/v1/authority", get(ledger::authority))
            .route("/ledger/v1/events", get(ledger::events))
            .route("/ledger/v1/merkle/latest", get(ledger::merkle_latest)),
    )
    .with_state(app)
}
