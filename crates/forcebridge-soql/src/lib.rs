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
