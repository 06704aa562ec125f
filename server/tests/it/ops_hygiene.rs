//! Operations hygiene, on the real `readset-server` process: secrets never from argv, secret
//! files readable by others refused (or allowed with a warning), secrets from files or the
//! environment, caller values escaped in the log, `--log-format json`, no ANSI codes when
//! stdout is not a terminal, and `demo` answering only the `Host` it listens on.

use crate::store_common;

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_readset-server");
const JWT_SECRET: &str = "ops-hygiene-jwt-secret-0123456789abcdef";
const STORE: &str = "1234567890";

/// A running `readset-server`, its stdout and stderr collected; killed when dropped.
struct Proc {
    child: Child,
    out: Arc<Mutex<String>>,
    err: Arc<Mutex<String>>,
}

fn collect(mut from: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let buf = Arc::new(Mutex::new(String::new()));
    let to = buf.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = from.read(&mut chunk) {
            if n == 0 {
                break;
            }
            to.lock().unwrap().push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    });
    buf
}

fn start(args: &[&str], env: &[(&str, &str)]) -> Proc {
    let mut cmd = Command::new(BIN);
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for var in ["READSET_STORE_SECRET_ACCESS_KEY", "READSET_SBG_TOKEN", "READSET_JWT_SECRET", "READSET_LOG_FORMAT", "RUST_LOG", "NO_COLOR"] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start readset-server");
    let out = collect(child.stdout.take().unwrap());
    let err = collect(child.stderr.take().unwrap());
    Proc { child, out, err }
}

