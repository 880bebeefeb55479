//! The little language inside `FIND {...}`: words with `*` and `?` wildcards, quoted phrases,
//! AND, OR, AND NOT and parentheses, with adjacent words meaning AND.
//!
//! This module reads the term and reports problems with spans into the whole statement; it does
//! not decide which records match (that needs the data, and lives in the emulator), but it hands
//! each word over as a [`LikePattern`] so the matcher does not have to re-read escapes.

use crate::error::{Diagnostic, DiagnosticKind};
use crate::like::LikePattern;
use crate::span::Span;

/// The structure of a SOSL search term.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(tag = "type", rename_all = "snake_case")
)]
pub enum SearchExpr {
    /// A word, as a pattern: `*` became `%`, `?` became `_`, escaped characters are literal.
    Word {
        pattern: LikePattern,
    },
    /// A quoted phrase, escapes decoded.
    Phrase {
        text: String,
    },
    And {
        operands: Vec<SearchExpr>,
    },
    Or {
        operands: Vec<SearchExpr>,
    },
    Not {
        operand: Box<SearchExpr>,
    },
    /// Nothing usable: the term was empty or could not be read.
    Empty,
}

/// Characters that must be escaped with a backslash to be searched for literally.
pub const RESERVED_CHARACTERS: &[char] = &[
    '?', '&', '|', '!', '{', '}', '[', ']', '(', ')', '^', '~', '*', ':', '\\', '"', '\'', '+', '-',
];

/// Escapes `text` so that it is searched for as plain words: every reserved character gets a
/// backslash, and words that would be operators (AND, OR, NOT) are quoted. This is the safe way
/// to put user input inside `FIND {...}`. Runs of whitespace become single spaces, which is all
/// whitespace means in a search term.
pub fn escape_search_term(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    for (i, word) in text.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if ["AND", "OR", "NOT"]
            .iter()
            .any(|op| word.eq_ignore_ascii_case(op))
        {
            out.push('"');
            out.push_str(word);
            out.push('"');
            continue;
        }
        for c in word.chars() {
            if RESERVED_CHARACTERS.contains(&c) {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(LikePattern),
    Phrase(String),
    And,
    Or,
    Not,
    LParen,
    RParen,
}

/// Parses the text between the braces. `base` is the byte offset of that text in the statement,
/// and `whole` the span of the term with its braces (where an empty term is reported).
pub(crate) fn parse_search_term(
    raw: &str,
    base: usize,
    whole: Span,
    errors: &mut Vec<Diagnostic>,
) -> SearchExpr {
    let tokens = lex(raw, base, errors);
    if tokens.is_empty() {
        errors.push(Diagnostic::new(
            DiagnosticKind::Syntax,
            "the search term is empty: put the words to find between the braces",
            whole,
        ));
        return SearchExpr::Empty;
    }
    let end = base + raw.len();
    let mut p = TermParser {
        tokens,
        pos: 0,
        end,
        errors,
        depth: 0,
    };
    let expr = p.or_expr();
    if p.pos < p.tokens.len() {
        let span = p.tokens[p.pos].1;
        p.errors.push(Diagnostic::new(
            DiagnosticKind::Syntax,
            "unmatched `)` in the search term",
            span,
        ));
    }
    expr
}

fn lex(raw: &str, base: usize, errors: &mut Vec<Diagnostic>) -> Vec<(Tok, Span)> {
    let mut out = Vec::new();
    let mut chars = raw.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' => {
                chars.next();
                let tok = if c == '(' { Tok::LParen } else { Tok::RParen };
                out.push((tok, Span::new(base + start, base + start + 1)));
            }
            '"' => {
                chars.next();
                let mut text = String::new();
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => match chars.next() {
                            Some((_, escaped)) => text.push(escaped),
                            None => break,
                        },
                        '"' => {
                            closed = true;
                            break;
                        }
                        c => text.push(c),
                    }
                }
                let end = chars.peek().map_or(raw.len(), |&(i, _)| i);
                if !closed {
                    errors.push(Diagnostic::new(
                        DiagnosticKind::Syntax,
                        "unterminated phrase in the search term: a closing `\"` is missing",
                        Span::new(base + start, base + start + 1),
                    ));
                }
                out.push((Tok::Phrase(text), Span::new(base + start, base + end)));
            }
            _ => {
                let mut escaped = String::new();
                let mut word = String::new();
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '"') {
                        break;
                    }
                    chars.next();
                    word.push(c);
                    match c {
                        '\\' => match chars.next() {
                            Some((_, lit)) => {
                                word.push(lit);
                                if matches!(lit, '%' | '_' | '\\') {
                                    escaped.push('\\');
                                }
                                escaped.push(lit);
                            }
                            None => errors.push(Diagnostic::new(
                                DiagnosticKind::Syntax,
                                "a backslash at the end of the search term escapes nothing",
                                Span::new(base + i, base + i + 1),
                            )),
                        },
                        '*' => escaped.push('%'),
                        '?' => escaped.push('_'),
                        '%' | '_' => {
                            escaped.push('\\');
                            escaped.push(c);
                        }
                        c => escaped.push(c),
                    }
                }
                let end = chars.peek().map_or(raw.len(), |&(i, _)| i);
                let span = Span::new(base + start, base + end);
                let tok = if word.eq_ignore_ascii_case("AND") {
                    Tok::And
                } else if word.eq_ignore_ascii_case("OR") {
                    Tok::Or
                } else if word.eq_ignore_ascii_case("NOT") {
                    Tok::Not
                } else {
                    Tok::Word(
                        LikePattern::from_escaped(&escaped)
                            .unwrap_or_else(|| LikePattern::exact(&word)),
                    )
                };
                out.push((tok, span));
            }
        }
    }
    out
}

