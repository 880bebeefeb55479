//! Record ids: the 15-character case-sensitive form, the 3-character checksum that makes the
//! 18-character form case-insensitive, and reading an 18-character id back to its original case.
//!
//! Both ends need the same arithmetic (the client checks ids before it sends them, the local
//! org hands them out and finds records by them), so it lives here once. What an id *means*
//! (key prefixes, how an org numbers its records) is not this module's business.

/// The characters a checksum is written with: character `n` stands for the 5-bit value `n`.
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// Why a text is not a record id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdError {
    /// Not 15 or 18 characters long.
    Length,
    /// A character other than an ASCII letter or digit.
    Character,
    /// The last three characters of an 18-character id do not fit its first fifteen.
    Checksum,
}

impl std::fmt::Display for IdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IdError::Length => "expected 15 or 18 letters and digits",
            IdError::Character => "expected only letters and digits",
            IdError::Checksum => "its last three characters do not match the first fifteen",
        })
    }
}

impl std::error::Error for IdError {}

/// The three checksum characters of a 15-character id: each one encodes which of five
/// characters of its chunk are upper-case letters (bit `i` for position `i`).
pub fn checksum(id15: &[u8; 15]) -> [u8; 3] {
    let mut out = [0u8; 3];
    for (chunk, slot) in id15.chunks(5).zip(out.iter_mut()) {
        let bits = chunk
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_ascii_uppercase())
            .fold(0usize, |acc, (i, _)| acc | (1 << i));
        *slot = ALPHABET[bits];
    }
    out
}

/// The 18-character form of a 15-character id.
pub fn to_18(id15: &str) -> Result<String, IdError> {
    let bytes = fifteen(id15)?;
    let mut out = String::with_capacity(18);
    out.push_str(id15);
    for c in checksum(&bytes) {
        out.push(char::from(c));
    }
    Ok(out)
}

/// The original, case-sensitive 15 characters of an 18-character id, read in any case.
///
/// The checksum says which characters are upper-case letters, so `001ro0000000001yaa` reads as
/// `001RO0000000001`. A checksum that cannot belong to the first fifteen characters (it marks
/// a digit as upper case, or is not a checksum character at all) is [`IdError::Checksum`]:
/// such a text was mistyped, and must not be taken for another record.
pub fn restore_case(id18: &str) -> Result<[u8; 15], IdError> {
    let bytes = id18.as_bytes();
    if bytes.len() != 18 {
        return Err(IdError::Length);
    }
    if !bytes.iter().all(u8::is_ascii_alphanumeric) {
        return Err(IdError::Character);
    }
    let mut restored = [0u8; 15];
    restored.copy_from_slice(&bytes[..15]);
    for (chunk, check) in bytes[15..].iter().enumerate() {
        let bits = ALPHABET
            .iter()
            .position(|c| *c == check.to_ascii_uppercase())
            .ok_or(IdError::Checksum)?;
        for (i, c) in restored[chunk * 5..chunk * 5 + 5].iter_mut().enumerate() {
            let upper = bits & (1 << i) != 0;
            if upper && !c.is_ascii_alphabetic() {
                return Err(IdError::Checksum);
            }
            *c = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
        }
    }
    Ok(restored)
}

/// The bytes of a 15-character id, checked.
fn fifteen(id15: &str) -> Result<[u8; 15], IdError> {
    let bytes: [u8; 15] = id15.as_bytes().try_into().map_err(|_| IdError::Length)?;
    if !bytes.iter().all(u8::is_ascii_alphanumeric) {
        return Err(IdError::Character);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published 15 → 18 pairs (see the protocol notes, section 7).
    const VECTORS: [(&str, &str); 8] = [
        ("a0RE000000IJmcN", "a0RE000000IJmcNMAT"),
        ("001M000000qfPyS", "001M000000qfPySIAU"),
        ("a01M00000062mPg", "a01M00000062mPgIAI"),
        ("a0FE000000D6r3F", "a0FE000000D6r3FMAR"),
        ("0F9E000000092w2", "0F9E000000092w2KAA"),
        ("aaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaAAA"),
        ("AbCdEfGhIjKlMnO", "AbCdEfGhIjKlMnOVKV"),
        ("aBcDEfgHIJKLMNO", "aBcDEfgHIJKLMNO025"),
    ];

    #[test]
    fn the_checksum_matches_published_vectors() {
        for (id15, id18) in VECTORS {
            assert_eq!(to_18(id15).unwrap(), id18);
        }
    }

    #[test]
    fn case_is_restored_from_the_checksum_in_any_spelling() {
        for (id15, id18) in VECTORS {
            for spelling in [
                id18.to_string(),
                id18.to_ascii_lowercase(),
                id18.to_ascii_uppercase(),
            ] {
                assert_eq!(
                    &restore_case(&spelling).unwrap(),
                    id15.as_bytes(),
                    "{spelling}"
                );
            }
        }
    }

    #[test]
    fn a_checksum_that_cannot_fit_is_refused() {
        // `Z` marks positions 0, 3 and 4 as upper case, but position 0 is the digit `0`.
        assert_eq!(
            restore_case("001RO0000000099ZZZ"),
            Err(IdError::Checksum),
            "a digit marked upper case"
        );
        assert_eq!(restore_case("001RO0000000099Y9A"), Err(IdError::Checksum));
        assert_eq!(restore_case("001RO000000009"), Err(IdError::Length));
        assert_eq!(restore_case("001RO0000000099Y-A"), Err(IdError::Character));
        assert_eq!(to_18("001RO00000000"), Err(IdError::Length));
        assert_eq!(to_18("001RO000000000!"), Err(IdError::Character));
    }
}
