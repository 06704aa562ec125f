//! Who may use what, through a real proxy in front of the real local store: job rules keep the
//! IAM role and the S3 locations of export and import jobs under the operator's control (and a
//! refused job leaves nothing in the store), and a policy file maps the claims of tokens shaped
//! like Amazon Cognito, Auth0 and Keycloak ones to stores and operations.

use crate::hostile_common;
use crate::proxy_common;
use crate::store_common;

use std::net::SocketAddr;
use std::path::Path;

use readset_server::proxy::access::AccessPolicy;
use readset_server::proxy::{self, Authenticator, Principal, StoreScope};
use readset_server::local::omics::{DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, REGION};
use serde_json::{json, Value};
use store_common::{poll, send_signed, Raw};

const TOKEN: &str = "proxy-access-static-token-0123456789";
const ROLE: &str = "arn:aws:iam::123456789012:role/portal-omics-jobs";
const FOREIGN_ROLE: &str = "arn:aws:iam::999999999999:role/attacker";
const EXPORTS: &str = "s3://portal-exports/lab-a/";
const IMPORTS: &str = "s3://portal-imports/lab-a/";

struct Env {
    dir: tempfile::TempDir,
    _store: store_common::TestStore,
    store: SocketAddr,
    proxy: SocketAddr,
    store_id: String,
    other_store: String,
    read_set_id: String,
}

