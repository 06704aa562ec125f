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

    /// The full URL of a validated HealthOmics path and query.
    pub fn url(&self, operation: Operation, region: &str, path_and_query: &str) -> String {
        let scheme = match self {
            Self::Aws => "https",
            Self::Url { scheme, .. } => scheme,
        };
        format!("{scheme}://{}{path_and_query}", self.authority(operation, region))
    }
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
}
