//! Query errors framed the way Salesforce frames them: a newline, an excerpt of the query, a
//! caret under the offending column, `ERROR at Row:R:Column:C`, then the problem.
//!
//! ```text
//! \nSELECT Naem FROM Account\n       ^\nERROR at Row:1:Column:8\nNo such column 'Naem' on entity 'Account'. ...
//! ```
//!
//! This module only builds messages; deciding what is wrong is the planner's job.

use forcebridge_soql::{Diagnostic, DiagnosticKind, LineColumn, Span};

use crate::api_error::ApiFailure;

/// How many characters of the query Salesforce shows on each side of the error. Long queries
/// are cut to a window that starts and ends at token boundaries. UNVERIFIED: the window size is
/// inferred from three real error messages (36 characters before the error, forward to the
/// next token; 36 characters from it, back to the end of the last whole token), not documented.
const WINDOW_BEFORE: usize = 36;
const WINDOW_AFTER: usize = 36;

/// `\n<excerpt>\n<spaces>^\nERROR at Row:R:Column:C\n<problem>`.
pub(crate) fn framed(text: &str, span: Span, problem: &str) -> String {
    let LineColumn { line, column } = LineColumn::of(text, span.start as usize);
    let line_text: Vec<char> = text
        .split('\n')
        .nth(line - 1)
        .unwrap_or("")
        .trim_end_matches('\r')
        .chars()
        .collect();
    let at = (column - 1).min(line_text.len());
    let mut start = at.saturating_sub(WINDOW_BEFORE);
    if start > 0 {
        // Start at the beginning of a token, never in the middle of one.
        while start < at && (!is_boundary(&line_text, start) || line_text[start].is_whitespace()) {
            start += 1;
        }
    }
    let mut end = (at + WINDOW_AFTER).min(line_text.len());
    if end < line_text.len() {
        while end > at + 1 && !is_boundary(&line_text, end) {
            end -= 1;
        }
        while end > at + 1 && line_text[end - 1].is_whitespace() {
            end -= 1;
        }
    }
    let excerpt: String = line_text[start..end]
        .iter()
        .map(|&c| if c == '\t' { ' ' } else { c })
        .collect();
    format!(
        "\n{excerpt}\n{}^\nERROR at Row:{line}:Column:{column}\n{problem}",
        " ".repeat(at - start)
    )
}

/// Whether a token may start at `index` (the character before it separates tokens).
fn is_boundary(chars: &[char], index: usize) -> bool {
    index == 0
        || chars
            .get(index - 1)
            .is_some_and(|c| c.is_whitespace() || matches!(c, ',' | '(' | ')'))
}

/// A 400 with `code` and a framed message.
pub(crate) fn failure(code: &str, text: &str, span: Span, problem: &str) -> ApiFailure {
    ApiFailure::bad_request(code, framed(text, span, problem))
}

/// `MALFORMED_QUERY` at `span`.
pub(crate) fn malformed(text: &str, span: Span, problem: &str) -> ApiFailure {
    failure("MALFORMED_QUERY", text, span, problem)
}

/// The suffix Salesforce adds to every unknown-field message.
const CUSTOM_FIELD_HINT: &str = "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.";

/// `INVALID_FIELD`: no such column on an object.
pub(crate) fn no_such_column(text: &str, span: Span, field: &str, object: &str) -> ApiFailure {
    failure(
        "INVALID_FIELD",
        text,
        span,
        &format!("No such column '{field}' on entity '{object}'. {CUSTOM_FIELD_HINT}"),
    )
}

/// `INVALID_FIELD`: a relationship name in a field path that the object does not have.
pub(crate) fn unknown_relationship(text: &str, span: Span, name: &str) -> ApiFailure {
    failure(
        "INVALID_FIELD",
        text,
        span,
        &format!(
            "Didn't understand relationship '{name}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
        ),
    )
}

/// `INVALID_TYPE`: an unknown object in FROM.
pub(crate) fn unknown_object(text: &str, span: Span, name: &str) -> ApiFailure {
    failure(
        "INVALID_TYPE",
        text,
        span,
        &format!(
            "sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."
        ),
    )
}

/// `INVALID_TYPE`: an unknown child relationship in a subquery's FROM.
pub(crate) fn unknown_child_relationship(text: &str, span: Span, name: &str) -> ApiFailure {
    failure(
        "INVALID_TYPE",
        text,
        span,
        &format!(
            "Didn't understand relationship '{name}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
        ),
    )
}

