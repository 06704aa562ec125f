//! JSON answers: absent optional fields are left out rather than sent as `null`.

use axum::Json;
use serde_json::Value;

/// `v` as a JSON answer with every `null` member removed (recursively).
pub fn json(v: Value) -> Json<Value> {
    Json(strip(v))
}

/// Removes `null` members from objects, recursively.
pub fn strip(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, strip(v))).collect()),
        Value::Array(a) => Value::Array(a.into_iter().map(strip).collect()),
        other => other,
    }
}
