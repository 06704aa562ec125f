//! Strict JSON for bodies a policy reads: a document with a key given twice in one object is
//! refused, since two parsers (the proxy's and the service's) may pick different copies.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::error::ProxyError;

/// Deepest nesting accepted (the bodies the proxy forwards are a few levels deep).
const MAX_DEPTH: usize = 64;

/// Checks that `body` is one JSON document with no key repeated in any object (and nested no
/// deeper than 64 levels). Errors are 400s a caller can act on.
pub fn check_strict(body: &[u8]) -> Result<(), ProxyError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    Strict { depth: 0 }.deserialize(&mut de).and_then(|()| de.end()).map_err(|e| {
        let text = e.to_string();
        ProxyError::Validation(if let Some(key) = text.strip_prefix("duplicate key ") {
            format!("the JSON body gives the key {} more than once", key.split(" at line").next().unwrap_or(key))
        } else if text.starts_with("nested too deep") {
            format!("the JSON body is nested deeper than {MAX_DEPTH} levels")
        } else {
            "the request body is not valid JSON".into()
        })
    })
}

struct Strict {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let depth = deeper::<A::Error>(self.depth)?;
        while seq.next_element_seed(Strict { depth })?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let depth = deeper::<A::Error>(self.depth)?;
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format_args!("duplicate key {key:?}")));
            }
            map.next_value_seed(Strict { depth })?;
        }
        Ok(())
    }
}

fn deeper<E: de::Error>(depth: usize) -> Result<usize, E> {
    if depth >= MAX_DEPTH {
        Err(E::custom("nested too deep"))
    } else {
        Ok(depth + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_at_any_depth_are_refused_by_name() {
        let e = check_strict(br#"{"roleArn":"a","roleArn":"b"}"#).unwrap_err();
        assert_eq!(e.message(), r#"the JSON body gives the key "roleArn" more than once"#);
        let e = check_strict(br#"{"sources":[{"sourceFiles":{"source1":"s3://a/","source1":"s3://b/"}}]}"#).unwrap_err();
        assert!(e.message().contains("\"source1\""), "{e}");
        // Escapes that decode to the same key are the same key.
        assert!(check_strict(br#"{"a":1,"\u0061":2}"#).is_err());
    }

    #[test]
    fn ordinary_bodies_pass_and_garbage_is_a_plain_400() {
        check_strict(br#"{"a":1,"b":[1,2,{"a":2}],"c":{"a":null}}"#).unwrap();
        check_strict(b"[]").unwrap();
        assert_eq!(check_strict(b"{\"a\":1} x").unwrap_err().message(), "the request body is not valid JSON");
        assert_eq!(check_strict(b"{").unwrap_err().status().as_u16(), 400);
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(check_strict(deep.as_bytes()).unwrap_err().message().contains("deeper"));
    }
}
