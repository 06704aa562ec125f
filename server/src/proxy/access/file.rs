//! The policy file (`--policy FILE`): JSON, or TOML when the name ends with `.toml`.
//!
//! Read once at startup and checked strictly: an unknown key, a malformed store ID, S3 prefix,
//! role ARN or operation name stops the proxy with a message naming the file and the offending
//! path (`rules[2].stores[0]`), so a typo never silently grants or drops access.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use anyhow::{bail, Context};
use serde::Deserialize;

use super::{operations_named, s3, AccessPolicy, Claim, JobGrants, JobRules, Rule};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PolicyFile {
    #[serde(default)]
    token_claims: TokenClaims,
    #[serde(default)]
    jobs: BTreeMap<String, JobsEntry>,
    #[serde(default)]
    rules: Vec<RuleEntry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum TokenClaims {
    #[default]
    Keep,
    Ignore,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RuleEntry {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    claim: Option<String>,
    #[serde(default)]
    claim_pointer: Option<String>,
    values: Vec<String>,
    #[serde(default)]
    stores: Vec<String>,
    #[serde(default)]
    projects: Vec<String>,
    operations: Vec<String>,
    #[serde(default)]
    jobs: BTreeMap<String, JobsEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct JobsEntry {
    role_arn: String,
    #[serde(default)]
    export_prefixes: Vec<String>,
    #[serde(default)]
    import_prefixes: Vec<String>,
}

/// Reads and checks a policy file.
pub(super) fn load(path: &Path) -> anyhow::Result<AccessPolicy> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the policy file {}", path.display()))?;
    let toml = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    parse(&text, toml).with_context(|| format!("policy file {}", path.display()))
}

/// Parses and checks policy text (TOML when `toml`, else JSON).
pub(super) fn parse(text: &str, toml: bool) -> anyhow::Result<AccessPolicy> {
    let file: PolicyFile = if toml {
        let de = toml::Deserializer::parse(text).map_err(|e| anyhow::anyhow!("not valid TOML: {}", e.message()))?;
        serde_path_to_error::deserialize(de).map_err(|e| located(e.path().to_string(), e.inner().message().to_string()))?
    } else {
        let mut de = serde_json::Deserializer::from_str(text);
        let file = serde_path_to_error::deserialize(&mut de).map_err(|e| located(e.path().to_string(), e.inner().to_string()))?;
        de.end().map_err(|e| anyhow::anyhow!("not valid JSON: {e}"))?;
        file
    };
    build(file)
}

fn located(path: String, message: String) -> anyhow::Error {
    if path.is_empty() || path == "." {
        anyhow::anyhow!("{message}")
    } else {
        anyhow::anyhow!("at {path}: {message}")
    }
}

fn build(file: PolicyFile) -> anyhow::Result<AccessPolicy> {
    // One role per store key across the whole file: a caller matching several rules gets the
    // union of their prefixes, and that union must not mix roles.
    let mut roles: HashMap<String, (String, String)> = HashMap::new();
    let jobs = job_grants(&file.jobs, "jobs", &mut roles)?;
    let mut rules = Vec::with_capacity(file.rules.len());
    for (i, entry) in file.rules.into_iter().enumerate() {
        let at = format!("rules[{i}]");
        let claim = match (entry.claim, entry.claim_pointer) {
            (Some(name), None) if !name.is_empty() => Claim::Name(name),
            (None, Some(pointer)) => Claim::Pointer(pointer_tokens(&pointer).with_context(|| format!("at {at}.claimPointer"))?),
            (Some(_), None) => bail!("at {at}.claim: the claim name is empty"),
            (Some(_), Some(_)) => bail!("at {at}: give `claim` or `claimPointer`, not both"),
            (None, None) => bail!("at {at}: give `claim` (a top-level claim name) or `claimPointer` (a JSON pointer like /realm_access/roles)"),
        };
        if entry.values.is_empty() {
            bail!("at {at}.values: list at least one claim value");
        }
        for (j, v) in entry.values.iter().enumerate() {
            if v.is_empty() {
                bail!("at {at}.values[{j}]: a claim value is empty");
            }
        }
        for (j, s) in entry.stores.iter().enumerate() {
            store_key(s).with_context(|| format!("at {at}.stores[{j}]"))?;
        }
        for (j, p) in entry.projects.iter().enumerate() {
            project(p).with_context(|| format!("at {at}.projects[{j}]"))?;
        }
        if entry.operations.is_empty() {
            bail!("at {at}.operations: list at least one operation or group (read, download, upload, jobs, all)");
        }
        let mut operations = HashSet::new();
        for (j, name) in entry.operations.iter().enumerate() {
            let ops = operations_named(name).with_context(|| format!("at {at}.operations[{j}]"))?;
            operations.extend(ops);
        }
        let label = match &entry.name {
            Some(n) if !n.trim().is_empty() => format!("{n:?}"),
            _ => at.clone(),
        };
        let jobs = job_grants(&entry.jobs, &format!("{at}.jobs"), &mut roles)?;
        let mut job_grants = JobGrants::default();
        for (store, mut rules) in jobs.by_store {
            if entry.name.as_deref().is_some_and(|n| !n.trim().is_empty()) {
                rules.rule = format!("{label} ({})", rules.rule);
            }
            job_grants.by_store.insert(store, rules);
        }
        rules.push(Rule {
            label,
            claim,
            values: entry.values.into_iter().collect(),
            stores: entry.stores,
            projects: entry.projects,
            operations,
            jobs: job_grants,
        });
    }
    Ok(AccessPolicy { keep_token_claims: matches!(file.token_claims, TokenClaims::Keep), jobs, rules })
}

fn job_grants(entries: &BTreeMap<String, JobsEntry>, at: &str, roles: &mut HashMap<String, (String, String)>) -> anyhow::Result<JobGrants> {
    let mut grants = JobGrants::default();
    for (store, entry) in entries {
        let here = format!("{at}.{store:?}");
        store_key(store).with_context(|| format!("at {at}: key {store:?}"))?;
        role_arn(&entry.role_arn).with_context(|| format!("at {here}.roleArn"))?;
        if let Some((other, where_)) = roles.get(store) {
            if *other != entry.role_arn {
                bail!("at {here}.roleArn: sequence store {store} already has another role at {where_}; one store has one job role");
            }
        } else {
            roles.insert(store.clone(), (entry.role_arn.clone(), format!("{here}.roleArn")));
        }
        if entry.export_prefixes.is_empty() && entry.import_prefixes.is_empty() {
            bail!("at {here}: give exportPrefixes and/or importPrefixes (s3://bucket/folder/)");
        }
        for (field, list) in [("exportPrefixes", &entry.export_prefixes), ("importPrefixes", &entry.import_prefixes)] {
            for (j, p) in list.iter().enumerate() {
                if let Some(why) = s3::problem(p, true) {
                    bail!("at {here}.{field}[{j}]: {p:?} {why}");
                }
            }
        }
        grants.by_store.insert(
            store.clone(),
            JobRules {
                role_arn: Some(entry.role_arn.clone()),
                export_prefixes: entry.export_prefixes.clone(),
                import_prefixes: entry.import_prefixes.clone(),
                rule: here,
            },
        );
    }
    Ok(grants)
}

/// A store ID (10 to 36 digits, as HealthOmics has them) or `"*"`.
fn store_key(s: &str) -> anyhow::Result<()> {
    if s == "*" || ((10..=36).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())) {
        Ok(())
    } else {
        bail!("{s:?} is not a sequence store ID (10 to 36 digits) or \"*\"")
    }
}

/// A Seven Bridges project (`owner/project`) or `"*"`.
fn project(p: &str) -> anyhow::Result<()> {
    let ok = p == "*"
        || (p.len() <= 256
            && p.split_once('/').is_some_and(|(owner, name)| !owner.is_empty() && !name.is_empty() && !name.contains('/'))
            && p.chars().all(|c| c.is_ascii_graphic() && c != '*'));
    if ok {
        Ok(())
    } else {
        bail!("{p:?} is not a Seven Bridges project (owner/project) or \"*\"")
    }
}

/// `arn:aws:iam::<12 digits>:role/<path/name>` (also the aws-cn and aws-us-gov partitions).
fn role_arn(arn: &str) -> anyhow::Result<()> {
    let ok = ["arn:aws:iam::", "arn:aws-cn:iam::", "arn:aws-us-gov:iam::"].iter().any(|p| {
        arn.strip_prefix(p).and_then(|rest| rest.split_once(":role/")).is_some_and(|(account, name)| {
            account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && !name.is_empty()
                && name.len() <= 576
                && !name.ends_with('/')
                && !name.contains("//")
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b))
        })
    });
    if ok {
        Ok(())
    } else {
        bail!("{arn:?} is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)")
    }
}

