//! Splits query text into tokens. The lexer never fails: text it cannot make sense of becomes an
//! `Unknown` token plus a diagnostic, and the parser carries on.
//!
//! Keywords are not tokens of their own. SOQL keywords are contextual (`Group` and `Order` are
//! objects, `format` is a field on Report), so the parser decides what a word means from where it
//! stands. String contents are not decoded here either: whether `\%` is legal depends on whether
//! the string is a LIKE pattern, which only the parser knows.

use crate::error::{Diagnostic, DiagnosticKind};
use crate::span::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A word: letters, digits and underscores, not starting with a digit.
    Ident,
    /// Digits with an optional fractional part: `5`, `15.0`.
    Number,
    /// A single-quoted string, quotes included. `terminated` is false when the input ended first.
    String {
        terminated: bool,
    },
    /// `2024-01-15`.
    Date,
    /// `2024-01-15T10:30:00Z` and its offset and fraction variants.
    DateTime,
    /// `10:30:00.000Z`.
    Time,
    /// `USD100.50`: a currency code glued to a decimal amount. `USD100` lexes as an identifier,
    /// because it could also be a field name; the parser reads it as money where a value belongs.
    Currency,
    /// `{...}`: a SOSL search term, braces included.
    SearchTerm {
        terminated: bool,
    },
    LParen,
    RParen,
    Comma,
    Dot,
    Colon,
    Semicolon,
    Eq,
    /// `!=` or `<>`.
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    Star,
    Slash,
    Unknown,
    Eof,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) span: Span,
}

/// Tokenizes `text`. The returned vector always ends with an `Eof` token.
pub(crate) fn tokenize(text: &str) -> (Vec<Token>, Vec<Diagnostic>) {
    let mut lexer = Lexer {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        tokens: Vec::new(),
        errors: Vec::new(),
    };
    lexer.run();
    lexer.errors.truncate(crate::parser::MAX_DIAGNOSTICS);
    (lexer.tokens, lexer.errors)
}

struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    tokens: Vec<Token>,
    errors: Vec<Diagnostic>,
}

