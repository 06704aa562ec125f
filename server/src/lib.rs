//! The `readset-server` binary's library: the signing proxy, the local store and the demo
//! server, each built as an axum `Router` by a function so tests can drive them on port 0.
#![deny(missing_docs)]

pub mod cli;
pub mod demo;
pub mod fuzzing;
pub mod proxy;
pub mod sbg;
pub mod secrets;
pub mod serving;
pub mod store;

/// Installs the `tracing` subscriber (level from `RUST_LOG`, default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

/// Serves `app` on `listener` until the process ends, with the default connection limits and
/// timeouts of [`serving::ServeLimits`]; logs the bound address.
pub async fn serve(listener: tokio::net::TcpListener, app: axum::Router, what: &str) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "{what} listening");
    serving::serve_with_limits(listener, app, serving::ServeLimits::default()).await
}