/// The reference tokens of an RFC 6901 JSON pointer (`/a/b~1c` -> `a`, `b/c`).
fn pointer_tokens(pointer: &str) -> anyhow::Result<Vec<String>> {
    let Some(rest) = pointer.strip_prefix('/') else {
        bail!("{pointer:?} is not a JSON pointer (it starts with `/`, like /realm_access/roles)");
    };
    rest.split('/')
        .map(|t| {
            let mut out = String::new();
            let mut chars = t.chars();
            while let Some(c) = chars.next() {
                match (c, c == '~') {
                    (_, true) => match chars.next() {
                        Some('0') => out.push('~'),
                        Some('1') => out.push('/'),
                        _ => bail!("{pointer:?}: `~` must be followed by 0 or 1 (RFC 6901)"),
                    },
                    (c, false) => out.push(c),
                }
            }
            if out.is_empty() {
                bail!("{pointer:?} has an empty token");
            }
            Ok(out)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::super::policy::Operation;
    use super::*;

    fn err(text: &str) -> String {
        format!("{:#}", parse(text, false).expect_err(text))
    }

    #[test]
    fn an_empty_policy_is_valid() {
        let p = parse("{}", false).unwrap();
        assert!(p.rules.is_empty() && p.jobs.by_store.is_empty() && p.keep_token_claims);
    }

    #[test]
    fn unknown_keys_are_refused_with_their_path() {
        assert!(err(r#"{"rulez": []}"#).contains("unknown field `rulez`"));
        let e = err(r#"{"rules": [{"claim": "groups", "values": ["a"], "operations": ["read"], "store": ["1234567890"]}]}"#);
        assert!(e.contains("at rules[0]") && e.contains("unknown field `store`"), "{e}");
        let e = err(r#"{"jobs": {"1234567890": {"roleArn": "arn:aws:iam::123456789012:role/x", "exportPrefixes": ["s3://abc/x/"], "role": "x"}}}"#);
        assert!(e.contains("at jobs.1234567890") && e.contains("unknown field `role`"), "{e}");
        assert!(err(r#"{"tokenClaims": "merge"}"#).contains("at tokenClaims"));
    }

    #[test]
    fn bad_values_are_refused_with_their_path() {
        let rule = |extra: &str| format!(r#"{{"rules": [{{"claim": "groups", "values": ["a"], "operations": ["read"]{extra}}}]}}"#);
        let cases = [
            (rule(r#", "stores": ["123"]"#), "at rules[0].stores[0]", "not a sequence store ID"),
            (rule(r#", "stores": ["12345678901234567890123456789012345678"]"#), "at rules[0].stores[0]", "10 to 36 digits"),
            (rule(r#", "projects": ["no-slash"]"#), "at rules[0].projects[0]", "owner/project"),
            (r#"{"rules": [{"claim": "groups", "values": ["a"], "operations": ["read", "DeleteReadSet"]}]}"#.into(), "at rules[0].operations[1]", "DeleteReadSet"),
            (r#"{"rules": [{"claim": "groups", "values": [], "operations": ["read"]}]}"#.into(), "at rules[0].values", "at least one"),
            (r#"{"rules": [{"claim": "groups", "values": ["a"], "operations": []}]}"#.into(), "at rules[0].operations", "at least one"),
            (r#"{"rules": [{"values": ["a"], "operations": ["read"]}]}"#.into(), "at rules[0]", "claimPointer"),
            (r#"{"rules": [{"claim": "a", "claimPointer": "/a", "values": ["a"], "operations": ["read"]}]}"#.into(), "at rules[0]", "not both"),
            (r#"{"rules": [{"claimPointer": "realm_access.roles", "values": ["a"], "operations": ["read"]}]}"#.into(), "at rules[0].claimPointer", "JSON pointer"),
            (r#"{"rules": [{"claimPointer": "/a~2b", "values": ["a"], "operations": ["read"]}]}"#.into(), "at rules[0].claimPointer", "RFC 6901"),
            (rule(r#", "jobs": {"1234567890": {"roleArn": "arn:aws:iam::1234:role/x", "exportPrefixes": ["s3://abc/x/"]}}"#), "at rules[0].jobs.\"1234567890\".roleArn", "IAM role ARN"),
            (rule(r#", "jobs": {"1234567890": {"roleArn": "arn:aws:s3:::bucket", "exportPrefixes": ["s3://abc/x/"]}}"#), "roleArn", "IAM role ARN"),
            (rule(r#", "jobs": {"1234567890": {"roleArn": "arn:aws:iam::123456789012:role/x", "exportPrefixes": ["s3://abc/x"]}}"#), "at rules[0].jobs.\"1234567890\".exportPrefixes[0]", "does not end with `/`"),
            (rule(r#", "jobs": {"1234567890": {"roleArn": "arn:aws:iam::123456789012:role/x", "importPrefixes": ["s3://abc/a/../b/"]}}"#), "importPrefixes[0]", "`..`"),
            (rule(r#", "jobs": {"1234567890": {"roleArn": "arn:aws:iam::123456789012:role/x"}}"#), "at rules[0].jobs.\"1234567890\"", "exportPrefixes and/or importPrefixes"),
            (rule(r#", "jobs": {"12": {"roleArn": "arn:aws:iam::123456789012:role/x", "exportPrefixes": ["s3://abc/x/"]}}"#), "at rules[0].jobs: key \"12\"", "sequence store ID"),
        ];
        for (text, at, why) in cases {
            let e = err(&text);
            assert!(e.contains(at) && e.contains(why), "{text}\n -> {e}");
        }
    }

    #[test]
    fn two_roles_for_one_store_are_refused() {
        let e = err(
            r#"{"jobs": {"1234567890": {"roleArn": "arn:aws:iam::123456789012:role/a", "exportPrefixes": ["s3://abc/x/"]}},
                "rules": [{"claim": "groups", "values": ["g"], "operations": ["jobs"],
                           "jobs": {"1234567890": {"roleArn": "arn:aws:iam::123456789012:role/b", "exportPrefixes": ["s3://abc/y/"]}}}]}"#,
        );
        assert!(e.contains("at rules[0].jobs.\"1234567890\".roleArn") && e.contains("jobs.\"1234567890\".roleArn"), "{e}");
    }

    #[test]
    fn toml_is_read_with_the_same_keys_and_checks() {
        let p = parse(
            r#"
tokenClaims = "ignore"
[jobs."1234567890"]
roleArn = "arn:aws:iam::123456789012:role/omics-jobs"
exportPrefixes = ["s3://exports-bucket/portal/"]

[[rules]]
name = "lab A"
claim = "cognito:groups"
values = ["lab-a"]
stores = ["1234567890"]
operations = ["read", "upload", "StartReadSetExportJob"]
"#,
            true,
        )
        .unwrap();
        assert!(!p.keep_token_claims);
        assert_eq!(p.rules.len(), 1);
        assert!(p.rules[0].operations.contains(&Operation::StartReadSetExportJob));
        assert_eq!(p.jobs.by_store["1234567890"].export_prefixes, vec!["s3://exports-bucket/portal/".to_string()]);
        let e = format!("{:#}", parse("[[rules]]\nclaim = \"groups\"\nvalues = [\"a\"]\noperations = [\"read\"]\nextra = 1\n", true).unwrap_err());
        assert!(e.contains("at rules[0]") && e.contains("unknown field `extra`"), "{e}");
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.json");
        std::fs::write(&path, r#"{"rules": [{"claim": "groups", "values": ["a"], "operations": ["read"], "stores": ["x"]}]}"#).unwrap();
        let e = format!("{:#}", load(&path).unwrap_err());
        assert!(e.contains(&format!("policy file {}", path.display())) && e.contains("rules[0].stores[0]"), "{e}");
        let e = format!("{:#}", load(&dir.path().join("missing.toml")).unwrap_err());
        assert!(e.contains("cannot read the policy file"), "{e}");
    }

    #[test]
    fn json_pointers_unescape() {
        assert_eq!(pointer_tokens("/realm_access/roles").unwrap(), vec!["realm_access", "roles"]);
        assert_eq!(pointer_tokens("/https:~1~1portal.example~1roles").unwrap(), vec!["https://portal.example/roles"]);
        assert_eq!(pointer_tokens("/a~0b").unwrap(), vec!["a~b"]);
        assert!(pointer_tokens("/a//b").is_err());
    }
}
