//! What an authenticated caller may do beyond "which stores": which operations, and the job
//! rules (IAM role, S3 locations) the operator configured.
//!
//! Two sources, both operator-controlled:
//!
//! - the policy file (`--policy FILE`, [`AccessPolicy::from_file`]): rules mapping a claim's
//!   values (`groups`, `cognito:groups`, a namespaced Auth0 claim, Keycloak's
//!   `realm_access.roles` through a JSON pointer) to stores, Seven Bridges projects and
//!   operations, plus job rules per store for everyone and per rule;
//! - job rules set on a principal in code (the demo's static token).
//!
//! Downloading a read set ([`Operation::GetReadSet`]) is a right of its own: patient data
//! leaves the store. No grant gains it without naming it: not a token's or token file's
//! `stores` ([`OperationScope::Any`] stops short of it), not the `read` group (which is
//! metadata: the store, the list, a read set's description) and not `all`. A policy rule names
//! `download` (or `GetReadSet`); a token file entry lists it in its `operations`; code (the
//! demo) sets it on the principal.
//!
//! The browser never chooses an IAM role or an S3 location: a Start*Job body is checked against
//! the rules of its store ([`check_job_request`]), the configured role is filled in when the
//! body names none, and anything else is refused with a message naming the rule. With no rule
//! for a store, export and import jobs are refused there; activation jobs need no role or
//! location and stay allowed.

mod file;
mod jobs;
mod s3;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use bytes::Bytes;
use serde_json::{Map, Value};

use super::auth::{Principal, StoreScope};
use super::error::ProxyError;
use super::policy::Operation;

/// Which HealthOmics operations a caller may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperationScope {
    /// Every operation the proxy forwards except those granted only by name
    /// ([`needs_explicit_grant`]: downloads): what a token's stores grant.
    Any,
    /// Only these.
    Only(HashSet<Operation>),
    /// Per store ID (`"*"`: on every store): what a policy file's rules grant, each rule's
    /// operations on that rule's stores only, so a right granted on one store never carries
    /// over to another.
    PerStore(HashMap<String, OperationScope>),
}

impl OperationScope {
    /// Whether `operation` is allowed on `store_id`.
    pub fn allows(&self, store_id: &str, operation: Operation) -> bool {
        match self {
            Self::Any => !needs_explicit_grant(operation),
            Self::Only(set) => set.contains(&operation),
            Self::PerStore(map) => [store_id, "*"].iter().any(|k| map.get(*k).is_some_and(|s| s.allows(store_id, operation))),
        }
    }

    /// `self` widened by `operations`.
    fn union(&mut self, operations: &HashSet<Operation>) {
        match self {
            Self::Any if operations.iter().any(|op| needs_explicit_grant(*op)) => {
                *self = Self::Only(ALL_OPERATIONS.iter().copied().filter(|op| !needs_explicit_grant(*op)).chain(operations.iter().copied()).collect());
            }
            Self::Any => {}
            Self::Only(set) => set.extend(operations.iter().copied()),
            Self::PerStore(_) => *self = Self::Only(operations.clone()),
        }
    }

    /// The operations allowed by both `self` and `other`.
    pub fn intersect(&self, other: &HashSet<Operation>) -> Self {
        match self {
            Self::Any => Self::Only(other.iter().copied().filter(|op| !needs_explicit_grant(*op)).collect()),
            Self::Only(set) => Self::Only(set.intersection(other).copied().collect()),
            Self::PerStore(map) => Self::PerStore(map.iter().map(|(k, v)| (k.clone(), v.intersect(other))).collect()),
        }
    }
}

/// Every operation the proxy forwards, by the name the policy file uses (the HealthOmics name).
pub const ALL_OPERATIONS: [Operation; 19] = [
    Operation::GetSequenceStore,
    Operation::CreateMultipartReadSetUpload,
    Operation::UploadReadSetPart,
    Operation::CompleteMultipartReadSetUpload,
    Operation::AbortMultipartReadSetUpload,
    Operation::ListMultipartReadSetUploads,
    Operation::ListReadSetUploadParts,
    Operation::ListReadSets,
    Operation::GetReadSetMetadata,
    Operation::GetReadSet,
    Operation::GetReadSetImportJob,
    Operation::ListReadSetImportJobs,
    Operation::StartReadSetImportJob,
    Operation::GetReadSetExportJob,
    Operation::ListReadSetExportJobs,
    Operation::StartReadSetExportJob,
    Operation::GetReadSetActivationJob,
    Operation::ListReadSetActivationJobs,
    Operation::StartReadSetActivationJob,
];

