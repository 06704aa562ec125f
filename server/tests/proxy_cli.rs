//! The command-line path: flags, a token file, a JWT secret file and credentials from the
//! standard AWS chain (environment variables here) give a proxy whose requests the upstream
//! accepts. (Own test binary: it sets process environment variables.)

#[path = "it/proxy_common.rs"]
mod proxy_common;
#[allow(dead_code)]
#[path = "it/support.rs"]
mod support;

use clap::Parser;
use proxy_common::*;
use readset_server::proxy::{ProxyArgs, ProxyConfig};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: ProxyArgs,
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("readset-proxy-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Secret and token files must be readable by their owner only.
fn owner_only(path: &std::path::Path) {
    std::fs::set_permissions(path, <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600)).unwrap();
}

fn parse(extra: &[&str]) -> ProxyArgs {
    Cli::try_parse_from([&["proxy"], extra].concat()).unwrap().args
}

#[tokio::test]
async fn flags_token_file_and_credentials_chain_make_a_working_proxy() {
    // Standard chain, first link: the environment.
    std::env::set_var("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID);
    std::env::set_var("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY);
    std::env::remove_var("AWS_SESSION_TOKEN");
    std::env::remove_var("AWS_REGION");
    let dir = temp_dir("cli");
    let tokens = dir.join("tokens.json");
    std::fs::write(&tokens, r#"[{"token": "file-token-0123456789abcdef", "sub": "kiosk", "stores": ["1111111111"]}]"#).unwrap();
    let secret = dir.join("jwt-secret");
    std::fs::write(&secret, [JWT_SECRET, b"\n"].concat()).unwrap();
    owner_only(&tokens);
    owner_only(&secret);

    let (up, rec) = spawn_upstream().await;
    let upstream = format!("http://{up}");
    let args = parse(&[
        "--upstream", &upstream,
        "--tokens", tokens.to_str().unwrap(),
        "--jwt-secret-file", secret.to_str().unwrap(),
        "--allow-origin", "https://portal.example",
    ]);
    let config = ProxyConfig::from_args(&args).await.unwrap();
    assert_eq!(config.region, "us-east-1", "default region for a URL upstream");
    let proxy = spawn_proxy(config).await;
    let client = reqwest::Client::new();
    for token in ["file-token-0123456789abcdef".to_owned(), jwt_for(&[STORE])] {
        let res = client.get(format!("http://{proxy}/omics/sequencestore/{STORE}")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.status(), 200);
    }
    let res = client.get(format!("http://{proxy}/omics/sequencestore/{OTHER_STORE}")).bearer_auth("file-token-0123456789abcdef").send().await.unwrap();
    assert_eq!(res.status(), 403, "the file's store list applies");
    let seen = rec.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|s| s.signature_valid), "signed with the chain's credentials");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn bad_configurations_are_refused_with_a_reason() {
    std::env::remove_var("AWS_REGION");
    let dir = temp_dir("bad");
    let short_secret = dir.join("short");
    std::fs::write(&short_secret, "too-short").unwrap();
    let bad_tokens = dir.join("bad.json");
    std::fs::write(&bad_tokens, r#"[{"token": "short", "sub": "x", "stores": ["*"]}]"#).unwrap();
    owner_only(&short_secret);
    owner_only(&bad_tokens);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![], "--jwt-secret-file and/or --tokens"),
        (vec!["--upstream".into(), "aws".into(), "--jwt-secret-file".into(), short_secret.display().to_string()], "--region"),
        (vec!["--jwt-secret-file".into(), short_secret.display().to_string()], "at least 32"),
        (vec!["--tokens".into(), bad_tokens.display().to_string()], "too short"),
        (vec!["--tokens".into(), dir.join("missing.json").display().to_string()], "cannot read"),
        (vec!["--upstream".into(), "http://127.0.0.1:1/path".into(), "--tokens".into(), bad_tokens.display().to_string()], "no path"),
    ];
    for (flags, expected) in cases {
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let err = ProxyConfig::from_args(&parse(&flags)).await.expect_err(expected);
        assert!(format!("{err:#}").contains(expected), "{flags:?}: {err:#}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