impl Lexer<'_> {
    fn run(&mut self) {
        while self.pos < self.bytes.len() {
            let start = self.pos;
            let b = self.bytes[start];
            let kind = match b {
                b' ' | b'\t' | b'\n' | b'\r' | 0x0c => {
                    self.pos += 1;
                    continue;
                }
                b'/' if self.peek(1) == Some(b'/') || self.peek(1) == Some(b'*') => {
                    self.comment();
                    continue;
                }
                b'a'..=b'z' | b'A'..=b'Z' | b'_' => self.word(),
                b'0'..=b'9' => self.number_or_date(),
                b'\'' => self.string(b'\''),
                b'"' => {
                    // Not SOQL, but a common slip: read it as a string so parsing can go on.
                    let kind = self.string(b'"');
                    if kind == (TokenKind::String { terminated: true }) {
                        self.errors.push(Diagnostic::new(
                            DiagnosticKind::Syntax,
                            "SOQL strings use single quotes: write 'text', not \"text\"",
                            Span::new(start, self.pos),
                        ));
                    }
                    kind
                }
                b'{' => self.search_term(),
                b'(' => self.single(TokenKind::LParen),
                b')' => self.single(TokenKind::RParen),
                b',' => self.single(TokenKind::Comma),
                b'.' => self.single(TokenKind::Dot),
                b':' => self.single(TokenKind::Colon),
                b';' => self.single(TokenKind::Semicolon),
                b'=' => self.single(TokenKind::Eq),
                b'+' => self.single(TokenKind::Plus),
                b'-' => self.single(TokenKind::Minus),
                b'*' => self.single(TokenKind::Star),
                b'/' => self.single(TokenKind::Slash),
                b'!' if self.peek(1) == Some(b'=') => self.double(TokenKind::Ne),
                b'<' => match self.peek(1) {
                    Some(b'=') => self.double(TokenKind::Le),
                    Some(b'>') => self.double(TokenKind::Ne),
                    _ => self.single(TokenKind::Lt),
                },
                b'>' => match self.peek(1) {
                    Some(b'=') => self.double(TokenKind::Ge),
                    _ => self.single(TokenKind::Gt),
                },
                _ => {
                    let ch = self.text[start..].chars().next().unwrap_or('\u{fffd}');
                    self.pos += ch.len_utf8();
                    let message = format!("unexpected character `{}`", ch.escape_debug());
                    self.errors.push(Diagnostic::new(
                        DiagnosticKind::Syntax,
                        message,
                        Span::new(start, self.pos),
                    ));
                    TokenKind::Unknown
                }
            };
            self.tokens.push(Token {
                kind,
                span: Span::new(start, self.pos),
            });
        }
        self.tokens.push(Token {
            kind: TokenKind::Eof,
            span: Span::empty(self.bytes.len()),
        });
    }

    fn peek(&self, n: usize) -> Option<u8> {
        self.bytes.get(self.pos + n).copied()
    }

    fn single(&mut self, kind: TokenKind) -> TokenKind {
        self.pos += 1;
        kind
    }

    fn double(&mut self, kind: TokenKind) -> TokenKind {
        self.pos += 2;
        kind
    }

    fn comment(&mut self) {
        let start = self.pos;
        if self.peek(1) == Some(b'/') {
            while self.pos < self.bytes.len() && self.bytes[self.pos] != b'\n' {
                self.pos += 1;
            }
        } else {
            self.pos += 2;
            let rest = &self.text[self.pos..];
            self.pos = match rest.find("*/") {
                Some(i) => self.pos + i + 2,
                None => self.bytes.len(),
            };
        }
        self.errors.push(Diagnostic::new(
            DiagnosticKind::Syntax,
            "comments are not part of SOQL: the API rejects `//` and `/* */`; remove them before sending",
            Span::new(start, self.pos),
        ));
    }

    fn word(&mut self) -> TokenKind {
        let start = self.pos;
        self.eat_while(|b| b.is_ascii_alphanumeric() || b == b'_');
        // `USD100.50`: three letters, digits, and a fractional part.
        let word = &self.bytes[start..self.pos];
        let is_money = word.len() > 3
            && word[..3].iter().all(u8::is_ascii_alphabetic)
            && word[3..].iter().all(u8::is_ascii_digit);
        if is_money
            && self.peek(0) == Some(b'.')
            && self.peek(1).is_some_and(|b| b.is_ascii_digit())
        {
            self.pos += 1;
            self.eat_while(|b| b.is_ascii_digit());
            return TokenKind::Currency;
        }
        TokenKind::Ident
    }

    fn number_or_date(&mut self) -> TokenKind {
        let rest = &self.bytes[self.pos..];
        if matches_shape(rest, b"dddd-dd-dd") {
            self.pos += 10;
            if self.peek(0) == Some(b'T') && self.peek(1).is_some_and(|b| b.is_ascii_digit()) {
                self.pos += 1;
                self.time_of_day();
                // Offsets: `Z`, `+hh:mm`, `-hh:mm`, `+hhmm`.
                match self.peek(0) {
                    Some(b'Z' | b'z') => self.pos += 1,
                    Some(b'+' | b'-') => {
                        let after = &self.bytes[self.pos + 1..];
                        if matches_shape(after, b"dd:dd") {
                            self.pos += 6;
                        } else if matches_shape(after, b"dddd") {
                            self.pos += 5;
                        } else if matches_shape(after, b"dd") {
                            self.pos += 3;
                        }
                    }
                    _ => {}
                }
                return TokenKind::DateTime;
            }
            return TokenKind::Date;
        }
        if matches_shape(rest, b"dd:dd:dd") {
            self.time_of_day();
            if matches!(self.peek(0), Some(b'Z' | b'z')) {
                self.pos += 1;
            }
            return TokenKind::Time;
        }
        self.eat_while(|b| b.is_ascii_digit());
        if self.peek(0) == Some(b'.') && self.peek(1).is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
            self.eat_while(|b| b.is_ascii_digit());
        }
        TokenKind::Number
    }

    /// `hh:mm:ss` with an optional fraction; the caller has checked the first digit.
    fn time_of_day(&mut self) {
        self.eat_while(|b| b.is_ascii_digit() || b == b':');
        if self.peek(0) == Some(b'.') {
            self.pos += 1;
            self.eat_while(|b| b.is_ascii_digit());
        }
    }

    /// A string closed by `quote` (normally `'`), escapes skipped over.
    fn string(&mut self, quote: u8) -> TokenKind {
        let start = self.pos;
        self.pos += 1;
        while self.pos < self.bytes.len() {
            match self.bytes[self.pos] {
                b'\\' => self.pos = (self.pos + 2).min(self.bytes.len()),
                b if b == quote => {
                    self.pos += 1;
                    return TokenKind::String { terminated: true };
                }
                _ => self.pos += 1,
            }
        }
        // Stay on a character boundary even if the text ends in the middle of an escape.
        self.pos = self.bytes.len();
        self.errors.push(Diagnostic::new(
            DiagnosticKind::Syntax,
            format!(
                "unterminated string: a closing `{}` is missing",
                char::from(quote)
            ),
            Span::new(start, start + 1),
        ));
        TokenKind::String { terminated: false }
    }

    fn search_term(&mut self) -> TokenKind {
        let start = self.pos;
        self.pos += 1;
        while self.pos < self.bytes.len() {
            match self.bytes[self.pos] {
                b'\\' => self.pos = (self.pos + 2).min(self.bytes.len()),
                b'}' => {
                    self.pos += 1;
                    return TokenKind::SearchTerm { terminated: true };
                }
                _ => self.pos += 1,
            }
        }
        self.pos = self.bytes.len();
        self.errors.push(Diagnostic::new(
            DiagnosticKind::Syntax,
            "unterminated search term: a closing `}` is missing (escape a literal brace as `\\}`)",
            Span::new(start, start + 1),
        ));
        TokenKind::SearchTerm { terminated: false }
    }

    fn eat_while(&mut self, pred: impl Fn(u8) -> bool) {
        while self.pos < self.bytes.len() && pred(self.bytes[self.pos]) {
            self.pos += 1;
        }
    }
}

