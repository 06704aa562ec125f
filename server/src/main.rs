//! `readset-server`: the signing proxy and the local store for readset-upload.
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = readset_server::cli::Cli::parse();
    readset_server::init_tracing_with(cli.log_format);
    readset_server::cli::run(cli).await
}