struct TermParser<'e> {
    tokens: Vec<(Tok, Span)>,
    pos: usize,
    end: usize,
    errors: &'e mut Vec<Diagnostic>,
    depth: u32,
}

impl TermParser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn here(&self) -> Span {
        self.tokens
            .get(self.pos)
            .map_or(Span::empty(self.end), |(_, s)| *s)
    }

    fn or_expr(&mut self) -> SearchExpr {
        let mut operands = vec![self.and_expr()];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            operands.push(self.and_expr());
        }
        if operands.len() == 1 {
            operands.pop().unwrap_or(SearchExpr::Empty)
        } else {
            SearchExpr::Or { operands }
        }
    }

    fn and_expr(&mut self) -> SearchExpr {
        let mut operands = vec![self.unary()];
        loop {
            match self.peek() {
                Some(Tok::And) => {
                    self.pos += 1;
                    operands.push(self.unary());
                }
                // Adjacent words and phrases mean AND.
                Some(Tok::Word(_) | Tok::Phrase(_) | Tok::LParen | Tok::Not) => {
                    operands.push(self.unary())
                }
                _ => break,
            }
        }
        if operands.len() == 1 {
            operands.pop().unwrap_or(SearchExpr::Empty)
        } else {
            SearchExpr::And { operands }
        }
    }

    fn unary(&mut self) -> SearchExpr {
        if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            return SearchExpr::Not {
                operand: Box::new(self.unary()),
            };
        }
        self.primary()
    }

    fn primary(&mut self) -> SearchExpr {
        let span = self.here();
        match self.tokens.get(self.pos).map(|(t, _)| t.clone()) {
            Some(Tok::Word(pattern)) => {
                self.pos += 1;
                SearchExpr::Word { pattern }
            }
            Some(Tok::Phrase(text)) => {
                self.pos += 1;
                SearchExpr::Phrase { text }
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                self.depth += 1;
                if self.depth > crate::parser::MAX_DEPTH {
                    self.errors.push(Diagnostic::new(
                        DiagnosticKind::TooComplex,
                        "the search term nests parentheses too deeply",
                        span,
                    ));
                    self.pos = self.tokens.len();
                    return SearchExpr::Empty;
                }
                let inner = self.or_expr();
                self.depth -= 1;
                if self.peek() == Some(&Tok::RParen) {
                    self.pos += 1;
                } else {
                    self.errors.push(Diagnostic::new(
                        DiagnosticKind::Syntax,
                        "unclosed `(` in the search term",
                        span,
                    ));
                }
                inner
            }
            other => {
                let found = match other {
                    Some(Tok::And) => "AND",
                    Some(Tok::Or) => "OR",
                    Some(Tok::RParen) => "`)`",
                    _ => "the end of the term",
                };
                self.errors.push(Diagnostic::new(
                    DiagnosticKind::Syntax,
                    format!("expected a word or a phrase in the search term, found {found}"),
                    span,
                ));
                // Skip the stray operator so the caller's loop makes progress.
                if matches!(other, Some(Tok::And | Tok::Or)) {
                    self.pos += 1;
                }
                SearchExpr::Empty
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> (SearchExpr, Vec<Diagnostic>) {
        let mut errors = Vec::new();
        let expr = parse_search_term(raw, 6, Span::new(5, 7 + raw.len()), &mut errors);
        (expr, errors)
    }

    fn word(p: &str) -> SearchExpr {
        SearchExpr::Word {
            pattern: LikePattern::from_escaped(p).unwrap(),
        }
    }

    #[test]
    fn adjacent_words_are_and_and_or_binds_loosest() {
        let (expr, errors) = parse(r#"MyProspect AND "John Smith" OR My*"#);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            expr,
            SearchExpr::Or {
                operands: vec![
                    SearchExpr::And {
                        operands: vec![
                            word("MyProspect"),
                            SearchExpr::Phrase {
                                text: "John Smith".into()
                            }
                        ]
                    },
                    word("My%"),
                ]
            }
        );
        let (expr, _) = parse("Joe Smith");
        assert_eq!(
            expr,
            SearchExpr::And {
                operands: vec![word("Joe"), word("Smith")]
            }
        );
    }

    #[test]
    fn escapes_make_wildcards_literal() {
        let (expr, errors) = parse(r"why\? 50\% a_b");
        assert!(errors.is_empty());
        assert_eq!(
            expr,
            SearchExpr::And {
                operands: vec![word("why?"), word(r"50\%"), word(r"a\_b")]
            }
        );
    }

    #[test]
    fn escaping_user_text_keeps_it_one_literal_word_sequence() {
        let hostile = r#"a) OR (b* "c" \ {d}"#;
        let (expr, errors) = parse(&escape_search_term(hostile));
        assert!(errors.is_empty(), "{errors:?}");
        // No operator survives: OR became a quoted word, the rest are literal characters.
        let SearchExpr::And { operands } = expr else {
            panic!("expected words, got {expr:?}")
        };
        assert_eq!(operands.len(), 6);
        assert!(
            operands
                .iter()
                .all(|o| matches!(o, SearchExpr::Word { .. } | SearchExpr::Phrase { .. }))
        );
        assert_eq!(operands[1], SearchExpr::Phrase { text: "OR".into() });
    }

    #[test]
    fn broken_terms_report_where() {
        let (_, errors) = parse("(a OR b");
        assert_eq!(errors[0].message, "unclosed `(` in the search term");
        assert_eq!(errors[0].span, Span::new(6, 7));
        let (_, errors) = parse("a AND");
        assert!(errors[0].message.contains("found the end of the term"));
        let (_, errors) = parse("\"open");
        assert!(errors[0].message.starts_with("unterminated phrase"));
    }
}
