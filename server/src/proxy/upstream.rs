//! Where signed requests go: real HealthOmics (host prefix per operation) or a base URL (the
//! local store, no prefix).

use anyhow::Context;

use super::policy::Operation;

/// The upstream of the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    /// Real AWS: `https://{prefix}omics.{region}.amazonaws.com`.
    Aws,
    /// A base URL such as `http://127.0.0.1:8081` (scheme, host and port only).
    Url {
        /// `http` or `https`.
        scheme: String,
        /// `host[:port]`, exactly as sent in the `Host` header.
        authority: String,
    },
}

impl Upstream {
    /// Parses `aws` or an `http(s)://host[:port]` URL without path, query or user info.
    pub fn parse(s: &str) -> anyhow::Result<Self> {
        if s == "aws" {
            return Ok(Self::Aws);
        }
        let url = reqwest::Url::parse(s).with_context(|| format!("upstream `{s}` is neither `aws` nor a URL"))?;
        anyhow::ensure!(matches!(url.scheme(), "http" | "https"), "upstream `{s}` must be http:// or https://");
        anyhow::ensure!(url.username().is_empty() && url.password().is_none(), "upstream `{s}` must not hold user info");
        anyhow::ensure!(url.path() == "/" && url.query().is_none() && url.fragment().is_none(), "upstream `{s}` must be scheme://host[:port] with no path or query");
        let host = url.host_str().with_context(|| format!("upstream `{s}` has no host"))?;
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        Ok(Self::Url { scheme: url.scheme().to_owned(), authority })
    }

    /// The `Host` of `operation`'s endpoint.
    pub fn authority(&self, operation: Operation, region: &str) -> String {
        match self {
            Self::Aws => format!("{}omics.{region}.amazonaws.com", operation.host_prefix()),
            Self::Url { authority, .. } => authority.clone(),
        }
    }

    /// The host names (without port) of this upstream: with `aws`, the three endpoints of the
    /// storage API (`control-storage-`, `storage-`, `tags-`; the proxy's allowed operations use
    /// the first two), else the URL's host. `--upstream-resolve` accepts only these.
    pub fn hosts(&self, region: &str) -> Vec<String> {
        match self {
            Self::Aws => ["control-storage-", "storage-", "tags-"].iter().map(|p| format!("{p}omics.{region}.amazonaws.com")).collect(),
            Self::Url { authority, .. } => {
                let host = match authority.rsplit_once(':') {
                    Some((h, p)) if !h.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && !authority.ends_with(']') => h,
                    _ => authority.as_str(),
                };
                vec![host.to_ascii_lowercase()]
            }
        }
    }

    /// The full URL of a validated HealthOmics path and query.
    pub fn url(&self, operation: Operation, region: &str, path_and_query: &str) -> String {
        let scheme = match self {
            Self::Aws => "https",
            Self::Url { scheme, .. } => scheme,
        };
        format!("{scheme}://{}{path_and_query}", self.authority(operation, region))
    }
}

/// How the proxy reaches its upstream beyond the URL: extra trusted roots (`--upstream-ca`)
/// and fixed addresses for host names (`--upstream-resolve`). Neither is needed on real AWS.
#[derive(Debug, Clone, Default)]
pub struct UpstreamConnect {
    /// Root certificates trusted besides the built-in (webpki) roots, for a TLS-inspecting
    /// corporate proxy or a test CA.
    pub extra_roots: Vec<reqwest::Certificate>,
    /// `(host, address)`: connect to `address` for `host` instead of asking DNS; the TLS name
    /// (SNI, certificate check) and the signed `Host` stay `host`.
    pub resolve: Vec<(String, std::net::SocketAddr)>,
}

impl UpstreamConnect {
    /// Reads `--upstream-ca` files and parses `--upstream-resolve` values; `called` are the
    /// hosts the proxy connects to, and a resolve entry for any other host is an error (it
    /// would silently do nothing).
    pub fn from_flags(ca_files: &[std::path::PathBuf], resolve: &[String], called: &[String]) -> anyhow::Result<Self> {
        let mut extra_roots = Vec::new();
        for path in ca_files {
            for der in crate::tls::read_pem_certificates(path, "--upstream-ca")? {
                extra_roots.push(
                    reqwest::Certificate::from_der(der.as_ref())
                        .map_err(|e| anyhow::anyhow!("--upstream-ca {}: a certificate cannot be used ({e})", path.display()))?,
                );
            }
        }
        let mut entries = Vec::new();
        for value in resolve {
            let (host, addr) = parse_resolve(value)?;
            anyhow::ensure!(
                called.iter().any(|h| *h == host),
                "--upstream-resolve `{value}`: this proxy never connects to `{host}` (it calls {})",
                called.join(", ")
            );
            entries.push((host, addr));
        }
        Ok(Self { extra_roots, resolve: entries })
    }

