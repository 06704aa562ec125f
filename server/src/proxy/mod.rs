//! The signing proxy: the browser's only way to HealthOmics.
//!
//! It authenticates the portal user ([`auth`]), allows only the read-set operations on the
//! stores that user may use ([`policy`]), signs with SigV4 ([`sign`]) and forwards to the
//! operation's host, streaming part bodies without buffering them (`forward.rs`). It keeps no
//! state between requests, so any number of instances can serve the same users. Seven Bridges
//! API calls under `/sbg/v2/` are forwarded to `--sbg-api` with the token added server side
//! ([`sbg`]).

pub mod access;
pub mod auth;
pub mod cors;
pub mod error;
mod forward;
mod handler;
pub mod json;
pub mod jwks;
pub mod jwt;
pub mod limit;
pub mod ownership;
pub mod policy;
pub mod ratelimit;
pub mod sbg;
pub mod sign;
pub mod trace;
pub mod upstream;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use aws_credential_types::provider::SharedCredentialsProvider;
use axum::routing::{any, get};
use axum::Router;
use clap::Args;

pub use auth::{Authenticator, JwtClaims, Principal, StoreScope};
pub use jwt::JwtRules;
pub use cors::AllowedOrigins;
pub use error::ProxyError;
pub use sign::static_credentials;
pub use upstream::Upstream;

/// Default cap on a buffered JSON request body (64 KiB).
pub const DEFAULT_MAX_JSON_BODY: usize = 64 * 1024;
/// Default number of part uploads one token subject may have in flight per instance.
pub const DEFAULT_PARTS_PER_TOKEN: usize = 16;
/// Default wait for the upstream's answer once the request body has been sent.
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);
/// Region used with a URL upstream when none is given (the local store accepts it).
pub const DEFAULT_LOCAL_REGION: &str = "us-east-1";

