//! Composite references: `@{refId.field}` expressions in a sub-request's URL and body, resolved
//! against the bodies of earlier sub-requests (`@{newAccount.id}`, `@{q1.records[0].Id}`).
//!
//! This module only finds and substitutes expressions; deciding which earlier sub-request a
//! reference may use (and what happens when it failed) is the caller's job, through the lookup
//! it passes in.

use serde_json::Value as Json;

/// One parsed `@{...}` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Reference {
    /// The expression as written between the braces, for error messages.
    pub(super) expression: String,
    /// The reference id of the sub-request it reads from.
    pub(super) reference_id: String,
    /// The path into that sub-request's response body.
    pub(super) path: Vec<Step>,
}

/// One step of a reference path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// `.name`: a member of an object.
    Member(String),
    /// `[n]`: an element of an array.
    Index(usize),
}

/// Why a sub-request could not be resolved: the message of its `PROCESSING_HALTED` error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Unresolved(pub(super) String);

impl Unresolved {
    /// The message Salesforce gives when a reference yields no value (seen in client code:
    /// `Invalid reference specified. No value for schoolRt.records[0].Id found in schoolRt`).
    pub(super) fn no_value(reference: &Reference) -> Unresolved {
        Unresolved(format!(
            "Invalid reference specified. No value for {} found in {}",
            reference.expression, reference.reference_id
        ))
    }
}

/// Whether `text` is a valid reference id: letters, digits and underscores, starting with a
/// letter. (UNVERIFIED: the reference documents this rule for tree reference ids; composite is
/// assumed to follow it.)
pub(super) fn valid_reference_id(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Replaces every reference in `text` with its value as text.
pub(super) fn substitute_text(
    text: &str,
    lookup: &mut dyn FnMut(&Reference) -> Result<Json, Unresolved>,
) -> Result<String, Unresolved> {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (start, inner, end) in expressions(text) {
        let Some(reference) = parse(inner)? else {
            continue;
        };
        let value = lookup(&reference)?;
        out.push_str(&text[copied..start]);
        out.push_str(&as_text(&value));
        copied = end;
    }
    out.push_str(&text[copied..]);
    Ok(out)
}

/// Replaces references in every string of `value`. A string that is exactly one reference takes
/// the referenced value with its JSON type (so `"@{q.totalSize}"` becomes a number); references
/// inside longer strings are spliced in as text.
pub(super) fn substitute_json(
    value: &Json,
    lookup: &mut dyn FnMut(&Reference) -> Result<Json, Unresolved>,
) -> Result<Json, Unresolved> {
    Ok(match value {
        Json::String(s) => {
            let all = expressions(s);
            if let [(0, inner, end)] = all.as_slice()
                && *end == s.len()
                && let Some(reference) = parse(inner)?
            {
                lookup(&reference)?
            } else {
                Json::String(substitute_text(s, lookup)?)
            }
        }
        Json::Array(items) => Json::Array(
            items
                .iter()
                .map(|item| substitute_json(item, lookup))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(members) => {
            let mut out = serde_json::Map::with_capacity(members.len());
            for (key, member) in members {
                out.insert(key.clone(), substitute_json(member, lookup)?);
            }
            Json::Object(out)
        }
        other => other.clone(),
    })
}

/// Follows `path` into `body`. Member names match exactly first, then without regard to case
/// (Salesforce's own field names are case-insensitive, so `@{q.records[0].id}` finds `Id`).
/// A JSON null counts as no value.
pub(super) fn follow<'a>(body: &'a Json, path: &[Step]) -> Option<&'a Json> {
    let mut here = body;
    for step in path {
        here = match (step, here) {
            (Step::Member(name), Json::Object(members)) => members.get(name).or_else(|| {
                members
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v)
            })?,
            (Step::Index(i), Json::Array(items)) => items.get(*i)?,
            _ => return None,
        };
    }
    (!here.is_null()).then_some(here)
}

/// `(start, inner, end)` of every `@{...}` in `text`: `start` at the `@`, `end` after the `}`.
fn expressions(text: &str) -> Vec<(usize, &str, usize)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = text[from..].find("@{") {
        let start = from + offset;
        let Some(close) = text[start + 2..].find('}') else {
            break;
        };
        let end = start + 2 + close + 1;
        found.push((start, &text[start + 2..end - 1], end));
        from = end;
    }
    found
}

