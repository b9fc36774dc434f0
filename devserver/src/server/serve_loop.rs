//! The serve loop on hyper (so a fault can close a connection without
//! answering, and every socket gets TCP_NODELAY), and the fault layer in
//! front of the router.

use crate::error::ApiError;
use crate::faults::{self, Fault, FaultKind};
use crate::server::extract::RemoteAddr;
use crate::state::App;
use axum::body::Body;
use axum::http::{Response, StatusCode};
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt as _;

type Resp = Response<Body>;
type Req = axum::http::Request<hyper::body::Incoming>;

/// Returned by the service to make hyper close the connection without an answer.
#[derive(Debug)]
struct DropConnection;
impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fault: connection dropped")
    }
}
impl std::error::Error for DropConnection {}

async fn route(router: Router, req: Req) -> Resp {
    router
        .oneshot(req.map(Body::new))
        .await
        .unwrap_or_else(|e| match e {})
}

/// The answer of a `status` fault (the handler does not run).
fn status_answer(f: &Fault) -> Resp {
    let status = f.status.unwrap_or(503);
    let mut b = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if let Some(ra) = f.retry_after {
        b = b.header("retry-after", ra.to_string());
    }
    let body = f.body.clone().unwrap_or_else(|| {
        let msg = format!("fault {} injected HTTP {status}", f.id);
        ApiError::new(status, "injected_fault", msg).body()
    });
    b.body(Body::from(body.to_string())).unwrap_or_default()
}

/// Runs the handler, then rewrites its answer as fault `f` says.
async fn rewritten(router: Router, req: Req, f: &Fault) -> Result<Resp, DropConnection> {
    let resp = route(router, req).await;
    if f.kind == FaultKind::DropAfter {
        return Err(DropConnection);
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|_| DropConnection)?;
    let new = faults::rewrite(f.kind, f, &bytes).unwrap_or_else(|| bytes.to_vec());
    if f.kind == FaultKind::Malformed {
        parts.status = StatusCode::OK;
        parts
            .headers
            .insert("content-type", "text/html".parse().expect("static header"));
    }
    parts.headers.remove("content-length");
    Ok(Response::from_parts(parts, Body::from(new)))
}

async fn handle(
    app: Arc<App>,
    router: Router,
    remote: SocketAddr,
    mut req: Req,
) -> Result<Resp, DropConnection> {
    req.extensions_mut().insert(RemoteAddr(remote));
    let path = req.uri().path().to_owned();
    let fault = if path.starts_with("/dev/") || path == "/healthz" {
        None
    } else {
        app.faults.take(req.method().as_str(), &path)
    };
    let Some(f) = fault else {
        return Ok(route(router, req).await);
    };
    if let Some(ms) = f.latency_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    match f.kind {
        FaultKind::Drop => Err(DropConnection),
        FaultKind::Status => Ok(status_answer(&f)),
        FaultKind::Latency => Ok(route(router, req).await),
        _ => rewritten(router, req, &f).await,
    }
}

/// Accepts connections on `listener` until `shutdown` flips.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    app: Arc<App>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, remote)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let (app, router) = (app.clone(), router.clone());
                let svc = hyper::service::service_fn(move |req| handle(app.clone(), router.clone(), remote, req));
                conns.spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
                while conns.try_join_next().is_some() {}
            }
            _ = shutdown.changed() => break,
        }
    }
    conns.abort_all();
}