/// `readset-server proxy` options.
#[derive(Debug, Clone, Args)]
pub struct ProxyArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_parser = crate::serving::parse_listen)]
    pub listen: SocketAddr,
    /// Where to forward: `aws` for real HealthOmics, or the base URL of a local store
    /// (`http://host:port`). AWS credentials come from the standard chain in both cases.
    #[arg(long, default_value = "http://127.0.0.1:8081")]
    pub upstream: String,
    /// AWS region to sign for (and, with `--upstream aws`, to call). Required with `aws`;
    /// defaults to us-east-1 for a URL upstream.
    #[arg(long, env = "AWS_REGION")]
    pub region: Option<String>,
    /// File holding an HS256 secret shared with the portal backend that mints JWTs (at least
    /// 32 bytes; one trailing newline is ignored; chmod 600). Repeatable: every secret given is
    /// accepted, so a secret can be rotated without refusing the tokens already minted. Or set
    /// READSET_JWT_SECRET. Never give a secret as a flag value: argv is visible in `ps`.
    #[arg(long)]
    pub jwt_secret_file: Vec<PathBuf>,
    /// OpenID Connect issuer whose tokens are accepted (RS256, ES256, EdDSA): its keys are found
    /// through `ISSUER/.well-known/openid-configuration`. Needs --jwt-audience.
    #[arg(long, conflicts_with = "jwks_url")]
    pub oidc_issuer: Option<String>,
    /// JSON Web Key Set URL of an identity provider without OpenID discovery. Needs
    /// --jwt-issuer and --jwt-audience.
    #[arg(long)]
    pub jwks_url: Option<String>,
    /// Audience a JWT must name in `aud` (repeatable: any one of them). Required with
    /// --oidc-issuer / --jwks-url; also checked on HS256 tokens when given.
    #[arg(long = "jwt-audience")]
    pub jwt_audience: Vec<String>,
    /// Issuer (`iss`) a JWT must carry. Defaults to the --oidc-issuer for the identity
    /// provider's tokens; also checked on HS256 tokens when given.
    #[arg(long)]
    pub jwt_issuer: Option<String>,
    /// Longest JWT lifetime accepted (`exp - iat`): seconds, or a number with s, m, h or d.
    #[arg(long, default_value = "12h", value_parser = parse_duration)]
    pub jwt_max_lifetime: Duration,
    /// How often the identity provider's key set is fetched again (seconds, or with s, m, h).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub jwks_refresh: Duration,
    /// JSON file of static bearer tokens: `[{"token": "...", "sub": "...", "stores": ["*"]}]`.
    #[arg(long)]
    pub tokens: Option<PathBuf>,
    /// Access policy file (JSON, or TOML when it ends with `.toml`): maps token claims such as
    /// `groups` or `cognito:groups` to stores, Seven Bridges projects and operations, and sets
    /// the IAM role and S3 prefixes of export and import jobs per store. Checked at startup.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Browser origin allowed to call the proxy (repeatable); `*` allows any origin (tests and
    /// development only).
    #[arg(long = "allow-origin")]
    pub allow_origin: Vec<String>,
    /// Largest JSON request body accepted, in bytes (`CompleteMultipartReadSetUpload`, which
    /// lists every part, is always allowed `policy::MAX_COMPLETE_JSON_BODY`).
    #[arg(long, default_value_t = DEFAULT_MAX_JSON_BODY)]
    pub max_json_body: usize,
    /// Part uploads one token subject may have in flight on this instance.
    #[arg(long, default_value_t = DEFAULT_PARTS_PER_TOKEN)]
    pub max_parts_per_token: usize,
    /// Seconds to wait for the upstream's answer after the request body was sent.
    #[arg(long, default_value_t = DEFAULT_UPSTREAM_TIMEOUT.as_secs())]
    pub upstream_timeout_secs: u64,
    /// Seven Bridges API base to forward `/sbg/v2/...` to, e.g.
    /// `https://cavatica-api.sbgenomics.com/v2` or a local store's `http://127.0.0.1:8081/v2`.
    /// Needs the token: --sbg-token-file or READSET_SBG_TOKEN.
    #[arg(long)]
    pub sbg_api: Option<String>,
    /// File holding the Seven Bridges token added as `X-SBG-Auth-Token` (never sent by
    /// browsers; chmod 600). Or set READSET_SBG_TOKEN.
    #[arg(long, requires = "sbg_api")]
    pub sbg_token_file: Option<PathBuf>,
    /// File holding the key (at least 32 random bytes, mode 600) that signs upload grants, so
    /// only the user who created an upload can act on it. Give every instance behind one load
    /// balancer the same file; without it a random key per process is used, and grants handed
    /// out before a restart or by another instance are refused (the library then fetches them
    /// again from the upload list, at the cost of extra calls).
    #[arg(long, env = "READSET_UPLOAD_GRANT_KEY_FILE")]
    pub upload_grant_key_file: Option<PathBuf>,
    /// JSON and Seven Bridges calls per second one user (issuer + sub) may make on this
    /// instance in the long run (part bodies are capped by --max-parts-per-token instead);
    /// 0 disables the limit. Over it: 429 with Retry-After.
    #[arg(long, default_value_t = ratelimit::DEFAULT_PER_SEC)]
    pub rate_limit_per_sec: f64,
    /// Calls one user may make at once after being idle (the token bucket's size).
    #[arg(long, default_value_t = ratelimit::DEFAULT_BURST)]
    pub rate_limit_burst: u32,
    /// PEM file of extra root certificates to trust for upstream TLS (HealthOmics and Seven
    /// Bridges), besides the built-in roots; repeatable. For networks whose TLS inspection
    /// re-signs traffic with a corporate CA, and for tests. Not needed on real AWS.
    #[arg(long, value_name = "FILE")]
    pub upstream_ca: Vec<PathBuf>,
    /// `HOST=IP:PORT`: connect to that address for HOST instead of asking DNS (like curl's
    /// --resolve); TLS still checks the certificate for HOST and requests are signed for it.
    /// Repeatable. For tests against a local store on AWS names; not needed on real AWS.
    #[arg(long, value_name = "HOST=ADDR")]
    pub upstream_resolve: Vec<String>,
}

