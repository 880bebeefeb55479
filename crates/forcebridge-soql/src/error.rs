//! Diagnostics (one problem at one place in the text) and the crate's error type.
//!
//! A parse produces diagnostics as data; only the strict entry points and the builder turn them
//! into an [`Error`]. Rendering a diagnostic as a code frame lives here too, so every consumer
//! (CLI, emulator, assistant tools) shows the same caret under the same column.

use std::fmt;

use crate::span::{LineColumn, Span};

/// What sort of problem a [`Diagnostic`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum DiagnosticKind {
    /// The text does not follow the SOQL or SOSL grammar.
    Syntax,
    /// Apex-only syntax, such as `:bind` variables or `ALL ROWS`, which the REST API rejects.
    ApexOnly,
    /// A literal that has the right shape but an impossible value, such as `2024-02-30`.
    InvalidLiteral,
    /// The query is nested too deeply or is too long to process.
    TooComplex,
}

/// One problem in the text, with the span it applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Diagnostic {
    pub kind: DiagnosticKind,
    /// What is wrong, naming what was expected where that helps: `expected FROM, found end of input`.
    pub message: String,
    pub span: Span,
}

impl Diagnostic {
    pub(crate) fn new(kind: DiagnosticKind, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            kind,
            message: message.into(),
            span,
        }
    }

    /// The line and column (both from 1, columns in characters) where the problem starts.
    pub fn position(&self, source: &str) -> LineColumn {
        LineColumn::of(source, self.span.start as usize)
    }

    /// Renders the diagnostic as a code frame: the message, the position, the offending line and
    /// a caret under the columns the span covers.
    ///
    /// ```text
    /// error: expected FROM, found end of input
    ///  --> line 1, column 9
    ///   |
    /// 1 | SELECT A
    ///   |         ^ expected FROM
    /// ```
    pub fn render(&self, source: &str) -> String {
        let LineColumn { line, column } = self.position(source);
        let line_text = source
            .split('\n')
            .nth(line - 1)
            .unwrap_or("")
            .trim_end_matches('\r');
        // The caret covers the span's characters on its first line, and at least one column.
        let start = self.span.start as usize;
        let end = (self.span.end as usize).min(start + line_text.len());
        let covered = source
            .get(start..end)
            .map_or(1, |s| s.split('\n').next().unwrap_or("").chars().count())
            .max(1);
        let gutter = line.to_string().len();
        let pad = " ".repeat(gutter);
        let label = short_label(&self.message);
        let level = match self.kind {
            DiagnosticKind::ApexOnly => "error[apex-only]",
            _ => "error",
        };
        let shown: String = line_text
            .chars()
            .map(|c| if c == '\t' { ' ' } else { c })
            .collect();
        format!(
            "{level}: {message}\n{pad}--> line {line}, column {column}\n{pad} |\n{line} | {shown}\n{pad} | {spaces}{carets} {label}\n",
            message = self.message,
            spaces = " ".repeat(column - 1),
            carets = "^".repeat(covered),
        )
    }
}

/// The head of a message, used as the label beside the caret: the text before the first `: `,
/// `, ` or ` (` that is not inside backticks.
fn short_label(message: &str) -> &str {
    let mut in_code = false;
    for (i, c) in message.char_indices() {
        match c {
            '`' => in_code = !in_code,
            ':' | ',' if !in_code && message[i + 1..].starts_with(' ') => {
                return message[..i].trim();
            }
            ' ' if !in_code && message[i + 1..].starts_with('(') => return message[..i].trim(),
            _ => {}
        }
    }
    message.trim()
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Renders every diagnostic as a code frame, separated by blank lines.
pub fn render_all(diagnostics: &[Diagnostic], source: &str) -> String {
    diagnostics
        .iter()
        .map(|d| d.render(source))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What a caller can do about an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The text is not valid SOQL or SOSL; [`Error::diagnostics`] says where.
    Syntax,
    /// The text uses Apex-only syntax that the REST API does not accept.
    ApexOnly,
    /// A name given to the builder is not a valid Salesforce API name.
    InvalidIdentifier,
    /// A value given to the builder cannot be written as a SOQL literal (a NaN, an infinite
    /// number, an invalid date).
    InvalidValue,
}

/// The error type of this crate.
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    diagnostics: Vec<Diagnostic>,
    source_text: Option<String>,
}

impl Error {
    pub(crate) fn from_diagnostics(diagnostics: Vec<Diagnostic>, source_text: &str) -> Error {
        let kind = if diagnostics
            .iter()
            .any(|d| d.kind == DiagnosticKind::ApexOnly)
        {
            ErrorKind::ApexOnly
        } else {
            ErrorKind::Syntax
        };
        let first = diagnostics
            .first()
            .map_or_else(|| "invalid query".to_string(), |d| d.message.clone());
        let message = match diagnostics.len() {
            0 | 1 => first,
            n => format!(
                "{first} (and {} more error{})",
                n - 1,
                if n == 2 { "" } else { "s" }
            ),
        };
        Error {
            kind,
            message,
            diagnostics,
            source_text: Some(source_text.to_string()),
        }
    }

    pub(crate) fn invalid_identifier(name: &str, why: &str) -> Error {
        Error {
            kind: ErrorKind::InvalidIdentifier,
            message: format!("invalid name {name:?}: {why}"),
            diagnostics: Vec::new(),
            source_text: None,
        }
    }

    pub(crate) fn invalid_value(message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::InvalidValue,
            message: message.into(),
            diagnostics: Vec::new(),
            source_text: None,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Every problem found, in text order. Empty for builder errors, which have no text.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The text that failed to parse, if this error came from parsing.
    pub fn source_text(&self) -> Option<&str> {
        self.source_text.as_deref()
    }

    /// All diagnostics as code frames, or the plain message for builder errors.
    pub fn render(&self) -> String {
        match &self.source_text {
            Some(source) if !self.diagnostics.is_empty() => render_all(&self.diagnostics, source),
            _ => format!("error: {}\n", self.message),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("diagnostics", &self.diagnostics)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_sits_under_the_span_even_after_multibyte_text() {
        let source = "SELECT Id FROM Account WHERE Name = 'é' AND";
        let d = Diagnostic::new(
            DiagnosticKind::Syntax,
            "expected a condition, found end of input",
            Span::empty(43),
        );
        let frame = d.render(source);
        let lines: Vec<&str> = frame.lines().collect();
        assert_eq!(lines[1], " --> line 1, column 43");
        let caret_col = lines[4].find('^').unwrap();
        let line_start = lines[3].find('S').unwrap();
        assert_eq!(caret_col - line_start, 42);
        assert!(lines[4].ends_with("^ expected a condition"));
    }

    #[test]
    fn frame_shows_the_line_that_holds_the_error() {
        let source = "SELECT Id\nFROM Account\nWHERE";
        let d = Diagnostic::new(
            DiagnosticKind::Syntax,
            "expected a condition",
            Span::empty(source.len()),
        );
        let frame = d.render(source);
        assert!(frame.contains("3 | WHERE\n"), "{frame}");
        assert!(frame.contains("--> line 3, column 6"), "{frame}");
    }
}
