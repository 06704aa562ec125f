//! The local store: a stand-in for the HealthOmics storage API (sequence stores, multipart
//! read set uploads, read sets, import/export/activation jobs, tags), on disk with metadata in
//! SQLite, verifying SigV4 (service `omics`) on every HealthOmics request.
//!
//! Layout of the data folder: `store.sqlite3` (metadata), `parts/{upload}/{SOURCE}/{n}`
//! (uploaded parts until the read set is built), `readsets/{id}/source1|source2` (read set
//! files), `s3/{bucket}/{key}` (what `s3://bucket/key` means to import and export jobs),
//! `tmp/` (part bodies while they stream in).

mod db;
pub mod endpoints;
mod error;
pub(crate) mod etag;
mod faults;
pub(crate) mod jobs;
mod out;
pub(crate) mod readsets;
pub(crate) mod sigv4;
pub(crate) mod stores;
mod tags;
use super::clock;
pub(crate) mod uploads;
pub(crate) mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue};
use axum::routing::{get, post, put};
use axum::Router;
use clap::Args;
use rand::Rng;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};

pub use error::{ApiError, ErrorKind};
pub use faults::Faults;

/// Access key id the store accepts when none is configured. Local and public on purpose.
pub const DEFAULT_ACCESS_KEY_ID: &str = "AKIDLOCALREADSETSTORE";
/// Secret access key the store accepts when none is configured. Local and public on purpose.
pub const DEFAULT_SECRET_ACCESS_KEY: &str = "local-readset-store-secret-do-not-use-in-production";
/// Region of the SigV4 credential scope the store expects (and puts in ARNs).
pub const REGION: &str = "us-east-1";
/// Account id used in the ARNs the store hands out.
pub const ACCOUNT_ID: &str = "000000000000";
/// SigV4 signing name the store verifies.
pub const SERVICE: &str = sigv4::SERVICE;

/// `readset-server store` options.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081", value_parser = crate::serving::parse_listen)]
    pub listen: SocketAddr,
    /// Folder holding parts, read sets and the SQLite database.
    #[arg(long, default_value = ".demo-data/store")]
    pub data: PathBuf,
    /// Access key id that requests must be signed with.
    #[arg(long, env = "READSET_STORE_ACCESS_KEY_ID", default_value = DEFAULT_ACCESS_KEY_ID)]
    pub access_key_id: String,
    /// File holding the secret access key requests must be signed with (chmod 600; one
    /// trailing newline ignored). Or set READSET_STORE_SECRET_ACCESS_KEY. Default: the
    /// published local key, printed at start-up.
    #[arg(long, value_name = "FILE")]
    pub secret_access_key_file: Option<PathBuf>,
    /// File holding the `X-SBG-Auth-Token` the Seven Bridges API under `/v2` accepts (chmod
    /// 600). Or set READSET_SBG_TOKEN. Default: the published local token.
    #[arg(long, value_name = "FILE")]
    pub sbg_token_file: Option<PathBuf>,
    /// Another `Host` (name or name:port) SigV4 requests may be signed for, besides the listen
    /// address (127.0.0.1:PORT, localhost:PORT); repeatable. Example:
    /// storage-omics.us-east-1.amazonaws.com.
    #[arg(long = "host", value_name = "NAME")]
    pub hosts: Vec<String>,
    /// Refused: a secret on the command line is visible in `ps` (use --secret-access-key-file).
    #[arg(long, hide = true, value_name = "REFUSED")]
    pub secret_access_key: Option<String>,
    /// Refused: a token on the command line is visible in `ps` (use --sbg-token-file).
    #[arg(long, hide = true, value_name = "REFUSED")]
    pub sbg_token: Option<String>,
    /// Injected faults on part uploads (tests and demos of the client's resilience).
    #[command(flatten)]
    pub faults: Faults,
    /// How UploadReadSetPart's `checksum` is written: `hex` (SHA-256 as 64 hex digits, which
    /// a client can verify) or `base64` (the same digest in base64, as AWS's examples show:
    /// opaque to a client, the AWS case).
    #[arg(long, value_enum, default_value_t = PartChecksums::Hex)]
    pub part_checksums: PartChecksums,
    /// Serve HTTPS (`--tls-cert`, `--tls-key`).
    #[command(flatten)]
    pub tls: crate::tls::TlsArgs,
}

impl StoreArgs {
    /// Options with the defaults: `listen`, `data` given, the default credentials.
    pub fn new(listen: SocketAddr, data: PathBuf) -> Self {
        StoreArgs {
            listen,
            data,
            access_key_id: DEFAULT_ACCESS_KEY_ID.into(),
            secret_access_key_file: None,
            sbg_token_file: None,
            hosts: Vec::new(),
            secret_access_key: None,
            sbg_token: None,
            faults: Faults::default(),
            part_checksums: PartChecksums::Hex,
            tls: crate::tls::TlsArgs::default(),
        }
    }