impl Proc {
    fn out(&self) -> String {
        self.out.lock().unwrap().clone()
    }
    fn err(&self) -> String {
        self.err.lock().unwrap().clone()
    }
    /// Waits (at most 30 s) until stdout holds `needle`; returns stdout.
    fn wait_for(&mut self, needle: &str) -> String {
        for _ in 0..600 {
            let out = self.out();
            if out.contains(needle) {
                return out;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                panic!("readset-server ended ({status}) before printing {needle:?}:\nstdout: {}\nstderr: {}", self.out(), self.err());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("readset-server never printed {needle:?}:\nstdout: {}\nstderr: {}", self.out(), self.err());
    }
    /// Waits (at most 30 s) for the process to end by itself; returns (success, stderr).
    fn wait_exit(&mut self) -> (bool, String) {
        for _ in 0..600 {
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                return (status.success(), self.err());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("readset-server did not end:\nstdout: {}\nstderr: {}", self.out(), self.err());
    }
    /// The address from the `... listening addr=HOST:PORT` log line of `what`.
    fn listening(&mut self, what: &str) -> SocketAddr {
        let out = self.wait_for(&format!("{what} listening"));
        let line = out.lines().find(|l| l.contains(&format!("{what} listening"))).unwrap();
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
            return v["addr"].as_str().unwrap().parse().unwrap();
        }
        let addr = line.split("addr=").nth(1).unwrap_or_else(|| panic!("no addr= in {line:?}"));
        addr.split_whitespace().next().unwrap().parse().unwrap()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_secret(dir: &Path, name: &str, content: &str, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn secrets_on_the_command_line_are_refused_without_being_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for (flag, file_flag, env) in [
        ("--secret-access-key", "--secret-access-key-file", "READSET_STORE_SECRET_ACCESS_KEY"),
        ("--sbg-token", "--sbg-token-file", "READSET_SBG_TOKEN"),
    ] {
        let mut p = start(&["store", "--listen", "127.0.0.1:0", "--data", data.to_str().unwrap(), flag, "argv-secret-value-0123456789"], &[]);
        let (ok, stderr) = p.wait_exit();
        assert!(!ok, "{flag} must make the store refuse to start");
        assert!(
            stderr.contains(&format!(
                "{flag} puts the secret on the command line, where every user of the machine can read it (ps); put it in a file only you can read and give {file_flag} FILE (chmod 600 FILE), or set {env}"
            )),
            "{stderr}"
        );
        assert!(!stderr.contains("argv-secret-value") && !p.out().contains("argv-secret-value"), "the secret is not echoed");
    }
    // The help shows the file and environment forms, not the refused flags.
    let help = Command::new(BIN).args(["store", "--help"]).output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains("--secret-access-key-file <FILE>") && help.contains("READSET_STORE_SECRET_ACCESS_KEY"), "{help}");
    assert!(!help.contains("--secret-access-key <") && !help.contains("--sbg-token <"), "{help}");
}

#[test]
fn secret_files_readable_by_others_are_refused_unless_explicitly_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let secret = write_secret(dir.path(), "jwt", JWT_SECRET, 0o644);
    let args = ["proxy", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:1", "--jwt-secret-file", secret.to_str().unwrap()];
    let (ok, stderr) = start(&args, &[]).wait_exit();
    assert!(!ok);
    let s = secret.display();
    assert!(
        stderr.contains(&format!(
            "the JWT secret file {s} has mode 644: group or others can read it; run `chmod 600 {s}` (or pass --allow-insecure-secret-files)"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains(JWT_SECRET));

    let mut p = start(&[&args[..], &["--allow-insecure-secret-files"]].concat(), &[]);
    p.listening("proxy");
    let out = p.out();
    let warning = out.lines().find(|l| l.contains("WARN")).unwrap_or_else(|| panic!("no warning in {out}"));
    assert!(warning.contains("the JWT secret file is readable by group or others; used because of --allow-insecure-secret-files"), "{warning}");
    assert!(warning.contains(&format!("file={s}")) && warning.contains("mode=644"), "{warning}");
    assert!(!out.contains(JWT_SECRET));

    // The store's secret file is checked the same way.
    let key = write_secret(dir.path(), "key", "store-secret-from-a-file", 0o640);
    let data = dir.path().join("data");
    let (ok, stderr) = start(&["store", "--listen", "127.0.0.1:0", "--data", data.to_str().unwrap(), "--secret-access-key-file", key.to_str().unwrap()], &[]).wait_exit();
    assert!(!ok);
    assert!(stderr.contains(&format!("the secret access key file {} has mode 640", key.display())), "{stderr}");
}

#[tokio::test]
async fn the_store_takes_its_secret_from_a_file_or_the_environment_and_names_from_host() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "store-secret-from-a-file-0123456789";
    let key = write_secret(dir.path(), "key", &format!("{secret}\n"), 0o600);
    let data = dir.path().join("data").display().to_string();
    let from_file = ["store", "--listen", "127.0.0.1:0", "--data", &data, "--secret-access-key-file", key.to_str().unwrap(), "--host", "store.internal"];
    for (args, env) in [(&from_file[..], vec![]), (&from_file[..5], vec![("READSET_STORE_SECRET_ACCESS_KEY", secret)])] {
        let mut p = start(args, &env);
        let addr = p.listening("store");
        let ok = store_common::client_with(addr, readset_server::local::omics::DEFAULT_ACCESS_KEY_ID, secret);
        ok.list_sequence_stores().send().await.expect("signed with the configured secret");
        let default = store_common::client(addr);
        let e = default.list_sequence_stores().send().await.unwrap_err();
        use aws_sdk_omics::error::ProvideErrorMetadata;
        assert_eq!(e.code(), Some("InvalidSignatureException"), "the published default is not accepted");
        let out = p.out();
        assert!(!out.contains(secret) && !p.err().contains(secret), "the secret is not logged");
        assert!(!out.contains("default credentials in use"), "{out}");
        if args.len() > 6 {
            assert!(out.contains(&format!("hosts=\"127.0.0.1:{0}, localhost:{0}, [::1]:{0}, store.internal\"", addr.port())), "{out}");
        }
    }
    // Both at once is ambiguous.
    let (ok, stderr) = start(&from_file, &[("READSET_STORE_SECRET_ACCESS_KEY", secret)]).wait_exit();
    assert!(!ok);
    assert!(stderr.contains("give the secret access key with --secret-access-key-file or with READSET_STORE_SECRET_ACCESS_KEY, not both"), "{stderr}");
}

fn jwt(sub: &str) -> String {
    let exp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 600;
    let claims = serde_json::json!({ "sub": sub, "exp": exp, "stores": [STORE] });
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes())).unwrap()
}

/// A sub that, written raw, would end the log line and forge another one.
const FORGING_SUB: &str = "mallory\n2026-12-01T00:00:00.000000Z  INFO readset_server::proxy::handler: forged operation=DeleteEverything";

/// Starts a proxy (JWT secret from the environment, upstream closed), sends one request as
/// [`FORGING_SUB`] and returns the proxy's stdout once the request was logged.
async fn proxy_log_of_forging_sub(extra: &[&str], env: &[(&str, &str)]) -> String {
    let mut p = start(&[&["proxy", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:1"], extra].concat(), &[&[("READSET_JWT_SECRET", JWT_SECRET), ("AWS_ACCESS_KEY_ID", "AKIDOPSTEST"), ("AWS_SECRET_ACCESS_KEY", "ops-test-aws-secret")], env].concat());
    let addr = p.listening("proxy");
    let res = reqwest::Client::new().get(format!("http://{addr}/omics/sequencestore/{STORE}")).bearer_auth(jwt(FORGING_SUB)).send().await.unwrap();
    assert_eq!(res.status(), 502, "authenticated, allowed, then the closed upstream");
    p.wait_for("response head sent");
    p.out()
}

#[tokio::test]
async fn a_newline_in_sub_cannot_forge_a_log_line_and_text_logs_have_no_ansi_codes() {
    let out = proxy_log_of_forging_sub(&[], &[]).await;
    assert!(!out.contains('\u{1b}'), "no ANSI escape when stdout is a pipe:\n{out}");
    assert!(out.lines().all(|l| !l.starts_with("2026-12-01T00:00:00")), "a forged line:\n{out}");
    let with_sub: Vec<&str> = out.lines().filter(|l| l.contains("forged")).collect();
    assert!(!with_sub.is_empty(), "the sub is logged:\n{out}");
    for line in with_sub {
        assert!(line.contains(r#""mallory\n2026-12-01T00:00:00.000000Z  INFO readset_server::proxy::handler: forged operation=DeleteEverything""#), "{line}");
    }
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_with_the_values_intact() {
    for (flag, env) in [(vec!["--log-format", "json"], vec![]), (vec![], vec![("READSET_LOG_FORMAT", "json")])] {
        let out = proxy_log_of_forging_sub(&flag, &env).await;
        let mut subs = Vec::new();
        for line in out.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"));
            assert!(v["timestamp"].is_string() && v["level"].is_string() && v["target"].is_string(), "{line}");
            if let Some(sub) = v.get("sub") {
                subs.push(sub.as_str().unwrap().to_owned());
                assert!(v["request_id"].as_str().is_some_and(|id| id.len() == 32), "span fields are on the line: {line}");
            }
        }
        assert!(!subs.is_empty() && subs.iter().all(|s| s == FORGING_SUB), "{subs:?}");
        assert!(out.lines().any(|l| l.contains(r#""message":"proxy listening""#)), "{out}");
    }
}

/// Sends `GET path` with `Host: host` to `addr`; returns (status line, body).
async fn get_with_host(addr: SocketAddr, host: &str, path: &str, headers: &str) -> (String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{headers}\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await.expect("answer in time").unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.lines().next().unwrap_or_default().to_owned(), body.to_owned())
}

#[tokio::test]
async fn demo_answers_only_the_host_it_listens_on() {
    let dir = tempfile::tempdir().unwrap();
    let token = "demo-host-test-token-0123456789abcdef";
    let data = dir.path().join("data").display().to_string();
    let www = dir.path().display().to_string();
    let mut p = start(&["demo", "--listen", "127.0.0.1:0", "--store-listen", "127.0.0.1:0", "--data", &data, "--www", &www, "--pkg", &www, "--token", token], &[]);
    let out = p.wait_for("readset-upload demo: open http://");
    let page: SocketAddr = out.split("readset-upload demo: open http://").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
    let port = page.port();
    for host in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        let (status, body) = get_with_host(page, &host, "/demo-config.json", "").await;
        assert_eq!(status, "HTTP/1.1 200 OK", "{host}");
        assert!(body.contains(token), "{body}");
    }
    let auth = format!("authorization: Bearer {token}\r\n");
    for (path, headers) in [("/demo-config.json", ""), ("/", ""), (&*format!("/omics/sequencestore/{STORE}"), auth.as_str())] {
        for host in [format!("evil.example:{port}"), "evil.example".to_owned(), format!("127.0.0.1:{}", port.wrapping_add(1))] {
            let (status, body) = get_with_host(page, &host, path, headers).await;
            assert_eq!(status, "HTTP/1.1 421 Misdirected Request", "{host} {path}: {body}");
            assert!(!body.contains(token));
            let message = serde_json::from_str::<serde_json::Value>(&body).unwrap()["message"].as_str().unwrap().to_owned();
            assert_eq!(
                message,
                format!("this server answers only to Host 127.0.0.1:{port}, localhost:{port}, [::1]:{port}; the request's Host is `{host}`")
            );
        }
    }
}
