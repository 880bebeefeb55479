//! Salesforce record ids: 15 case-sensitive characters plus a 3-character checksum that makes
//! the 18-character form case-insensitive.
//!
//! The local org lays an id out as `prefix(3) + pod(2) + '0' + base62 record number(9)`, and the
//! record number is the record's slot in its table plus one. Finding a record by id is then
//! arithmetic, with no index to keep in memory. The checksum itself is
//! `forcebridge_wire::id`'s, shared with the client.

use std::fmt;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The two "pod" characters every id of this org carries.
pub(crate) const POD: &str = "RO";

/// A record id: an object key prefix and a record number, printed as 18 characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct RecordId {
    prefix: [u8; 3],
    number: u64,
}

impl RecordId {
    /// The largest record number that fits in nine base-62 digits.
    pub(crate) const MAX_NUMBER: u64 = 13_537_086_546_263_551;

    pub(crate) fn new(prefix: &str, number: u64) -> RecordId {
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
    pub(crate) fn prefix(&self) -> &str {
        std::str::from_utf8(&self.prefix).unwrap_or("???")
    }

    pub(crate) fn number(&self) -> u64 {
        self.number
    }

    /// Parses a 15- or 18-character id of this org; `None` for anything else (see
    /// [`RecordId::read`] to tell a malformed id from one of another org).
    pub(crate) fn parse(text: &str) -> Option<RecordId> {
        RecordId::read(text).ok().flatten()
    }

    /// Reads an id: `Ok(Some)` for an id of this org, `Ok(None)` for a well-formed id this org
    /// never hands out (another org's), and `Err` for text that is no id at all, including an
    /// 18-character id whose checksum does not fit its first fifteen characters. The case of an
    /// 18-character id is restored from its checksum (so `001ro0000000001yaa` finds the record);
    /// a 15-character id is case-sensitive as written.
    pub(crate) fn read(text: &str) -> Result<Option<RecordId>, MalformedId> {
        let id15: [u8; 15] = match text.len() {
            18 => forcebridge_wire::id::restore_case(text).map_err(|_| MalformedId)?,
            15 if text.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                text.as_bytes().try_into().map_err(|_| MalformedId)?
            }
            _ => return Err(MalformedId),
        };
        if &id15[3..5] != POD.as_bytes() || id15[5] != b'0' {
            return Ok(None);
        }
        let mut number: u64 = 0;
        for &b in &id15[6..15] {
            let Some(digit) = BASE62.iter().position(|&c| c == b) else {
                return Ok(None);
            };
            let Some(next) = number
                .checked_mul(62)
                .and_then(|n| n.checked_add(digit as u64))
            else {
                return Ok(None);
            };
            number = next;
        }
        Ok(Some(RecordId {
            prefix: [id15[0], id15[1], id15[2]],
            number,
        }))
    }

    #[cfg(test)]
    /// The 15-character case-sensitive form.
    pub(crate) fn to_15(self) -> String {
        let mut out = Vec::with_capacity(15);
        self.write_15(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Writes the 18-character form into `out` without allocating.
    pub(crate) fn write_18(&self, out: &mut Vec<u8>) {
        let start = out.len();
        self.write_15(out);
        let mut id15 = [0u8; 15];
        id15.copy_from_slice(&out[start..start + 15]);
        out.extend_from_slice(&forcebridge_wire::id::checksum(&id15));
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

/// Text that is not a record id at all (see [`RecordId::read`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MalformedId;

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
        assert_eq!(
            RecordId::read("001M000000qfPySIAU"),
            Ok(None),
            "another org's pod"
        );
        // Issue 10: this suffix marks the digit `0` as upper case; it must never be read as
        // `001RO0000000099YAA`.
        assert_eq!(RecordId::read("001RO0000000099ZZZ"), Err(MalformedId));
        assert_eq!(
            RecordId::read("001RO0000000099"),
            Ok(Some(RecordId::new("001", 9 * 62 + 9)))
        );
        assert_eq!(
            RecordId::read("001RO0000000099yaa"),
            Ok(Some(RecordId::new("001", 9 * 62 + 9)))
        );
        assert!(RecordId::parse("001RO000000000").is_none());
        assert!(RecordId::parse("001RO0000000001IA!").is_none());
        assert!(
            RecordId::parse("001RO0000000001A99").is_none(),
            "9 is not a checksum character"
        );
    }
}
