//! SOQL and SOSL are checked before they are sent: a statement longer than Salesforce accepts,
//! or one `forcebridge-soql` finds invalid, is refused with an [`ErrorKind::InvalidQuery`]
//! error that carries the diagnostics and their code frame, and nothing leaves.
//!
//! This module does not judge what only the org knows (objects, fields, permissions), and the
//! length limit is the only check an unchecked statement still gets.
//!
//! [`ErrorKind::InvalidQuery`]: crate::ErrorKind::InvalidQuery

use forcebridge_soql::{Diagnostic, DiagnosticKind, Span, Statement};

use crate::error::{Error, Result};

/// The language a call sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Language {
    /// A SOQL query (`SELECT ...`): `query`, `queryAll`, Bulk query jobs.
    Soql,
    /// A SOSL search (`FIND {...}`).
    Sosl,
}

impl Language {
    fn name(self) -> &'static str {
        match self {
            Language::Soql => "SOQL",
            Language::Sosl => "SOSL",
        }
    }
}

/// Whether a statement is parsed before it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// Parsed, and refused if the parser finds a problem (the default).
    Parse,
    /// Sent as it is (after the length check), for statements the org accepts but the parser
    /// does not.
    LengthOnly,
}

/// The most problems a code frame shows.
const FRAMES_SHOWN: usize = 5;

/// The longest text of a problem in an error message, in characters.
const MESSAGE_CHARS: usize = 200;

/// Refuses `text` if it is longer than Salesforce accepts or, with [`Check::Parse`], if it is not
/// a valid statement of `language`.
pub(crate) fn check(text: &str, language: Language, check: Check) -> Result<()> {
    if let Some(too_long) = forcebridge_soql::check_length(text) {
        return Err(refuse(text, language, vec![too_long]));
    }
    if check == Check::LengthOnly {
        return Ok(());
    }
    let parsed = forcebridge_soql::parse(text);
    if !parsed.errors.is_empty() {
        return Err(refuse(text, language, parsed.errors));
    }
    let found = match (&parsed.tree, language) {
        (Statement::Query(_), Language::Soql) | (Statement::Search(_), Language::Sosl) => {
            return Ok(());
        }
        (Statement::Search(_), Language::Soql) => "a SOSL search (FIND ...)",
        (Statement::Query(_), Language::Sosl) => "a SOQL query (SELECT ...)",
    };
    let expected = match language {
        Language::Soql => "a SOQL query (SELECT ...)",
        Language::Sosl => "a SOSL search (FIND ...)",
    };
    // The first word is what tells the two apart.
    let start = text.len() - text.trim_start().len();
    let word = text[start..]
        .find(|c: char| !c.is_alphanumeric())
        .unwrap_or(text.len() - start);
    let wrong_kind = Diagnostic {
        kind: DiagnosticKind::Syntax,
        message: format!("expected {expected}, found {found}"),
        span: Span::new(start, start + word),
    };
    Err(refuse(text, language, vec![wrong_kind]))
}

/// The error for a refused statement: one line naming the first problem and where it is, and
/// the frames of the first few problems.
fn refuse(text: &str, language: Language, diagnostics: Vec<Diagnostic>) -> Error {
    let first = &diagnostics[0];
    let position = first.position(text);
    let mut message = format!(
        "invalid {} at line {}, column {}: {}",
        language.name(),
        position.line,
        position.column,
        cut(&first.message, MESSAGE_CHARS)
    );
    let more = diagnostics.len() - 1;
    if more > 0 {
        message.push_str(&format!(
            " (and {more} more problem{})",
            if more == 1 { "" } else { "s" }
        ));
    }
    let mut frame =
        forcebridge_soql::render_all(&diagnostics[..diagnostics.len().min(FRAMES_SHOWN)], text);
    if diagnostics.len() > FRAMES_SHOWN {
        let hidden = diagnostics.len() - FRAMES_SHOWN;
        frame.push_str(&format!(
            "\n… and {hidden} more problem{}\n",
            if hidden == 1 { "" } else { "s" }
        ));
    }
    Error::invalid_statement(message, diagnostics, frame)
}

/// `text`, cut after `max_chars` characters with `…`.
pub(crate) fn cut(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn a_valid_statement_of_the_right_language_passes() {
        check("SELECT Id FROM Account", Language::Soql, Check::Parse).unwrap();
        check(
            "FIND {Acme} RETURNING Account(Name)",
            Language::Sosl,
            Check::Parse,
        )
        .unwrap();
    }

    #[test]
    fn a_broken_statement_is_refused_with_one_line_and_a_frame() {
        let text = "SELECT Id FROM Account WHERE Name =";
        let error = check(text, Language::Soql, Check::Parse).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidQuery);
        assert!(error.is_not_sent());
        assert_eq!(
            error.to_string(),
            "invalid SOQL at line 1, column 36: expected a value after `=`, found end of input"
        );
        assert_eq!(error.query_diagnostics().len(), 1);
        let frame = error.code_frame().unwrap();
        assert!(
            frame.contains("1 | SELECT Id FROM Account WHERE Name ="),
            "{frame}"
        );
        assert!(frame.contains('^'), "{frame}");
        // Unchecked, it goes (the org will judge it).
        check(text, Language::Soql, Check::LengthOnly).unwrap();
    }

    #[test]
    fn the_other_language_is_refused_at_its_first_word() {
        let error = check("  FIND {Acme}", Language::Soql, Check::Parse).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid SOQL at line 1, column 3: expected a SOQL query (SELECT ...), found a SOSL search (FIND ...)"
        );
        assert_eq!(error.query_diagnostics()[0].span, Span::new(2, 6));
        let error = check("SELECT Id FROM Account", Language::Sosl, Check::Parse).unwrap_err();
        assert!(error.to_string().starts_with("invalid SOSL"), "{error}");
    }

    #[test]
    fn a_statement_over_the_limit_is_refused_even_unchecked_and_never_echoed() {
        let text = format!(
            "SELECT Id FROM Account WHERE Name IN ({})",
            "'abcdefgh', ".repeat(15_000)
        );
        for how in [Check::Parse, Check::LengthOnly] {
            let error = check(&text, Language::Soql, how).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidQuery);
            let message = error.to_string();
            assert!(
                message.contains("Salesforce accepts at most 100,000"),
                "{message}"
            );
            assert!(message.len() < 300, "{message}");
            assert!(error.code_frame().unwrap().len() < 1000);
        }
    }

    #[test]
    fn many_problems_show_five_frames_and_count_the_rest() {
        let text = "SELECT Id FROM Account WHERE ".to_string()
            + &(0..20)
                .map(|i| format!("(A{i} = )"))
                .collect::<Vec<_>>()
                .join(" AND ");
        let error = check(&text, Language::Soql, Check::Parse).unwrap_err();
        let n = error.query_diagnostics().len();
        assert!(n > FRAMES_SHOWN, "{n}");
        assert!(
            error
                .to_string()
                .contains(&format!("(and {} more problems)", n - 1))
        );
        let frame = error.code_frame().unwrap();
        assert_eq!(frame.matches("--> line").count(), FRAMES_SHOWN, "{frame}");
        assert!(frame.ends_with(&format!("… and {} more problems\n", n - FRAMES_SHOWN)));
    }
}