    /// The store configuration these options describe (default job timings), the secret read
    /// from `--secret-access-key-file` or READSET_STORE_SECRET_ACCESS_KEY, the hosts from
    /// `bound` (the address actually listened on) and `--host`.
    pub fn config(&self, bound: SocketAddr) -> anyhow::Result<StoreConfig> {
        use crate::secrets;
        if self.secret_access_key.is_some() {
            return Err(secrets::refuse_argv("--secret-access-key", "--secret-access-key-file", secrets::ENV_STORE_SECRET_ACCESS_KEY));
        }
        let secret = secrets::text_from_file_or_env(
            self.secret_access_key_file.as_deref(),
            "--secret-access-key-file",
            secrets::ENV_STORE_SECRET_ACCESS_KEY,
            "secret access key",
        )?;
        if let Some(s) = &secret {
            anyhow::ensure!(!s.trim().is_empty(), "the secret access key is empty");
        }
        let mut hosts = crate::hosts::AllowedHosts::for_listen(bound);
        for name in &self.hosts {
            hosts = hosts.with_name(name)?;
        }
        Ok(StoreConfig {
            access_key_id: self.access_key_id.clone(),
            secret_access_key: secret.unwrap_or_else(|| DEFAULT_SECRET_ACCESS_KEY.into()),
            faults: self.faults.clone(),
            part_checksums: self.part_checksums,
            hosts,
            ..StoreConfig::new(self.data.clone())
        })
    }

    /// The token the Seven Bridges API accepts: from `--sbg-token-file` or READSET_SBG_TOKEN,
    /// else the published default.
    pub fn sbg_token(&self) -> anyhow::Result<String> {
        use crate::secrets;
        if self.sbg_token.is_some() {
            return Err(secrets::refuse_argv("--sbg-token", "--sbg-token-file", secrets::ENV_SBG_TOKEN));
        }
        let token = secrets::text_from_file_or_env(self.sbg_token_file.as_deref(), "--sbg-token-file", secrets::ENV_SBG_TOKEN, "Seven Bridges token")?;
        match token {
            Some(t) => {
                let t = t.trim().to_owned();
                anyhow::ensure!(!t.is_empty() && axum::http::HeaderValue::from_str(&t).is_ok(), "the Seven Bridges token is empty or not printable ASCII");
                Ok(t)
            }
            None => Ok(crate::local::sbg::DEFAULT_SBG_TOKEN.into()),
        }
    }
}

/// How the store writes a part's `checksum` (always the part's SHA-256, in one of two forms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PartChecksums {
    /// 64 lowercase hex digits: a client can compare it with its own SHA-256 of the part.
    #[default]
    Hex,
    /// Standard base64 with padding (44 characters), as in AWS's examples: a client treats it
    /// as opaque, which is what it must do against AWS.
    Base64,
}

impl PartChecksums {
    /// The checksum of a part whose SHA-256 is `digest`.
    pub fn encode(self, digest: &[u8]) -> String {
        use base64::Engine;
        match self {
            PartChecksums::Hex => hex::encode(digest),
            PartChecksums::Base64 => base64::engine::general_purpose::STANDARD.encode(digest),
        }
    }
}

/// Everything the store needs to run.
#[derive(Clone)]
pub struct StoreConfig {
    /// Folder for the database, parts and read sets; created when missing.
    pub data_dir: PathBuf,
    /// Access key id that requests must be signed with.
    pub access_key_id: String,
    /// Secret access key that requests must be signed with.
    pub secret_access_key: String,
    /// Region of the credential scope and of the ARNs.
    pub region: String,
    /// How long a job stays in each state before it moves on (SUBMITTED, IN_PROGRESS).
    pub job_step: Duration,
    /// How long a completed upload stays PROCESSING_UPLOAD at least before it is validated.
    pub processing_delay: Duration,
    /// Faults injected into part uploads; none by default.
    pub faults: Faults,
    /// The format of the part checksums the store returns, lists and expects back.
    pub part_checksums: PartChecksums,
    /// The `Host` values SigV4 requests may be signed for. Default: loopback names on any
    /// port (a store built in-process before its port is known); `readset-server store` and
    /// `demo` set their exact listen address.
    pub hosts: crate::hosts::AllowedHosts,
}

