//! Per-tenant ledger: append-only, hash-chained, each entry signed.

use ed25519_dalek::{Signer, SigningKey};
use paybond_kit::digest::canonical_json;
use serde_json::{json, Map, Value};

/// Schema version of entries and pages.
pub const LEDGER_SCHEMA_VERSION: u32 = 1;

/// One tenant's ledger.
#[derive(Default, Debug)]
pub struct Ledger {
    /// Entries, `seq` 1.. in order.
    pub entries: Vec<Value>,
}

/// The commitment of an entry: BLAKE3(prev commitment bytes || canonical JSON of the entry without
/// `entry_commitment_hex` and `signature_hex`).
pub fn entry_commitment(prev: &[u8; 32], entry: &Map<String, Value>) -> [u8; 32] {
    let mut body = entry.clone();
    body.remove("entry_commitment_hex");
    body.remove("signature_hex");
    let mut h = blake3::Hasher::new();
    h.update(prev);
    h.update(&canonical_json(&Value::Object(body)));
    *h.finalize().as_bytes()
}

fn hex32(v: Option<&Value>) -> [u8; 32] {
    let mut out = [0u8; 32];
    if let Some(s) = v.and_then(Value::as_str) {
        let _ = hex::decode_to_slice(s, &mut out);
    }
    out
}

impl Ledger {
    /// The last entry's commitment (zeros when empty).
    pub fn tip_commitment(&self) -> [u8; 32] {
        hex32(
            self.entries
                .last()
                .and_then(|e| e.get("entry_commitment_hex")),
        )
    }

    /// Appends `data` as a new entry of `kind`; returns the stored entry.
    pub fn append(&mut self, tenant_id: &str, kind: &str, data: Value, key: &SigningKey) -> Value {
        let prev = self.tip_commitment();
        let seq = self.entries.len() as u64 + 1;
        let mut entry = Map::new();
        entry.insert("schema_version".into(), LEDGER_SCHEMA_VERSION.into());
        entry.insert("seq".into(), seq.into());
        entry.insert("tenant_id".into(), tenant_id.into());
        entry.insert("kind".into(), kind.into());
        entry.insert(
            "recorded_at".into(),
            paybond_kit::evidence::now_rfc3339().into(),
        );
        entry.insert("prev_commitment_hex".into(), hex::encode(prev).into());
        entry.insert("data".into(), data);
        let c = entry_commitment(&prev, &entry);
        entry.insert("entry_commitment_hex".into(), hex::encode(c).into());
        entry.insert(
            "signature_hex".into(),
            hex::encode(key.sign(&c).to_bytes()).into(),
        );
        let v = Value::Object(entry);
        self.entries.push(v.clone());
        v
    }

    /// RFC 6962-style Merkle root over entry commitments (BLAKE3, 0x00 leaf / 0x01 node prefixes).
    pub fn merkle_root(&self) -> Option<[u8; 32]> {
        if self.entries.is_empty() {
            return None;
        }
        let mut level: Vec<[u8; 32]> = self
            .entries
            .iter()
            .map(|e| {
                let mut h = blake3::Hasher::new();
                h.update(&[0]);
                h.update(&hex32(e.get("entry_commitment_hex")));
                *h.finalize().as_bytes()
            })
            .collect();
        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|p| {
                    if p.len() == 1 {
                        return p[0];
                    }
                    let mut h = blake3::Hasher::new();
                    h.update(&[1]);
                    h.update(&p[0]);
                    h.update(&p[1]);
                    *h.finalize().as_bytes()
                })
                .collect();
        }
        Some(level[0])
    }

    /// `GET /ledger/v1/merkle/latest` checkpoint.
    pub fn checkpoint(&self, key: &SigningKey) -> Value {
        match self.merkle_root() {
            None => Value::Null,
            Some(root) => {
                let size = self.entries.len() as u64;
                let mut msg = Vec::with_capacity(40);
                msg.extend_from_slice(&size.to_le_bytes());
                msg.extend_from_slice(&root);
                json!({
                    "tree_size": size,
                    "root_hex": hex::encode(root),
                    "signature_hex": hex::encode(key.sign(&msg).to_bytes()),
                    "signed_message": "u64 le tree_size || root",
                })
            }
        }
    }
}

/// Checks chain continuity of consecutive entries (used by tests and tools).
pub fn verify_chain(
    entries: &[Value],
    mut prev: [u8; 32],
    key: &ed25519_dalek::VerifyingKey,
) -> Result<[u8; 32], String> {
    use ed25519_dalek::Verifier;
    for e in entries {
        let m = e.as_object().ok_or("entry is not an object")?;
        if hex32(m.get("prev_commitment_hex")) != prev {
            return Err(format!(
                "seq {:?}: prev_commitment_hex breaks the chain",
                m.get("seq")
            ));
        }
        let c = entry_commitment(&prev, m);
        if hex32(m.get("entry_commitment_hex")) != c {
            return Err(format!("seq {:?}: commitment mismatch", m.get("seq")));
        }
        let mut sig = [0u8; 64];
        hex::decode_to_slice(
            m.get("signature_hex").and_then(Value::as_str).unwrap_or(""),
            &mut sig,
        )
        .map_err(|_| "bad signature hex")?;
        key.verify(&c, &ed25519_dalek::Signature::from_bytes(&sig))
            .map_err(|_| "bad entry signature")?;
        prev = c;
    }
    Ok(prev)
}
