//! The dev clock (JWT expiry and intent deadlines without sleeping) and the
//! `paybond-devserver` binary's argument checks.

mod common;

use common::{exchange, send, verify_body, T};
use paybond_devserver::{DevIntentRequest, DevServerConfig};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_paybond-devserver");

#[tokio::test]
async fn harbor_jwts_expire_on_the_dev_clock() {
    let t = T::start(DevServerConfig {
        jwt_ttl: Duration::from_secs(60),
        ..Default::default()
    })
    .await;
    assert_eq!(t.get("/ledger/v1/tip").await.0, 200);
    t.h.advance_clock(Duration::from_secs(59)).unwrap();
    assert_eq!(t.get("/ledger/v1/tip").await.0, 200, "valid until exp");
    t.h.advance_clock(Duration::from_secs(1)).unwrap();
    let (s, v) = t.get("/ledger/v1/tip").await;
    assert_eq!(
        (s, v["error"].as_str()),
        (401, Some("invalid_token")),
        "{v}"
    );
    // A JWT minted now is valid on the same clock.
    let (fresh, tenant) = exchange(&t.c, &t.h, t.h.api_key()).await;
    let rb =
        t.c.get(format!("{}/ledger/v1/tip", t.h.harbor_url))
            .bearer_auth(&fresh)
            .header("x-tenant-id", &tenant);
    assert_eq!(send(rb, None).await.0, 200);
}

#[tokio::test]
async fn intent_deadlines_and_token_expiry_use_the_dev_clock() {
    let t = T::new().await;
    let a = t.intent(1000, None);
    // A token that outlives the intent's deadline: the deadline check itself denies.
    let long =
        t.h.create_intent(&DevIntentRequest {
            allowed_tools: vec!["book".into()],
            amount_cents: 100,
            token_ttl_seconds: Some(3 * 86_400),
            ..Default::default()
        })
        .unwrap();
    let short =
        t.h.create_intent(&DevIntentRequest {
            allowed_tools: vec!["book".into()],
            amount_cents: 100,
            token_ttl_seconds: Some(120),
            ..Default::default()
        })
        .unwrap();
    let ok = t.verify(&verify_body(&short, "book", 1, None, None)).await;
    assert_eq!(ok["allow"], true, "{ok}");
    t.h.advance_clock(Duration::from_secs(121)).unwrap();
    let v = t.verify(&verify_body(&short, "book", 1, None, None)).await;
    assert_eq!(v["code"], "token_expired", "token past its ttl: {v}");
    assert_eq!(
        t.verify(&verify_body(&a, "book", 1, None, None)).await["allow"],
        true
    );
    // Default deadline: 24 h after creation.
    t.h.advance_clock(Duration::from_secs(86_400)).unwrap();
    let (jwt, tenant) = exchange(&t.c, &t.h, t.h.api_key()).await;
    let verify = |body| {
        let rb =
            t.c.post(format!("{}/verify", t.h.harbor_url))
                .bearer_auth(&jwt)
                .header("x-tenant-id", &tenant);
        async move { send(rb, Some(&body)).await }
    };
    let (s, v) = verify(verify_body(&a, "book", 1, None, None)).await;
    assert_eq!((s, v["code"].as_str()), (200, Some("token_expired")), "{v}");
    let (s, v) = verify(verify_body(&long, "book", 1, None, None)).await;
    assert_eq!((s, v["code"].as_str()), (200, Some("token_expired")), "{v}");
    assert!(v["message"].as_str().unwrap().contains("deadline"), "{v}");
}

#[tokio::test]
async fn the_clock_route_validates_its_body() {
    let t = T::new().await;
    for bad in [
        json!({}),
        json!({"seconds": -1}),
        json!({"seconds": 1.5}),
        json!({"seconds": "10"}),
        json!({"seconds": u64::MAX}),
    ] {
        let (s, v) = t.advance(&bad).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (400, Some("invalid_argument")),
            "{bad}: {v}"
        );
    }
    let (s, v) = t.advance(&json!({"seconds": 0})).await;
    assert_eq!((s, v["offset_seconds"].as_u64()), (200, Some(0)), "{v}");
    let (s, v) = t.advance(&json!({"seconds": 90})).await;
    assert_eq!((s, v["offset_seconds"].as_u64()), (200, Some(90)), "{v}");
    assert!(v["now"].as_str().unwrap().ends_with('Z'), "{v}");
    // On the Gateway listener too, like every /dev route.
    let r =
        t.c.post(format!("{}/dev/v1/clock/advance", t.h.gateway_url))
            .json(&json!({"seconds": 10}))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        t.h.advance_clock(Duration::ZERO).unwrap(),
        Duration::from_secs(100)
    );
    assert!(t.h.advance_clock(Duration::MAX).is_err());
}

fn run(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn cli_refuses_out_of_range_ports_and_bad_numbers() {
    for (args, needle) in [
        (&["--gateway-port", "70000"][..], "--gateway-port"),
        (&["--harbor-port=-1"][..], "--harbor-port"),
        (&["--gateway-port", "http"][..], "--gateway-port"),
        (
            &["--reservation-hold-seconds", "soon"][..],
            "--reservation-hold-seconds",
        ),
        (&["--jwt-ttl", "0"][..], "--jwt-ttl"),
        (&["--host", "localhost:1"][..], "--host"),
        (&["--bogus"][..], "--bogus"),
    ] {
        let out = run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?} printed no key");
    }
    let out = run(&["--gateway-port", "70000"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("70000"), "{err}");
}

#[test]
fn cli_help_lists_flags_and_routes() {
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--gateway-port",
        "--harbor-port",
        "--reservation-hold-seconds",
        "--jwt-ttl",
        "/v1/spend/decisions/{id}/complete",
        "/v1/approvals/{id}",
        "/dev/v1/clock/advance",
    ] {
        assert!(
            help.contains(needle),
            "{needle} missing from --help:\n{help}"
        );
    }
}

#[test]
fn cli_starts_on_free_ports_and_prints_a_key() {
    let mut child = Command::new(BIN)
        .args(["--gateway-port", "0", "--harbor-port", "0"])
        .args(["--reservation-hold-seconds", "5", "--tenant", "tenant-cli"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let ready = line.starts_with("ready");
        seen.push(line);
        if ready {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let get = |k: &str| {
        seen.iter()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("{k} not printed: {seen:?}"))
            .to_owned()
    };
    assert!(get("PAYBOND_GATEWAY_URL").starts_with("http://127.0.0.1:"));
    assert!(get("PAYBOND_HARBOR_URL").starts_with("http://127.0.0.1:"));
    assert_eq!(get("PAYBOND_TENANT_ID"), "tenant-cli");
    assert!(get("PAYBOND_API_KEY").starts_with("paybond_sk_sandbox_"));
}