/// Whether `operation` is allowed only where a grant names it (`download`, `GetReadSet`):
/// never through [`OperationScope::Any`] (a token's stores) nor the `read` or `all` groups.
/// Downloading a read set takes patient data out of the store, a right an operator gives
/// knowingly; an existing policy or token must not start allowing it when the proxy learns
/// the operation.
pub fn needs_explicit_grant(operation: Operation) -> bool {
    OperationGroup::of(operation) == OperationGroup::Download
}

/// The named groups of operations a policy file may use besides single operation names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationGroup {
    /// `read`: GetSequenceStore, ListReadSets, GetReadSetMetadata (metadata, no file content).
    Read,
    /// `download`: GetReadSet, the read sets' files themselves. Not in `all`
    /// ([`needs_explicit_grant`]).
    Download,
    /// `upload`: the multipart upload operations (create, parts, list, complete, abort).
    Upload,
    /// `jobs`: Start, Get and List of import, export and activation jobs.
    Jobs,
}

impl OperationGroup {
    /// The group `operation` belongs to (`all` is every group).
    pub fn of(operation: Operation) -> Self {
        use Operation::*;
        match operation {
            GetSequenceStore | ListReadSets | GetReadSetMetadata => Self::Read,
            GetReadSet => Self::Download,
            CreateMultipartReadSetUpload
            | UploadReadSetPart
            | CompleteMultipartReadSetUpload
            | AbortMultipartReadSetUpload
            | ListMultipartReadSetUploads
            | ListReadSetUploadParts => Self::Upload,
            GetReadSetImportJob
            | ListReadSetImportJobs
            | StartReadSetImportJob
            | GetReadSetExportJob
            | ListReadSetExportJobs
            | StartReadSetExportJob
            | GetReadSetActivationJob
            | ListReadSetActivationJobs
            | StartReadSetActivationJob => Self::Jobs,
        }
    }
}

/// The operations a policy file entry names: `read`, `download`, `upload`, `jobs`, `all`
/// (every operation but downloads: [`needs_explicit_grant`]), or one operation by its
/// HealthOmics name (`StartReadSetExportJob`, `GetReadSet`).
pub fn operations_named(name: &str) -> anyhow::Result<Vec<Operation>> {
    let group = match name {
        "all" => return Ok(ALL_OPERATIONS.iter().copied().filter(|op| !needs_explicit_grant(*op)).collect()),
        "read" => Some(OperationGroup::Read),
        "download" => Some(OperationGroup::Download),
        "upload" => Some(OperationGroup::Upload),
        "jobs" => Some(OperationGroup::Jobs),
        _ => None,
    };
    if let Some(group) = group {
        return Ok(ALL_OPERATIONS.iter().copied().filter(|op| OperationGroup::of(*op) == group).collect());
    }
    match ALL_OPERATIONS.iter().find(|op| format!("{op:?}") == name) {
        Some(op) => Ok(vec![*op]),
        None => anyhow::bail!(
            "{name:?} is not an operation: use read, download, upload, jobs, all, or a HealthOmics operation name such as StartReadSetExportJob"
        ),
    }
}

/// The job rules of one store: the role jobs run as and the S3 prefixes they may touch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobRules {
    /// The IAM role export and import jobs run as (`arn:aws:iam::...:role/...`); filled into a
    /// body that names none, and the only role a body may name.
    pub role_arn: Option<String>,
    /// `s3://bucket/prefix/` locations an export may write under (each ends with `/`).
    pub export_prefixes: Vec<String>,
    /// `s3://bucket/prefix/` locations an import may read from (each ends with `/`).
    pub import_prefixes: Vec<String>,
    /// Where the rule comes from, named in refusals (`jobs."1234567890"` of the policy file);
    /// empty: messages name the store instead.
    pub rule: String,
}

