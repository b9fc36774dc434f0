//! [`Secret`]: a string that never prints.

use std::fmt;

/// An API key, JWT, capability token or seed. `Debug` and `Display` print
/// `***`; the value is only reachable through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The wrapped value. Call sites are the only places a secret leaves its box.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the wrapped value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Best effort: overwrite the bytes before the allocation is freed.
        // SAFETY: writing zero bytes keeps the string valid UTF-8.
        unsafe {
            self.0
                .as_bytes_mut()
                .iter_mut()
                .for_each(|b| std::ptr::write_volatile(b, 0))
        };
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn never_prints() {
        let s = Secret::new("paybond_sk_x");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        assert_eq!(s.expose(), "paybond_sk_x");
    }
}

/// Shortest prefix of a known secret that is scrubbed on its own.
pub const MIN_SECRET_PREFIX: usize = 16;
/// Most capability tokens a session remembers for redaction (oldest dropped first).
const MAX_REMEMBERED: usize = 512;

/// Every secret a session holds (API key, current and previous JWTs,
/// capability tokens it was given, seeds), so that text leaving the core can
/// be scrubbed *by value*: the raw form, its JSON-escaped and percent-encoded
/// forms, and any run of [`MIN_SECRET_PREFIX`] or more of their leading
/// characters. Pattern redaction ([`crate::error::redact`]) stays as the
/// second net.
#[derive(Default)]
pub struct SecretSet {
    // Needles are the searchable forms of each secret; kept in insertion order.
    inner: parking_lot::RwLock<Vec<Needles>>,
}

impl fmt::Debug for SecretSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretSet({} secrets)", self.inner.read().len())
    }
}

struct Needles {
    raw: String,
    forms: Vec<String>,
}

const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn forms_of(raw: &str) -> Vec<String> {
    let mut forms = vec![raw.to_owned()];
    let json_escaped = raw.replace('/', "\\/");
    let json_encoded = serde_json::to_string(raw)
        .map(|s| s[1..s.len() - 1].to_owned())
        .unwrap_or_default();
    let pct: String =
        percent_encoding::utf8_percent_encode(raw, percent_encoding::NON_ALPHANUMERIC).to_string();
    let pct_lower: String = pct_lower_hex(&pct);
    // What encodeURIComponent / urllib.parse.quote write: unreserved characters kept.
    let pct_component = percent_encoding::utf8_percent_encode(raw, COMPONENT).to_string();
    let pct_component_lower = pct_lower_hex(&pct_component);
    for f in [
        json_escaped,
        json_encoded,
        pct,
        pct_lower,
        pct_component,
        pct_component_lower,
    ] {
        if !f.is_empty() && !forms.contains(&f) {
            forms.push(f);
        }
    }
    forms
}

fn pct_lower_hex(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push('%');
            out.push((b[i + 1] as char).to_ascii_lowercase());
            out.push((b[i + 2] as char).to_ascii_lowercase());
            i += 3;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

impl SecretSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Remembers `value` (ignored when shorter than [`MIN_SECRET_PREFIX`] or already known).
    pub fn add(&self, value: &str) {
        if value.chars().count() < MIN_SECRET_PREFIX {
            return;
        }
        if self.inner.read().iter().any(|n| n.raw == value) {
            return;
        }
        let mut inner = self.inner.write();
        if inner.iter().any(|n| n.raw == value) {
            return;
        }
        if inner.len() >= MAX_REMEMBERED {
            // Keep the first entries (API key, first JWT): they are the long-lived ones.
            let oldest_token = 4.min(inner.len() - 1);
            inner.remove(oldest_token);
        }
        inner.push(Needles {
            raw: value.to_owned(),
            forms: forms_of(value),
        });
    }

    /// Remembers a 32-byte seed by its hex forms.
    pub fn add_seed(&self, seed: &[u8; 32]) {
        let h = hex::encode(seed);
        self.add(&h.to_ascii_uppercase());
        self.add(&h);
    }

    /// Whether `text` contains anything this set would scrub.
    pub fn leaks(&self, text: &str) -> bool {
        self.scrub(text) != text
    }

    /// `text` with every known secret (any form, any 16+ character prefix) replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        let inner = self.inner.read();
        if inner.is_empty() || text.len() < MIN_SECRET_PREFIX {
            return text.to_owned();
        }
        let bytes = text.as_bytes();
        // Mark every byte covered by a match, then rebuild the text.
        let mut hit: Vec<bool> = Vec::new();
        for needles in inner.iter() {
            for form in &needles.forms {
                let f = form.as_bytes();
                if f.len() < MIN_SECRET_PREFIX {
                    continue;
                }
                let head = &form[..floor_boundary(form, MIN_SECRET_PREFIX)];
                let mut from = 0;
                while let Some(pos) = text[from..].find(head) {
                    let start = from + pos;
                    let mut len = head.len();
                    while start + len < bytes.len() && len < f.len() && bytes[start + len] == f[len]
                    {
                        len += 1;
                    }
                    if hit.is_empty() {
                        hit = vec![false; bytes.len()];
                    }
                    hit[start..start + len].iter_mut().for_each(|h| *h = true);
                    from = start + 1;
                    while !text.is_char_boundary(from) {
                        from += 1;
                    }
                }
            }
        }
        if hit.is_empty() {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        while i < bytes.len() {
            if hit[i] {
                out.push_str("***");
                while i < bytes.len() && hit[i] {
                    i += 1;
                }
                while i < bytes.len() && !text.is_char_boundary(i) {
                    i += 1;
                }
            } else {
                let ch = text[i..].chars().next().unwrap_or(' ');
                out.push(ch);
                i += ch.len_utf8().max(1);
            }
        }
        out
    }
}

fn floor_boundary(s: &str, mut n: usize) -> usize {
    n = n.min(s.len());
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    n
}

#[cfg(test)]
mod set_tests {
    use super::*;

    #[test]
    fn scrubs_every_form_and_prefix() {
        let set = SecretSet::new();
        let tok = "En0KEwoE/abc+def=ghiJKLmnopQRSTuvwx/yz0123456789";
        set.add(tok);
        let cases = [
            format!("x {tok}. y"),
            format!("access_token={tok}"),
            tok.replace('/', "\\/"),
            percent_encoding::utf8_percent_encode(tok, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
            tok[..20].to_string(),
            format!("\"{}\"", &tok[..30]),
        ];
        for c in cases {
            let s = set.scrub(&c);
            assert!(!s.contains(&tok[..MIN_SECRET_PREFIX]), "{c} -> {s}");
            assert!(s.contains("***"), "{c} -> {s}");
        }
        assert_eq!(
            set.scrub("nothing secret here at all"),
            "nothing secret here at all"
        );
        set.add_seed(&[0xab; 32]);
        assert!(!set.scrub(&"ab".repeat(32)).contains("abab"));
        assert!(!set.scrub(&"AB".repeat(32)).contains("ABAB"));
    }
}

/// Serde: writes an optional secret's value (for hand-off to typed host objects).
pub fn serialize_exposed<S: serde::Serializer>(
    v: &Option<Secret>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match v {
        Some(x) => s.serialize_some(x.expose()),
        None => s.serialize_none(),
    }
}

/// Serde: reads an optional secret.
pub fn deserialize_opt<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Secret>, D::Error> {
    let v: Option<String> = serde::Deserialize::deserialize(d)?;
    Ok(v.map(Secret::new))
}
