//! The body of StartReadSetExportJob / StartReadSetImportJob, checked against the job rules of
//! its store before it is signed.
//!
//! The body is parsed, checked and serialised again, so what is forwarded is exactly what was
//! checked (a duplicated key cannot show one value here and another upstream). Only the fields
//! of the HealthOmics request syntax are accepted: a field this proxy does not know could carry a
//! location it does not check.

use bytes::Bytes;
use serde_json::{Map, Value};

use super::super::error::ProxyError;
use super::super::policy::Operation;
use super::{s3, JobRules};

const EXPORT_FIELDS: &[&str] = &["clientToken", "destination", "roleArn", "sources"];
const EXPORT_SOURCE_FIELDS: &[&str] = &["readSetId"];
const IMPORT_FIELDS: &[&str] = &["clientToken", "roleArn", "sources"];
const IMPORT_SOURCE_FIELDS: &[&str] =
    &["description", "generatedFrom", "name", "referenceArn", "sampleId", "sourceFiles", "sourceFileType", "subjectId", "tags"];
const SOURCE_FILES_FIELDS: &[&str] = &["source1", "source2"];

/// Longest caller value quoted back in a message.
const QUOTE_CHARS: usize = 120;

/// Checks an export or import body against `rules`, fills in the configured role when the body
/// names none, and returns the body to forward.
pub(super) fn check(operation: Operation, store_id: &str, rules: &JobRules, body: &[u8]) -> Result<Bytes, ProxyError> {
    let export = operation == Operation::StartReadSetExportJob;
    let rule = rule_name(rules, store_id);
    let mut object = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => o,
        _ => return Err(ProxyError::Validation(format!("{operation:?} needs a JSON object body"))),
    };
    only_fields(&object, if export { EXPORT_FIELDS } else { IMPORT_FIELDS }, "the request body")?;
    let denied = |what: String| ProxyError::AccessDenied(format!("{operation:?} is refused by {rule}: {what}"));

    let Some(role) = &rules.role_arn else {
        return Err(denied("it sets no IAM role, so jobs cannot run on this store".into()));
    };
    match object.get("roleArn") {
        None | Some(Value::Null) => {
            object.insert("roleArn".into(), Value::String(role.clone()));
        }
        Some(Value::String(asked)) if asked == role => {}
        Some(Value::String(asked)) => {
            return Err(denied(format!(
                "roleArn {} is not the role configured for sequence store {store_id}; omit roleArn and the proxy sets it",
                quote(asked)
            )))
        }
        Some(_) => return Err(ProxyError::Validation("roleArn must be a string".into())),
    }

    let sources = match object.get("sources") {
        Some(Value::Array(items)) => items,
        Some(_) => return Err(ProxyError::Validation("sources must be an array".into())),
        None => return Err(ProxyError::Validation("sources is required".into())),
    };
    if export {
        for (i, item) in sources.iter().enumerate() {
            let item = as_object(item, &format!("sources[{i}]"))?;
            only_fields(item, EXPORT_SOURCE_FIELDS, &format!("sources[{i}]"))?;
        }
        let destination = match object.get("destination") {
            Some(Value::String(d)) => d,
            Some(_) => return Err(ProxyError::Validation("destination must be a string".into())),
            None => return Err(ProxyError::Validation("destination is required".into())),
        };
        location("destination", destination, &rules.export_prefixes, "export").map_err(denied)?;
    } else {
        for (i, item) in sources.iter().enumerate() {
            let field = format!("sources[{i}]");
            let item = as_object(item, &field)?;
            only_fields(item, IMPORT_SOURCE_FIELDS, &field)?;
            let Some(files) = item.get("sourceFiles") else { continue };
            let files = as_object(files, &format!("{field}.sourceFiles"))?;
            only_fields(files, SOURCE_FILES_FIELDS, &format!("{field}.sourceFiles"))?;
            for name in SOURCE_FILES_FIELDS {
                match files.get(*name) {
                    None => {}
                    Some(Value::String(uri)) => {
                        location(&format!("{field}.sourceFiles.{name}"), uri, &rules.import_prefixes, "import").map_err(denied)?
                    }
                    Some(_) => return Err(ProxyError::Validation(format!("{field}.sourceFiles.{name} must be a string"))),
                }
            }
        }
    }
    Ok(Bytes::from(Value::Object(object).to_string()))
}

/// How messages name the rule: its label, or the store it is for.
fn rule_name(rules: &JobRules, store_id: &str) -> String {
    if rules.rule.is_empty() {
        format!("the job rules of sequence store {store_id}")
    } else {
        format!("job rule {}", rules.rule)
    }
}

fn location(field: &str, value: &str, prefixes: &[String], kind: &str) -> Result<(), String> {
    if let Some(why) = s3::problem(value, false) {
        return Err(format!("{field} {} {why}", quote(value)));
    }
    if prefixes.is_empty() {
        return Err(format!("it allows no {kind} locations"));
    }
    if s3::under(value, prefixes).is_none() {
        return Err(format!("{field} {} is outside the allowed {kind} prefixes ({})", quote(value), prefixes.join(", ")));
    }
    Ok(())
}

fn as_object<'a>(value: &'a Value, field: &str) -> Result<&'a Map<String, Value>, ProxyError> {
    value.as_object().ok_or_else(|| ProxyError::Validation(format!("{field} must be an object")))
}

fn only_fields(object: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), ProxyError> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ProxyError::Validation(format!("{what} has a field this proxy does not accept: {}", quote(k)))),
        None => Ok(()),
    }
}

/// A caller value for a message: quoted with escapes (no raw newline reaches a log), cut short.
fn quote(value: &str) -> String {
    let cut: String = value.chars().take(QUOTE_CHARS).collect();
    if cut.len() < value.len() {
        format!("{cut:?}...")
    } else {
        format!("{cut:?}")
    }
}
