//! Domain strings with rules: API versions and record ids.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// A REST API version such as `60.0`. Parses `60`, `60.0` and `v60.0`; prints `60.0`, and
/// [`ApiVersion::path_segment`] gives the `v60.0` of URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    major: u16,
}

impl ApiVersion {
    /// The version forcebridge pins unless told otherwise.
    pub const DEFAULT: ApiVersion = ApiVersion { major: 60 };

    /// The version `{major}.0`. Unlike parsing, this does not check that the number is a
    /// plausible version.
    pub const fn new(major: u16) -> ApiVersion {
        ApiVersion { major }
    }

    /// The major number: `60` for `60.0`.
    pub fn major(self) -> u16 {
        self.major
    }

    /// `v60.0`, as the version appears in a URL.
    pub fn path_segment(self) -> String {
        format!("v{}.0", self.major)
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.0", self.major)
    }
}

impl FromStr for ApiVersion {
    type Err = Error;

    fn from_str(text: &str) -> Result<ApiVersion, Error> {
        let bare = text.trim().trim_start_matches(['v', 'V']);
        let major = bare.strip_suffix(".0").unwrap_or(bare);
        match major.parse::<u16>() {
            Ok(major) if (20..1000).contains(&major) => Ok(ApiVersion { major }),
            _ => Err(Error::not_sent(format!(
                "invalid API version {text:?}: expected a version such as 60.0 or v60.0"
            ))),
        }
    }
}

/// A Salesforce record id, always held in its 18-character case-safe form.
///
/// Parses 15-character (case-sensitive) and 18-character ids; an 18-character id whose last
/// three characters do not match its first fifteen is refused, since it was mistyped or
/// changed case somewhere on the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordId([u8; 18]);

impl RecordId {
    /// The 18-character form.
    pub fn as_str(&self) -> &str {
        // Only ASCII alphanumerics are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The 15-character, case-sensitive form.
    pub fn to_15(&self) -> &str {
        &self.as_str()[..15]
    }

    /// The three-character key prefix that names the object (`001` for Account).
    pub fn key_prefix(&self) -> &str {
        &self.as_str()[..3]
    }
}

impl FromStr for RecordId {
    type Err = Error;

    fn from_str(text: &str) -> Result<RecordId, Error> {
        let bytes = text.as_bytes();
        if !(bytes.len() == 15 || bytes.len() == 18) || !bytes.iter().all(u8::is_ascii_alphanumeric)
        {
            return Err(Error::not_sent(format!(
                "invalid record id {text:?}: expected 15 or 18 letters and digits"
            )));
        }
        let mut id15 = [0u8; 15];
        id15.copy_from_slice(&bytes[..15]);
        let sum = forcebridge_wire::id::checksum(&id15);
        if bytes.len() == 18 && !bytes[15..].eq_ignore_ascii_case(&sum) {
            return Err(Error::not_sent(format!(
                "invalid record id {text:?}: its last three characters do not match the first fifteen"
            )));
        }
        let mut id = [0u8; 18];
        id[..15].copy_from_slice(&id15);
        id[15..].copy_from_slice(&sum);
        Ok(RecordId(id))
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for RecordId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for RecordId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_in_every_spelling() {
        for text in ["60", "60.0", "v60.0", "V60.0", " 60.0 "] {
            assert_eq!(text.parse::<ApiVersion>().unwrap(), ApiVersion::new(60));
        }
        assert_eq!(ApiVersion::DEFAULT.path_segment(), "v60.0");
        assert_eq!(ApiVersion::new(59).to_string(), "59.0");
        for bad in ["", "v", "60.5", "sixty", "5"] {
            assert!(bad.parse::<ApiVersion>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_gain_their_checksum_and_refuse_a_wrong_one() {
        // Examples from Salesforce's documentation of the case-safe id.
        let id: RecordId = "001D000000IqhSL".parse().unwrap();
        assert_eq!(id.as_str(), "001D000000IqhSLIAZ");
        assert_eq!(id.to_15(), "001D000000IqhSL");
        assert_eq!(id.key_prefix(), "001");
        assert_eq!("001D000000IqhSLIAZ".parse::<RecordId>().unwrap(), id);
        assert_eq!("001D000000IqhSLiaz".parse::<RecordId>().unwrap(), id);
        let error = "001D000000IqhSLAAA".parse::<RecordId>().unwrap_err();
        assert!(error.to_string().contains("do not match"), "{error}");
        assert!("001D00000".parse::<RecordId>().is_err());
        assert!("001D000000IqhS-".parse::<RecordId>().is_err());
    }
}
