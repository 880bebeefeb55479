//! LIKE patterns: building them safely from user text, and matching them.
//!
//! A pattern is stored in one unambiguous form: `%` matches any run of characters, `_` exactly
//! one, and a backslash makes the next `%`, `_` or `\` literal. This is the form SOQL itself uses
//! inside a LIKE string once the string's own escapes (`\'`, `\n`, `\uXXXX`) are decoded, so the
//! printer can write it back without guessing which `%` was a wildcard.

use std::fmt;

/// A SOQL LIKE pattern.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LikePattern {
    escaped: String,
}

/// One piece of a LIKE pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LikePart {
    /// A character that must match (case-insensitively).
    Char(char),
    /// `%`: any run of characters, including none.
    AnyRun,
    /// `_`: exactly one character.
    AnyChar,
}

impl LikePattern {
    /// A pattern that matches `text` exactly: every `%`, `_` and `\` in it is escaped.
    pub fn exact(text: &str) -> LikePattern {
        let mut escaped = String::with_capacity(text.len() + 2);
        push_escaped(&mut escaped, text);
        LikePattern { escaped }
    }

    /// `text%`: values that start with `text`, where `text` is taken literally.
    pub fn starts_with(text: &str) -> LikePattern {
        let mut p = LikePattern::exact(text);
        p.escaped.push('%');
        p
    }

    /// `%text`: values that end with `text`, taken literally.
    pub fn ends_with(text: &str) -> LikePattern {
        let mut escaped = String::from("%");
        push_escaped(&mut escaped, text);
        LikePattern { escaped }
    }

    /// `%text%`: values that contain `text`, taken literally.
    pub fn contains(text: &str) -> LikePattern {
        let mut p = LikePattern::ends_with(text);
        p.escaped.push('%');
        p
    }

    /// A pattern written by a trusted caller, with `%` and `_` as wildcards and `\%`, `\_`,
    /// `\\` as escapes. Returns `None` if a backslash is followed by anything else (or nothing).
    pub fn from_escaped(pattern: &str) -> Option<LikePattern> {
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            if c == '\\' && !matches!(chars.next(), Some('%' | '_' | '\\')) {
                return None;
            }
        }
        Some(LikePattern {
            escaped: pattern.to_string(),
        })
    }

    /// The pattern in escaped form (see the module docs).
    pub fn as_escaped(&self) -> &str {
        &self.escaped
    }

    pub fn parts(&self) -> impl Iterator<Item = LikePart> + '_ {
        let mut chars = self.escaped.chars();
        std::iter::from_fn(move || {
            let c = chars.next()?;
            Some(match c {
                '%' => LikePart::AnyRun,
                '_' => LikePart::AnyChar,
                '\\' => LikePart::Char(chars.next().unwrap_or('\\')),
                c => LikePart::Char(c),
            })
        })
    }

    /// Whether `text` matches, ignoring case as Salesforce does.
    pub fn matches(&self, text: &str) -> bool {
        let pattern: Vec<LikePart> = self.parts().collect();
        let text: Vec<char> = text.chars().collect();
        wildcard_match(&pattern, &text)
    }
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
}

fn same_char(a: char, b: char) -> bool {
    a == b || a.to_lowercase().eq(b.to_lowercase())
}

/// Iterative wildcard matching with one backtrack point: linear in practice, O(n·m) at worst,
/// and it cannot blow the stack on long inputs.
fn wildcard_match(pattern: &[LikePart], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(LikePart::AnyRun) => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(LikePart::AnyChar) => {
                p += 1;
                t += 1;
            }
            Some(LikePart::Char(c)) if same_char(*c, text[t]) => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((bp, bt)) => {
                    p = bp + 1;
                    t = bt + 1;
                    backtrack = Some((bp, bt + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|part| *part == LikePart::AnyRun)
}

impl fmt::Debug for LikePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Like({:?})", self.escaped)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for LikePattern {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.escaped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like(p: &str) -> LikePattern {
        LikePattern::from_escaped(p).unwrap()
    }

    #[test]
    fn wildcards_match_runs_and_single_characters() {
        assert!(like("Ter%").matches("Terminal"));
        assert!(like("ter%").matches("TERMINAL"));
        assert!(!like("Ter%").matches("Te"));
        assert!(like("r%ob_ot").matches("rXXobXot"));
        assert!(!like("r%ob_ot").matches("robot"));
        assert!(like("%").matches(""));
        assert!(like("%a%b%").matches("xxaxxbxx"));
        assert!(!like("%a%b%").matches("xxbxxaxx"));
    }

    #[test]
    fn escaped_wildcards_match_themselves_only() {
        assert!(like(r"Ter\%").matches("Ter%"));
        assert!(!like(r"Ter\%").matches("Terminal"));
        assert!(like(r"Ter\%%").matches("Ter%minal"));
        assert!(like(r"a\_b").matches("a_b"));
        assert!(!like(r"a\_b").matches("axb"));
    }

    #[test]
    fn user_text_is_taken_literally() {
        let hostile = r"50%_off\";
        let p = LikePattern::contains(hostile);
        assert_eq!(p.as_escaped(), r"%50\%\_off\\%");
        assert!(p.matches("get 50%_OFF\\ now"));
        assert!(!p.matches("get 50xyoff\\ now"));
    }

    #[test]
    fn dangling_backslash_is_rejected() {
        assert!(LikePattern::from_escaped(r"abc\").is_none());
        assert!(LikePattern::from_escaped(r"a\bc").is_none());
    }
}
