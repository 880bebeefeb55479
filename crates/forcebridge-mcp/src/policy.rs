//! Which objects and fields the server lets a model read or write: allow and deny lists of
//! name patterns (`*` matches any run of characters, case is ignored). Deny wins over allow;
//! an empty allow list allows everything not denied. The record `Id` is always allowed on an
//! allowed object, since nothing can be read or written without it.
//!
//! This module only answers questions about names; which names a query reads is found by
//! `tools::read` with the SOQL crate's analysis and the org's describes.

use crate::error::{Error, Result};

/// Allow and deny lists for objects (`Account`, `*__c`) and fields (`Contact.Email`,
/// `*.SSN__c`, `Account.*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    object_allow: Vec<Pattern>,
    object_deny: Vec<Pattern>,
    field_allow: Vec<Pattern>,
    field_deny: Vec<Pattern>,
}

impl Policy {
    /// A policy that allows every object and field (the org's own permissions still apply).
    pub fn open() -> Policy {
        Policy::default()
    }

    /// Allows only objects matching one of the allow patterns added this way.
    pub fn allow_object(mut self, pattern: &str) -> Result<Policy> {
        self.object_allow.push(Pattern::object(pattern)?);
        Ok(self)
    }

    /// Refuses objects matching `pattern`, even when an allow pattern matches them.
    pub fn deny_object(mut self, pattern: &str) -> Result<Policy> {
        self.object_deny.push(Pattern::object(pattern)?);
        Ok(self)
    }

    /// Allows only fields matching one of the allow patterns added this way
    /// (`Object.Field`, either part may hold `*`).
    pub fn allow_field(mut self, pattern: &str) -> Result<Policy> {
        self.field_allow.push(Pattern::field(pattern)?);
        Ok(self)
    }

    /// Refuses fields matching `pattern` (`Object.Field`, either part may hold `*`).
    pub fn deny_field(mut self, pattern: &str) -> Result<Policy> {
        self.field_deny.push(Pattern::field(pattern)?);
        Ok(self)
    }

    /// Whether any list is set: when none is, queries need no describes to be checked.
    pub(crate) fn is_open(&self) -> bool {
        self.object_allow.is_empty()
            && self.object_deny.is_empty()
            && self.field_allow.is_empty()
            && self.field_deny.is_empty()
    }

    /// Whether any field list is set.
    pub(crate) fn has_field_rules(&self) -> bool {
        !(self.field_allow.is_empty() && self.field_deny.is_empty())
    }

    /// Whether `object` may be read or written.
    pub fn object_allowed(&self, object: &str) -> bool {
        let allowed =
            self.object_allow.is_empty() || self.object_allow.iter().any(|p| p.matches(object));
        allowed && !self.object_deny.iter().any(|p| p.matches(object))
    }

    /// Whether `field` of `object` may be read or written.
    pub fn field_allowed(&self, object: &str, field: &str) -> bool {
        if !self.object_allowed(object) {
            return false;
        }
        if field.eq_ignore_ascii_case("Id") {
            return true;
        }
        let name = format!("{object}.{field}");
        let allowed =
            self.field_allow.is_empty() || self.field_allow.iter().any(|p| p.matches(&name));
        allowed && !self.field_deny.iter().any(|p| p.matches(&name))
    }
}

/// A name pattern: text with `*` wildcards, compared without case.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    lower: Vec<char>,
}

impl Pattern {
    fn object(text: &str) -> Result<Pattern> {
        Pattern::check(text, false)
    }

    fn field(text: &str) -> Result<Pattern> {
        Pattern::check(text, true)
    }

    fn check(text: &str, field: bool) -> Result<Pattern> {
        let ok_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '*';
        let parts: Vec<&str> = text.split('.').collect();
        let shape_ok = if field {
            parts.len() == 2
        } else {
            parts.len() == 1
        };
        if !shape_ok
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.chars().all(ok_char))
        {
            let expected = if field {
                "Object.Field, where either part may use `*`"
            } else {
                "an object name that may use `*`"
            };
            return Err(Error::config(format!(
                "invalid pattern {text:?}: expected {expected}"
            )));
        }
        Ok(Pattern {
            lower: text.to_ascii_lowercase().chars().collect(),
        })
    }

    fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.to_ascii_lowercase().chars().collect();
        wildcard(&self.lower, &name)
    }
}

/// `*` matches any run of characters (iterative, with one backtrack point).
fn wildcard(pattern: &[char], name: &[char]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, n));
            p += 1;
        } else if p < pattern.len() && pattern[p] == name[n] {
            p += 1;
            n += 1;
        } else if let Some((sp, sn)) = star {
            p = sp + 1;
            n = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_wins_and_allow_narrows() {
        let policy = Policy::open()
            .allow_object("Account")
            .unwrap()
            .allow_object("*__c")
            .unwrap()
            .deny_object("Secret__c")
            .unwrap()
            .deny_field("*.SSN__c")
            .unwrap()
            .deny_field("Account.Annual*")
            .unwrap();
        assert!(policy.object_allowed("account"));
        assert!(policy.object_allowed("Invoice__c"));
        assert!(!policy.object_allowed("Secret__c"));
        assert!(!policy.object_allowed("Contact"));
        assert!(policy.field_allowed("Account", "Name"));
        assert!(!policy.field_allowed("Account", "AnnualRevenue"));
        assert!(!policy.field_allowed("Invoice__c", "ssn__c"));
        assert!(policy.field_allowed("Account", "Id"));
        assert!(!policy.field_allowed("Contact", "Id"));
    }

    #[test]
    fn field_allow_lists_are_per_object_patterns() {
        let policy = Policy::open()
            .allow_field("Account.*")
            .unwrap()
            .allow_field("Contact.Name")
            .unwrap();
        assert!(policy.field_allowed("Account", "Phone"));
        assert!(policy.field_allowed("Contact", "Name"));
        assert!(!policy.field_allowed("Contact", "Email"));
        assert!(policy.field_allowed("Contact", "Id"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(Policy::open().allow_object("Account.Name").is_err());
        assert!(Policy::open().deny_field("SSN__c").is_err());
        assert!(Policy::open().deny_field("A.B'c").is_err());
        assert!(wildcard(&['*'], &[]));
        assert!(wildcard(&['a', '*', 'c'], &['a', 'b', 'b', 'c']));
        assert!(!wildcard(&['a', '*', 'c'], &['a', 'b', 'd']));
    }
}
