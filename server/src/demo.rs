//! `readset-server demo`: the demo page, the package and the proxy on one port, the local
//! store on another, all in one process.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use clap::Args;
use tower_http::services::ServeDir;

use crate::{proxy, store};

/// Access key the demo's proxy signs with (the local store's test key).
const DEMO_ACCESS_KEY_ID: &str = "AKIDREADSETDEMO";
/// Secret key the demo's proxy signs with (the local store's test secret).
const DEMO_SECRET_ACCESS_KEY: &str = "readset-demo-secret-key";

/// `readset-server demo` options.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Address of the page, the package and the proxy.
    #[arg(long, default_value = "127.0.0.1:8080", value_parser = crate::cli::parse_listen)]
    pub listen: SocketAddr,
    /// Address of the local store.
    #[arg(long, default_value = "127.0.0.1:8081", value_parser = crate::cli::parse_listen)]
    pub store_listen: SocketAddr,
    /// Folder for the store's data; it survives restarts.
    #[arg(long, default_value = ".demo-data")]
    pub data: PathBuf,
    /// Folder of the demo page.
    #[arg(long, default_value_os_t = crate::cli::default_www_dir())]
    pub www: PathBuf,
    /// Folder of the built package (wasm-pack output), served under `/pkg/`.
    #[arg(long, default_value_os_t = crate::cli::default_pkg_dir())]
    pub pkg: PathBuf,
}

/// The page-side router: `/pkg/` from the package folder, the proxy, and the page at `/`.
pub fn app(args: &DemoArgs, proxy: Router) -> Router {
    Router::new()
        .nest_service("/pkg", ServeDir::new(&args.pkg))
        .merge(proxy)
        .fallback_service(ServeDir::new(&args.www))
}

/// Starts the store and the page/proxy server; returns when either stops.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let store_args = store::StoreArgs { listen: args.store_listen, data: args.data.join("store") };
    let store_listener = tokio::net::TcpListener::bind(store_args.listen).await?;
    let store_addr = store_listener.local_addr()?;
    // The page gets a fresh static token per run from `/demo-config.json` (see README, "Proxy").
    let token = format!("demo-{}", uuid::Uuid::new_v4().simple());
    let principal = proxy::Principal { sub: "demo".into(), stores: proxy::StoreScope::Any, projects: Vec::new() };
    let auth = proxy::Authenticator::new().with_static_token(&token, principal)?;
    // TODO(integrator): use the store's exported DEFAULT_ACCESS_KEY_ID / DEFAULT_SECRET_ACCESS_KEY / REGION.
    let proxy_config = proxy::ProxyConfig::local_store(
        &format!("http://{store_addr}"),
        proxy::DEFAULT_LOCAL_REGION,
        DEMO_ACCESS_KEY_ID,
        DEMO_SECRET_ACCESS_KEY,
        auth,
    )?;
    let demo_config = serde_json::json!({ "proxy": "/omics", "token": token });
    let proxy_router = proxy::app(proxy_config)?
        .route("/demo-config.json", axum::routing::get(move || async move { axum::Json(demo_config) }));
    let page_listener = tokio::net::TcpListener::bind(args.listen).await?;
    // Tests and scripts read these two lines to find the ports when started on port 0.
    println!("local store: http://{store_addr}");
    println!("readset-upload demo: open http://{}", page_listener.local_addr()?);
    tokio::select! {
        r = crate::serve(store_listener, store::app(&store_args), "store") => r,
        r = crate::serve(page_listener, app(&args, proxy_router), "demo page and proxy") => r,
    }
}