/// Everything the proxy needs, for building it in-process (tests, the demo) or from flags.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Where requests go.
    pub upstream: Upstream,
    /// Region signed for (and called, with [`Upstream::Aws`]).
    pub region: String,
    /// AWS credentials to sign with.
    pub credentials: SharedCredentialsProvider,
    /// Who may call.
    pub auth: Authenticator,
    /// Browser origins allowed by CORS.
    pub allowed_origins: AllowedOrigins,
    /// Largest JSON request body, in bytes.
    pub max_json_body: usize,
    /// Part uploads one token subject may have in flight.
    pub per_token_part_cap: usize,
    /// Wait for the upstream's answer once the body was sent (504 after it).
    pub upstream_timeout: Duration,
    /// Wait for a TCP/TLS connection to the upstream (502 after it).
    pub connect_timeout: Duration,
    /// Where `/sbg/v2/...` goes, with its token; `None`: those calls are refused.
    pub sbg: Option<sbg::SbgUpstream>,
    /// Mints and checks upload grants (see [`ownership`]).
    pub grants: ownership::UploadGrants,
    /// Per-principal rate of JSON and Seven Bridges calls.
    pub rate_limit: ratelimit::RateLimit,
    /// Extra trusted roots and fixed addresses for upstream connections.
    pub upstream_connect: upstream::UpstreamConnect,
}

impl ProxyConfig {
    /// A configuration with the default limits and no allowed browser origin (same-origin
    /// pages, such as the demo's, need none).
    pub fn new(upstream: Upstream, region: impl Into<String>, credentials: SharedCredentialsProvider, auth: Authenticator) -> Self {
        Self {
            upstream,
            region: region.into(),
            credentials,
            auth,
            allowed_origins: AllowedOrigins::List(Vec::new()),
            max_json_body: DEFAULT_MAX_JSON_BODY,
            per_token_part_cap: DEFAULT_PARTS_PER_TOKEN,
            upstream_timeout: DEFAULT_UPSTREAM_TIMEOUT,
            connect_timeout: Duration::from_secs(10),
            sbg: None,
            grants: ownership::UploadGrants::ephemeral(),
            rate_limit: ratelimit::RateLimit::default(),
            upstream_connect: upstream::UpstreamConnect::default(),
        }
    }

    /// A proxy in front of a local store at `upstream_url` whose keys are known (the demo).
    pub fn local_store(upstream_url: &str, region: &str, access_key_id: &str, secret_access_key: &str, auth: Authenticator) -> anyhow::Result<Self> {
        let upstream = Upstream::parse(upstream_url)?;
        Ok(Self::new(upstream, region, static_credentials(access_key_id, secret_access_key), auth))
    }

