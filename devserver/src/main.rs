//! `paybond-devserver`: the local Gateway + Harbor + Signal on fixed ports.

use paybond_devserver::{DevServerConfig, LocalHarbor};
use std::time::Duration;

const HELP: &str = "\
paybond-devserver — local Paybond Gateway + Harbor + Signal (in memory)

USAGE:
    paybond-devserver [--gateway-port N] [--harbor-port M] [--host IP]
                      [--tenant ID] [--api-key KEY] [--jwt-ttl SECONDS]

Defaults: 127.0.0.1, gateway 8787, harbor 8788, tenant `tenant-dev`, JWT TTL 900 s,
a fresh sandbox API key printed on start.

GATEWAY (gateway URL)
    POST /v1/auth/harbor-access           Bearer <api key> -> {access_token, expires_in, tenant_id}
    GET  /v1/auth/principal               Bearer <api key>
    GET  /reputation/{did}                signed receipt (Bearer <api key>)
    GET  /signal/v1/portfolio/summary     GET /signal/v1/operators/{did}/explanation|review-status
HARBOR (harbor URL; Bearer <harbor JWT> + x-tenant-id)
    POST /verify   POST /intents   GET /intents/{id}   POST /intents/{id}/evidence
    GET  /ledger/v1/tip|authority|events?after_seq=&limit=|merkle/latest
ADMIN (both URLs, loopback only)
    POST   /dev/v1/tenants           {tenant_id?, environment?} -> {tenant_id, api_key}
    POST   /dev/v1/intents           Bearer <api key>; {allowed_tools, amount_cents, currency?, payee_did?,
                                     payee_pubkey?, deadline?, token_ttl_seconds?, max_spend_per_call_cents?}
                                     -> {intent_id, capability_token, payee_signing_seed_hex?, ...}
    POST   /dev/v1/faults            {route, method?, kind, status?, retry_after?, latency_ms?, count?,
                                     probability?, field?, value?}; kinds: status latency drop drop_after
                                     truncate malformed wrong_tenant wrong_intent non_boolean_allow
                                     remove_field set_field
    GET    /dev/v1/faults            DELETE /dev/v1/faults
    GET    /dev/v1/stats             exchanges, verifies, evidence accepted, per tenant
    POST   /dev/v1/api-keys/rebind   {api_key, tenant_id}  (test tenant-change handling)
    POST   /dev/v1/operators/{did}/appeals    Bearer <api key>
    GET    /dev/v1/keys              public keys (JWT, capability root, ledger, Signal)
";

fn main() {
    let mut cfg = DevServerConfig {
        gateway_port: 8787,
        harbor_port: 8788,
        ..DevServerConfig::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| {
            args.next().unwrap_or_else(|| {
                eprintln!("error: {name} needs a value (see --help)");
                std::process::exit(2)
            })
        };
        let num = |name: &str, v: String| -> u64 {
            v.parse().unwrap_or_else(|_| {
                eprintln!("error: {name} expects a number, got {v:?}");
                std::process::exit(2)
            })
        };
        match a.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return;
            }
            "--gateway-port" => {
                cfg.gateway_port = num("--gateway-port", val("--gateway-port")) as u16
            }
            "--harbor-port" => cfg.harbor_port = num("--harbor-port", val("--harbor-port")) as u16,
            "--jwt-ttl" => cfg.jwt_ttl = Duration::from_secs(num("--jwt-ttl", val("--jwt-ttl"))),
            "--tenant" => cfg.tenant_id = val("--tenant"),
            "--api-key" => cfg.api_key = Some(val("--api-key")),
            "--host" => {
                let v = val("--host");
                cfg.host = v.parse().unwrap_or_else(|_| {
                    eprintln!("error: --host expects an IP address, got {v:?}");
                    std::process::exit(2)
                })
            }
            other => {
                eprintln!("error: unknown argument {other:?} (see --help)");
                std::process::exit(2)
            }
        }
    }
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