impl Env {
    /// `POST|GET /omics/sequencestore/{store}{path}` through the proxy with `token`.
    async fn call(&self, token: &str, method: &str, store: &str, path: &str, body: Option<Value>) -> (u16, String, Value) {
        let url = format!("http://{}/omics/sequencestore/{store}{path}", self.proxy);
        let mut req = reqwest::Client::new().request(method.parse().unwrap(), url).header("authorization", format!("Bearer {token}"));
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let kind = resp.headers().get("x-amzn-errortype").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let text = resp.text().await.unwrap();
        (status, kind, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Where the store keeps `s3://...` objects.
    fn s3(&self, uri: &str) -> std::path::PathBuf {
        self.dir.path().join("s3").join(uri.strip_prefix("s3://").unwrap())
    }

    /// The store's jobs of `kind` (`export`, `import`, `activation`), asked straight from it.
    async fn jobs(&self, kind: &str) -> Vec<Value> {
        let a = send_signed(self.store, &Raw::new("POST", format!("/sequencestore/{}/{kind}jobs", self.store_id), "{}")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        let v: Value = serde_json::from_str(&a.body).unwrap();
        v[format!("{kind}Jobs")].as_array().cloned().unwrap_or_default()
    }

    async fn job(&self, kind: &str, id: &str) -> Value {
        let a = send_signed(self.store, &Raw::new("GET", format!("/sequencestore/{}/{kind}job/{id}", self.store_id), "")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        serde_json::from_str(&a.body).unwrap()
    }

    async fn wait_completed(&self, kind: &str, id: &str) -> Value {
        poll(&format!("{kind} job {id}"), || async {
            let j = self.job(kind, id).await;
            match j["status"].as_str() {
                Some("COMPLETED") => Some(j),
                Some("FAILED" | "COMPLETED_WITH_FAILURES") => panic!("{kind} job failed: {j}"),
                _ => None,
            }
        })
        .await
    }
}

async fn create_store(addr: SocketAddr) -> String {
    let a = send_signed(addr, &Raw::new("POST", "/sequencestore", r#"{"name":"access","eTagAlgorithmFamily":"SHA256up"}"#)).await;
    assert_eq!(a.status, 200, "{}", a.body);
    serde_json::from_str::<Value>(&a.body).unwrap()["id"].as_str().unwrap().to_owned()
}

fn put_object(root: &Path, uri: &str, bytes: &[u8]) {
    let path = root.join("s3").join(uri.strip_prefix("s3://").unwrap());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn import_body(source1: &str) -> Value {
    json!({"sources": [{"sourceFileType": "FASTQ", "sampleId": "sample", "subjectId": "subject", "sourceFiles": {"source1": source1}}]})
}

/// A store with one ACTIVE read set (imported straight into the store), and a proxy whose
/// policy is `policy(store_id)` (written to a file named `file_name`), accepting the static
/// token (allowed on the first store) and HS256 JWTs of the shared test secret.
async fn env(file_name: &str, policy: impl FnOnce(&str) -> String) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store_srv = store_common::spawn(dir.path()).await;
    let store = store_srv.addr;
    let store_id = create_store(store).await;
    let other_store = create_store(store).await;
    // Objects an import may read: one under the allowed prefix, one outside it.
    let fq = store_common::gzip(&store_common::fastq(20, 30, "r"));
    put_object(dir.path(), &format!("{IMPORTS}run1/r1.fastq.gz"), &fq);
    put_object(dir.path(), "s3://portal-imports/lab-b/r1.fastq.gz", &fq);
    let mut seed = import_body("s3://portal-imports/lab-b/r1.fastq.gz");
    seed["roleArn"] = json!(ROLE);
    let a = send_signed(store, &Raw::new("POST", format!("/sequencestore/{store_id}/importjob"), seed.to_string())).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let read_set_id = poll("an ACTIVE read set", || async {
        let a = send_signed(store, &Raw::new("POST", format!("/sequencestore/{store_id}/readsets"), "{}")).await;
        let v: Value = serde_json::from_str(&a.body).unwrap();
        v["readSets"].as_array()?.iter().find(|r| r["status"] == "ACTIVE").map(|r| r["id"].as_str().unwrap().to_owned())
    })
    .await;

    let policy_path = dir.path().join(file_name);
    std::fs::write(&policy_path, policy(&store_id)).unwrap();
    let principal = Principal::new("test", "portal-service", StoreScope::Only(vec![store_id.clone()]), vec![]);
    let auth = Authenticator::new()
        .with_jwt_secret(proxy_common::JWT_SECRET)
        .unwrap()
        .with_static_token(TOKEN, principal)
        .unwrap()
        .with_policy(AccessPolicy::from_file(&policy_path).unwrap());
    let config = proxy::ProxyConfig::local_store(&format!("http://{store}"), REGION, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, auth).unwrap();
    let proxy = proxy_common::spawn_proxy(config).await;
    Env { dir, _store: store_srv, store, proxy, store_id, other_store, read_set_id }
}

fn job_rules_policy(store_id: &str) -> String {
    json!({"jobs": {store_id: {"roleArn": ROLE, "exportPrefixes": [EXPORTS], "importPrefixes": [IMPORTS]}}}).to_string()
}

fn export_body(read_set_id: &str, destination: &str) -> Value {
    json!({"destination": destination, "sources": [{"readSetId": read_set_id}]})
}

#[tokio::test]
async fn a_job_without_a_role_gets_the_configured_one_and_runs_inside_the_prefixes() {
    let e = env("policy.json", job_rules_policy).await;
    let s = e.store_id.clone();

    let (status, _, body) = e.call(TOKEN, "POST", &s, "/importjob", Some(import_body(&format!("{IMPORTS}run1/r1.fastq.gz")))).await;
    assert_eq!(status, 200, "{body}");
    let import_id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(e.job("import", &import_id).await["roleArn"], ROLE, "the store got the configured role");
    e.wait_completed("import", &import_id).await;

    let destination = format!("{EXPORTS}run1/");
    let (status, _, body) = e.call(TOKEN, "POST", &s, "/exportjob", Some(export_body(&e.read_set_id, &destination))).await;
    assert_eq!(status, 200, "{body}");
    let export_id = body["id"].as_str().unwrap().to_owned();
    let job = e.wait_completed("export", &export_id).await;
    assert_eq!(job["destination"], destination.as_str());
    assert!(e.s3(&destination).join(&e.read_set_id).join("source1.fastq.gz").is_file(), "the export wrote its file");

    // Naming the configured role itself is accepted too.
    let mut body = export_body(&e.read_set_id, &destination);
    body["roleArn"] = json!(ROLE);
    assert_eq!(e.call(TOKEN, "POST", &s, "/exportjob", Some(body)).await.0, 200);
}

#[tokio::test]
async fn exports_to_a_foreign_destination_or_with_a_foreign_role_are_refused_and_leave_nothing() {
    let e = env("policy.json", job_rules_policy).await;
    let s = e.store_id.clone();
    let before = hostile_common::snapshot(e.dir.path());
    let rule = format!("job rule jobs.\"{s}\"");
    let cases = [
        ("s3://attacker-bucket/loot/", None, "outside the allowed export prefixes"),
        ("s3://portal-exports/lab-ab/", None, "outside the allowed export prefixes"),
        ("s3://portal-exports/lab-a/../../attacker-bucket/loot/", None, "`..` path segment"),
        ("s3://portal-exports/lab-a/%2e%2e/lab-b/", None, "percent-escapes"),
        ("s3://portal-exports/lab-a//x/", None, "empty path segment"),
        ("s3://portal-exports/lab-a/x/", Some(FOREIGN_ROLE), "is not the role configured for sequence store"),
    ];
    for (destination, role, why) in cases {
        let mut body = export_body(&e.read_set_id, destination);
        if let Some(r) = role {
            body["roleArn"] = json!(r);
        }
        let (status, kind, answer) = e.call(TOKEN, "POST", &s, "/exportjob", Some(body)).await;
        assert_eq!((status, kind.as_str()), (403, "AccessDeniedException"), "{destination}: {answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("StartReadSetExportJob is refused by {rule}: ")), "{message}");
        assert!(message.contains(why), "{destination}: {message}");
    }
    assert!(e.jobs("export").await.is_empty(), "no export job reached the store");
    assert!(!e.dir.path().join("s3").join("attacker-bucket").exists());
    let after = hostile_common::snapshot(e.dir.path());
    assert_eq!(before.files, after.files, "no file changed");
    assert_eq!(before.rows, after.rows, "no row changed");
}

#[tokio::test]
async fn an_import_from_outside_the_prefix_is_refused_and_creates_nothing() {
    let e = env("policy.json", job_rules_policy).await;
    let s = e.store_id.clone();
    let imports_before = e.jobs("import").await.len();
    let before = hostile_common::snapshot(e.dir.path());
    // The object exists: forwarded, this import would succeed.
    let (status, kind, answer) = e.call(TOKEN, "POST", &s, "/importjob", Some(import_body("s3://portal-imports/lab-b/r1.fastq.gz"))).await;
    assert_eq!((status, kind.as_str()), (403, "AccessDeniedException"), "{answer}");
    assert_eq!(
        answer["message"],
        format!(
            "StartReadSetImportJob is refused by job rule jobs.\"{s}\": sources[0].sourceFiles.source1 \"s3://portal-imports/lab-b/r1.fastq.gz\" is outside the allowed import prefixes ({IMPORTS})"
        )
    );
    let mut foreign_role = import_body(&format!("{IMPORTS}run1/r1.fastq.gz"));
    foreign_role["roleArn"] = json!(FOREIGN_ROLE);
    let (status, _, answer) = e.call(TOKEN, "POST", &s, "/importjob", Some(foreign_role)).await;
    assert_eq!(status, 403, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("roleArn \"arn:aws:iam::999999999999:role/attacker\" is not the role configured"), "{answer}");
    assert_eq!(e.jobs("import").await.len(), imports_before);
    let after = hostile_common::snapshot(e.dir.path());
    assert_eq!((before.files, before.rows), (after.files, after.rows), "the store is unchanged");
}

#[tokio::test]
async fn without_job_rules_export_and_import_are_refused_and_activation_is_allowed() {
    let e = env("policy.json", |_| "{}".into()).await;
    let s = e.store_id.clone();
    for (path, body) in [
        ("/exportjob", export_body(&e.read_set_id, &format!("{EXPORTS}x/"))),
        ("/importjob", import_body(&format!("{IMPORTS}run1/r1.fastq.gz"))),
    ] {
        let (status, kind, answer) = e.call(TOKEN, "POST", &s, path, Some(body)).await;
        assert_eq!((status, kind.as_str()), (403, "AccessDeniedException"), "{answer}");
        let op = if path == "/exportjob" { "StartReadSetExportJob" } else { "StartReadSetImportJob" };
        assert_eq!(
            answer["message"],
            format!("{op} is refused: the proxy has no job configuration for sequence store {s} (the operator sets the role and S3 locations)")
        );
    }
    assert!(e.jobs("export").await.is_empty());
    let (status, _, answer) = e.call(TOKEN, "POST", &s, "/activationjob", Some(json!({"sources": [{"readSetId": e.read_set_id}]}))).await;
    assert_eq!(status, 200, "{answer}");
    e.wait_completed("activation", answer["id"].as_str().unwrap()).await;
}

/// One policy (TOML) for three identity providers' token shapes.
fn idp_policy(store_id: &str) -> String {
    format!(
        r#"
[jobs."{store_id}"]
roleArn = "{ROLE}"
exportPrefixes = ["{EXPORTS}"]

# Amazon Cognito: user pool groups arrive in `cognito:groups`.
[[rules]]
name = "cognito readers"
claim = "cognito:groups"
values = ["lab-a-readers"]
stores = ["{store_id}"]
operations = ["read"]

# Auth0: roles added by an Action under a namespaced claim.
[[rules]]
name = "auth0 uploaders"
claim = "https://portal.example/roles"
values = ["uploader"]
stores = ["{store_id}"]
operations = ["read", "upload"]

# Keycloak: realm roles, nested under realm_access.
[[rules]]
name = "keycloak exporters"
claimPointer = "/realm_access/roles"
values = ["exporter"]
stores = ["{store_id}"]
operations = ["read", "StartReadSetExportJob", "GetReadSetExportJob"]
"#
    )
}

fn idp_token(claims: Value) -> String {
    let mut claims = claims;
    claims["exp"] = json!(proxy_common::now_secs() + 600);
    claims["iat"] = json!(proxy_common::now_secs());
    proxy_common::mint_jwt(claims)
}

#[tokio::test]
async fn cognito_auth0_and_keycloak_shaped_tokens_get_the_stores_and_operations_the_policy_maps() {
    let e = env("policy.toml", idp_policy).await;
    let s = e.store_id.clone();
    let create = json!({"sourceFileType": "FASTQ", "subjectId": "subject", "sampleId": "sample", "name": "idp"});
    let refused = |op: &str| format!("this token does not allow {op}");

    let cognito = idp_token(json!({
        "sub": "3f1c2b9e-7d4a-4e1b-9c2d-0a1b2c3d4e5f",
        "iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEfGhI",
        "aud": "4u1h3a9bqg0example", "token_use": "id", "cognito:username": "reader",
        "cognito:groups": ["lab-a-readers", "everyone"],
    }));
    assert_eq!(e.call(&cognito, "GET", &s, "", None).await.0, 200);
    assert_eq!(e.call(&cognito, "POST", &s, "/readsets", Some(json!({}))).await.0, 200);
    let (status, kind, answer) = e.call(&cognito, "POST", &s, "/upload", Some(create.clone())).await;
    assert_eq!((status, kind.as_str(), answer["message"].as_str()), (403, "AccessDeniedException", Some(refused("CreateMultipartReadSetUpload").as_str())));
    let (status, _, answer) = e.call(&cognito, "GET", &e.other_store, "", None).await;
    assert_eq!((status, answer["message"].as_str()), (403, Some(format!("this token does not allow sequence store {}", e.other_store).as_str())));

    let auth0 = idp_token(json!({
        "sub": "auth0|64f1c0ffee", "iss": "https://portal.eu.auth0.com/", "aud": ["https://omics.portal.example"],
        "scope": "openid profile", "https://portal.example/roles": ["uploader"],
    }));
    let (status, _, answer) = e.call(&auth0, "POST", &s, "/upload", Some(create.clone())).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["uploadId"].is_string(), "{answer}");
    let (status, _, answer) = e.call(&auth0, "POST", &s, "/exportjob", Some(export_body(&e.read_set_id, EXPORTS))).await;
    assert_eq!((status, answer["message"].as_str()), (403, Some(refused("StartReadSetExportJob").as_str())));

    let keycloak = idp_token(json!({
        "sub": "f:1b2c3d4e:exporter", "iss": "https://sso.hospital.example/realms/portal", "azp": "portal",
        "preferred_username": "exporter",
        "realm_access": {"roles": ["offline_access", "exporter"]},
        "resource_access": {"account": {"roles": ["view-profile"]}},
    }));
    let destination = format!("{EXPORTS}keycloak/");
    let (status, _, answer) = e.call(&keycloak, "POST", &s, "/exportjob", Some(export_body(&e.read_set_id, &destination))).await;
    assert_eq!(status, 200, "{answer}");
    let export_id = answer["id"].as_str().unwrap().to_owned();
    assert_eq!(e.call(&keycloak, "GET", &s, &format!("/exportjob/{export_id}"), None).await.0, 200);
    let (status, _, answer) = e.call(&keycloak, "POST", &s, "/upload", Some(create.clone())).await;
    assert_eq!((status, answer["message"].as_str()), (403, Some(refused("CreateMultipartReadSetUpload").as_str())));
    // A role under another client's roles is not a realm role.
    let elsewhere = idp_token(json!({"sub": "someone", "resource_access": {"portal": {"roles": ["exporter"]}}}));
    let (status, _, answer) = e.call(&elsewhere, "GET", &s, "", None).await;
    assert_eq!((status, answer["message"].as_str()), (403, Some(format!("this token does not allow sequence store {s}").as_str())));

    // No matching rule and no `stores` claim: nothing.
    let nobody = idp_token(json!({"sub": "nobody", "cognito:groups": ["everyone"], "https://portal.example/roles": "viewer"}));
    let (status, _, answer) = e.call(&nobody, "GET", &s, "", None).await;
    assert_eq!((status, answer["message"].as_str()), (403, Some(format!("this token does not allow sequence store {s}").as_str())));
}

#[tokio::test]
async fn a_policy_file_with_a_mistake_stops_the_proxy_with_the_file_and_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, "[[rules]]\nclaim = \"groups\"\nvalues = [\"a\"]\noperations = [\"read\", \"DeleteSequenceStore\"]\n").unwrap();
    let e = format!("{:#}", AccessPolicy::from_file(&path).unwrap_err());
    assert!(e.starts_with(&format!("policy file {}: at rules[0].operations[1]: \"DeleteSequenceStore\" is not an operation", path.display())), "{e}");
}

#[derive(clap::Parser)]
struct Cli {
    #[command(flatten)]
    args: readset_server::proxy::ProxyArgs,
}

#[tokio::test]
async fn the_policy_flag_loads_the_file_at_startup() {
    use clap::Parser;
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.json");
    std::fs::write(&tokens, format!(r#"[{{"token": "{TOKEN}", "sub": "kiosk", "stores": ["1111111111"]}}]"#)).unwrap();
    std::fs::set_permissions(&tokens, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let policy = dir.path().join("policy.json");
    let args = |policy: &Path| {
        Cli::try_parse_from(["proxy", "--upstream", "http://127.0.0.1:9", "--tokens", tokens.to_str().unwrap(), "--policy", policy.to_str().unwrap()])
            .unwrap()
            .args
    };

    std::fs::write(&policy, r#"{"jobs": {"1111111111": {"roleArn": "arn:aws:iam::123456789012:role/x", "exportPrefixes": ["s3://exports"]}}}"#).unwrap();
    let e = format!("{:#}", proxy::ProxyConfig::from_args(&args(&policy)).await.unwrap_err());
    assert_eq!(
        e,
        format!("policy file {}: at jobs.\"1111111111\".exportPrefixes[0]: \"s3://exports\" has no `/` after the bucket name", policy.display())
    );

    std::fs::write(&policy, json!({"jobs": {"1111111111": {"roleArn": ROLE, "exportPrefixes": [EXPORTS]}}}).to_string()).unwrap();
    let proxy_addr = proxy_common::spawn_proxy(proxy::ProxyConfig::from_args(&args(&policy)).await.unwrap()).await;
    let resp = reqwest::Client::new()
        .post(format!("http://{proxy_addr}/omics/sequencestore/1111111111/exportjob"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(export_body("2222222222", "s3://attacker-bucket/").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let message = resp.json::<Value>().await.unwrap()["message"].as_str().unwrap().to_owned();
    assert!(message.starts_with("StartReadSetExportJob is refused by job rule jobs.\"1111111111\": destination"), "{message}");
}
