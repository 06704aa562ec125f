//! `readset-server`: the signing proxy and the local store for readset-upload.
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    readset_server::init_tracing();
    let cli = readset_server::cli::Cli::parse();
    readset_server::cli::run(cli).await
}
