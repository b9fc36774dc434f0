//! Strict JSON for everything that comes off the wire.
//!
//! `serde_json::from_slice::<Value>` keeps the *last* of duplicate keys, so
//! `{"allow":false,"allow":true}` would read as an allow. [`parse_strict`]
//! builds the same `Value` but refuses a duplicate key at any depth. Keys are
//! compared after unescaping (serde_json hands the visitor unescaped keys), so
//! `"\u0061llow"` collides with `"allow"`. Everything else is serde_json's
//! own grammar: no BOM, no `NaN`, no trailing data, numbers out of `f64`
//! range refused, nesting limited to 128 levels (no stack overflow).

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Why a body is not acceptable JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError(pub String);

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses `bytes` as one JSON document, refusing duplicate object keys.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, JsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = StrictValue
        .deserialize(&mut de)
        .map_err(|e| JsonError(e.to_string()))?;
    de.end().map_err(|e| JsonError(e.to_string()))?;
    Ok(v)
}

/// Parses `text` as one JSON document, refusing duplicate object keys.
pub fn parse_strict_str(text: &str) -> Result<Value, JsonError> {
    parse_strict(text.as_bytes())
}

struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number is not finite"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        StrictValue.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element_seed(StrictValue)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate key {:?}",
                    truncate_key(&key)
                )));
            }
            let v = map.next_value_seed(StrictValue)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

fn truncate_key(k: &str) -> String {
    k.chars().take(64).collect()
}

/// Whether `value` holds a floating-point number anywhere.
pub fn has_float(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.is_f64(),
        Value::Array(a) => a.iter().any(has_float),
        Value::Object(m) => m.values().any(has_float),
        _ => false,
    }
}

/// Serializes `value` (as it will go on the wire) and parses that text back
/// the way Harbor does (serde_json's default number parser). Payload
/// digests are taken from the result so that signer and verifier digest the
/// same numbers, even where the default float parser is not correctly
/// rounded.
pub fn as_harbor_reads(value: &Value) -> Value {
    // Serializing a Value cannot fail, and the text it writes is valid JSON
    // that serde_json reads back; fall back to the value itself defensively.
    match serde_json::to_vec(value) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|_| value.clone()),
        Err(_) => value.clone(),
    }
}

/// Parses a caller's payload given as JSON text (what the Node package
/// sends: `JSON.stringify` keeps integers above 2^32 integers, which a
/// number-by-number conversion would turn into floats). The text is judged
/// strictly first (duplicate keys refused, serde_json's grammar and depth
/// limit); then every number is read *exactly* (the double nearest its
/// decimal, as JavaScript, Python and Rust's `str::parse` read it), so the
/// value is the caller's own, whatever serde_json's default float parser
/// would make of the text. Errors name `field`.
pub fn parse_payload_text(field: &str, text: &str) -> crate::Result<Value> {
    let bad =
        |e: String| crate::Error::invalid_argument(field, format!("expected JSON text ({e})"));
    parse_strict_str(text).map_err(|e| bad(e.0))?;
    let raw: &serde_json::value::RawValue =
        serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    exact_value(raw).map_err(bad)
}

fn exact_value(raw: &serde_json::value::RawValue) -> Result<Value, String> {
    use serde_json::value::RawValue;
    let s = raw.get();
    match s.as_bytes().first() {
        Some(b'{') => {
            let m: std::collections::BTreeMap<String, &RawValue> =
                serde_json::from_str(s).map_err(|e| e.to_string())?;
            m.into_iter()
                .map(|(k, v)| exact_value(v).map(|v| (k, v)))
                .collect::<Result<Map<_, _>, _>>()
                .map(Value::Object)
        }
        Some(b'[') => {
            let a: Vec<&RawValue> = serde_json::from_str(s).map_err(|e| e.to_string())?;
            a.into_iter()
                .map(exact_value)
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        Some(b'-' | b'0'..=b'9') => {
            if !s.contains(['.', 'e', 'E']) {
                if let Ok(u) = s.parse::<u64>() {
                    return Ok(Value::from(u));
                }
                if let Ok(i) = s.parse::<i64>() {
                    return Ok(Value::from(i));
                }
            }
            let f: f64 = s.parse().map_err(|_| format!("unreadable number {s:?}"))?;
            Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| format!("number out of range: {s}"))
        }
        _ => serde_json::from_str(s).map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_duplicates_at_any_depth_after_unescaping() {
        for bad in [
            r#"{"allow":false,"allow":true}"#,
            r#"{"allow":false,"\u0061llow":true}"#,
            r#"{"a":[{"x":1,"x":2}]}"#,
            r#"{"a":{"b":{"c":1,"c":1}}}"#,
        ] {
            let e = parse_strict(bad.as_bytes()).unwrap_err();
            assert!(e.0.contains("duplicate key"), "{bad}: {e}");
        }
        assert_eq!(
            parse_strict(br#"{"a":1,"b":[1,2.5,null,"x",{"c":true}]}"#).unwrap(),
            serde_json::json!({"a":1,"b":[1,2.5,null,"x",{"c":true}]})
        );
    }

    #[test]
    fn refuses_oddities() {
        let deep = "[".repeat(100_000);
        for bad in [
            &b"\xEF\xBB\xBF{}"[..],
            b"{} {}",
            b"NaN",
            b"{\"a\":1e400}",
            b"",
            b"{\"a\":\"\xff\"}",
            deep.as_bytes(),
        ] {
            assert!(
                parse_strict(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn payload_text_numbers_are_read_exactly() {
        for text in [
            "9.815849654550425e-05",
            "0.0072108223809406215",
            "1e-7",
            "1700000000000",
            "-0.0",
            "2.5e300",
        ] {
            let v = parse_payload_text("payload", &format!("{{\"x\":{text}}}")).unwrap();
            let want: f64 = text.parse().unwrap();
            assert_eq!(v["x"].as_f64().unwrap().to_bits(), want.to_bits(), "{text}");
        }
        let v = parse_payload_text("payload", "{\"ts\":1700000000000}").unwrap();
        assert!(v["ts"].is_u64());
        let e = parse_payload_text("payloadJson", "{\"a\":1,\"a\":2}").unwrap_err();
        assert!(e.to_string().contains("payloadJson") && e.to_string().contains("duplicate"));
    }

    #[test]
    fn harbor_reading_is_stable() {
        let v = serde_json::json!({"x": 9.815849654550425e-05, "y": 0.0072108223809406215});
        let once = as_harbor_reads(&v);
        let bytes = serde_json::to_vec(&v).unwrap();
        let harbor: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(once, harbor);
    }
}
