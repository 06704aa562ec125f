//! Command line: `readset-server demo | proxy | store | dev-cert`.


use clap::{Parser, Subcommand};

/// The signing proxy and the local store for readset-upload.
#[derive(Debug, Parser)]
#[command(name = "readset-server", version, about, long_about = None)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
    /// Log line format: `text` (human-readable; colours only on a terminal) or `json` (one
    /// JSON object per line, for log shippers).
    #[arg(long, global = true, env = "READSET_LOG_FORMAT", value_enum, default_value_t = crate::logging::LogFormat::Text)]
    pub log_format: crate::logging::LogFormat,
    /// Use secret and token files that group or others can read (logged as a warning)
    /// instead of refusing them. Fix the file with `chmod 600 FILE` instead where you can.
    #[arg(long, global = true)]
    pub allow_insecure_secret_files: bool,
}

/// The three ways to run the binary.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Everything on one machine: the demo page, the npm package and the proxy on --listen
    /// (default 127.0.0.1:8080), and the local store on --store-listen (default 127.0.0.1:8081),
    /// with data under --data that survives restarts.
    Demo(crate::demo::DemoArgs),
    /// The signing proxy: authenticates portal users, allows only the read-set operations,
    /// signs with SigV4 and streams part bodies to HealthOmics (or the local store).
    Proxy(crate::proxy::ProxyArgs),
    /// The local store: a stand-in for the HealthOmics storage API and the Seven Bridges
    /// upload API, on disk with metadata in SQLite, verifying SigV4 on every request.
    Store(crate::local::omics::StoreArgs),
    /// Writes a throw-away test CA (`ca.pem`) and a certificate it signed for
    /// `*.REGION.amazonaws.com`, `localhost`, `127.0.0.1` and `::1` (`cert.pem`, `key.pem`
    /// mode 0600) into --out, for `store --tls-cert/--tls-key` and `proxy --upstream-ca` in
    /// local tests. For local testing only: never trust that CA anywhere else.
    DevCert(crate::tls::DevCertArgs),
}

/// Runs the chosen command until it ends.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    crate::secrets::allow_insecure_files(cli.allow_insecure_secret_files);
    match cli.command {
        Command::Demo(args) => crate::demo::run(args).await,
        Command::Proxy(args) => crate::proxy::run(args).await,
        Command::Store(args) => crate::local::omics::run(args).await,
        Command::DevCert(args) => crate::tls::write_dev_cert(&args),
    }
}