/// The error for the first problem a parse reported, with `code` (`MALFORMED_QUERY` for SOQL,
/// `MALFORMED_SEARCH` for SOSL). The parser's own words are turned into Salesforce's where
/// Salesforce has a fixed form: `unexpected token: 'X'` (or `'<EOF>'` at the end of the text).
pub(crate) fn parse_failure(code: &str, text: &str, diagnostic: &Diagnostic) -> ApiFailure {
    failure(
        code,
        text,
        diagnostic.span,
        &salesforce_problem(text, diagnostic),
    )
}

fn salesforce_problem(text: &str, diagnostic: &Diagnostic) -> String {
    let message = diagnostic.message.as_str();
    if diagnostic.kind == DiagnosticKind::ApexOnly && message.starts_with("bind variables") {
        // UNVERIFIED wording: what the API answers for `:name` in a query.
        return "Bind variables only allowed in Apex code".to_string();
    }
    if diagnostic.kind == DiagnosticKind::Syntax || diagnostic.kind == DiagnosticKind::ApexOnly {
        if message.starts_with("expected ")
            && let Some(found) = found_token(message)
        {
            return format!("unexpected token: '{found}'");
        }
        if let Some(rest) = message.strip_prefix("unexpected `")
            && let Some((token, _)) = rest.split_once('`')
        {
            return format!("unexpected token: '{token}'");
        }
        if message.starts_with("the list after") || diagnostic.kind == DiagnosticKind::ApexOnly {
            return format!("unexpected token: '{}'", token_at(text, diagnostic.span));
        }
    }
    message.to_string()
}

/// The token named by a parser message of the form `expected X, found `Y`` (or `found end of
/// input`, which Salesforce calls `<EOF>`).
fn found_token(message: &str) -> Option<String> {
    let (_, found) = message.rsplit_once(", found ")?;
    if found.starts_with("end of input") {
        return Some("<EOF>".to_string());
    }
    let inner = found.strip_prefix('`')?;
    let (token, _) = inner.split_once('`')?;
    Some(token.to_string())
}

/// The word of the text that starts at `span`, or `<EOF>` when nothing follows.
fn token_at(text: &str, span: Span) -> String {
    let rest = text.get(span.start as usize..).unwrap_or("");
    let word: String = rest
        .trim_start()
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    if word.is_empty() {
        "<EOF>".to_string()
    } else {
        word
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_queries_are_shown_whole_with_the_caret_under_the_column() {
        let text = "SELECT Naem FROM Account";
        assert_eq!(
            framed(text, Span::new(7, 11), "problem"),
            "\nSELECT Naem FROM Account\n       ^\nERROR at Row:1:Column:8\nproblem"
        );
    }

    #[test]
    fn long_queries_show_a_window_that_starts_at_a_token() {
        let text = "SELECT Id, Name, Phone, Website, Industry, AnnualRevenue, NumberOfEmployees, Bogus__c FROM Account WHERE Name LIKE 'A%' ORDER BY Name";
        let at = text.find("Bogus__c").unwrap();
        let message = framed(text, Span::new(at, at + 8), "problem");
        let lines: Vec<&str> = message.split('\n').collect();
        assert_eq!(lines[0], "");
        assert!(
            lines[1].starts_with("AnnualRevenue, NumberOfEmployees, Bogus__c"),
            "{message}"
        );
        let caret = lines[2].len() - 1;
        assert_eq!(&lines[1][caret..caret + 8], "Bogus__c");
        assert_eq!(lines[3], format!("ERROR at Row:1:Column:{}", at + 1));
    }

    #[test]
    fn parser_messages_become_unexpected_token() {
        let text = "SELECT Id, FROM Account";
        let parse = forcebridge_soql::parse(text);
        let failure = parse_failure("MALFORMED_QUERY", text, &parse.errors[0]);
        assert_eq!(
            failure.errors[0].message,
            "\nSELECT Id, FROM Account\n           ^\nERROR at Row:1:Column:12\nunexpected token: 'FROM'"
        );
        let text = "SELECT Id FROM Account WHERE";
        let parse = forcebridge_soql::parse(text);
        let failure = parse_failure("MALFORMED_QUERY", text, &parse.errors[0]);
        assert!(
            failure.errors[0]
                .message
                .ends_with("ERROR at Row:1:Column:29\nunexpected token: '<EOF>'"),
            "{}",
            failure.errors[0].message
        );
    }
}
