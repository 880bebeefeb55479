//! Salesforce record ids: 15 case-sensitive characters plus a 3-character checksum that makes
//! the 18-character form case-insensitive.
//!
//! The local org lays an id out as `prefix(3) + pod(2) + '0' + base62 record number(9)`, and the
//! record number is the record's slot in its table plus one. Finding a record by id is then
//! arithmetic, with no index to keep in memory.

use std::fmt;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const CHECKSUM: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// The two "pod" characters every id of this org carries.
pub const POD: &str = "RO";

/// A record id: an object key prefix and a record number, printed as 18 characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId {
    prefix: [u8; 3],
    number: u64,
}

impl RecordId {
    /// The largest record number that fits in nine base-62 digits.
    pub const MAX_NUMBER: u64 = 13_537_086_546_263_551;

    pub fn new(prefix: &str, number: u64) -> RecordId {
        let bytes = prefix.as_bytes();
        assert!(
            bytes.len() == 3 && number <= Self::MAX_NUMBER,
            "invalid id parts"
        );
        RecordId {
            prefix: [bytes[0], bytes[1], bytes[2]],
            number,
        }
    }

    /// The three-character key prefix that names the object.
    pub fn prefix(&self) -> &str {
        std::str::from_utf8(&self.prefix).unwrap_or("???")
    }

    pub fn number(&self) -> u64 {
        self.number
    }

    /// Parses a 15- or 18-character id of this org. An 18-character id must carry the right
    /// checksum (in any case); a 15-character id is case-sensitive as written.
    pub fn parse(text: &str) -> Option<RecordId> {
        let bytes = text.as_bytes();
        if !(bytes.len() == 15 || bytes.len() == 18) || !bytes.iter().all(u8::is_ascii_alphanumeric)
        {
            return None;
        }
        let id15: [u8; 15] = if bytes.len() == 18 {
            // Restore the case from the checksum, so `001ro0000000001aaa` finds the record too.
            let mut restored = [0u8; 15];
            restored.copy_from_slice(&bytes[..15]);
            for chunk in 0..3 {
                let check = bytes[15 + chunk].to_ascii_uppercase();
                let bits = CHECKSUM.iter().position(|&c| c == check)?;
                for i in 0..5 {
                    let b = &mut restored[chunk * 5 + i];
                    if bits & (1 << i) != 0 {
                        *b = b.to_ascii_uppercase();
                    } else {
                        *b = b.to_ascii_lowercase();
                    }
                }
            }
            restored
        } else {
            bytes.try_into().ok()?
        };
        if &id15[3..5] != POD.as_bytes() || id15[5] != b'0' {
            return None;
        }
        let mut number: u64 = 0;
        for &b in &id15[6..15] {
            let digit = BASE62.iter().position(|&c| c == b)? as u64;
            number = number.checked_mul(62)?.checked_add(digit)?;
        }
        Some(RecordId {
            prefix: [id15[0], id15[1], id15[2]],
            number,
        })
    }

    /// The 15-character case-sensitive form.
    pub fn to_15(&self) -> String {
        let mut out = Vec::with_capacity(15);
        self.write_15(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Writes the 18-character form into `out` without allocating.
    pub fn write_18(&self, out: &mut Vec<u8>) {
        let start = out.len();
        self.write_15(out);
        let suffix = checksum(&out[start..start + 15]);
        out.extend_from_slice(&suffix);
    }

    fn write_15(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(POD.as_bytes());
        out.push(b'0');
        let mut digits = [b'0'; 9];
        let mut n = self.number;
        for d in digits.iter_mut().rev() {
            *d = BASE62[(n % 62) as usize];
            n /= 62;
        }
        out.extend_from_slice(&digits);
    }
}

/// The three checksum characters of a 15-character id.
pub fn checksum(id15: &[u8]) -> [u8; 3] {
    let mut out = [0u8; 3];
    for (chunk, slot) in out.iter_mut().enumerate() {
        let mut bits = 0usize;
        for i in 0..5 {
            if id15[chunk * 5 + i].is_ascii_uppercase() {
                bits |= 1 << i;
            }
        }
        *slot = CHECKSUM[bits];
    }
    out
}

/// The 18-character form of any 15-character id (also ids of other orgs).
pub fn to_18(id15: &str) -> Option<String> {
    let bytes = id15.as_bytes();
    if bytes.len() != 15 || !bytes.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    let mut out = id15.to_string();
    out.push_str(std::str::from_utf8(&checksum(bytes)).ok()?);
    Some(out)
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::with_capacity(18);
        self.write_18(&mut out);
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_published_vectors() {
        for (id15, id18) in [
            ("a0RE000000IJmcN", "a0RE000000IJmcNMAT"),
            ("001M000000qfPyS", "001M000000qfPySIAU"),
            ("a01M00000062mPg", "a01M00000062mPgIAI"),
            ("a0FE000000D6r3F", "a0FE000000D6r3FMAR"),
            ("0F9E000000092w2", "0F9E000000092w2KAA"),
            ("aaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaAAA"),
            ("AbCdEfGhIjKlMnO", "AbCdEfGhIjKlMnOVKV"),
            ("aBcDEfgHIJKLMNO", "aBcDEfgHIJKLMNO025"),
        ] {
            assert_eq!(to_18(id15).unwrap(), id18);
        }
    }

    #[test]
    fn ids_round_trip_in_both_lengths_and_any_case() {
        for number in [1, 61, 62, 3_844, 1_000_000, RecordId::MAX_NUMBER] {
            let id = RecordId::new("001", number);
            let text = id.to_string();
            assert_eq!(text.len(), 18);
            assert_eq!(RecordId::parse(&text), Some(id));
            assert_eq!(RecordId::parse(&text[..15]), Some(id));
            assert_eq!(RecordId::parse(&text.to_ascii_lowercase()), Some(id));
            assert_eq!(RecordId::parse(&text.to_ascii_uppercase()), Some(id));
        }
        assert_eq!(RecordId::new("003", 1).to_string(), "003RO0000000001YAA");
    }

    #[test]
    fn foreign_or_malformed_ids_are_rejected() {
        assert!(
            RecordId::parse("001M000000qfPySIAU").is_none(),
            "another org's pod"
        );
        assert!(RecordId::parse("001RO000000000").is_none());
        assert!(RecordId::parse("001RO0000000001IA!").is_none());
        assert!(
            RecordId::parse("001RO0000000001A99").is_none(),
            "9 is not a checksum character"
        );
    }
}
