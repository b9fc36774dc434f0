//! Canonical JSON digest (BLAKE3-256 over compact JSON with keys sorted by
//! UTF-8 bytes, recursively) and the artifacts digest.
//!
//! The canonical form is written here explicitly rather than relying on
//! `serde_json::Map` ordering, so a dependency enabling `preserve_order`
//! can never change the signed bytes.

use crate::error::{Error, Result};
use serde_json::Value;

/// Writes the canonical compact JSON of `value` into `out`.
pub fn write_canonical_json(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                // Serializing a str into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *out, k);
                out.push(b':');
                write_canonical_json(v, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical_json(v, out);
            }
            out.push(b']');
        }
        scalar => {
            let _ = serde_json::to_writer(&mut *out, scalar);
        }
    }
}

/// The canonical compact JSON of `value`.
pub fn canonical_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    write_canonical_json(value, &mut out);
    out
}

/// BLAKE3-256 of the canonical JSON of `value`.
pub fn json_value_digest(value: &Value) -> [u8; 32] {
    *blake3::hash(&canonical_json(value)).as_bytes()
}

/// Parses one artifact digest: 64 hex digits, optional `0x`, any case.
pub fn parse_artifact_hex(raw: &str) -> Result<[u8; 32]> {
    let s = raw
        .strip_prefix("0x")
        .or_else(|| raw.strip_prefix("0X"))
        .unwrap_or(raw);
    let mut out = [0u8; 32];
    if s.len() != 64 {
        return Err(Error::invalid_argument(
            "artifacts_blake3_hex",
            format!(
                "expected 64 hex digits (optionally 0x-prefixed), got {} characters",
                s.len()
            ),
        ));
    }
    hex::decode_to_slice(s, &mut out)
        .map_err(|e| Error::invalid_argument("artifacts_blake3_hex", format!("not hex: {e}")))?;
    Ok(out)
}

/// BLAKE3 of the concatenated raw 32-byte artifact digests (empty list: BLAKE3 of nothing).
pub fn artifacts_digest(artifacts: &[[u8; 32]]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    for a in artifacts {
        h.update(a);
    }
    *h.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_by_bytes_recursively() {
        let v = json!({"b": 1, "a": [{"z": 1, "y": 2}], "10": 0, "2": 0});
        assert_eq!(
            String::from_utf8(canonical_json(&v)).unwrap(),
            r#"{"10":0,"2":0,"a":[{"y":2,"z":1}],"b":1}"#
        );
    }

    #[test]
    fn artifact_hex_forms() {
        let a = parse_artifact_hex(&format!("0x{}", "AB".repeat(32))).unwrap();
        assert_eq!(a, [0xab; 32]);
        assert!(parse_artifact_hex("abc").is_err());
        assert_eq!(artifacts_digest(&[]), *blake3::hash(b"").as_bytes());
    }
}
