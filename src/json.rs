//! JSON text to Rust values, the one way the crate reads JSON.
//!
//! In the browser the text is parsed by the engine's own `JSON.parse` and read with
//! `serde-wasm-bindgen`, which the JS API already uses for options: serde_json's parser, and
//! its own copy of every answer type's deserializer, stay out of the npm package (issue 22,
//! BENCHMARKS.md "Package size"). Natively (`cargo test`, the fuzz targets) it is serde_json.
//!
//! The two agree on everything the crate reads: objects, strings, booleans, `null` (as `None`
//! or `Value::Null`) and numbers (integers up to 2^53 exactly; every size, count and part
//! number here is below that). They differ in the wording of errors and in one corner no
//! answer the crate reads relies on: a key given twice is an error for serde_json and the last
//! value for `JSON.parse`.

use serde::de::DeserializeOwned;

/// Parses `text` as JSON into `T`; the error says what did not fit.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    imp::from_str(text)
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use serde::de::DeserializeOwned;
    use wasm_bindgen::JsCast;

    pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
        let value = js_sys::JSON::parse(text).map_err(|e| {
            e.dyn_ref::<js_sys::Error>().map_or_else(|| "not JSON".to_string(), |e| String::from(e.message()))
        })?;
        serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use serde::de::DeserializeOwned;

    pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}
