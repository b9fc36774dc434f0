//! The Rust core's own client against a server (the floor for that server), driven block by block
//! like `py_bench.py` so run.py can interleave it with the Python clients.
//!
//! `rust-floor GATEWAY HARBOR API_KEY INTENT TOKEN` prints `ready`, then answers one JSON line per
//! stdin command: `seq N` -> `{"lat": [µs, ...]}`, `conc N` (64 tasks) -> `{"rps": calls/s}`, `quit`.

use paybond_kit::harbor::{HarborClient, VerifyRequest};
use paybond_kit::{Secret, ServiceAccountHarborSession, SessionOptions};
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncBufReadExt, BufReader};

async fn seq(h: &HarborClient, req: &VerifyRequest, n: usize) -> serde_json::Value {
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = h.verify_capability(req).await.expect("verify");
        lat.push(t.elapsed().as_secs_f64() * 1e6);
        assert!(r.allow);
    }
    serde_json::json!({ "lat": lat })
}

async fn conc(h: &HarborClient, req: &Arc<VerifyRequest>, n: usize) -> serde_json::Value {
    let per = (n / 64).max(1);
    let t = Instant::now();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (h, req) = (h.clone(), req.clone());
            tokio::spawn(async move {
                for _ in 0..per {
                    h.verify_capability(&req).await.expect("verify");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    serde_json::json!({ "rps": (per * 64) as f64 / t.elapsed().as_secs_f64() })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() != 5 {
        eprintln!("usage: rust-floor GATEWAY HARBOR API_KEY INTENT TOKEN");
        std::process::exit(2);
    }
    let s =
        ServiceAccountHarborSession::open(&a[0], a[2].as_str(), &a[1], SessionOptions::default())
            .await?;
    let req = Arc::new(VerifyRequest {
        intent_id: a[3].clone(),
        token: Secret::new(a[4].clone()),
        operation: "search".into(),
        requested_spend_cents: 0,
        ..Default::default()
    });
    let h = s.harbor().clone();
    println!("ready");
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let mut it = line.split_whitespace();
        let (cmd, n) = (
            it.next().unwrap_or("quit"),
            it.next().and_then(|x| x.parse().ok()),
        );
        let out = match (cmd, n) {
            ("seq", Some(n)) => seq(&h, &req, n).await,
            ("conc", Some(n)) => conc(&h, &req, n).await,
            ("quit", _) => break,
            _ => serde_json::json!({ "error": format!("unknown command {line:?}") }),
        };
        println!("{out}");
    }
    Ok(())
}
