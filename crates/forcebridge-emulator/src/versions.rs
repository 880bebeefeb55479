//! API versions: which ones the org serves, and their release names.

/// The oldest version served.
pub(crate) const MIN_VERSION: u32 = 31;
/// The newest version served (Winter '27).
pub(crate) const MAX_VERSION: u32 = 68;
/// [`MAX_VERSION`] as the API writes it.
pub(crate) const MAX_VERSION_TEXT: &str = "68.0";

/// An API version such as `60.0`, parsed from a path segment `v60.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ApiVersion(pub u32);

impl ApiVersion {
    /// Parses `v60.0` (or `60.0`); `None` for anything malformed or outside the served range.
    pub(crate) fn parse(segment: &str) -> Option<ApiVersion> {
        let text = segment.strip_prefix('v').unwrap_or(segment);
        let (major, minor) = text.split_once('.')?;
        if minor != "0"
            || major.is_empty()
            || !major.bytes().all(|b| b.is_ascii_digit())
            || major.len() > 3
        {
            return None;
        }
        let major: u32 = major.parse().ok()?;
        (MIN_VERSION..=MAX_VERSION)
            .contains(&major)
            .then_some(ApiVersion(major))
    }

    /// `60.0`.
    pub(crate) fn number(self) -> String {
        format!("{}.0", self.0)
    }

    /// The release name: `Winter '24` for 59.0. Three releases a year; 59.0 was Winter '24.
    pub(crate) fn label(self) -> String {
        let n = i64::from(self.0) - 59;
        let season = ["Winter", "Spring", "Summer"][n.rem_euclid(3) as usize];
        let year = 24 + n.div_euclid(3);
        format!("{season} '{year:02}")
    }
}

/// Every served version, oldest first.
pub(crate) fn all() -> impl Iterator<Item = ApiVersion> {
    (MIN_VERSION..=MAX_VERSION).map(ApiVersion)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_version_reads_as_its_number() {
        assert_eq!(MAX_VERSION_TEXT, format!("{MAX_VERSION}.0"));
    }

    #[test]
    fn versions_parse_and_name_their_release() {
        assert_eq!(ApiVersion::parse("v60.0"), Some(ApiVersion(60)));
        assert_eq!(ApiVersion::parse("v30.0"), None);
        assert_eq!(ApiVersion::parse("v60.1"), None);
        assert_eq!(ApiVersion::parse("v69.0"), None);
        assert_eq!(ApiVersion(59).label(), "Winter '24");
        assert_eq!(ApiVersion(60).label(), "Spring '24");
        assert_eq!(ApiVersion(31).label(), "Summer '14");
        assert_eq!(ApiVersion(68).label(), "Winter '27");
    }
}