    /// The configuration the command line describes; credentials come from the standard AWS
    /// chain (environment, profile, web identity, ECS or EC2 instance role).
    pub async fn from_args(args: &ProxyArgs) -> anyhow::Result<Self> {
        let upstream = Upstream::parse(&args.upstream)?;
        let region = match (&upstream, &args.region) {
            (_, Some(r)) => r.clone(),
            (Upstream::Aws, None) => anyhow::bail!("--upstream aws needs --region (or AWS_REGION)"),
            (Upstream::Url { .. }, None) => DEFAULT_LOCAL_REGION.to_owned(),
        };
        let mut called = upstream.hosts(&region);
        if let Some(host) = args.sbg_api.as_deref().and_then(|api| reqwest::Url::parse(api).ok()).and_then(|u| u.host_str().map(str::to_ascii_lowercase)) {
            called.push(host);
        }
        let upstream_connect = upstream::UpstreamConnect::from_flags(&args.upstream_ca, &args.upstream_resolve, &called)?;
        let auth = auth_from_args(args).await?;
        let chain = aws_config::default_provider::credentials::DefaultCredentialsChain::builder().build().await;
        for origin in args.allow_origin.iter().filter(|o| *o != "*") {
            let url = reqwest::Url::parse(origin).ok();
            anyhow::ensure!(
                url.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.path() == "/" && !origin.trim_end_matches('/').ends_with(':')),
                "--allow-origin `{origin}` must be `*` or scheme://host[:port], like https://portal.example.org"
            );
        }
        let mut config = Self::new(upstream, region, SharedCredentialsProvider::new(chain), auth);
        config.allowed_origins = AllowedOrigins::from_list(&args.allow_origin);
        config.max_json_body = args.max_json_body;
        config.per_token_part_cap = args.max_parts_per_token;
        config.upstream_timeout = Duration::from_secs(args.upstream_timeout_secs);
        config.rate_limit = ratelimit::RateLimit { per_sec: args.rate_limit_per_sec, burst: args.rate_limit_burst };
        config.upstream_connect = upstream_connect;
        if let Some(api) = &args.sbg_api {
            config.sbg = Some(sbg::SbgUpstream::from_token_file_or_env(api, args.sbg_token_file.as_deref())?);
        }
        match &args.upload_grant_key_file {
            Some(path) => config.grants = ownership::read_key_file(path)?,
            None => tracing::warn!(
                "no --upload-grant-key-file: upload grants use a per-process key; after a restart, or through another instance, clients must fetch their uploads' grants again from ListMultipartReadSetUploads (the library does), and other clients get 403"
            ),
        }
        Ok(config)
    }
}

/// The authenticator the auth flags describe. An identity provider that cannot be reached at
/// startup is an error (the proxy would refuse every user of it).
async fn auth_from_args(args: &ProxyArgs) -> anyhow::Result<Authenticator> {
    anyhow::ensure!(args.jwt_max_lifetime.as_secs() > 0, "--jwt-max-lifetime must be at least one second");
    anyhow::ensure!(args.jwt_audience.iter().all(|a| !a.is_empty()), "--jwt-audience must not be empty");
    let mut auth = Authenticator::new();
    if !args.jwt_secret_file.is_empty() {
        anyhow::ensure!(std::env::var_os(crate::secrets::ENV_JWT_SECRET).is_none(), "give the JWT secret with --jwt-secret-file or with READSET_JWT_SECRET, not both");
    } else if let Some(secret) = crate::secrets::text_from_file_or_env(None, "--jwt-secret-file", crate::secrets::ENV_JWT_SECRET, "JWT secret")? {
        auth = auth.with_jwt_secret(secret.as_bytes()).context("the JWT secret in READSET_JWT_SECRET")?;
    }
    for path in &args.jwt_secret_file {
        auth = auth.with_jwt_secret_file(path)?;
    }
    auth = auth.with_hs256_rules(JwtRules {
        issuer: args.jwt_issuer.clone(),
        audiences: args.jwt_audience.clone(),
        max_lifetime: args.jwt_max_lifetime,
        require_iat: false,
    });
    let options = jwks::JwksOptions { refresh_every: args.jwks_refresh, ..jwks::JwksOptions::default() };
    let source = match (&args.oidc_issuer, &args.jwks_url) {
        (Some(issuer), _) => {
            let (issuer, source) = jwks::JwksSource::discover(issuer, options).await.with_context(|| format!("--oidc-issuer {issuer}"))?;
            Some((args.jwt_issuer.clone().unwrap_or(issuer), source))
        }
        (None, Some(url)) => {
            let issuer = args.jwt_issuer.clone().context("--jwks-url needs --jwt-issuer (the `iss` its tokens carry)")?;
            Some((issuer, jwks::JwksSource::new(url, options).await.with_context(|| format!("--jwks-url {url}"))?))
        }
        (None, None) => None,
    };
    if let Some((issuer, source)) = source {
        anyhow::ensure!(!args.jwt_audience.is_empty(), "--oidc-issuer / --jwks-url need --jwt-audience (the `aud` the tokens for this proxy carry)");
        tracing::info!(issuer = %issuer, keys = ?source, "identity provider configured");
        let rules = JwtRules { issuer: Some(issuer), audiences: args.jwt_audience.clone(), max_lifetime: args.jwt_max_lifetime, require_iat: true };
        auth = auth.with_identity_provider(Arc::new(source), rules)?;
    }
    if let Some(path) = &args.tokens {
        auth = auth.with_token_file(path)?;
    }
    if let Some(path) = &args.policy {
        auth = auth.with_policy(access::AccessPolicy::from_file(path)?);
    }
    anyhow::ensure!(
        auth.is_configured(),
        "give --oidc-issuer, --jwks-url, --jwt-secret-file and/or --tokens: the proxy serves authenticated users only"
    );
    Ok(auth)
}