/// Job rules by store ID (`"*"`: every store without rules of its own).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobGrants {
    /// Rules per store ID.
    pub by_store: HashMap<String, JobRules>,
}

impl JobGrants {
    /// The rules that apply on `store_id`: its own, else those of `"*"`.
    pub fn for_store(&self, store_id: &str) -> Option<&JobRules> {
        self.by_store.get(store_id).or_else(|| self.by_store.get("*"))
    }

    /// Adds `other`'s rules: prefixes of the same store are unioned. An entry whose role differs
    /// from the one already held for that store is left out (prefixes are only ever used with
    /// the role they were configured with); the policy file loader refuses such files.
    pub fn merge(&mut self, other: &JobGrants) {
        for (store, rules) in &other.by_store {
            match self.by_store.get_mut(store) {
                None => {
                    self.by_store.insert(store.clone(), rules.clone());
                }
                Some(held) if held.role_arn == rules.role_arn => {
                    for (mine, theirs) in [(&mut held.export_prefixes, &rules.export_prefixes), (&mut held.import_prefixes, &rules.import_prefixes)] {
                        for p in theirs {
                            if !mine.contains(p) {
                                mine.push(p.clone());
                            }
                        }
                    }
                    if !rules.rule.is_empty() && !held.rule.split(" + ").any(|r| r == rules.rule) {
                        held.rule = if held.rule.is_empty() { rules.rule.clone() } else { format!("{} + {}", held.rule, rules.rule) };
                    }
                }
                Some(_) => tracing::warn!(store = %store, rule = %rules.rule, "job rule left out: its role differs from the store's"),
            }
        }
    }
}

/// Checks (and completes) the body of a Start*Job request against `principal`'s job rules on
/// `store_id`; returns the body to forward. Other operations pass through unchanged.
///
/// Errors: 403 naming the rule for a foreign role or a location outside the configured
/// prefixes, or when the store has no job rules; 400 for a body that is not the operation's
/// request syntax (unknown fields included).
pub fn check_job_request(principal: &Principal, operation: Operation, store_id: &str, body: Bytes) -> Result<Bytes, ProxyError> {
    match operation {
        Operation::StartReadSetExportJob | Operation::StartReadSetImportJob => {
            let Some(rules) = principal.jobs.for_store(store_id) else {
                return Err(ProxyError::AccessDenied(format!(
                    "{operation:?} is refused: the proxy has no job configuration for sequence store {store_id} (the operator sets the role and S3 locations)"
                )));
            };
            jobs::check(operation, store_id, rules, &body)
        }
        _ => Ok(body),
    }
}

/// Where a rule reads its claim.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Claim {
    /// A top-level claim, by its exact name (`groups`, `cognito:groups`,
    /// `https://portal.example/roles`).
    Name(String),
    /// A nested claim: the unescaped tokens of a JSON pointer (`/realm_access/roles`).
    Pointer(Vec<String>),
}