impl StoreConfig {
    /// Defaults: the default credentials, [`REGION`], 2 s job steps, 1 s processing delay.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        StoreConfig {
            data_dir: data_dir.into(),
            access_key_id: DEFAULT_ACCESS_KEY_ID.into(),
            secret_access_key: DEFAULT_SECRET_ACCESS_KEY.into(),
            region: REGION.into(),
            job_step: Duration::from_secs(2),
            processing_delay: Duration::from_secs(1),
            faults: Faults::default(),
            part_checksums: PartChecksums::Hex,
            hosts: crate::hosts::AllowedHosts::loopback_any_port(),
        }
    }

    /// True when the credentials are the published defaults.
    pub fn uses_default_credentials(&self) -> bool {
        self.access_key_id == DEFAULT_ACCESS_KEY_ID && self.secret_access_key == DEFAULT_SECRET_ACCESS_KEY
    }
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("data_dir", &self.data_dir)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("region", &self.region)
            .field("job_step", &self.job_step)
            .field("processing_delay", &self.processing_delay)
            .field("faults", &self.faults)
            .field("part_checksums", &self.part_checksums)
            .field("hosts", &self.hosts)
            .finish()
    }
}

/// The state every handler shares.
pub(crate) struct Store {
    pub(crate) cfg: StoreConfig,
    pub(crate) db: db::Db,
}

pub(crate) type Shared = Arc<Store>;

impl Store {
    fn dir(&self, name: &str) -> PathBuf {
        self.cfg.data_dir.join(name)
    }
    /// Where part `n` of `source` of `upload` lives.
    pub(crate) fn part_path(&self, upload: &str, source: &str, n: i64) -> PathBuf {
        self.dir("parts").join(upload).join(source).join(n.to_string())
    }
    /// Folder of an upload's parts.
    pub(crate) fn upload_dir(&self, upload: &str) -> PathBuf {
        self.dir("parts").join(upload)
    }
    /// Folder for part bodies while they stream in.
    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.dir("tmp")
    }
    /// Folder of a read set's files.
    pub(crate) fn readset_dir(&self, id: &str) -> PathBuf {
        self.dir("readsets").join(id)
    }
    /// The local file an `s3://bucket/key` URI stands for.
    pub(crate) fn s3_path(&self, uri: &str) -> PathBuf {
        let rest = uri.strip_prefix("s3://").unwrap_or(uri);
        let mut p = self.dir("s3");
        for seg in rest.split('/').filter(|s| !s.is_empty() && *s != "." && *s != "..") {
            p.push(seg);
        }
        p
    }
    /// ARN of a sequence store.
    pub(crate) fn store_arn(&self, store: &str) -> String {
        format!("arn:aws:omics:{}:{ACCOUNT_ID}:sequenceStore/{store}", self.cfg.region)
    }
    /// ARN of a read set.
    pub(crate) fn readset_arn(&self, store: &str, id: &str) -> String {
        format!("{}/readSet/{id}", self.store_arn(store))
    }
}

/// A new random numeric ID (10 digits, no leading zero), as HealthOmics IDs look.
pub(crate) fn new_id() -> String {
    rand::thread_rng().gen_range(1_000_000_000u64..10_000_000_000).to_string()
}

fn prepare_dirs(data: &Path) -> anyhow::Result<()> {
    for d in ["parts", "readsets", "s3"] {
        std::fs::create_dir_all(data.join(d))?;
    }
    // Bodies that were streaming when the store stopped never became parts.
    let _ = std::fs::remove_dir_all(data.join("tmp"));
    std::fs::create_dir_all(data.join("tmp"))?;
    Ok(())
}

