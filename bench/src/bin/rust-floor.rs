//! The Rust core's own client against a server: sequential latency and 64-task throughput of
//! `verify_capability`. Prints one JSON line.
//!
//! `rust-floor GATEWAY HARBOR API_KEY INTENT TOKEN SEQ_N CONC_N`

use paybond_kit::harbor::VerifyRequest;
use paybond_kit::{Secret, ServiceAccountHarborSession, SessionOptions};
use std::sync::Arc;
use std::time::Instant;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() != 7 {
        eprintln!("usage: rust-floor GATEWAY HARBOR API_KEY INTENT TOKEN SEQ_N CONC_N");
        std::process::exit(2);
    }
    let (seq_n, conc_n): (usize, usize) = (a[5].parse()?, a[6].parse()?);
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
    for _ in 0..200 {
        h.verify_capability(&req).await?;
    }
    let mut lat = Vec::with_capacity(seq_n);
    for _ in 0..seq_n {
        let t = Instant::now();
        let r = h.verify_capability(&req).await?;
        lat.push(t.elapsed().as_secs_f64() * 1e6);
        assert!(r.allow);
    }
    lat.sort_by(|x, y| x.total_cmp(y));
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
    let per = conc_n / 64;
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (h, req) = (h.clone(), req.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..per {
                h.verify_capability(&req).await.expect("verify");
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let rps = (per * 64) as f64 / t.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({"p50_us": pct(0.5), "p99_us": pct(0.99), "rps": rps})
    );
    Ok(())
}
