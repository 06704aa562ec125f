//! Serving a router on a listener with limits, so a slow, stuck or greedy client cannot hold
//! the server: a cap on open connections, a deadline for the request head, a cap on the head's
//! size, an inactivity timeout on request bodies and on response writes, and a deadline for a
//! whole request.
//!
//! Timeouts on bodies are about inactivity, never about size: a 100 MiB part over a slow link
//! may take many minutes as long as bytes keep arriving.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::Sleep;
use tower::ServiceExt;

/// Limits and timeouts of a server. [`ServeLimits::default`] holds the production defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// Open connections at most; the next client waits in the kernel's accept queue.
    pub max_connections: usize,
    /// Deadline to receive a request's whole head (request line and headers), counted from
    /// when the server starts waiting for it; it also closes idle keep-alive connections.
    pub header_read_timeout: Duration,
    /// Bytes of request line and headers at most (431 beyond; at least 8192).
    pub max_head_bytes: usize,
    /// Headers per request at most.
    pub max_headers: usize,
    /// A request body that sends nothing for this long fails (the handler sees a read error,
    /// so a part cut off this way is never stored).
    pub body_idle_timeout: Duration,
    /// A response the client does not read for this long is abandoned and the connection closed.
    pub write_idle_timeout: Duration,
    /// Deadline from a request's head to its response head (408 after it). Generous: it must
    /// let a 100 MiB part through a slow link.
    pub request_timeout: Duration,
}

/// Default [`ServeLimits::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default [`ServeLimits::header_read_timeout`].
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`ServeLimits::max_head_bytes`].
pub const DEFAULT_MAX_HEAD_BYTES: usize = 64 * 1024;
/// Default [`ServeLimits::max_headers`].
pub const DEFAULT_MAX_HEADERS: usize = 100;
/// Default [`ServeLimits::body_idle_timeout`].
pub const DEFAULT_BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default [`ServeLimits::write_idle_timeout`].
pub const DEFAULT_WRITE_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default [`ServeLimits::request_timeout`]: 30 minutes, so a 100 MiB part needs at least
/// about 60 KB/s.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30 * 60);

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            max_head_bytes: DEFAULT_MAX_HEAD_BYTES,
            max_headers: DEFAULT_MAX_HEADERS,
            body_idle_timeout: DEFAULT_BODY_IDLE_TIMEOUT,
            write_idle_timeout: DEFAULT_WRITE_IDLE_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// Serves `app` on `listener` under `limits` until the process ends (HTTP/1.1 only: TLS and
/// HTTP/2 belong to the load balancer in front). Handlers can extract
/// `ConnectInfo<SocketAddr>`.
pub async fn serve_with_limits(listener: tokio::net::TcpListener, app: Router, limits: ServeLimits) -> anyhow::Result<()> {
    serve_with_limits_tls(listener, app, limits, None).await
}

/// [`serve_with_limits`], over TLS when `tls` is given (the local store's `--tls-cert`). The
/// handshake runs inside the connection's slot and must end within
/// [`ServeLimits::header_read_timeout`], so a client that stalls it cannot hold a slot longer
/// than one that stalls its request head; the head's own deadline starts after it.
pub async fn serve_with_limits_tls(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ServeLimits,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> anyhow::Result<()> {
    anyhow::ensure!(limits.max_connections > 0, "max_connections must be at least 1");
    anyhow::ensure!(limits.max_head_bytes >= 8192, "max_head_bytes must be at least 8192");
    // HTTP/1.1 only (hyper's http1 builder, which has the head-size limit hyper-util's auto
    // builder lacks): browsers reach the servers over HTTP/1.1 or through a load balancer.
    let app = app.layer(axum::middleware::from_fn_with_state(limits, request_limits));
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(limits.max_head_bytes)
        .max_headers(limits.max_headers);
    let builder = Arc::new(builder);
    loop {
        // Waiting for a slot before accepting leaves excess clients in the accept queue
        // instead of starving the ones being served.
        let slot = slots.clone().acquire_owned().await?;
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let builder = builder.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(req.map(Body::new))
            });
            let stream = WriteIdle::new(stream, limits.write_idle_timeout);
            let served = match tls {
                None => builder.serve_connection(TokioIo::new(stream), service).with_upgrades().await,
                Some(acceptor) => match tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(tls_stream)) => builder.serve_connection(TokioIo::new(tls_stream), service).with_upgrades().await,
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        Ok(())
                    }
                    Err(_) => {
                        tracing::debug!(%peer, timeout_secs = limits.header_read_timeout.as_secs(), "TLS handshake not done in time; connection closed");
                        Ok(())
                    }
                },
            };
            if let Err(e) = served {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
}

/// Whole-request deadline and body inactivity timeout, applied to every request.
async fn request_limits(axum::extract::State(limits): axum::extract::State<ServeLimits>, req: Request, next: Next) -> Response {
    let req = req.map(|body| Body::new(IdleBody::new(body, limits.body_idle_timeout)));
    match tokio::time::timeout(limits.request_timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => timeout_response(limits.request_timeout),
    }
}

fn timeout_response(after: Duration) -> Response {
    let body = serde_json::json!({
        "message": format!("the request took longer than {} s; retry it (a part may be uploaded again)", after.as_secs())
    });
    let mut response = (StatusCode::REQUEST_TIMEOUT, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().insert("x-amzn-errortype", HeaderValue::from_static("RequestTimeoutException"));
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Error a request body yields after [`ServeLimits::body_idle_timeout`] without data.
#[derive(Debug)]
pub struct BodyIdleTimeout(Duration);

impl std::fmt::Display for BodyIdleTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the request body sent nothing for {} s", self.0.as_secs())
    }
}

impl std::error::Error for BodyIdleTimeout {}

/// A request body that fails when no frame arrives for `idle`. The clock runs only while the
/// handler waits for data, so a handler that pauses reading (back-pressure) is not punished
/// unless it then finds nothing to read.
struct IdleBody {
    inner: Body,
    idle: Duration,
    timer: Option<Pin<Box<Sleep>>>,
}

impl IdleBody {
    fn new(inner: Body, idle: Duration) -> Self {
        Self { inner, idle, timer: None }
    }
}

impl HttpBody for IdleBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.timer = None;
                Poll::Ready(frame)
            }
            Poll::Pending => {
                let idle = this.idle;
                let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                ready!(timer.as_mut().poll(cx));
                this.timer = None;
                Poll::Ready(Some(Err(axum::Error::new(BodyIdleTimeout(idle)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A TCP stream whose writes fail once the peer has accepted nothing for `idle` (a client that
/// never reads its response cannot pin the connection and its buffers).
struct WriteIdle {
    stream: TcpStream,
    idle: Duration,
    timer: Option<Pin<Box<Sleep>>>,
}

impl WriteIdle {
    fn new(stream: TcpStream, idle: Duration) -> Self {
        Self { stream, idle, timer: None }
    }

    fn on_write<T>(&mut self, cx: &mut Context<'_>, result: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match result {
            Poll::Ready(r) => {
                self.timer = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                let idle = self.idle;
                let timer = self.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                ready!(timer.as_mut().poll(cx));
                self.timer = None;
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the client read nothing of the response")))
            }
        }
    }
}

impl AsyncRead for WriteIdle {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteIdle {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.on_write(cx, result)
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.on_write(cx, result)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.stream).poll_flush(cx);
        self.on_write(cx, result)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Parses a `HOST:PORT` listen address (the `--listen` flags).
pub fn parse_listen(s: &str) -> Result<std::net::SocketAddr, String> {
    s.parse().map_err(|e| format!("`{s}` is not HOST:PORT ({e})"))
}
