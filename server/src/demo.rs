//! `readset-server demo`: the demo page, the package and the proxy on one port, the local
//! store (HealthOmics API + Seven Bridges API) on another, all in one process.
//!
//! The page learns where to upload from `GET /demo-config.json`:
//! `{"endpoint": "http://127.0.0.1:8080/omics", "token": "...", "sequenceStoreId": "...",
//! "sbg": {"endpoint": "http://127.0.0.1:8080/sbg/v2", "project": "demo/readset-upload"}}`.
//! The token is a fresh random static proxy token per run (any store, every operation the
//! proxy forwards, read set downloads included); the sequence store is
//! created on first start (`MD5up` ETags) and found again on later starts by its client token.
//! Export and import jobs on it run as [`DEMO_JOB_ROLE`] and stay under the demo's S3 prefixes
//! ([`demo_job_rules`]): the proxy refuses any other role or location, as in production.
//!
//! Both servers answer only to the `Host` they listen on (`127.0.0.1:PORT`, `localhost:PORT`):
//! the page server with 421 Misdirected Request otherwise, so a DNS-rebinding page on another
//! name cannot read `/demo-config.json` and its token; the store's SigV4 check likewise.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::SystemTime;

use axum::Router;
use clap::Args;
use tower_http::services::ServeDir;

use crate::local::{omics as store, sbg};
use crate::proxy;

/// Client token of the demo's sequence store: CreateSequenceStore is idempotent on it, so every
/// start finds the same store.
const DEMO_STORE_CLIENT_TOKEN: &str = "readset-upload-demo-store";

/// The Seven Bridges project the demo page uploads into (the local store accepts any).
pub const DEMO_SBG_PROJECT: &str = "demo/readset-upload";

/// The IAM role the demo's export and import jobs run as: the one the demo page offers. The
/// proxy fills it in when a request names none and refuses any other.
pub const DEMO_JOB_ROLE: &str = "arn:aws:iam::123456789012:role/HealthOmicsExport";
/// Where the demo's exports may go (the page proposes `s3://readset-exports/<read set>/`).
pub const DEMO_EXPORT_PREFIX: &str = "s3://readset-exports/";
/// Where the demo's imports may read from.
pub const DEMO_IMPORT_PREFIX: &str = "s3://readset-imports/";

