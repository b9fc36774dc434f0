//! The exact bytes that are signed (`EvidenceSignV1`, `IntentCreationSign`),
//! written out by hand so that no serialization library decides them.
//!
//! Two layouts, byte-compatible with what Harbor reads:
//! - [`Layout::Compact`] (evidence v2, intents v6): integers other than `u8`
//!   as variable-length (`< 251`: one byte; else a marker `251`/`252`/`253`
//!   and a little-endian `u16`/`u32`/`u64`), signed integers zig-zag mapped
//!   first; lengths the same way.
//! - [`Layout::Fixed`] (legacy evidence v1): integers little-endian at their
//!   full width, lengths as `u64`.
//!
//! Strings and byte strings are length-prefixed; fixed arrays (digests, keys)
//! are written as they are. The golden vectors pin every byte.

/// How integers and lengths are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Variable-length integers and lengths.
    Compact,
    /// Fixed-width little-endian integers, `u64` lengths.
    Fixed,
}

/// Appends fields to a signing buffer in one [`Layout`].
pub(crate) struct Writer {
    layout: Layout,
    out: Vec<u8>,
}

impl Writer {
    pub fn new(layout: Layout) -> Self {
        Writer {
            layout,
            out: Vec::with_capacity(256),
        }
    }

    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.out.push(v);
        self
    }

    fn varint(&mut self, v: u64) {
        if v < 251 {
            self.out.push(v as u8);
        } else if let Ok(v) = u16::try_from(v) {
            self.out.push(251);
            self.out.extend_from_slice(&v.to_le_bytes());
        } else if let Ok(v) = u32::try_from(v) {
            self.out.push(252);
            self.out.extend_from_slice(&v.to_le_bytes());
        } else {
            self.out.push(253);
            self.out.extend_from_slice(&v.to_le_bytes());
        }
    }

    fn len(&mut self, n: usize) {
        match self.layout {
            Layout::Compact => self.varint(n as u64),
            Layout::Fixed => self.out.extend_from_slice(&(n as u64).to_le_bytes()),
        }
    }

    pub fn i64(&mut self, v: i64) -> &mut Self {
        match self.layout {
            // Zig-zag: 0, -1, 1, -2, ... -> 0, 1, 2, 3, ...
            Layout::Compact => self.varint(((v << 1) ^ (v >> 63)) as u64),
            Layout::Fixed => self.out.extend_from_slice(&v.to_le_bytes()),
        }
        self
    }

    pub fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }

    /// A length-prefixed byte string (a UUID is written this way: 16 bytes).
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.len(b.len());
        self.out.extend_from_slice(b);
        self
    }

    /// A fixed-size array, no length.
    pub fn array(&mut self, b: &[u8]) -> &mut Self {
        self.out.extend_from_slice(b);
        self
    }

    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_zigzag() {
        let mut w = Writer::new(Layout::Compact);
        w.i64(0)
            .i64(-1)
            .i64(1)
            .i64(125)
            .i64(126)
            .i64(-40000)
            .i64(i64::MIN);
        assert_eq!(
            w.finish(),
            [
                vec![0, 1, 2, 250, 251, 252, 0],
                vec![252],
                79999u32.to_le_bytes().to_vec(),
                vec![253],
                u64::MAX.to_le_bytes().to_vec()
            ]
            .concat()
        );
        let mut w = Writer::new(Layout::Fixed);
        w.str("ab").i64(-2);
        assert_eq!(
            w.finish(),
            [&2u64.to_le_bytes()[..], b"ab", &(-2i64).to_le_bytes()].concat()
        );
    }
}
