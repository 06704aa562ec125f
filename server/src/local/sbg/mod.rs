//! The Seven Bridges v2 multipart upload API of the local store, plus enough of the files API
//! to see and fetch what was uploaded.
//!
//! All routes are under `/v2` and served on the store's port. API calls need the
//! `X-SBG-Auth-Token` of [`SbgConfig::token`] and are rate limited like the platform's; the
//! part URLs and download URLs the API hands out point back at this router
//! (`/v2/_storage/...`), need no token and are authorised by their HMAC signature instead.
//! Metadata lives in SQLite at `{data_dir}/sbg.sqlite`, bytes under `{data_dir}/sbg/`, so
//! everything survives a restart. The README section "Seven Bridges (local)" lists the routes,
//! error codes and what differs from the real platform.

mod auth;
use super::clock;
mod db;
mod error;
mod files;
pub(crate) mod ids;
mod page;
pub(crate) mod part_url;
mod ratelimit;
mod storage;
mod uploads;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Method};
use axum::routing::{get, post, put};
use axum::Router;
use tower_http::cors::{Any, CorsLayer};

/// The token the local store accepts when none is configured. It is public (it is in the
/// README): the local store is for demos and tests on one machine, never for real data.
pub const DEFAULT_SBG_TOKEN: &str = "local-sbg-token-not-a-secret";

/// The header a part URL requires when [`SbgConfig::require_part_header`] is on (off by
/// default); it is listed, with its value, in the `headers` of the part URL response.
pub const PART_HEADER: &str = "x-local-part-token";

/// The platform's smallest part (except the last): 5 MiB.
pub const PLATFORM_MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// The platform's largest part: 5 GiB.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// The most parts one upload may have.
pub const MAX_PARTS: u64 = 10_000;

/// Settings of the Seven Bridges emulation. Build with [`SbgConfig::new`] and change fields.
#[derive(Clone)]
pub struct SbgConfig {
    /// Folder for `sbg.sqlite` and the `sbg/` folder of parts, files and the signing key.
    pub data_dir: PathBuf,
    /// The `X-SBG-Auth-Token` every API call must carry. Default [`DEFAULT_SBG_TOKEN`].
    pub token: String,
    /// How clients reach this server, e.g. `http://127.0.0.1:8081`: the start of every part
    /// URL, download URL and `href`. A trailing `/` is ignored.
    pub public_base_url: String,
    /// How long a part URL stays valid. Default 60 s.
    pub part_url_ttl: Duration,
    /// How long a download URL stays valid. Default 10 min.
    pub download_url_ttl: Duration,
    /// Smallest part size the server hands out (every part but the last is this big or
    /// bigger). Default 5 MiB like the platform; tests may lower it (e.g. 1 KiB).
    pub min_part_size: u64,
    /// API requests per window per token. Default 1000.
    pub rate_limit: u32,
    /// The rate-limit window. Default 5 min.
    pub rate_window: Duration,
    /// Whether CORS exposes `ETag` to browsers (default true). Set false to test that a client
    /// reports clearly that it cannot read the header it must report.
    pub expose_etag: bool,
    /// Whether part URLs also require the [`PART_HEADER`] header, listed in their `headers`
    /// (default false: like the platform's presigned URLs, a part URL needs nothing but
    /// itself and `headers` is `{}`, so the official clients, which `PUT` to `url` alone,
    /// work). Tests switch it on to prove a client sends what `headers` lists.
    pub require_part_header: bool,
    /// HMAC key for the signed URLs. `None` (default): a random key kept in
    /// `{data_dir}/sbg/signing.key`, created on first start.
    pub signing_key: Option<Vec<u8>>,
    /// Projects (`owner/name`) that exist from the start, empty until files arrive (the demo's:
    /// a real project exists before anyone uploads, so listing it is not a 404). Others come
    /// into being with their first upload.
    pub projects: Vec<String>,
}

impl std::fmt::Debug for SbgConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SbgConfig")
            .field("data_dir", &self.data_dir)
            .field("token", &if self.token == DEFAULT_SBG_TOKEN { "<default>" } else { "<redacted>" })
            .field("public_base_url", &self.public_base_url)
            .field("part_url_ttl", &self.part_url_ttl)
            .field("download_url_ttl", &self.download_url_ttl)
            .field("min_part_size", &self.min_part_size)
            .field("rate_limit", &self.rate_limit)
            .field("rate_window", &self.rate_window)
            .field("expose_etag", &self.expose_etag)
            .field("require_part_header", &self.require_part_header)
            .field("signing_key", &self.signing_key.as_ref().map(|_| "<redacted>"))
            .field("projects", &self.projects)
            .finish()
    }
}

impl SbgConfig {
    /// The defaults, with data under `data_dir` and URLs starting with `public_base_url`.
    pub fn new(data_dir: impl Into<PathBuf>, public_base_url: impl Into<String>) -> Self {
        Self {
            data_dir: data_dir.into(),
            token: DEFAULT_SBG_TOKEN.to_owned(),
            public_base_url: public_base_url.into(),
            part_url_ttl: Duration::from_secs(60),
            download_url_ttl: Duration::from_secs(600),
            min_part_size: PLATFORM_MIN_PART_SIZE,
            rate_limit: 1000,
            rate_window: Duration::from_secs(300),
            expose_etag: true,
            require_part_header: false,
            signing_key: None,
            projects: Vec::new(),
        }
    }
}