/// `readset-server demo` options.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Address of the page, the package and the proxy.
    #[arg(long, default_value = "127.0.0.1:8080", value_parser = crate::serving::parse_listen)]
    pub listen: SocketAddr,
    /// Address of the local store.
    #[arg(long, default_value = "127.0.0.1:8081", value_parser = crate::serving::parse_listen)]
    pub store_listen: SocketAddr,
    /// Folder for the store's data; it survives restarts.
    #[arg(long, default_value = ".demo-data")]
    pub data: PathBuf,
    /// Folder of the demo page.
    #[arg(long, default_value_os_t = crate::demo::default_www_dir())]
    pub www: PathBuf,
    /// Folder of the built package (wasm-pack output), served under `/pkg/`.
    #[arg(long, default_value_os_t = crate::demo::default_pkg_dir())]
    pub pkg: PathBuf,
    /// Other browser origins the proxy accepts (CORS), repeatable; `*` allows any (tests only).
    /// The page itself is same-origin and needs none.
    #[arg(long = "allow-origin")]
    pub allow_origins: Vec<String>,
    /// The page's proxy token; default: a fresh random one per start. Give one to keep pages
    /// working across a restart (tests of resuming after a server restart), preferably in
    /// READSET_DEMO_TOKEN: a flag value is visible in `ps`.
    #[arg(long, env = "READSET_DEMO_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Faults injected into part uploads by the demo's store (`--fault-*`, as for `store`).
    #[command(flatten)]
    pub faults: store::Faults,
    /// How the demo's store writes part checksums: `hex` SHA-256 (verifiable by the client,
    /// the default) or `base64` (opaque to the client, as against AWS).
    #[arg(long, value_enum, default_value_t = store::PartChecksums::Hex)]
    pub part_checksums: store::PartChecksums,
    /// Seconds a Seven Bridges part URL stays valid (tests of URL expiry use a short one).
    #[arg(long, default_value_t = 60)]
    pub sbg_part_url_ttl_secs: u64,
    /// Do not expose `ETag` to browsers on Seven Bridges part uploads (tests the client's
    /// error for a report header CORS hides).
    #[arg(long)]
    pub sbg_hide_etag: bool,
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
    let store_listener = tokio::net::TcpListener::bind(args.store_listen).await?;
    let store_addr = store_listener.local_addr()?;
    // The demo's store keeps the published local credentials (the proxy below signs with
    // them) and answers only to its own address.
    let store_config = store::StoreConfig {
        faults: args.faults.clone(),
        part_checksums: args.part_checksums,
        hosts: crate::hosts::AllowedHosts::for_listen(store_addr),
        ..store::StoreConfig::new(args.data.join("store"))
    };
    let store_url = format!("http://{store_addr}");
    let mut sbg_config = sbg::SbgConfig::new(args.data.join("sbg"), store_url.clone());
    sbg_config.part_url_ttl = std::time::Duration::from_secs(args.sbg_part_url_ttl_secs.max(1));
    sbg_config.expose_etag = !args.sbg_hide_etag;
    sbg_config.projects = vec![DEMO_SBG_PROJECT.to_owned()];
    let store_app = store::app_with_sbg(store_config, sbg_config).await?;
    let store_task = tokio::spawn(crate::serve(store_listener, store_app, "store"));

    let store_id = ensure_demo_store(&store_url).await?;

    let token = args.token.clone().unwrap_or_else(|| format!("demo-{}", uuid::Uuid::new_v4().simple()));
    let mut principal = proxy::Principal::new(proxy::auth::STATIC_TOKEN_ISSUER, "demo", proxy::StoreScope::Any, vec!["*".into()]);
    principal.jobs.by_store.insert(store_id.clone(), demo_job_rules());
    // Every operation, downloads (GetReadSet) included: the page previews and downloads the
    // read sets it uploaded. A token's stores alone do not grant downloads.
    principal.operations = proxy::access::OperationScope::Only(proxy::access::ALL_OPERATIONS.into_iter().collect());
    let auth = proxy::Authenticator::new().with_static_token(&token, principal)?;
    let mut proxy_config = proxy::ProxyConfig::local_store(
        &store_url,
        store::REGION,
        store::DEFAULT_ACCESS_KEY_ID,
        store::DEFAULT_SECRET_ACCESS_KEY,
        auth,
    )?;
    // The Seven Bridges token stays here: the page reaches the store's /v2 through /sbg/v2.
    proxy_config.sbg = Some(proxy::sbg::SbgUpstream::new(&format!("{store_url}/v2"), sbg::DEFAULT_SBG_TOKEN)?);
    let origins = proxy::AllowedOrigins::from_list(&args.allow_origins);
    proxy_config.allowed_origins = origins.clone();
    // Kept with the data, so uploads stay resumable across demo restarts.
    proxy_config.grants = demo_grant_key(&args.data)?;
    // One local user against a local store: no shared quota to protect, and the browser tests
    // poll quickly, so the per-user rate limit is off here (proxies in production keep it).
    proxy_config.rate_limit = proxy::ratelimit::RateLimit::DISABLED;

    let page_listener = tokio::net::TcpListener::bind(args.listen).await?;
    let page_addr = page_listener.local_addr()?;
    let demo_config = serde_json::json!({
        "endpoint": format!("http://{page_addr}/omics"),
        "token": token,
        "sequenceStoreId": store_id,
        "sbg": { "endpoint": format!("http://{page_addr}/sbg/v2"), "project": DEMO_SBG_PROJECT },
    });
    // Same CORS rule as the proxy: other origins (the wasm test runner) read it only when
    // allowed with --allow-origin.
    let config_route = Router::new()
        .route("/demo-config.json", axum::routing::get(move || async move { axum::Json(demo_config) }))
        .layer(axum::middleware::from_fn_with_state(std::sync::Arc::new(origins), proxy::cors::cors));
    let proxy_router = proxy::app(proxy_config)?.merge(config_route);
    // Only the Host the page listens on: a DNS-rebinding page (Host: evil.example) cannot
    // read /demo-config.json and its token, nor use the proxy.
    let page_hosts = std::sync::Arc::new(crate::hosts::AllowedHosts::for_listen(page_addr));
    let page_app = app(&args, proxy_router).layer(axum::middleware::from_fn_with_state(page_hosts, crate::hosts::only_allowed_hosts));
    // Tests and scripts read these two lines to find the ports when started on port 0.
    println!("local store: {store_url}");
    println!("readset-upload demo: open http://{page_addr}");
    tokio::select! {
        r = store_task => r?,
        r = crate::serve(page_listener, page_app, "demo page and proxy") => r,
    }
}

