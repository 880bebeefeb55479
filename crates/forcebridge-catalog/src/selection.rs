//! Which objects a catalog covers: include and exclude name patterns, custom only, queryable
//! only. Patterns are matched here, against the global describe, before anything is described.

use crate::error::{Error, Result};

/// The objects to catalog. [`Selection::all`] takes every object of the org; each method
/// narrows it.
///
/// ```
/// use forcebridge_catalog::Selection;
/// let selection = Selection::all()
///     .include("Invoice*")?
///     .exclude("*History")?
///     .queryable_only();
/// assert!(selection.matches("Invoice_Line__c", true, true));
/// assert!(!selection.matches("Invoice__History", true, true));
/// # Ok::<(), forcebridge_catalog::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    include: Vec<Pattern>,
    exclude: Vec<Pattern>,
    custom_only: bool,
    queryable_only: bool,
}

impl Selection {
    /// Every object of the org.
    pub fn all() -> Selection {
        Selection::default()
    }

    /// Keeps only objects whose name matches one of the include patterns (case-insensitive;
    /// `*` matches any run of characters, `?` one character).
    pub fn include(mut self, pattern: &str) -> Result<Selection> {
        self.include.push(Pattern::parse(pattern, "--include")?);
        Ok(self)
    }

    /// Leaves out objects whose name matches the pattern; excludes win over includes.
    pub fn exclude(mut self, pattern: &str) -> Result<Selection> {
        self.exclude.push(Pattern::parse(pattern, "--exclude")?);
        Ok(self)
    }

    /// Keeps only custom objects.
    pub fn custom_only(mut self) -> Selection {
        self.custom_only = true;
        self
    }

    /// Keeps only objects that can be queried.
    pub fn queryable_only(mut self) -> Selection {
        self.queryable_only = true;
        self
    }

    /// Whether an object with this name and these properties is selected.
    pub fn matches(&self, name: &str, custom: bool, queryable: bool) -> bool {
        (!self.custom_only || custom)
            && (!self.queryable_only || queryable)
            && (self.include.is_empty() || self.include.iter().any(|p| p.matches(name)))
            && !self.exclude.iter().any(|p| p.matches(name))
    }

    /// The include and exclude patterns that match none of `names`: probably typing mistakes.
    pub fn unmatched_patterns<'a>(
        &self,
        names: impl Iterator<Item = &'a str> + Clone,
    ) -> Vec<String> {
        self.include
            .iter()
            .chain(&self.exclude)
            .filter(|p| !names.clone().any(|n| p.matches(n)))
            .map(|p| p.text.clone())
            .collect()
    }
}

/// A name pattern: letters, digits and `_`, with `*` and `?` wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    text: String,
    lower: Vec<char>,
}

impl Pattern {
    fn parse(text: &str, option: &str) -> Result<Pattern> {
        if text.is_empty() {
            return Err(Error::invalid(format!("{option}: the pattern is empty")));
        }
        if let Some(bad) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '*' | '?')))
        {
            return Err(Error::invalid(format!(
                "{option} {text:?}: {bad:?} cannot appear in an object name; use letters, digits, _ and the wildcards * and ?"
            )));
        }
        Ok(Pattern {
            text: text.to_string(),
            lower: text.chars().map(|c| c.to_ascii_lowercase()).collect(),
        })
    }

    fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.chars().map(|c| c.to_ascii_lowercase()).collect();
        wildcard(&self.lower, &name)
    }
}

/// Glob matching with `*` and `?` by the usual two-pointer walk with one backtrack point,
/// linear in practice and never exponential.
fn wildcard(pattern: &[char], name: &[char]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == '?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_names_case_insensitively() {
        let check =
            |pattern: &str, name: &str| Pattern::parse(pattern, "--include").unwrap().matches(name);
        assert!(check("Account", "account"));
        assert!(check("*__c", "Invoice__c"));
        assert!(!check("*__c", "Invoice__History"));
        assert!(check("Inv?ice*", "Invoice_Line__c"));
        assert!(check("*", "Anything"));
        assert!(check("a*b*c", "aXXbYYc"));
        assert!(!check("a*b*c", "aXXbYY"));
        assert!(!check("Acc", "Account"));
    }

    #[test]
    fn a_bad_pattern_names_its_option() {
        let error = Selection::all().exclude("Acc%").unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::InvalidInput);
        assert!(
            error.to_string().starts_with("--exclude \"Acc%\""),
            "{error}"
        );
        assert!(Selection::all().include("").is_err());
    }

    #[test]
    fn excludes_win_and_flags_narrow() {
        let selection = Selection::all()
            .include("*__c")
            .unwrap()
            .include("Account")
            .unwrap()
            .exclude("Old*")
            .unwrap();
        assert!(selection.matches("Account", false, true));
        assert!(selection.matches("New__c", true, true));
        assert!(!selection.matches("Old__c", true, true));
        assert!(!selection.matches("Contact", false, true));
        assert!(
            !selection
                .clone()
                .custom_only()
                .matches("Account", false, true)
        );
        assert!(!selection.queryable_only().matches("New__c", true, false));
        let unmatched = Selection::all()
            .include("Nope*")
            .unwrap()
            .unmatched_patterns(["Account"].into_iter());
        assert_eq!(unmatched, ["Nope*"]);
    }
}
