//! SOQL and SOSL for forcebridge: a lexer and parser that never fail, a syntax tree with spans,
//! a printer and formatter, questions about a query (what it reads, its limit), and a builder
//! that keeps user input from changing a query's structure.
//!
//! This crate does no IO and no async, and knows nothing about HTTP or any Salesforce org: it only
//! turns text into trees and trees into text.
//!
//! # Parsing
//!
//! ```
//! use forcebridge_soql::{parse, Statement};
//!
//! let parsed = parse("SELECT Id, Name FROM Account WHERE Name LIKE 'Acme%' LIMIT 10");
//! assert!(parsed.errors.is_empty());
//! let Statement::Query(query) = &parsed.tree else { unreachable!() };
//! assert_eq!(query.from.object.dotted(), "Account");
//! assert_eq!(query.limit.map(|l| l.value), Some(10));
//!
//! // A broken query still gives a tree, and errors that point at the column.
//! let text = "SELECT Id FROM Account WHERE Name =";
//! let broken = parse(text);
//! assert_eq!(broken.errors[0].message, "expected a value after `=`, found end of input");
//! assert_eq!(broken.errors[0].position(text).column, 36);
//! print!("{}", broken.render_errors(text));
//! ```
//!
//! # Building queries from user input
//!
//! ```
//! use forcebridge_soql::builder::{field, QueryBuilder};
//!
//! let name = "O'Brien \\ 100%"; // anything a user might type
//! let soql = QueryBuilder::select(["Id", "Name"])
//!     .from("Contact")
//!     .filter(field("LastName").starts_with(name))
//!     .limit(20)
//!     .build()
//!     .unwrap();
//! assert_eq!(soql, r"SELECT Id, Name FROM Contact WHERE LastName LIKE 'O\'Brien \\ 100\%%' LIMIT 20");
//! ```
//!
//! # Features
//!
//! | feature  | default | what it adds |
//! |----------|---------|--------------|
//! | `serde`  | no      | `Serialize` for the syntax tree and diagnostics (the CLI's `soql parse --json`) |
//! | `chrono` | no      | conversions from `chrono` dates and times into builder values |

pub mod analysis;
pub mod ast;
pub mod builder;
mod error;
mod lexer;
mod like;
mod parser;
mod printer;
mod search_term;
mod span;
mod strip;

pub use ast::*;
pub use error::{Diagnostic, DiagnosticKind, Error, ErrorKind, render_all};
pub use like::{LikePart, LikePattern};
pub use printer::{format_pretty, to_soql};
pub use search_term::{RESERVED_CHARACTERS, SearchExpr, escape_search_term};
pub use span::{LineColumn, Span};

/// The result of parsing: always a tree, and the problems found on the way.
#[derive(Debug, Clone)]
pub struct Parse<T> {
    pub tree: T,
    /// Problems in text order. Empty means the text is valid.
    pub errors: Vec<Diagnostic>,
}

impl<T> Parse<T> {
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// The tree if there were no errors, or an [`Error`] holding them all.
    pub fn into_result(self, source: &str) -> Result<T, Error> {
        if self.errors.is_empty() {
            Ok(self.tree)
        } else {
            Err(Error::from_diagnostics(self.errors, source))
        }
    }

    /// Every error as a code frame over `source` (the text that was parsed).
    pub fn render_errors(&self, source: &str) -> String {
        render_all(&self.errors, source)
    }
}

/// Parses a SOQL query or, when the text starts with `FIND`, a SOSL search.
pub fn parse(text: &str) -> Parse<Statement> {
    let (tree, errors) = parser::parse_statement(text);
    Parse { tree, errors }
}

/// Parses a SOQL query.
pub fn parse_query(text: &str) -> Parse<Query> {
    let (tree, errors) = parser::parse_query(text);
    Parse { tree, errors }
}

/// Parses a SOSL search.
pub fn parse_search(text: &str) -> Parse<Search> {
    let (tree, errors) = parser::parse_search(text);
    Parse { tree, errors }
}

/// The longest SOQL statement Salesforce accepts, in characters (its documented limit; SOSL has
/// the same limits as SOQL).
pub const MAX_STATEMENT_CHARS: usize = 100_000;

/// A [`DiagnosticKind::TooComplex`] diagnostic when `text` is longer than
/// [`MAX_STATEMENT_CHARS`], spanning the part past the limit; `None` otherwise.
///
/// [`parse`] does not apply this limit (it is the org's, not the grammar's). Callers that send
/// statements check it first, so that a huge input is neither parsed nor sent, and its frame
/// ([`Diagnostic::render`]) shows only a window of the text.
///
/// ```
/// let long = format!("SELECT Id FROM Account WHERE Name IN ({})", "'x', ".repeat(25_000));
/// let problem = forcebridge_soql::check_length(&long).unwrap();
/// assert_eq!(
///     problem.message,
///     "the statement is 125,039 characters long; Salesforce accepts at most 100,000"
/// );
/// assert!(forcebridge_soql::check_length("SELECT Id FROM Account").is_none());
/// ```
pub fn check_length(text: &str) -> Option<Diagnostic> {
    // Bytes bound characters from above: most statements are decided without counting.
    if text.len() <= MAX_STATEMENT_CHARS {
        return None;
    }
    let (limit, _) = text.char_indices().nth(MAX_STATEMENT_CHARS)?;
    let chars = MAX_STATEMENT_CHARS + text[limit..].chars().count();
    Some(Diagnostic {
        kind: DiagnosticKind::TooComplex,
        message: format!(
            "the statement is {} characters long; Salesforce accepts at most {}",
            thousands(chars),
            thousands(MAX_STATEMENT_CHARS)
        ),
        span: Span::new(limit, text.len()),
    })
}

/// `n` with a comma between groups of three digits.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Parses a statement and fails on the first problem: the strict form of [`parse`].
pub fn parse_strict(text: &str) -> Result<Statement, Error> {
    parse(text).into_result(text)
}

impl std::str::FromStr for Query {
    type Err = Error;

    fn from_str(text: &str) -> Result<Query, Error> {
        parse_query(text).into_result(text)
    }
}

impl std::str::FromStr for Search {
    type Err = Error;

    fn from_str(text: &str) -> Result<Search, Error> {
        parse_search(text).into_result(text)
    }
}

impl std::str::FromStr for Statement {
    type Err = Error;

    fn from_str(text: &str) -> Result<Statement, Error> {
        parse_strict(text)
    }
}

/// The public types cross threads freely: a parsed query can be handed to a worker, and the
/// error can travel inside `anyhow` or a client's error type.
const _: () = {
    const fn send_sync_static<T: Send + Sync + 'static>() {}
    send_sync_static::<Error>();
    send_sync_static::<Parse<Statement>>();
    send_sync_static::<Statement>();
    send_sync_static::<builder::QueryBuilder>();
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_length_limit_counts_characters_and_its_frame_stays_short() {
        let at_limit = "é".repeat(MAX_STATEMENT_CHARS);
        assert!(at_limit.len() > MAX_STATEMENT_CHARS);
        assert_eq!(check_length(&at_limit), None);
        let over = format!("{at_limit}abc");
        let problem = check_length(&over).unwrap();
        assert_eq!(problem.kind, DiagnosticKind::TooComplex);
        assert_eq!(problem.span.start as usize, 2 * MAX_STATEMENT_CHARS);
        assert!(
            problem.message.contains("100,003 characters"),
            "{problem:?}"
        );
        let frame = problem.render(&over);
        assert!(frame.contains("column 100001"), "{frame}");
        assert!(frame.len() < 1000, "{frame}");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(11_500_000), "11,500,000");
    }
}
