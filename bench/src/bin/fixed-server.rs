//! A minimal loopback server answering `POST /v1/auth/harbor-access`, `POST /verify` and the
//! spend completion of its one decision with
//! constant, well-formed JSON — so a client's own overhead shows apart from the dev server's
//! token checks. Prints `URL=http://127.0.0.1:PORT` and serves until killed.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use std::convert::Infallible;

const TENANT: &str = "tenant-bench";
/// The intent every `/verify` answer echoes.
const INTENT: &str = "11111111-1111-4111-8111-111111111111";

async fn handle(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body: &'static str = match req.uri().path() {
        "/v1/auth/harbor-access" => concat!(
            r#"{"access_token":"eyJhbGciOiJFZERTQSJ9.eyJ0aWQiOiJ0ZW5hbnQtYmVuY2gifQ.c2ln","expires_in":3600,"#,
            r#""tenant_id":"tenant-bench","token_type":"Bearer"}"#
        ),
        "/verify" => concat!(
            r#"{"allow":true,"audit_id":"22222222-2222-4222-8222-222222222222","tenant":"tenant-bench","#,
            r#""intent_id":"11111111-1111-4111-8111-111111111111","decision_id":"d-1","remaining_cents":1000000,"reason_codes":[]}"#
        ),
        // Every allow above has decision d-1; the guarded tools of the bench always succeed.
        "/v1/spend/decisions/d-1/complete" => concat!(
            r#"{"tenant":"tenant-bench","intent_id":"11111111-1111-4111-8111-111111111111","#,
            r#""decision_id":"d-1","outcome":"consumed","remaining_cents":1000000}"#
        ),
        _ => r#"{"error":"not_found"}"#,
    };
    let _ = (TENANT, INTENT);
    Ok(Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap_or_default())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("URL=http://{}", l.local_addr()?);
    loop {
        let (s, _) = l.accept().await?;
        let _ = s.set_nodelay(true);
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(
                    hyper_util::rt::TokioIo::new(s),
                    hyper::service::service_fn(handle),
                )
                .await;
        });
    }
}
