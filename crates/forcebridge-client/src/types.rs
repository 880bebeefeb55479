//! Domain strings with rules: API versions. (Record ids and their checksum live in
//! `forcebridge_wire::id`, shared with the local org.)

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
}
