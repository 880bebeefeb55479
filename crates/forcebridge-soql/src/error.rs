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
    ///
    /// A frame never echoes a huge input: a line longer than 100 characters is shown as a window
    /// of 100 around the caret, with `…` where it was cut, and a message longer than 200
    /// characters is cut too. The position always counts from the start of the real line.
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
        let window = Window::around(line_text.chars().count(), column - 1, covered);
        let gutter = line.to_string().len();
        let pad = " ".repeat(gutter);
        let message = cut(&self.message, MESSAGE_WIDTH);
        let label = cut(short_label(&self.message), MESSAGE_WIDTH);
        let level = match self.kind {
            DiagnosticKind::ApexOnly => "error[apex-only]",
            _ => "error",
        };
        let shown: String = line_text
            .chars()
            .skip(window.from)
            .take(window.to - window.from)
            .map(|c| if c == '\t' { ' ' } else { c })
            .collect();
        let (before, after) = (
            if window.from > 0 { "…" } else { "" },
            if window.to < window.line_chars {
                "…"
            } else {
                ""
            },
        );
        format!(
            "{level}: {message}\n{pad}--> line {line}, column {column}\n{pad} |\n{line} | {before}{shown}{after}\n{pad} | {spaces}{carets} {label}\n",
            spaces = " ".repeat(window.caret_at - window.from + before.chars().count()),
            carets = "^".repeat(window.caret_len),
        )
    }
}

/// The widest stretch of a line a code frame shows, in characters.
const FRAME_WIDTH: usize = 100;

/// The longest message a code frame shows, in characters.
const MESSAGE_WIDTH: usize = 200;

/// The part of a line a code frame shows (character indexes `from..to`) and where its caret
/// goes.
#[derive(Debug, PartialEq, Eq)]
struct Window {
    line_chars: usize,
    from: usize,
    to: usize,
    caret_at: usize,
    caret_len: usize,
}

impl Window {
    /// The window over a line of `line_chars` characters for a caret at character `caret_at`
    /// covering `covered` characters. A line that fits is shown whole; a longer one keeps a
    /// third of the width before the caret, so what led up to the problem shows too.
    fn around(line_chars: usize, caret_at: usize, covered: usize) -> Window {
        let caret_at = caret_at.min(line_chars);
        let (from, to) = if line_chars <= FRAME_WIDTH {
            (0, line_chars)
        } else {
            let from = caret_at.saturating_sub(FRAME_WIDTH / 3);
            let to = (from + FRAME_WIDTH).min(line_chars);
            (to - FRAME_WIDTH, to)
        };
        // A caret past the end of the line (end of input) still takes one column.
        let caret_len = covered.min(to.saturating_sub(caret_at)).max(1);
        Window {
            line_chars,
            from,
            to,
            caret_at,
            caret_len,
        }
    }
}

/// `text`, cut after `max_chars` characters with `…`.
fn cut(text: &str, max_chars: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &text[..end]).into(),
        None => text.into(),
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

    /// The frame of the first error of `source`, as lines.
    fn frame_lines(source: &str) -> Vec<String> {
        let parsed = crate::parse(source);
        parsed.errors[0]
            .render(source)
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The character of the shown line that sits above the first caret.
    fn char_above_caret(lines: &[String]) -> char {
        let caret = lines[4].chars().position(|c| c == '^').unwrap();
        lines[3].chars().nth(caret).unwrap()
    }

    #[test]
    fn a_long_line_is_shown_as_a_window_around_the_caret() {
        let values: Vec<String> = (0..2000).map(|i| format!("'v{i}'")).collect();
        let source = format!(
            "SELECT Id FROM Account WHERE Name IN ({}) AND Name = = 'x' OR Name IN ({})",
            values.join(", "),
            values.join(", ")
        );
        let lines = frame_lines(&source);
        let at = source.find("= =").unwrap() + 2;
        assert_eq!(lines[1], format!(" --> line 1, column {}", at + 1));
        let shown = lines[3].trim_start_matches("1 | ");
        assert!(shown.starts_with('…') && shown.ends_with('…'), "{shown}");
        assert_eq!(shown.chars().count(), 102, "{shown}");
        assert_eq!(char_above_caret(&lines), '=');
        assert!(lines.iter().all(|l| l.chars().count() < 320), "{lines:#?}");
    }

    #[test]
    fn an_error_at_the_end_of_a_long_line_keeps_the_end_in_view() {
        let fields: Vec<String> = (0..500).map(|i| format!("Field{i}__c")).collect();
        let source = format!("SELECT {} FROM", fields.join(", "));
        let lines = frame_lines(&source);
        let shown = lines[3].trim_start_matches("1 | ");
        assert!(shown.starts_with('…') && shown.ends_with("FROM"), "{shown}");
        // The caret sits just past the last character, where the object name is missing.
        let caret = lines[4].chars().position(|c| c == '^').unwrap();
        assert_eq!(caret, lines[3].chars().count());
    }

    #[test]
    fn the_caret_is_cut_at_the_window_and_a_long_message_is_cut() {
        let window = Window::around(10_000, 500, 5_000);
        assert_eq!((window.from, window.to), (467, 567));
        assert_eq!(window.caret_len, 67);
        assert_eq!(Window::around(40, 3, 2).from, 0);
        let long = "x".repeat(1000);
        let d = Diagnostic::new(
            DiagnosticKind::Syntax,
            format!("unknown `{long}`"),
            Span::new(0, 3),
        );
        let frame = d.render("abc");
        assert!(frame.lines().all(|l| l.chars().count() <= 220), "{frame}");
        assert!(frame.contains('…'), "{frame}");
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