/// The demo proxy's upload grant key: `DATA/proxy-grant-key` (mode 600), made on first start.
fn demo_grant_key(data: &std::path::Path) -> anyhow::Result<proxy::ownership::UploadGrants> {
    let path = data.join("proxy-grant-key");
    if !path.exists() {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::create_dir_all(data)?;
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no random numbers: {e}"))?;
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
        f.write_all(hex::encode(key).as_bytes())?;
    }
    proxy::ownership::read_key_file(&path)
}

/// The job rules of the demo's store: [`DEMO_JOB_ROLE`], exports under [`DEMO_EXPORT_PREFIX`],
/// imports from [`DEMO_IMPORT_PREFIX`].
pub fn demo_job_rules() -> proxy::access::JobRules {
    proxy::access::JobRules {
        role_arn: Some(DEMO_JOB_ROLE.into()),
        export_prefixes: vec![DEMO_EXPORT_PREFIX.into()],
        import_prefixes: vec![DEMO_IMPORT_PREFIX.into()],
        rule: "demo".into(),
    }
}

/// Creates the demo's sequence store through the store's own (SigV4-signed) API, or finds it
/// again by its client token; returns its ID.
async fn ensure_demo_store(store_url: &str) -> anyhow::Result<String> {
    let body = serde_json::json!({
        "name": "readset-upload demo",
        "description": "Created by readset-server demo",
        "clientToken": DEMO_STORE_CLIENT_TOKEN,
        "eTagAlgorithmFamily": "MD5up",
    })
    .to_string();
    let url = format!("{store_url}/sequencestore");
    let host = store_url.trim_start_matches("http://");
    let credentials = aws_credential_types::Credentials::new(
        store::DEFAULT_ACCESS_KEY_ID,
        store::DEFAULT_SECRET_ACCESS_KEY,
        None,
        None,
        "readset-server demo",
    );
    let signed = proxy::sign::sign_request(
        &credentials,
        store::REGION,
        "POST",
        &url,
        &[("host", host), ("content-type", "application/json")],
        proxy::sign::Payload::Bytes(body.as_bytes()),
        SystemTime::now(),
    )
    .map_err(|e| anyhow::anyhow!("signing CreateSequenceStore: {}", e.message()))?;
    let mut request = reqwest::Client::new().post(&url).header("content-type", "application/json").body(body);
    for (name, value) in signed {
        request = request.header(name, value);
    }
    let response = request.send().await?;
    let status = response.status();
    let answer: serde_json::Value = serde_json::from_slice(&response.bytes().await?)?;
    match answer.get("id").and_then(|v| v.as_str()) {
        Some(id) if status.is_success() => Ok(id.to_string()),
        _ => anyhow::bail!("the local store refused to create the demo sequence store ({status}): {answer}"),
    }
}

/// Default folder of the demo page, found beside the server crate in the repository.
pub fn default_www_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../www"))
}

/// Default folder of the built npm package (wasm-pack output).
pub fn default_pkg_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../pkg"))
}
