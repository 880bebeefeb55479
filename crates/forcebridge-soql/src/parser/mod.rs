//! Recursive-descent parser from tokens to the syntax tree.
//!
//! The parser never fails and never panics: every problem becomes a [`Diagnostic`], the tree gets
//! a placeholder, and parsing resumes at the next clause keyword or closing parenthesis. Every
//! loop either consumes a token or leaves, and recursion is capped at [`MAX_DEPTH`], so no input
//! can hang it or overflow the stack.
//!
//! Submodules follow the grammar: `query` (SOQL clauses), `condition` (WHERE/HAVING), `expr`
//! (fields, functions, literals) and `search` (SOSL).

mod condition;
mod expr;
mod query;
mod search;

use crate::ast::{Query, Search, Statement};
use crate::error::{Diagnostic, DiagnosticKind};
use crate::lexer::{Token, TokenKind, tokenize};
use crate::span::Span;

/// How deeply subqueries, parentheses and function calls may nest. Real queries stay far below
/// this; the cap exists so hostile input cannot overflow the stack.
pub(crate) const MAX_DEPTH: u32 = 64;

/// Diagnostics kept per parse. Past this many nobody reads them, and hostile input could
/// otherwise make one per character.
pub(crate) const MAX_DIAGNOSTICS: usize = 100;

/// Words that end a clause or start the next one. Used to tell an alias from a keyword and to
/// find a place to resume after an error.
const CLAUSE_KEYWORDS: &[&str] = &[
    "FROM",
    "WHERE",
    "WITH",
    "USING",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "BIND",
    "FOR",
    "UPDATE",
    "RETURNING",
];

/// Keywords the SOQL reference says cannot be used as aliases.
const RESERVED_FOR_ALIAS: &[&str] = &[
    "AND", "ASC", "DESC", "EXCLUDES", "FIRST", "FROM", "GROUP", "HAVING", "IN", "INCLUDES", "LAST",
    "LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OR", "SELECT", "USING", "WHERE", "WITH",
];

pub(crate) fn parse_statement(text: &str) -> (Statement, Vec<Diagnostic>) {
    let mut p = Parser::new(text);
    let statement = if p.at_kw("FIND") {
        Statement::Search(p.search())
    } else {
        Statement::Query(p.query())
    };
    p.expect_end();
    (statement, p.finish())
}

pub(crate) fn parse_query(text: &str) -> (Query, Vec<Diagnostic>) {
    let mut p = Parser::new(text);
    let query = p.query();
    p.expect_end();
    (query, p.finish())
}

pub(crate) fn parse_search(text: &str) -> (Search, Vec<Diagnostic>) {
    let mut p = Parser::new(text);
    let search = p.search();
    p.expect_end();
    (search, p.finish())
}

pub(crate) struct Parser<'t> {
    text: &'t str,
    tokens: Vec<Token>,
    pos: usize,
    errors: Vec<Diagnostic>,
    depth: u32,
}

impl<'t> Parser<'t> {
    fn new(text: &'t str) -> Parser<'t> {
        let (tokens, errors) = tokenize(text);
        Parser {
            text,
            tokens,
            pos: 0,
            errors,
            depth: 0,
        }
    }

    fn finish(mut self) -> Vec<Diagnostic> {
        self.errors.sort_by_key(|d| (d.span.start, d.span.end));
        self.errors
    }

    // ---- Looking at tokens -------------------------------------------------------------------

    fn nth(&self, n: usize) -> Token {
        let last = self.tokens.len() - 1;
        self.tokens[(self.pos + n).min(last)]
    }

    fn current(&self) -> Token {
        self.nth(0)
    }

    fn kind(&self) -> TokenKind {
        self.current().kind
    }

    fn at(&self, kind: TokenKind) -> bool {
        self.kind() == kind
    }

    fn at_eof(&self) -> bool {
        self.at(TokenKind::Eof)
    }

    fn text_of(&self, token: Token) -> &'t str {
        &self.text[token.span.range()]
    }

    fn nth_is_kw(&self, n: usize, keyword: &str) -> bool {
        let token = self.nth(n);
        token.kind == TokenKind::Ident && self.text_of(token).eq_ignore_ascii_case(keyword)
    }

    fn at_kw(&self, keyword: &str) -> bool {
        self.nth_is_kw(0, keyword)
    }

    /// Whether the current token starts a clause (or is FROM), so it cannot be an alias or a value.
    fn at_clause_keyword(&self) -> bool {
        CLAUSE_KEYWORDS.iter().any(|kw| self.at_kw(kw))
            || ((self.at_kw("GROUP") || self.at_kw("ORDER")) && self.nth_is_kw(1, "BY"))
            || (self.at_kw("ALL") && self.nth_is_kw(1, "ROWS"))
    }

    /// Whether the current word could be an alias: an identifier that is neither reserved nor a
    /// clause keyword.
    fn at_alias(&self) -> bool {
        self.at(TokenKind::Ident) && !self.at_clause_keyword() && !self.at_reserved_word()
    }

    /// Whether the current word is one SOQL reserves (AND, OR, IN, LIKE, ...).
    fn at_reserved_word(&self) -> bool {
        RESERVED_FOR_ALIAS.iter().any(|kw| self.at_kw(kw))
    }

