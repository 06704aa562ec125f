//! The server's integration tests, in one binary: real servers (proxy, local store, Seven
//! Bridges stand-in, a fake OpenID provider) on loopback, driven over HTTP.
//!
//! One binary instead of one per file: each test binary links the whole server and the AWS SDK,
//! so twenty of them cost minutes of linking and gigabytes of disk per build. The shared helpers
//! are the `*_common` modules; a test file is a module named for what it covers.
//! (`proxy_cli` stays a binary of its own: it sets process environment variables; so does
//! `proxy_logs`: it captures the process's `tracing` output.)

// Shared helpers: `support` (raw HTTP client, SigV4 signer, store timings) under the rest.
mod support;
mod hostile_common;
mod oidc_common;
mod proxy_common;
mod sbg_common;
mod store_common;

// The local HealthOmics store.
mod ops_hygiene;
mod store_errors;
mod store_faults;
mod store_sdk;
mod store_sigv4;

// The Seven Bridges stand-in.
mod sbg_api_gate;
mod sbg_part_url;
mod sbg_upload;

// The signing proxy.
mod proxy_access;
mod proxy_download;
mod proxy_forwarding;
mod proxy_hostile;
mod proxy_oidc;
mod proxy_ownership;
mod proxy_ratelimit;
mod proxy_sbg;
mod proxy_store;

// The production path offline: TLS, AWS host names, the proxy's upstream flags.
mod tls_aws_hosts;

// Hostile input against all of it.
mod hostile_corpus;
mod hostile_integrity;