/// Whether `bytes` starts with `shape`, where `d` stands for any ASCII digit.
fn matches_shape(bytes: &[u8], shape: &[u8]) -> bool {
    bytes.len() >= shape.len()
        && shape.iter().zip(bytes).all(|(&s, &b)| {
            if s == b'd' {
                b.is_ascii_digit()
            } else {
                s == b
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(TokenKind, &str)> {
        let (tokens, _) = tokenize(text);
        tokens
            .iter()
            .map(|t| (t.kind, &text[t.span.range()]))
            .collect()
    }

    #[test]
    fn dates_times_and_money_are_single_tokens() {
        use TokenKind::*;
        assert_eq!(
            kinds("2024-01-15 2024-01-15T10:30:00.000+0000 10:30:00.000Z USD100.50 USD100 5.25"),
            vec![
                (Date, "2024-01-15"),
                (DateTime, "2024-01-15T10:30:00.000+0000"),
                (Time, "10:30:00.000Z"),
                (Currency, "USD100.50"),
                (Ident, "USD100"),
                (Number, "5.25"),
                (Eof, ""),
            ]
        );
    }

    #[test]
    fn operators_take_the_longest_match() {
        use TokenKind::*;
        let got: Vec<_> = kinds("<> != <= >= < > =")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(got, vec![Ne, Ne, Le, Ge, Lt, Gt, Eq, Eof]);
    }

    #[test]
    fn escaped_quotes_do_not_end_a_string() {
        let got = kinds(r"'it\'s' x");
        assert_eq!(got[0], (TokenKind::String { terminated: true }, r"'it\'s'"));
        assert_eq!(got[1], (TokenKind::Ident, "x"));
    }

    #[test]
    fn unterminated_string_at_a_multibyte_character_stays_on_a_boundary() {
        let (tokens, errors) = tokenize("'é\\");
        assert_eq!(tokens[0].span, Span::new(0, 4));
        assert_eq!(errors.len(), 1);
    }
}