/// Parses `90`, `90s`, `15m`, `12h` or `1d` as a duration.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits.parse().map_err(|_| format!("`{s}` is not a duration: use seconds, or a number with s, m, h or d"))?;
    let factor = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{s}` is not a duration: use seconds, or a number with s, m, h or d")),
    };
    n.checked_mul(factor).map(Duration::from_secs).ok_or_else(|| format!("`{s}` is too long"))
}

/// Shared state of the handlers.
pub(crate) struct ProxyState {
    auth: Authenticator,
    upstream: Upstream,
    region: String,
    credentials: sign::CredentialsCache,
    client: reqwest::Client,
    limiter: limit::PartLimiter,
    max_json_body: usize,
    upstream_timeout: Duration,
    sbg: Option<sbg::SbgUpstream>,
    grants: ownership::UploadGrants,
    rate_limiter: ratelimit::RateLimiter,
}

/// The proxy's router: `/omics/...` (the HealthOmics API), `/sbg/v2/...` (Seven Bridges, when
/// configured) and `/health`.
///
/// Fails when no way to authenticate is configured or the HTTP client cannot be built.
pub fn app(config: ProxyConfig) -> anyhow::Result<Router> {
    anyhow::ensure!(config.auth.is_configured(), "the proxy needs an identity provider, a JWT secret or static tokens");
    anyhow::ensure!(config.per_token_part_cap > 0, "the per-token part cap must be at least 1");
    config.rate_limit.validate()?;
    // The region becomes part of a host name with `--upstream aws`: letters, digits and `-` only.
    anyhow::ensure!(
        !config.region.is_empty() && config.region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
        "region `{}` is not an AWS region name (like eu-west-1)",
        config.region
    );
    let client = reqwest::Client::builder()
        // Never follow a redirect: the upstream is fixed, nothing may send us elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(config.connect_timeout)
        .pool_idle_timeout(Duration::from_secs(30));
    let client = config
        .upstream_connect
        .apply(client)
        .build()
        .context("cannot build the upstream HTTP client")?;
    let state = Arc::new(ProxyState {
        auth: config.auth,
        upstream: config.upstream,
        region: config.region,
        credentials: sign::CredentialsCache::new(config.credentials),
        client,
        limiter: limit::PartLimiter::new(config.per_token_part_cap),
        max_json_body: config.max_json_body,
        upstream_timeout: config.upstream_timeout,
        sbg: config.sbg,
        grants: config.grants,
        rate_limiter: ratelimit::RateLimiter::new(config.rate_limit),
    });
    let origins = Arc::new(config.allowed_origins);
    Ok(Router::new()
        .route("/omics", any(handler::handle))
        .route("/omics/{*path}", any(handler::handle))
        .route("/sbg/v2/{*path}", any(sbg::handle))
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(origins, cors::cors))
        .layer(axum::middleware::from_fn(trace::request_id))
        .route("/health", get(|| async { "ok" })))
}

/// Runs the proxy until the process ends.
pub async fn run(args: ProxyArgs) -> anyhow::Result<()> {
    let config = ProxyConfig::from_args(&args).await?;
    tracing::info!(upstream = ?config.upstream, region = %config.region, origins = ?config.allowed_origins, "proxy configured");
    let router = app(config)?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    crate::serve(listener, router, "proxy").await
}