/// Parses the inside of `@{...}`; `None` when it does not start with a reference id.
fn parse(inner: &str) -> Result<Option<Reference>, Unresolved> {
    let id_end = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let reference_id = &inner[..id_end];
    if !valid_reference_id(reference_id) {
        return Ok(None);
    }
    let broken = || {
        Unresolved(format!(
            "Invalid reference specified. The expression @{{{inner}}} is not of the form @{{referenceId.field}}"
        ))
    };
    let mut path = Vec::new();
    let mut rest = &inner[id_end..];
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let name_end = after.find(['.', '[']).unwrap_or(after.len());
            let name = &after[..name_end];
            if name.is_empty() {
                return Err(broken());
            }
            path.push(Step::Member(name.to_string()));
            rest = &after[name_end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let close = after.find(']').ok_or_else(broken)?;
            let index = after[..close].trim().parse().map_err(|_| broken())?;
            path.push(Step::Index(index));
            rest = &after[close + 1..];
        } else {
            return Err(broken());
        }
    }
    Ok(Some(Reference {
        expression: inner.to_string(),
        reference_id: reference_id.to_string(),
        path,
    }))
}

/// A referenced value spliced into text: strings as they are, anything else as JSON.
fn as_text(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn resolve_from(bodies: &Json) -> impl FnMut(&Reference) -> Result<Json, Unresolved> + '_ {
        move |reference| {
            let body = bodies
                .get(&reference.reference_id)
                .ok_or_else(|| Unresolved::no_value(reference))?;
            follow(body, &reference.path)
                .cloned()
                .ok_or_else(|| Unresolved::no_value(reference))
        }
    }

    /// Every reference in `text`.
    fn references_in(text: &str) -> Result<Vec<Reference>, Unresolved> {
        let mut found = Vec::new();
        for (_, inner, _) in expressions(text) {
            found.extend(parse(inner)?);
        }
        Ok(found)
    }

    #[test]
    fn paths_with_members_and_indexes_parse() {
        let found = references_in("/q/@{q1.records[0].Account.Name}/x").unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].reference_id, "q1");
        assert_eq!(
            found[0].path,
            vec![
                Step::Member("records".into()),
                Step::Index(0),
                Step::Member("Account".into()),
                Step::Member("Name".into()),
            ]
        );
        assert!(references_in("@{ spaced }").unwrap().is_empty());
        assert!(references_in("@{1abc.id}").unwrap().is_empty());
        assert!(references_in("@{a.records[x]}").is_err());
        assert!(references_in("@{a..b}").is_err());
        assert!(references_in("no braces @{ here").unwrap().is_empty());
    }

    #[test]
    fn text_and_json_substitution_keep_types_where_the_whole_string_is_a_reference() {
        let bodies = json!({
            "acct": {"id": "001000000000001AAA", "success": true},
            "q": {"totalSize": 2, "records": [{"Id": "003000000000001AAA"}]}
        });
        let mut lookup = resolve_from(&bodies);
        assert_eq!(
            substitute_text(
                "/services/data/v60.0/sobjects/Account/@{acct.id}?x=@{q.totalSize}",
                &mut lookup
            )
            .unwrap(),
            "/services/data/v60.0/sobjects/Account/001000000000001AAA?x=2"
        );
        let body = json!({
            "AccountId": "@{acct.id}",
            "Count": "@{q.totalSize}",
            "Note": "first @{q.records[0].id}",
            "Nested": [{"Flag": "@{acct.success}"}],
            "Plain": 7
        });
        assert_eq!(
            substitute_json(&body, &mut lookup).unwrap(),
            json!({
                "AccountId": "001000000000001AAA",
                "Count": 2,
                "Note": "first 003000000000001AAA",
                "Nested": [{"Flag": true}],
                "Plain": 7
            })
        );
    }

    #[test]
    fn missing_values_name_the_expression() {
        let bodies = json!({"q": {"records": []}});
        let mut lookup = resolve_from(&bodies);
        let error = substitute_text("@{q.records[0].Id}", &mut lookup).unwrap_err();
        assert_eq!(
            error.0,
            "Invalid reference specified. No value for q.records[0].Id found in q"
        );
        assert!(valid_reference_id("refAccount_1"));
        assert!(!valid_reference_id("_ref"));
        assert!(!valid_reference_id("ref-1"));
        assert!(!valid_reference_id(""));
    }
}