    /// Applies the roots and addresses to a client under construction.
    pub fn apply(&self, mut builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        for root in &self.extra_roots {
            builder = builder.add_root_certificate(root.clone());
        }
        for (host, addr) in &self.resolve {
            builder = builder.resolve(host, *addr);
        }
        builder
    }
}

/// Parses `HOST=IP:PORT` (or `HOST=IP`, port 443/80 by scheme; IPv6 as `[::1]:8443`).
pub fn parse_resolve(value: &str) -> anyhow::Result<(String, std::net::SocketAddr)> {
    let example = "like storage-omics.us-east-1.amazonaws.com=127.0.0.1:8443";
    let (host, addr) = value
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("--upstream-resolve `{value}` is not HOST=ADDR ({example})"))?;
    let host = host.trim().to_ascii_lowercase();
    anyhow::ensure!(
        !host.is_empty() && host.len() <= 253 && host.split('.').all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')),
        "--upstream-resolve `{value}`: `{host}` is not a host name ({example})"
    );
    let addr = addr.trim();
    let parsed = addr
        .parse::<std::net::SocketAddr>()
        .ok()
        .or_else(|| addr.parse::<std::net::IpAddr>().ok().map(|ip| std::net::SocketAddr::new(ip, 0)))
        .ok_or_else(|| anyhow::anyhow!("--upstream-resolve `{value}`: `{addr}` is not an IP address or IP:PORT ({example})"))?;
    Ok((host, parsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_urls_carry_the_operation_prefix() {
        let up = Upstream::parse("aws").unwrap();
        assert_eq!(up.url(Operation::UploadReadSetPart, "eu-west-1", "/sequencestore/1234567890/upload/1234567890/part?partNumber=1&partSource=SOURCE1"),
            "https://storage-omics.eu-west-1.amazonaws.com/sequencestore/1234567890/upload/1234567890/part?partNumber=1&partSource=SOURCE1");
        assert_eq!(up.authority(Operation::ListReadSets, "us-east-1"), "control-storage-omics.us-east-1.amazonaws.com");
    }

    #[test]
    fn url_upstream_gets_no_prefix_and_rejects_paths() {
        let up = Upstream::parse("http://127.0.0.1:8081").unwrap();
        assert_eq!(up.url(Operation::ListReadSets, "us-east-1", "/sequencestore/1234567890/readsets"), "http://127.0.0.1:8081/sequencestore/1234567890/readsets");
        assert!(Upstream::parse("http://127.0.0.1:8081/other").is_err());
        assert!(Upstream::parse("http://user:pw@127.0.0.1:8081").is_err());
        assert!(Upstream::parse("ftp://127.0.0.1").is_err());
    }

    #[test]
    fn resolve_values_are_host_equals_address() {
        assert_eq!(parse_resolve("Storage-Omics.us-east-1.amazonaws.com=127.0.0.1:8443").unwrap(),
            ("storage-omics.us-east-1.amazonaws.com".to_owned(), "127.0.0.1:8443".parse().unwrap()));
        assert_eq!(parse_resolve("a.example=[::1]:9").unwrap().1, "[::1]:9".parse().unwrap());
        assert_eq!(parse_resolve("a.example=10.0.0.1").unwrap().1, "10.0.0.1:0".parse().unwrap());
        for bad in ["a.example", "=127.0.0.1:1", "a b=127.0.0.1:1", "a.example=localhost:1", "a.example=127.0.0.1:99999"] {
            assert!(parse_resolve(bad).is_err(), "{bad}");
        }
        let aws = Upstream::parse("aws").unwrap();
        assert_eq!(aws.hosts("us-east-1")[1], "storage-omics.us-east-1.amazonaws.com");
        assert_eq!(Upstream::parse("https://store.internal:8443").unwrap().hosts("x"), vec!["store.internal"]);
        let err = UpstreamConnect::from_flags(&[], &["storage-omics.eu-west-1.amazonaws.com=127.0.0.1:1".into()], &aws.hosts("us-east-1")).unwrap_err();
        assert!(err.to_string().contains("never connects to"), "{err}");
    }
}