/// One line for the start-up log: where the API is and which token it takes (the token is
/// shown only when it is the public default).
pub fn startup_notice(config: &SbgConfig) -> String {
    let token = if config.token == DEFAULT_SBG_TOKEN {
        format!("X-SBG-Auth-Token: {DEFAULT_SBG_TOKEN} (the documented local default; set another with --sbg-token-file FILE or READSET_SBG_TOKEN)")
    } else {
        "X-SBG-Auth-Token: the one from --sbg-token-file or READSET_SBG_TOKEN".to_owned()
    };
    format!("Seven Bridges v2 upload API at {}/v2, {token}", config.public_base_url.trim_end_matches('/'))
}

/// Where things live on disk.
struct Dirs {
    /// `{data_dir}/sbg`: relative paths in the catalogue start here.
    root: PathBuf,
    /// Bodies being received or files being assembled; emptied at start.
    tmp: PathBuf,
}

/// What every handler shares.
struct Inner {
    config: SbgConfig,
    base_url: String,
    db: db::Db,
    signer: part_url::Signer,
    limiter: ratelimit::RateLimiter,
    dirs: Dirs,
}

/// Handle to the shared state.
#[derive(Clone)]
struct AppState(Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    fn open(config: SbgConfig) -> anyhow::Result<Self> {
        let root = config.data_dir.join("sbg");
        let tmp = root.join("tmp");
        for dir in [root.join("parts"), root.join("files")] {
            std::fs::create_dir_all(&dir)?;
        }
        // Anything in tmp is a body that was cut off by a crash: never referenced by a row.
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        std::fs::create_dir_all(&tmp)?;
        let db = db::Db::open(&config.data_dir.join("sbg.sqlite"))?;
        for p in &config.projects {
            anyhow::ensure!(uploads::valid_project(p), "project {p:?} must be owner/name");
            db.ensure_project(p, clock::now_ms())?;
        }
        let signer = match &config.signing_key {
            Some(key) => part_url::Signer::new(key.clone()),
            None => part_url::Signer::load_or_create(&root.join("signing.key"))?,
        };
        let limiter = ratelimit::RateLimiter::new(config.rate_limit, config.rate_window);
        let base_url = config.public_base_url.trim_end_matches('/').to_owned();
        Ok(Self(Arc::new(Inner { config, base_url, db, signer, limiter, dirs: Dirs { root, tmp } })))
    }
}

/// The Seven Bridges routes, all under `/v2`, with their CORS layer; merge into the store's
/// router. Creates `{data_dir}/sbg.sqlite` and `{data_dir}/sbg/` if needed; an existing data
/// dir is reused, open uploads and files included.
///
/// API (need `X-SBG-Auth-Token`, rate limited):
/// `POST|GET /v2/upload/multipart`, `GET|POST|DELETE /v2/upload/multipart/{upload_id}`,
/// `POST /v2/upload/multipart/{upload_id}/part`,
/// `GET /v2/upload/multipart/{upload_id}/part/{part_number}`,
/// `POST /v2/upload/multipart/{upload_id}/complete`, `GET /v2/files?project=owner/name`,
/// `GET /v2/files/{id}`, `GET /v2/files/{id}/download_info`; each also with a trailing `/`.
/// Storage (signed URLs, no token): `PUT /v2/_storage/parts/{upload_id}/{part_number}`,
/// `GET /v2/_storage/files/{id}`.
pub async fn router(config: SbgConfig) -> anyhow::Result<Router> {
    let cors = cors_layer(&config);
    let state = tokio::task::spawn_blocking(move || AppState::open(config)).await??;
    // Every API route also answers with a trailing `/`, as the platform does: the official
    // client reports parts with `POST /upload/multipart/{id}/part/`.
    let api = [
        ("/v2/upload/multipart", post(uploads::init).get(uploads::list)),
        ("/v2/upload/multipart/{upload_id}", get(uploads::details).post(uploads::report_many).delete(uploads::abort)),
        ("/v2/upload/multipart/{upload_id}/part", post(uploads::report_one)),
        ("/v2/upload/multipart/{upload_id}/part/{part_number}", get(uploads::part_url)),
        ("/v2/upload/multipart/{upload_id}/complete", post(uploads::complete)),
        ("/v2/files", get(files::list)),
        ("/v2/files/{file_id}", get(files::get)),
        ("/v2/files/{file_id}/download_info", get(files::download_info)),
    ]
    .into_iter()
    .fold(Router::new(), |api, (path, handler)| api.route(path, handler.clone()).route(&format!("{path}/"), handler))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::guard));
    let storage = Router::new()
        .route("/v2/_storage/parts/{upload_id}/{part_number}", put(storage::put_part))
        .route("/v2/_storage/files/{file_id}", get(storage::download))
        // Part bodies are streamed to disk and bounded by the part size, not by axum's default.
        .layer(DefaultBodyLimit::disable());
    Ok(api.merge(storage).with_state(state).layer(cors))
}

fn cors_layer(config: &SbgConfig) -> CorsLayer {
    let mut expose = vec![
        HeaderName::from_static("x-ratelimit-limit"),
        HeaderName::from_static("x-ratelimit-remaining"),
        HeaderName::from_static("x-ratelimit-reset"),
        HeaderName::from_static(page::TOTAL_HEADER),
    ];
    if config.expose_etag {
        expose.push(axum::http::header::ETAG);
    }
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([
            HeaderName::from_static("x-sbg-auth-token"),
            axum::http::header::CONTENT_TYPE,
            HeaderName::from_static(PART_HEADER),
        ])
        .expose_headers(expose)
        .max_age(Duration::from_secs(600))
}
