//! The `readset-server` binary's library: the signing proxy ([`proxy`]), the local stand-ins
//! for HealthOmics and Seven Bridges ([`local`]) and the demo server ([`demo`]), each built as
//! an axum `Router` by a function so tests can drive them on port 0. [`cli`] only parses the
//! command line; nothing below it imports it.
#![deny(missing_docs)]

pub mod cli;
pub mod demo;
pub mod fuzzing;
pub mod hosts;
pub mod local;
pub mod logging;
pub mod proxy;
pub mod secrets;
pub mod serving;
pub mod tls;

/// Installs the `tracing` subscriber (level from `RUST_LOG`, default `info`) in the format
/// `READSET_LOG_FORMAT` names (text by default); see [`logging`].
pub fn init_tracing() {
    logging::init(logging::LogFormat::from_env());
}

/// Installs the `tracing` subscriber with `format` (the `--log-format` flag); see [`logging`].
pub fn init_tracing_with(format: logging::LogFormat) {
    logging::init(format);
}

/// Serves `app` on `listener` until the process ends, with the default connection limits and
/// timeouts of [`serving::ServeLimits`]; logs the bound address.
pub async fn serve(listener: tokio::net::TcpListener, app: axum::Router, what: &str) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "{what} listening");
    serving::serve_with_limits(listener, app, serving::ServeLimits::default()).await
}

/// [`serve`], over TLS when `tls` is given.
pub async fn serve_tls(listener: tokio::net::TcpListener, app: axum::Router, what: &str, tls: Option<tokio_rustls::TlsAcceptor>) -> anyhow::Result<()> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(addr = %listener.local_addr()?, scheme, "{what} listening");
    serving::serve_with_limits_tls(listener, app, serving::ServeLimits::default(), tls).await
}
