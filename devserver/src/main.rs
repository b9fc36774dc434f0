//! `paybond-devserver`: the local Gateway + Harbor + Signal on fixed ports.

use clap::Parser;
use paybond_devserver::{DevServerConfig, LocalHarbor};
use std::net::IpAddr;
use std::time::Duration;

const ROUTES: &str = "\
Defaults: 127.0.0.1, gateway 8787, harbor 8788, tenant `tenant-dev`, JWT TTL 900 s,
reservation hold 300 s, a fresh sandbox API key printed on start.

GATEWAY (gateway URL)
    POST /v1/auth/harbor-access           Bearer <api key> -> {access_token, expires_in, tenant_id}
    GET  /v1/auth/principal               Bearer <api key>
    GET  /reputation/{did}                signed receipt (Bearer <api key>)
    GET  /signal/v1/portfolio/summary     GET /signal/v1/operators/{did}/explanation|review-status
HARBOR (harbor URL; Bearer <harbor JWT> + x-tenant-id)
    POST /verify   POST /intents   GET /intents/{id}   POST /intents/{id}/evidence
    POST /v1/spend/decisions/{id}/complete   {outcome: consumed|released}
    GET  /v1/spend/decisions/{id}
    POST /v1/approvals/{id}               {decision: approve|reject, reason?} (Bearer <api key> or JWT)
    GET  /ledger/v1/tip|authority|events?after_seq=&limit=|merkle/latest
ADMIN (both URLs, loopback only)
    POST   /dev/v1/tenants           {tenant_id?, environment?} -> {tenant_id, api_key}
    POST   /dev/v1/intents           Bearer <api key>; {allowed_tools, amount_cents, currency?, payee_did?,
                                     payee_pubkey?, deadline?, token_ttl_seconds?, max_spend_per_call_cents?,
                                     approval_threshold_cents?}
                                     -> {intent_id, capability_token, payee_signing_seed_hex?, ...}
    POST   /dev/v1/faults            {route, method?, kind, status?, retry_after?, latency_ms?, count?,
                                     probability?, field?, value?}; kinds: status latency drop drop_after
                                     truncate malformed wrong_tenant wrong_intent non_boolean_allow
                                     remove_field set_field
    GET    /dev/v1/faults            DELETE /dev/v1/faults
    GET    /dev/v1/stats             exchanges, verifies, evidence, decisions, per tenant
    POST   /dev/v1/api-keys/rebind   {api_key, tenant_id}  (test tenant-change handling)
    POST   /dev/v1/operators/{did}/appeals    Bearer <api key>
    POST   /dev/v1/clock/advance     {seconds} moves the server's clock ahead (expiry without sleeping)
    GET    /dev/v1/keys              public keys (JWT, capability root, ledger, Signal)
";

/// Longest JWT lifetime or reservation hold the CLI accepts (one year).
const MAX_SECONDS: u64 = 365 * 86_400;

/// paybond-devserver — local Paybond Gateway + Harbor + Signal (in memory)
#[derive(Parser, Debug)]
#[command(name = "paybond-devserver", version, after_help = ROUTES)]
struct Cli {
    /// Gateway port (0: any free port)
    #[arg(
        long,
        visible_alias = "port",
        value_name = "PORT",
        default_value_t = 8787
    )]
    gateway_port: u16,
    /// Harbor port (0: any free port)
    #[arg(long, value_name = "PORT", default_value_t = 8788)]
    harbor_port: u16,
    /// Address to bind
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    host: IpAddr,
    /// Id of the seeded tenant
    #[arg(long, value_name = "ID", default_value = "tenant-dev")]
    tenant: String,
    /// API key of the seeded tenant (default: a fresh sandbox key)
    #[arg(long, value_name = "KEY")]
    api_key: Option<String>,
    /// Lifetime of Harbor JWTs, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 900,
          value_parser = clap::value_parser!(u64).range(1..=MAX_SECONDS))]
    jwt_ttl: u64,
    /// Seconds an allow's spend stays reserved when the decision is never completed
    #[arg(long, value_name = "SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=MAX_SECONDS))]
    reservation_hold_seconds: u64,
}

impl Cli {
    fn config(self) -> DevServerConfig {
        DevServerConfig {
            host: self.host,
            gateway_port: self.gateway_port,
            harbor_port: self.harbor_port,
            jwt_ttl: Duration::from_secs(self.jwt_ttl),
            tenant_id: self.tenant,
            api_key: self.api_key,
            reservation_hold_seconds: self.reservation_hold_seconds,
        }
    }
}

fn main() {
    // Invalid arguments: clap prints the reason and exits with status 2.
    let cfg = Cli::parse().config();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let h = match LocalHarbor::start(cfg).await {
            Ok(h) => h,
            Err(e) => {
                eprintln!("error: cannot bind: {e}");
                std::process::exit(1)
            }
        };
        println!("PAYBOND_GATEWAY_URL={}", h.gateway_url);
        println!("PAYBOND_HARBOR_URL={}", h.harbor_url);
        println!("PAYBOND_TENANT_ID={}", h.tenant_id);
        // A dev sandbox key printed on purpose: this is how a local user gets one.
        println!("PAYBOND_API_KEY={}", h.api_key());
        println!("ready (Ctrl-C to stop; --help for routes)");
        let _ = tokio::signal::ctrl_c().await;
    });
}
