//! Fault injection on part uploads (local store only), so the client's retry, throttling and
//! resume paths can be exercised against a real server: a fraction of part requests answered
//! 500/503, a requests-per-second limit answered 429 with `Retry-After`, connections dropped
//! mid-body, and added latency. All off by default.
//!
//! Also counts part requests: `GET /_local/stats` on the store port answers
//! `{"partRequests": N, "partsStored": N, "injected": {"errors": N, "throttled": N, "dropped": N}}`.
//! This route exists only in the local store (HealthOmics has nothing like it); tests read it to
//! count how many parts a client sent.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use clap::Args;
use futures_util::StreamExt;
use rand::Rng;

/// Which faults to inject into part uploads (`UploadReadSetPart`). Flags of `readset-server
/// store` and `demo`; all off by default.
#[derive(Debug, Clone, Default, Args)]
pub struct Faults {
    /// Fraction (0 to 1) of part uploads answered 500 or 503 (after reading the body).
    #[arg(long = "fault-part-error-rate", default_value_t = 0.0, value_parser = parse_rate)]
    pub part_error_rate: f64,
    /// Part uploads allowed per second; the ones above are answered 429 ThrottlingException
    /// with `Retry-After: 1`.
    #[arg(long = "fault-throttle-rps", value_parser = clap::value_parser!(u32).range(1..))]
    pub throttle_rps: Option<u32>,
    /// Fraction (0 to 1) of part uploads whose connection is dropped after about half the body.
    #[arg(long = "fault-drop-rate", default_value_t = 0.0, value_parser = parse_rate)]
    pub drop_rate: f64,
    /// Milliseconds added before every part upload is handled.
    #[arg(long = "fault-latency-ms", default_value_t = 0)]
    pub latency_ms: u64,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is not a fraction between 0 and 1"))
    }
}

impl Faults {
    /// Whether any fault is configured.
    pub fn any(&self) -> bool {
        self.part_error_rate > 0.0 || self.throttle_rps.is_some() || self.drop_rate > 0.0 || self.latency_ms > 0
    }
}

/// Counters and the throttle window, shared by the middleware and the stats route.
#[derive(Debug)]
pub(crate) struct FaultState {
    cfg: Faults,
    part_requests: AtomicU64,
    parts_stored: AtomicU64,
    errors: AtomicU64,
    throttled: AtomicU64,
    dropped: AtomicU64,
    /// Start of the current one-second window and the requests admitted in it.
    window: Mutex<(Instant, u32)>,
}

impl FaultState {
    pub(crate) fn new(cfg: Faults) -> Arc<Self> {
        Arc::new(FaultState {
            cfg,
            part_requests: AtomicU64::new(0),
            parts_stored: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            window: Mutex::new((Instant::now(), 0)),
        })
    }

    /// True when this request is over the per-second limit.
    fn over_limit(&self) -> bool {
        let Some(rps) = self.cfg.throttle_rps else { return false };
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if now.duration_since(w.0) >= Duration::from_secs(1) {
            *w = (now, 0);
        }
        if w.1 >= rps {
            return true;
        }
        w.1 += 1;
        false
    }
}

fn error_json(status: StatusCode, error_type: &str, message: &str) -> Response {
    let mut resp = (status, Json(serde_json::json!({ "message": message }))).into_response();
    if let Ok(v) = HeaderValue::from_str(error_type) {
        resp.headers_mut().insert("x-amzn-errortype", v);
    }
    resp
}

/// Reads and discards the body, up to `limit` bytes (all of it with `u64::MAX`).
async fn drain(body: Body, limit: u64) {
    let mut stream = body.into_data_stream();
    let mut read = 0u64;
    while read < limit {
        match stream.next().await {
            Some(Ok(chunk)) => read += chunk.len() as u64,
            _ => break,
        }
    }
}

/// Middleware on the part-upload route: counts the request and injects the configured faults.
pub(crate) async fn inject(State(st): State<Arc<FaultState>>, req: Request, next: Next) -> Response {
    st.part_requests.fetch_add(1, Ordering::SeqCst);
    let cfg = &st.cfg;
    if cfg.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(cfg.latency_ms)).await;
    }
    if st.over_limit() {
        st.throttled.fetch_add(1, Ordering::SeqCst);
        drain(req.into_body(), u64::MAX).await;
        let mut resp = error_json(StatusCode::TOO_MANY_REQUESTS, "ThrottlingException", "Rate exceeded (injected fault)");
        resp.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
        return resp;
    }
    let (error, drop) = {
        let mut rng = rand::thread_rng();
        (rng.gen_bool(cfg.part_error_rate), rng.gen_bool(cfg.drop_rate))
    };
    if error {
        let n = st.errors.fetch_add(1, Ordering::SeqCst);
        drain(req.into_body(), u64::MAX).await;
        return if n % 2 == 0 {
            error_json(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerException", "injected fault: internal error")
        } else {
            error_json(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailableException", "injected fault: service unavailable")
        };
    }
    if drop {
        st.dropped.fetch_add(1, Ordering::SeqCst);
        let length: u64 = req
            .headers()
            .get("content-length")
            .and_then(|h| h.to_str().ok())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        drain(req.into_body(), length / 2).await;
        // A body that fails at once makes hyper abort the connection: the client sees the
        // connection die with half its part unsent and nothing stored.
        let failing = futures_util::stream::once(async {
            Err::<bytes::Bytes, _>(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected fault: connection dropped"))
        });
        return Response::builder()
            .status(StatusCode::OK)
            .header("connection", "close")
            .body(Body::from_stream(failing))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }
    let resp = next.run(req).await;
    if resp.status().is_success() {
        st.parts_stored.fetch_add(1, Ordering::SeqCst);
    }
    resp
}

/// `GET /_local/stats`: part-request counters (local store only, unauthenticated, read-only).
pub(crate) async fn stats(State(st): State<Arc<FaultState>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "partRequests": st.part_requests.load(Ordering::SeqCst),
        "partsStored": st.parts_stored.load(Ordering::SeqCst),
        "injected": {
            "errors": st.errors.load(Ordering::SeqCst),
            "throttled": st.throttled.load(Ordering::SeqCst),
            "dropped": st.dropped.load(Ordering::SeqCst),
        },
    }))
}
