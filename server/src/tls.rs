//! TLS pieces: the local store's server certificate (`--tls-cert`, `--tls-key`), the proxy's
//! extra upstream roots (`--upstream-ca`) and a throw-away CA + leaf for local tests
//! (`readset-server dev-cert`).
//!
//! rustls with the `ring` provider, chosen explicitly: other dependencies also enable
//! `aws-lc-rs`, and rustls refuses to guess between two providers.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Reads every certificate of a PEM file; an unreadable file, a malformed PEM section or a file
/// without any `CERTIFICATE` block is an error naming `flag` and the file.
pub fn read_pem_certificates(path: &Path, flag: &str) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let text = std::fs::read(path).with_context(|| format!("{flag} {}: cannot read the file", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("{flag} {}: not a valid PEM file ({e})", path.display()))?;
    anyhow::ensure!(!certs.is_empty(), "{flag} {}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path.display());
    Ok(certs)
}

/// The TLS acceptor of a server certificate chain `cert` (PEM, leaf first) and its private key
/// `key` (PEM: PKCS#8, PKCS#1 or SEC1). HTTP/1.1 only, as the servers speak.
pub fn acceptor(cert: &Path, key: &Path) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    let chain = read_pem_certificates(cert, "--tls-cert")?;
    let key_text = crate::secrets::read_file(key, "--tls-key private key")?;
    let key_der = PrivateKeyDer::from_pem_slice(&key_text)
        .map_err(|e| anyhow::anyhow!("--tls-key {}: holds no PEM private key ({e})", key.display()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| anyhow::anyhow!("--tls-cert {} and --tls-key {} do not make a usable certificate ({e})", cert.display(), key.display()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// `--tls-cert` / `--tls-key`: serve HTTPS instead of HTTP.
#[derive(Debug, Clone, Default, Args)]
pub struct TlsArgs {
    /// PEM file of the server certificate chain (leaf first): serve HTTPS instead of HTTP.
    /// Needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM file of the certificate's private key (chmod 600). Needs --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl TlsArgs {
    /// The acceptor the flags describe; `None` for plain HTTP.
    pub fn acceptor(&self) -> anyhow::Result<Option<tokio_rustls::TlsAcceptor>> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => acceptor(cert, key).map(Some),
            (None, None) => Ok(None),
            _ => anyhow::bail!("--tls-cert and --tls-key go together"),
        }
    }
}

/// `readset-server dev-cert` options.
#[derive(Debug, Clone, Args)]
pub struct DevCertArgs {
    /// Folder to write `ca.pem`, `cert.pem` and `key.pem` into (created when missing; existing
    /// files are replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Region whose HealthOmics names the certificate covers (`*.REGION.amazonaws.com`).
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
}

/// The names a dev certificate for `region` covers: `*.{region}.amazonaws.com`, `localhost`,
/// `127.0.0.1` and `::1`.
pub fn dev_cert_names(region: &str) -> Vec<String> {
    vec![format!("*.{region}.amazonaws.com"), "localhost".into(), "127.0.0.1".into(), "::1".into()]
}

/// A new CA and a leaf it signed, all PEM: (CA certificate, leaf certificate, leaf key).
/// Valid from a day ago for 30 days. For local tests only: the CA key is thrown away, so the
/// CA can sign nothing else.
pub fn dev_cert(region: &str) -> anyhow::Result<(String, String, String)> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
    anyhow::ensure!(
        !region.is_empty() && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
        "--region `{region}` is not an AWS region name (like us-east-1)"
    );
    let now = time::OffsetDateTime::now_utc();
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name.push(DnType::CommonName, "readset-server dev-cert test CA (local tests only)");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let (not_before, not_after) = (now - time::Duration::days(1), now + time::Duration::days(30));
    ca.not_before = not_before;
    ca.not_after = not_after;
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;

    let mut leaf = CertificateParams::new(dev_cert_names(region))?;
    leaf.distinguished_name.push(DnType::CommonName, format!("*.{region}.amazonaws.com (readset-server dev-cert)"));
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    leaf.not_before = not_before;
    leaf.not_after = not_after;
    let leaf_key = KeyPair::generate()?;
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key)?;
    Ok((ca_cert.pem(), leaf_cert.pem(), leaf_key.serialize_pem()))
}

/// Writes a dev CA and leaf into `args.out`: `ca.pem`, `cert.pem` (leaf then CA) and `key.pem`
/// (mode 0600).
pub fn write_dev_cert(args: &DevCertArgs) -> anyhow::Result<()> {
    let (ca, leaf, key) = dev_cert(&args.region)?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("--out {}: cannot create the folder", args.out.display()))?;
    let write = |name: &str, text: &str, mode: u32| -> anyhow::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = args.out.join(name);
        let _ = std::fs::remove_file(&path);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        f.write_all(text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))
    };
    write("ca.pem", &ca, 0o644)?;
    write("cert.pem", &format!("{leaf}{ca}"), 0o644)?;
    write("key.pem", &key, 0o600)?;
    println!(
        "dev-cert: wrote {dir}/ca.pem, {dir}/cert.pem and {dir}/key.pem for {names} (valid 30 days; for local tests only: trust ca.pem nowhere else)",
        dir = args.out.display(),
        names = dev_cert_names(&args.region).join(", ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dev_cert_makes_an_acceptor_and_its_ca_is_one_certificate() {
        let dir = std::env::temp_dir().join(format!("readset-dev-cert-{}", std::process::id()));
        write_dev_cert(&DevCertArgs { out: dir.clone(), region: "us-east-1".into() }).unwrap();
        assert_eq!(read_pem_certificates(&dir.join("ca.pem"), "--upstream-ca").unwrap().len(), 1);
        assert_eq!(read_pem_certificates(&dir.join("cert.pem"), "--tls-cert").unwrap().len(), 2);
        acceptor(&dir.join("cert.pem"), &dir.join("key.pem")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(dir.join("key.pem")).unwrap().permissions().mode() & 0o777, 0o600);
        let err = read_pem_certificates(&dir.join("key.pem"), "--upstream-ca").unwrap_err().to_string();
        assert!(err.contains("holds no PEM certificate"), "{err}");
        assert!(acceptor(&dir.join("cert.pem"), &dir.join("ca.pem")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(dev_cert("US East").is_err());
    }
}