impl Claim {
    /// The string values of the claim: a string, or the strings of an array. Any other shape
    /// (number, object, missing) gives none: it matches no rule and is not an error, since the
    /// IdP, not the caller, decides claim shapes.
    fn values<'a>(&self, claims: &'a Map<String, Value>) -> Vec<&'a str> {
        let found = match self {
            Self::Name(name) => claims.get(name),
            Self::Pointer(tokens) => {
                let mut at = claims.get(&tokens[0]);
                for t in &tokens[1..] {
                    at = at.and_then(|v| v.as_object()).and_then(|o| o.get(t));
                }
                at
            }
        };
        match found {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

/// One rule of the policy file.
#[derive(Debug, Clone)]
struct Rule {
    label: String,
    claim: Claim,
    values: HashSet<String>,
    stores: Vec<String>,
    projects: Vec<String>,
    operations: HashSet<Operation>,
    jobs: JobGrants,
}

impl Rule {
    fn matches(&self, claims: &Map<String, Value>) -> bool {
        self.claim.values(claims).iter().any(|v| self.values.contains(*v))
    }
}

/// Maps a verified token's claims to what the caller may do (`--policy FILE`): stores, Seven
/// Bridges projects, operations and job rules.
///
/// [`apply`](Self::apply): the grants of every matching rule are unioned; each rule's
/// operations apply on that rule's stores only (a right granted on one store never carries over
/// to another), and the stores of the token's own `stores` claim keep what the token grants. With `tokenClaims = "keep"` (default) the token's
/// `stores` / `projects` claims are kept beside the rules' grants; with `"ignore"` they are
/// dropped and only rules grant. A caller matching no rule keeps only what its token grants
/// (`"keep"`) or nothing (`"ignore"`). Static tokens (an empty claims map) keep their token-file
/// grants: that file is operator configuration. The file's top-level `jobs` apply to every
/// caller, a rule's `jobs` to those it matches.
#[derive(Debug, Clone)]
pub struct AccessPolicy {
    keep_token_claims: bool,
    jobs: JobGrants,
    rules: Vec<Rule>,
}

impl Default for AccessPolicy {
    fn default() -> Self {
        Self { keep_token_claims: true, jobs: JobGrants::default(), rules: Vec::new() }
    }
}

impl AccessPolicy {
    /// Reads and checks a policy file: TOML when its name ends with `.toml`, else JSON.
    /// Errors name the file and the offending path (`rules[2].stores[0]`).
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        file::load(path)
    }

    /// Parses and checks policy text (JSON, or TOML when `toml`).
    pub fn parse(text: &str, toml: bool) -> anyhow::Result<Self> {
        file::parse(text, toml)
    }

    /// A policy with no rules that gives every caller these job rules.
    pub fn with_jobs(jobs: JobGrants) -> Self {
        Self { jobs, ..Self::default() }
    }

    /// Fills in `principal`'s grants from `claims` (the verified JWT claims; empty for a
    /// static token).
    pub fn apply(&self, principal: &mut Principal, claims: &Map<String, Value>) -> Result<(), ProxyError> {
        let from_token = !claims.is_empty();
        if from_token && !self.keep_token_claims {
            principal.stores = StoreScope::Only(Vec::new());
            principal.projects.clear();
        }
        principal.jobs.merge(&self.jobs);
        // The stores the token (or token file) itself grants keep the operations it grants
        // there; each rule adds its operations on its own stores only.
        let mut per_store: HashMap<String, OperationScope> = HashMap::new();
        match &principal.stores {
            StoreScope::Any => {
                per_store.insert("*".into(), principal.operations.clone());
            }
            StoreScope::Only(ids) => {
                for id in ids {
                    per_store.insert(id.clone(), principal.operations.clone());
                }
            }
        }
        let mut matched = false;
        for rule in self.rules.iter().filter(|r| from_token && r.matches(claims)) {
            matched = true;
            tracing::debug!(sub = %principal.sub, rule = %rule.label, "policy rule matched");
            for store in &rule.stores {
                per_store.entry(store.clone()).or_insert_with(|| OperationScope::Only(HashSet::new())).union(&rule.operations);
            }
            if rule.stores.iter().any(|s| s == "*") {
                principal.stores = StoreScope::Any;
            } else if let StoreScope::Only(ids) = &mut principal.stores {
                for s in &rule.stores {
                    if !ids.contains(s) {
                        ids.push(s.clone());
                    }
                }
            }
            for p in &rule.projects {
                if !principal.projects.contains(p) {
                    principal.projects.push(p.clone());
                }
            }
            principal.jobs.merge(&rule.jobs);
        }
        if matched {
            principal.operations = OperationScope::PerStore(per_store);
        } else if from_token && !self.keep_token_claims {
            principal.operations = OperationScope::Only(HashSet::new());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn principal(stores: &[&str]) -> Principal {
        Principal::new("iss", "alice", StoreScope::from_list(stores.iter().map(|s| s.to_string()).collect()), vec![])
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    const POLICY: &str = r#"{
      "jobs": {"*": {"roleArn": "arn:aws:iam::123456789012:role/omics", "exportPrefixes": ["s3://exports-bucket/all/"]}},
      "rules": [
        {"name": "lab A", "claim": "cognito:groups", "values": ["lab-a"], "stores": ["1111111111"], "projects": ["lab/a"], "operations": ["read", "upload"]},
        {"claimPointer": "/realm_access/roles", "values": ["exporter"], "stores": ["2222222222"], "operations": ["StartReadSetExportJob"],
         "jobs": {"*": {"roleArn": "arn:aws:iam::123456789012:role/omics", "exportPrefixes": ["s3://exports-bucket/lab-b/"]}}},
        {"claim": "https://portal.example/roles", "values": ["admin"], "stores": ["*"], "operations": ["all"]}
      ]}"#;

    #[test]
    fn every_operation_has_one_name_and_the_groups_cover_all() {
        let names: HashSet<String> = ALL_OPERATIONS.iter().map(|op| format!("{op:?}")).collect();
        assert_eq!(names.len(), ALL_OPERATIONS.len());
        for n in &names {
            assert_eq!(operations_named(n).unwrap().len(), 1);
        }
        let grouped = ["read", "download", "upload", "jobs"].iter().map(|g| operations_named(g).unwrap().len()).sum::<usize>();
        assert_eq!(grouped, ALL_OPERATIONS.len());
        assert_eq!(operations_named("read").unwrap().len(), 3);
        assert_eq!(operations_named("download").unwrap(), vec![Operation::GetReadSet]);
        assert!(operations_named("getsequencestore").is_err());
    }

    #[test]
    fn matching_rules_union_their_grants_and_limit_operations() {
        let p = AccessPolicy::parse(POLICY, false).unwrap();
        let mut a = principal(&["3333333333"]);
        p.apply(&mut a, &claims(json!({"sub": "a", "cognito:groups": ["x", "lab-a"], "realm_access": {"roles": ["exporter"]}}))).unwrap();
        assert_eq!(a.stores, StoreScope::Only(vec!["3333333333".into(), "1111111111".into(), "2222222222".into()]));
        assert_eq!(a.projects, vec!["lab/a".to_string()]);
        // Each rule's operations on its own stores only: exporting is granted on 2222222222, not
        // on lab A's store 1111111111; the token's own store keeps what the token grants.
        let ops = &a.operations;
        assert!(ops.allows("1111111111", Operation::UploadReadSetPart) && !ops.allows("1111111111", Operation::StartReadSetExportJob));
        assert!(ops.allows("2222222222", Operation::StartReadSetExportJob) && !ops.allows("2222222222", Operation::UploadReadSetPart));
        assert!(!ops.allows("1111111111", Operation::StartReadSetImportJob) && !ops.allows("2222222222", Operation::StartReadSetImportJob));
        assert!(ops.allows("3333333333", Operation::StartReadSetImportJob), "the token's own store: all the token grants");
        assert!(!ops.allows("4444444444", Operation::GetSequenceStore));
        let rules = a.jobs.for_store("2222222222").unwrap();
        assert_eq!(rules.export_prefixes, vec!["s3://exports-bucket/all/".to_string(), "s3://exports-bucket/lab-b/".to_string()]);
        assert!(rules.rule.contains("jobs.\"*\"") && rules.rule.contains("rules[1]"), "{}", rules.rule);
    }

    #[test]
    fn a_string_claim_matches_and_other_shapes_are_ignored() {
        let p = AccessPolicy::parse(POLICY, false).unwrap();
        let mut a = principal(&[]);
        p.apply(&mut a, &claims(json!({"sub": "a", "https://portal.example/roles": "admin"}))).unwrap();
        assert_eq!(a.stores, StoreScope::Any);
        for odd in [json!(7), json!({"lab-a": true}), json!([["lab-a"]]), json!(null)] {
            let mut b = principal(&[]);
            p.apply(&mut b, &claims(json!({"sub": "b", "cognito:groups": odd}))).unwrap();
            assert_eq!(b.stores, StoreScope::Only(vec![]));
            assert_eq!(b.operations, OperationScope::Any, "no rule matched: the token's own (empty) grants stay");
        }
    }

    #[test]
    fn ignore_drops_the_tokens_own_grants_and_an_unmatched_caller_gets_nothing() {
        let text = POLICY.replacen('{', r#"{"tokenClaims": "ignore","#, 1);
        let p = AccessPolicy::parse(&text, false).unwrap();
        let mut a = Principal::new("iss", "a", StoreScope::Any, vec!["*".into()]);
        p.apply(&mut a, &claims(json!({"sub": "a", "stores": ["*"]}))).unwrap();
        assert_eq!(a.stores, StoreScope::Only(vec![]));
        assert!(a.projects.is_empty());
        assert!(!a.operations.allows("1111111111", Operation::GetSequenceStore));
        let mut b = principal(&["*"]);
        p.apply(&mut b, &claims(json!({"sub": "b", "cognito:groups": "lab-a"}))).unwrap();
        assert_eq!(b.stores, StoreScope::Only(vec!["1111111111".into()]));
        // A static token (no claims) keeps its token-file grants, and gets the global job rules.
        let mut s = principal(&["*"]);
        p.apply(&mut s, &Map::new()).unwrap();
        assert_eq!((s.stores.clone(), s.operations.clone()), (StoreScope::Any, OperationScope::Any));
        assert!(s.jobs.for_store("1234567890").is_some());
    }

    fn rules() -> JobRules {
        JobRules {
            role_arn: Some("arn:aws:iam::123456789012:role/omics".into()),
            export_prefixes: vec!["s3://exports-bucket/lab-a/".into()],
            import_prefixes: vec!["s3://imports-bucket/lab-a/".into()],
            rule: "jobs.\"1234567890\"".into(),
        }
    }

    fn check(op: Operation, body: Value) -> Result<Value, ProxyError> {
        let mut p = principal(&["*"]);
        p.jobs.by_store.insert("1234567890".into(), rules());
        check_job_request(&p, op, "1234567890", Bytes::from(body.to_string())).map(|b| serde_json::from_slice(&b).unwrap())
    }

    fn refused(op: Operation, body: Value) -> ProxyError {
        check(op, body).expect_err("refused")
    }

    #[test]
    fn the_role_is_filled_in_and_a_foreign_one_refused() {
        let ok = check(Operation::StartReadSetExportJob, json!({"destination": "s3://exports-bucket/lab-a/x/", "sources": [{"readSetId": "1234567890"}]})).unwrap();
        assert_eq!(ok["roleArn"], "arn:aws:iam::123456789012:role/omics");
        let e = refused(Operation::StartReadSetExportJob, json!({"roleArn": "arn:aws:iam::999999999999:role/admin", "destination": "s3://exports-bucket/lab-a/", "sources": []}));
        assert_eq!(e.status(), 403);
        assert!(e.message().contains("job rule jobs.\"1234567890\"") && e.message().contains("roleArn"), "{}", e.message());
        assert!(!e.message().contains("123456789012"), "the configured role is not revealed: {}", e.message());
    }

    #[test]
    fn destinations_and_sources_outside_the_prefixes_are_refused() {
        for dest in [
            "s3://attacker-bucket/loot/",
            "s3://exports-bucket/lab-ab/",
            "s3://exports-bucket/lab-a",
            "s3://exports-bucket/lab-a/../lab-b/",
            "s3://exports-bucket/lab-a/%2e%2e/lab-b/",
            "s3://exports-bucket/lab-a//x/",
            "s3://imports-bucket/lab-a/",
        ] {
            let e = refused(Operation::StartReadSetExportJob, json!({"destination": dest, "sources": [{"readSetId": "1234567890"}]}));
            assert_eq!(e.status(), 403, "{dest}");
            assert!(e.message().contains("job rule jobs.\"1234567890\"") && e.message().contains("destination"), "{dest}: {}", e.message());
        }
        let src = |s1: &str| json!({"sources": [{"sourceFileType": "FASTQ", "sampleId": "s", "subjectId": "p", "sourceFiles": {"source1": "s3://imports-bucket/lab-a/r1.fq", "source2": s1}}]});
        assert!(check(Operation::StartReadSetImportJob, src("s3://imports-bucket/lab-a/r2.fq")).is_ok());
        let e = refused(Operation::StartReadSetImportJob, src("s3://other-bucket/r2.fq"));
        assert!(e.message().contains("sources[0].sourceFiles.source2") && e.message().contains("outside the allowed import prefixes"), "{}", e.message());
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_refused() {
        let e = refused(Operation::StartReadSetExportJob, json!({"destination": "s3://exports-bucket/lab-a/", "sources": [], "kmsKeyArn": "x"}));
        assert_eq!(e.status(), 400);
        assert!(e.message().contains("\"kmsKeyArn\""));
        let e = refused(Operation::StartReadSetImportJob, json!({"sources": [{"sourceFiles": {"source1": "s3://imports-bucket/lab-a/a", "source3": "s3://x/y"}}]}));
        assert!(e.message().contains("sources[0].sourceFiles") && e.message().contains("source3"), "{}", e.message());
        assert_eq!(refused(Operation::StartReadSetExportJob, json!({"destination": 5, "sources": []})).status(), 400);
        assert_eq!(refused(Operation::StartReadSetExportJob, json!(["s3://x/"])).status(), 400);
    }

    #[test]
    fn activation_passes_and_no_rules_refuse_export() {
        let p = principal(&["*"]);
        let body = Bytes::from_static(br#"{"sources":[{"readSetId":"1234567890"}]}"#);
        assert_eq!(check_job_request(&p, Operation::StartReadSetActivationJob, "1234567890", body.clone()).unwrap(), body);
        let e = check_job_request(&p, Operation::StartReadSetExportJob, "1234567890", body).unwrap_err();
        assert_eq!(e.status(), 403);
        assert!(e.message().contains("no job configuration for sequence store 1234567890"));
    }

    #[test]
    fn downloading_is_granted_only_by_name() {
        // Neither a token's own grant, nor `read`, nor `all` carries GetReadSet.
        assert!(!OperationScope::Any.allows("1111111111", Operation::GetReadSet));
        assert!(OperationScope::Any.allows("1111111111", Operation::GetReadSetMetadata));
        for group in ["read", "all", "upload", "jobs"] {
            assert!(!operations_named(group).unwrap().contains(&Operation::GetReadSet), "{group}");
        }
        assert_eq!(operations_named("all").unwrap().len(), ALL_OPERATIONS.len() - 1);
        assert_eq!(operations_named("GetReadSet").unwrap(), vec![Operation::GetReadSet]);
        let only: HashSet<Operation> = [Operation::GetReadSet, Operation::ListReadSets].into();
        assert_eq!(OperationScope::Any.intersect(&only), OperationScope::Only([Operation::ListReadSets].into()));

        let policy = r#"{"rules": [
            {"claim": "groups", "values": ["viewer"], "stores": ["1111111111"], "operations": ["read", "download"]},
            {"claim": "groups", "values": ["admin"], "stores": ["*"], "operations": ["all"]},
            {"claim": "groups", "values": ["fetcher"], "stores": ["3333333333"], "operations": ["GetReadSet"]}
        ]}"#;
        let p = AccessPolicy::parse(policy, false).unwrap();
        let grants = |groups: Value, stores: &[&str]| {
            let mut a = principal(stores);
            p.apply(&mut a, &claims(json!({"sub": "a", "groups": groups}))).unwrap();
            a.operations
        };
        let viewer = grants(json!(["viewer"]), &[]);
        assert!(viewer.allows("1111111111", Operation::GetReadSet) && viewer.allows("1111111111", Operation::GetReadSetMetadata));
        assert!(!viewer.allows("2222222222", Operation::GetReadSet), "a download grant stays on its rule's stores");
        assert!(!viewer.allows("1111111111", Operation::UploadReadSetPart));
        let admin = grants(json!(["admin"]), &[]);
        assert!(!admin.allows("1111111111", Operation::GetReadSet) && admin.allows("1111111111", Operation::StartReadSetExportJob));
        // A store the token grants keeps everything but downloads, and gains downloads where a
        // rule names them on that same store.
        let fetcher = grants(json!(["fetcher"]), &["3333333333", "4444444444"]);
        assert!(fetcher.allows("3333333333", Operation::GetReadSet) && fetcher.allows("3333333333", Operation::UploadReadSetPart));
        assert!(!fetcher.allows("4444444444", Operation::GetReadSet) && fetcher.allows("4444444444", Operation::UploadReadSetPart));
        // No rule matched: the token's own grant, without downloads.
        let nobody = grants(json!(["other"]), &["1111111111"]);
        assert!(!nobody.allows("1111111111", Operation::GetReadSet) && nobody.allows("1111111111", Operation::ListReadSets));
    }
}
