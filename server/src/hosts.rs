//! The `Host` names a server answers to. A request naming any other host is refused, so a page
//! on a foreign name that DNS rebinding points at 127.0.0.1 (`Host: evil.example:8080`) cannot
//! reach the demo's page or the local store, and a SigV4 signature made for another endpoint is
//! not accepted by the store.
//!
//! A name is `host` or `host:port` (IPv6 in brackets). A name given without a port matches a
//! `Host` without a port or with the default port of http or https (80, 443), as browsers and
//! SDKs omit those.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// A list of accepted `Host` values, compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHosts {
    names: Vec<(String, Option<u16>)>,
    loopback_any_port: bool,
}

impl AllowedHosts {
    /// `localhost`, `127.0.0.1` and `[::1]` on any port: the default of a server built in-process
    /// before its port is known (tests). Servers started from the command line use
    /// [`AllowedHosts::for_listen`].
    pub fn loopback_any_port() -> Self {
        Self { names: Vec::new(), loopback_any_port: true }
    }

    /// The names a server listening on `addr` answers to: `IP:PORT`, and for a loopback or
    /// unspecified address also `127.0.0.1:PORT`, `localhost:PORT` and `[::1]:PORT`.
    pub fn for_listen(addr: SocketAddr) -> Self {
        let port = addr.port();
        let mut hosts = Self { names: Vec::new(), loopback_any_port: false };
        if !addr.ip().is_unspecified() {
            hosts.push(ip_name(addr.ip()), Some(port));
        }
        if addr.ip().is_loopback() || addr.ip().is_unspecified() {
            hosts.push(ip_name(IpAddr::V4(Ipv4Addr::LOCALHOST)), Some(port));
            hosts.push("localhost".into(), Some(port));
            hosts.push(ip_name(IpAddr::V6(Ipv6Addr::LOCALHOST)), Some(port));
        }
        hosts
    }

    /// Also accepts `name` (`host` or `host:port`), e.g. `storage-omics.us-east-1.amazonaws.com`.
    pub fn with_name(mut self, name: &str) -> anyhow::Result<Self> {
        let (host, port) = split(name).ok_or_else(|| {
            anyhow::anyhow!("--host `{name}` is not a host name or host:port (letters, digits, `-`, `.`, IPv6 in brackets)")
        })?;
        self.push(host, port);
        Ok(self)
    }

    fn push(&mut self, host: String, port: Option<u16>) {
        if !self.names.contains(&(host.clone(), port)) {
            self.names.push((host, port));
        }
    }

    /// Whether a request whose `Host` header is `host` is for this server.
    pub fn allows(&self, host: &str) -> bool {
        let Some((name, port)) = split(host) else { return false };
        if self.loopback_any_port && matches!(name.as_str(), "localhost" | "127.0.0.1" | "[::1]") {
            return true;
        }
        self.names.iter().any(|(n, p)| {
            *n == name
                && match (p, port) {
                    (Some(a), Some(b)) => *a == b,
                    (None, None) => true,
                    (None, Some(b)) => b == 80 || b == 443,
                    (Some(a), None) => *a == 80,
                }
        })
    }

    /// The accepted names, for error messages: `127.0.0.1:8081, localhost:8081, ...`.
    pub fn describe(&self) -> String {
        let mut out: Vec<String> = self
            .names
            .iter()
            .map(|(n, p)| match p {
                Some(p) => format!("{n}:{p}"),
                None => n.clone(),
            })
            .collect();
        if self.loopback_any_port {
            out.push("localhost, 127.0.0.1 or [::1] on any port".into());
        }
        out.join(", ")
    }
}

/// Middleware (`axum::middleware::from_fn_with_state`) answering 421 Misdirected Request to a
/// request whose `Host` is missing, repeated or not in the list, before any route runs.
pub async fn only_allowed_hosts(State(hosts): State<Arc<AllowedHosts>>, request: Request, next: Next) -> Response {
    let mut values = request.headers().get_all(header::HOST).iter();
    let host = match (values.next().map(|v| v.to_str()), values.next()) {
        (Some(Ok(h)), None) => Some(h.to_owned()),
        _ => None,
    };
    if host.as_deref().is_some_and(|h| hosts.allows(h)) {
        return next.run(request).await;
    }
    let shown = host.as_deref().map(|h| format!("`{}`", h.escape_debug())).unwrap_or_else(|| "missing or repeated".into());
    tracing::warn!(host = %shown, "refused a request for another Host (DNS rebinding?)");
    let body = serde_json::json!({
        "message": format!("this server answers only to Host {}; the request's Host is {shown}", hosts.describe())
    });
    let mut response = (StatusCode::MISDIRECTED_REQUEST, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().insert("x-amzn-errortype", HeaderValue::from_static("MisdirectedRequestException"));
    response
}

fn ip_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// `host[:port]` → (lowercase host without a trailing dot, port); `None` when malformed.
fn split(value: &str) -> Option<(String, Option<u16>)> {
    let value = value.to_ascii_lowercase();
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        inner.parse::<Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (format!("[{inner}]"), port)
    } else {
        match value.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (value.clone(), None),
        }
    };
    let port = match port {
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => Some(p.parse::<u16>().ok()?),
        Some(_) => return None,
        None => None,
    };
    let host = host.strip_suffix('.').unwrap_or(&host).to_owned();
    let name_ok = host.starts_with('[')
        || (!host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')));
    name_ok.then_some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listen_address_allows_its_loopback_names_on_its_port_only() {
        let h = AllowedHosts::for_listen("127.0.0.1:8081".parse().unwrap());
        for ok in ["127.0.0.1:8081", "localhost:8081", "LOCALHOST:8081", "[::1]:8081", "localhost.:8081"] {
            assert!(h.allows(ok), "{ok}");
        }
        for bad in ["evil.example:8081", "evil.example", "127.0.0.1:8082", "localhost", "127.0.0.1", "", "localhost:8081\n", "a b:8081", "localhost:80810"] {
            assert!(!h.allows(bad), "{bad:?}");
        }
        assert_eq!(h.describe(), "127.0.0.1:8081, localhost:8081, [::1]:8081");
    }

    #[test]
    fn configured_names_match_with_or_without_default_ports() {
        let h = AllowedHosts::for_listen("10.0.0.5:443".parse().unwrap())
            .with_name("storage-omics.us-east-1.amazonaws.com")
            .unwrap()
            .with_name("store.internal:8443")
            .unwrap();
        assert!(h.allows("storage-omics.us-east-1.amazonaws.com"));
        assert!(h.allows("storage-omics.us-east-1.amazonaws.com:443"));
        assert!(!h.allows("storage-omics.us-east-1.amazonaws.com:8443"));
        assert!(h.allows("store.internal:8443") && !h.allows("store.internal"));
        assert!(h.allows("10.0.0.5:443") && !h.allows("localhost:443"));
        assert!(AllowedHosts::loopback_any_port().with_name("bad name").is_err());
        assert!(AllowedHosts::loopback_any_port().with_name("x:99999").is_err());
    }

    #[test]
    fn the_in_process_default_takes_loopback_names_only() {
        let h = AllowedHosts::loopback_any_port();
        assert!(h.allows("127.0.0.1:1234") && h.allows("localhost:1") && h.allows("[::1]:9"));
        assert!(!h.allows("evil.example:1234") && !h.allows("127.0.0.2:1234"));
    }
}