/// The store's router: the HealthOmics storage API (SigV4-verified) with permissive CORS.
/// Opens or creates the SQLite database under `config.data_dir` and resumes background work
/// (read sets still processing, jobs not finished).
pub async fn app(config: StoreConfig) -> anyhow::Result<Router> {
    prepare_dirs(&config.data_dir)?;
    let db = db::Db::open(&config.data_dir.join("store.sqlite3"))?;
    let verifier = Arc::new(sigv4::Verifier {
        access_key_id: config.access_key_id.clone(),
        secret_access_key: config.secret_access_key.clone(),
        region: config.region.clone(),
        hosts: config.hosts.clone(),
    });
    if config.faults.any() {
        tracing::warn!(faults = ?config.faults, "injecting faults into part uploads");
    }
    let fault_state = faults::FaultState::new(config.faults.clone());
    let host_log = endpoints::HostLog::new(config.hosts.clone());
    let store: Shared = Arc::new(Store { cfg: config, db });
    readsets::resume(&store)?;
    jobs::resume(&store)?;

    let omics = Router::new()
        .route("/sequencestore", post(stores::create))
        .route("/sequencestores", post(stores::list))
        .route("/sequencestore/{store_id}", get(stores::get).patch(stores::update).delete(stores::delete))
        .route("/sequencestore/{store_id}/upload", post(uploads::create))
        .route(
            "/sequencestore/{store_id}/upload/{upload_id}/part",
            put(uploads::upload_part)
                .layer::<_, std::convert::Infallible>(axum::middleware::from_fn_with_state(fault_state.clone(), faults::inject))
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/sequencestore/{store_id}/upload/{upload_id}/complete", post(uploads::complete))
        .route("/sequencestore/{store_id}/upload/{upload_id}/abort", axum::routing::delete(uploads::abort))
        .route("/sequencestore/{store_id}/uploads", post(uploads::list_uploads))
        .route("/sequencestore/{store_id}/upload/{upload_id}/parts", post(uploads::list_parts))
        .route("/sequencestore/{store_id}/readsets", post(readsets::list))
        .route("/sequencestore/{store_id}/readset/{id}/metadata", get(readsets::metadata))
        .route("/sequencestore/{store_id}/readset/{id}", get(readsets::download_part))
        .route("/sequencestore/{store_id}/readset/batch/delete", post(readsets::batch_delete))
        .route("/sequencestore/{store_id}/importjob", post(jobs::start_import))
        .route("/sequencestore/{store_id}/importjob/{id}", get(jobs::get_import))
        .route("/sequencestore/{store_id}/importjobs", post(jobs::list_import))
        .route("/sequencestore/{store_id}/exportjob", post(jobs::start_export))
        .route("/sequencestore/{store_id}/exportjob/{id}", get(jobs::get_export))
        .route("/sequencestore/{store_id}/exportjobs", post(jobs::list_export))
        .route("/sequencestore/{store_id}/activationjob", post(jobs::start_activation))
        .route("/sequencestore/{store_id}/activationjob/{id}", get(jobs::get_activation))
        .route("/sequencestore/{store_id}/activationjobs", post(jobs::list_activation))
        .route("/tags/{arn}", get(tags::list).post(tags::tag).delete(tags::untag))
        .with_state(store)
        .layer(axum::middleware::from_fn_with_state(host_log.clone(), endpoints::record_verified))
        .layer(axum::middleware::from_fn_with_state(verifier, sigv4::verify))
        .layer(axum::middleware::from_fn_with_state(host_log.clone(), endpoints::route_by_host));

    // Local-store-only counters, outside the SigV4 check (read-only, no data).
    let local = Router::new()
        .route("/_local/stats", get(faults::stats))
        .with_state(fault_state)
        .merge(Router::new().route("/_local/hosts", get(endpoints::hosts)).with_state(host_log));
    Ok(omics
        .merge(local)
        .layer(axum::middleware::from_fn(request_id))
        .layer(cors()))
}

/// Permissive CORS so a browser (the JS AWS SDK in the benchmark) can call the store directly;
/// preflights are answered here, before signature checks. [`app`] already applies it; it is
/// public so routes merged into the store's router later (the Seven Bridges API) can get the same.
pub fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods(AllowMethods::mirror_request())
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([
            HeaderName::from_static("x-amzn-errortype"),
            HeaderName::from_static("x-amzn-requestid"),
            HeaderName::from_static("etag"),
        ])
        .max_age(Duration::from_secs(600))
}

/// Adds `x-amzn-RequestId` to every answer, as AWS does.
async fn request_id(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let mut resp = next.run(req).await;
    let id = format!("{:032x}", rand::thread_rng().gen::<u128>());
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}

/// Runs the store until the process ends; prints the credentials in use when they are the
/// published defaults.
pub async fn run(args: StoreArgs) -> anyhow::Result<()> {
    // Secrets and names are checked before the port is taken.
    let sbg_token = args.sbg_token()?;
    args.config(args.listen)?;
    let tls = args.tls.acceptor()?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let config = args.config(listener.local_addr()?)?;
    if config.uses_default_credentials() {
        println!(
            "local store: default credentials in use: access key id {DEFAULT_ACCESS_KEY_ID}, secret access key {DEFAULT_SECRET_ACCESS_KEY}, region {REGION}, service omics"
        );
    }
    tracing::info!(hosts = %config.hosts.describe(), "SigV4 requests must be signed for one of these hosts");
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut sbg = crate::local::sbg::SbgConfig::new(config.data_dir.join("sbg"), format!("{scheme}://{}", listener.local_addr()?));
    sbg.token = sbg_token;
    tracing::info!("{}", crate::local::sbg::startup_notice(&sbg));
    crate::serve_tls(listener, app_with_sbg(config, sbg).await?, "store", tls).await
}

/// The HealthOmics API ([`app`]) and the Seven Bridges upload API ([`crate::local::sbg::router`],
/// under `/v2`, with its own token auth and CORS) on one router, as `readset-server store`
/// and `demo` serve them.
pub async fn app_with_sbg(config: StoreConfig, sbg: crate::local::sbg::SbgConfig) -> anyhow::Result<Router> {
    Ok(app(config).await?.merge(crate::local::sbg::router(sbg).await?))
}
