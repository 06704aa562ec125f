//! The local store: a stand-in for the HealthOmics storage API (and, later, the Seven Bridges
//! upload API). This first version only answers a health check; the operations arrive with
//! the local-store work.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::{routing::get, Router};
use clap::Args;

/// `readset-server store` options.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081", value_parser = crate::cli::parse_listen)]
    pub listen: SocketAddr,
    /// Folder holding parts, read sets and the SQLite database.
    #[arg(long, default_value = ".demo-data/store")]
    pub data: PathBuf,
}

/// The store's router.
pub fn app(_args: &StoreArgs) -> Router {
    Router::new().route("/health", get(|| async { "ok" }))
}

/// Runs the store until the process ends.
pub async fn run(args: StoreArgs) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    crate::serve(listener, app(&args), "store").await
}
