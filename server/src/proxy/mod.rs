//! The signing proxy. This first version only answers a health check; authentication,
//! policy, SigV4 signing and streaming arrive with the proxy work.

use std::net::SocketAddr;

use axum::{routing::get, Router};
use clap::Args;

/// `readset-server proxy` options.
#[derive(Debug, Clone, Args)]
pub struct ProxyArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_parser = crate::cli::parse_listen)]
    pub listen: SocketAddr,
    /// Where to forward: `aws` for real HealthOmics, or the base URL of a local store.
    #[arg(long, default_value = "http://127.0.0.1:8081")]
    pub upstream: String,
}

/// The proxy's router.
pub fn app(_args: &ProxyArgs) -> Router {
    Router::new().route("/health", get(|| async { "ok" }))
}

/// Runs the proxy until the process ends.
pub async fn run(args: ProxyArgs) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    crate::serve(listener, app(&args), "proxy").await
}