    /// Describes the current token for "found ..." in error messages.
    fn found(&self) -> String {
        let token = self.current();
        let text = self.text_of(token);
        match token.kind {
            TokenKind::Eof => "end of input".to_string(),
            TokenKind::String { .. } => format!("string {}", truncate(text, 30)),
            TokenKind::Number => format!("number {text}"),
            _ => format!("`{}`", truncate(text, 30)),
        }
    }

    /// The end of the previous token: where a node that just finished ends.
    fn prev_end(&self) -> usize {
        if self.pos == 0 {
            0
        } else {
            self.tokens[self.pos - 1].span.end as usize
        }
    }

    fn span_from(&self, start: Span) -> Span {
        Span::new(
            start.start as usize,
            self.prev_end().max(start.end as usize),
        )
    }

    // ---- Consuming tokens --------------------------------------------------------------------

    fn bump(&mut self) -> Token {
        let token = self.current();
        if token.kind != TokenKind::Eof {
            self.pos += 1;
        }
        token
    }

    fn eat(&mut self, kind: TokenKind) -> Option<Token> {
        self.at(kind).then(|| self.bump())
    }

    fn eat_kw(&mut self, keyword: &str) -> Option<Span> {
        self.at_kw(keyword).then(|| self.bump().span)
    }

    fn expect(&mut self, kind: TokenKind, what: &str) -> Option<Token> {
        if self.at(kind) {
            Some(self.bump())
        } else {
            self.error_here(format!("expected {what}, found {}", self.found()));
            None
        }
    }

    fn expect_kw(&mut self, keyword: &str) -> Option<Span> {
        if self.at_kw(keyword) {
            Some(self.bump().span)
        } else {
            self.error_here(format!("expected {keyword}, found {}", self.found()));
            None
        }
    }

    fn ident(&mut self, what: &str) -> crate::ast::Ident {
        match self.expect(TokenKind::Ident, what) {
            Some(token) => crate::ast::Ident::new(self.text_of(token), token.span),
            None => crate::ast::Ident::new("", Span::empty(self.current().span.start as usize)),
        }
    }

    // ---- Errors and recovery -----------------------------------------------------------------

    fn error(&mut self, kind: DiagnosticKind, span: Span, message: impl Into<String>) {
        if self.errors.len() >= MAX_DIAGNOSTICS {
            return;
        }
        // One error per position: a second one there is almost always a consequence of the first.
        // After a statement proved too deep, everything else is a consequence of skipping it.
        if self.errors.iter().any(|e| {
            (e.span.start == span.start && e.kind != DiagnosticKind::InvalidLiteral)
                || e.kind == DiagnosticKind::TooComplex
        }) {
            return;
        }
        self.errors.push(Diagnostic::new(kind, message, span));
    }

    fn error_here(&mut self, message: impl Into<String>) {
        let span = self.current().span;
        self.error(DiagnosticKind::Syntax, span, message);
    }

    /// Skips tokens until `stop` holds, a clause keyword begins, an unmatched `)` comes, or the
    /// input ends. Parenthesised groups are skipped whole.
    fn recover(&mut self, stop: impl Fn(&Parser<'t>) -> bool) {
        let mut depth = 0usize;
        while !self.at_eof() {
            if depth == 0 && (stop(self) || self.at_clause_keyword() || self.at(TokenKind::RParen))
            {
                return;
            }
            match self.kind() {
                TokenKind::LParen => depth += 1,
                TokenKind::RParen => depth -= 1,
                _ => {}
            }
            self.bump();
        }
    }

    /// Enters one level of nesting. Past [`MAX_DEPTH`] it reports the problem, skips to the end
    /// of the input and returns false, so the caller returns without recursing further.
    fn enter(&mut self) -> bool {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let span = self.current().span;
            self.error(
                DiagnosticKind::TooComplex,
                span,
                format!("the statement nests more than {MAX_DEPTH} levels deep"),
            );
            self.pos = self.tokens.len() - 1;
            return false;
        }
        true
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Reports anything left after a complete top-level statement.
    fn expect_end(&mut self) {
        if self.at_eof() {
            return;
        }
        let message = match self.kind() {
            TokenKind::Semicolon => {
                "unexpected `;`: a SOQL statement does not end with a semicolon".to_string()
            }
            TokenKind::RParen => "unexpected `)`: it closes nothing".to_string(),
            _ => format!("unexpected {} after the end of the statement", self.found()),
        };
        self.error_here(message);
        self.pos = self.tokens.len() - 1;
    }

    /// Reports an Apex bind variable (`:name`, `:obj.field`, `:(expr)`) and skips it.
    fn apex_bind(&mut self) {
        let start = self.bump().span;
        self.recover(|p| {
            p.at(TokenKind::Comma)
                || p.at_kw("AND")
                || p.at_kw("OR")
                || p.at_kw("ASC")
                || p.at_kw("DESC")
        });
        let span = self.span_from(start);
        self.error(
            DiagnosticKind::ApexOnly,
            span,
            "bind variables such as `:name` are Apex-only: the REST API needs the value written into the query",
        );
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    let mut out: String = text.chars().take(max_chars).collect();
    if text.chars().count() > max_chars {
        out.push('…');
    }
    out
}
