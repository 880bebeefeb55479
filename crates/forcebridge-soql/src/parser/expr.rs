//! Fields, function calls and literal values.

use super::Parser;
use crate::ast::{
    Call, Date, DateLiteral, DateLiteralName, DateTime, Expr, FieldPath, Function, FunctionKind,
    Ident, Literal, Number, Time, Value,
};
use crate::error::DiagnosticKind;
use crate::lexer::{Token, TokenKind};
use crate::like::LikePattern;
use crate::span::Span;

/// How a string literal is read: LIKE patterns keep `\%` and `\_`, other strings reject them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum StringUse {
    Value,
    Like,
}

impl Parser<'_> {
    /// `Name`, `Account.Owner.Name`. The caller has checked that an identifier comes first.
    pub(super) fn field_path(&mut self) -> FieldPath {
        let first = self.ident("a field name");
        let start = first.span;
        let mut segments = vec![first];
        while self.at(TokenKind::Dot) {
            self.bump();
            segments.push(self.ident("a field or relationship name after `.`"));
        }
        FieldPath {
            segments,
            span: self.span_from(start),
        }
    }

    /// A field or a function call. Reports an error and returns `None` for anything else.
    pub(super) fn value_expr(&mut self, what: &str) -> Option<Expr> {
        match self.kind() {
            TokenKind::Ident if self.nth(1).kind == TokenKind::LParen => self.call(),
            TokenKind::Ident => Some(Expr::Field(self.field_path())),
            TokenKind::Colon => {
                self.apex_bind();
                None
            }
            _ => {
                self.error_here(format!("expected {what}, found {}", self.found()));
                None
            }
        }
    }

    /// `NAME(args)`. The caller has checked for an identifier followed by `(`.
    fn call(&mut self) -> Option<Expr> {
        let name_token = self.bump();
        let name = Ident::new(self.text_of(name_token), name_token.span);
        self.bump();
        let Some(function) = Function::from_name(&name.name) else {
            let message = if name.is("FIELDS") {
                "FIELDS(...) takes ALL, STANDARD or CUSTOM and may only stand in a SELECT list"
                    .to_string()
            } else if name.is("ROLLUP") || name.is("CUBE") {
                format!("{} may only follow GROUP BY", name.name.to_uppercase())
            } else {
                format!("unknown function `{}`", name.name)
            };
            self.error(DiagnosticKind::Syntax, name.span, message);
            self.skip_to_close_paren();
            return None;
        };
        if !self.enter() {
            return None;
        }
        let mut args = Vec::new();
        if !self.at(TokenKind::RParen) {
            loop {
                let before = self.pos;
                if let Some(arg) = self.call_arg() {
                    args.push(arg);
                }
                if self.eat(TokenKind::Comma).is_none() {
                    break;
                }
                if self.pos == before {
                    self.bump();
                }
            }
        }
        self.leave();
        if self
            .expect(TokenKind::RParen, &format!("`)` to close {}(", name.name))
            .is_none()
            && !self.at_clause_keyword()
        {
            self.skip_to_close_paren();
        }
        let call = Call {
            function,
            args,
            span: self.span_from(name_token.span),
        };
        self.check_call(&call);
        Some(Expr::Call(call))
    }

    fn call_arg(&mut self) -> Option<Expr> {
        if self.at_literal_start() {
            return self.literal().map(Expr::Literal);
        }
        self.value_expr("a field name")
    }

    /// Skips to the `)` that closes the call just opened (or to the end), consuming it.
    fn skip_to_close_paren(&mut self) {
        let mut depth = 1usize;
        while !self.at_eof() {
            match self.bump().kind {
                TokenKind::LParen => depth += 1,
                TokenKind::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    /// Checks the number and kind of a call's arguments.
    fn check_call(&mut self, call: &Call) {
        let name = call.function.name();
        let args = &call.args;
        let bad = |message: String| Some(message);
        let problem = match call.function {
            Function::Count if args.len() > 1 => {
                bad("COUNT takes one field, or nothing as in COUNT()".into())
            }
            Function::Count => None,
            Function::Distance => {
                if args.len() != 3 {
                    bad("DISTANCE takes a location field, a location and a unit: DISTANCE(Loc__c, GEOLOCATION(37.7, -122.4), 'mi')".into())
                } else {
                    match &args[2] {
                        Expr::Literal(Literal {
                            value: Value::String(unit),
                            ..
                        }) if unit == "mi" || unit == "km" => None,
                        _ => bad("the unit of DISTANCE must be 'mi' or 'km'".into()),
                    }
                }
            }
            Function::Geolocation => {
                let numeric = |e: &Expr| {
                    matches!(
                        e,
                        Expr::Literal(Literal {
                            value: Value::Number(_),
                            ..
                        })
                    )
                };
                if args.len() == 2 && args.iter().all(numeric) {
                    None
                } else {
                    bad("GEOLOCATION takes a latitude and a longitude: GEOLOCATION(37.775, -122.418)".into())
                }
            }
            Function::Formula => match args.as_slice() {
                [
                    Expr::Literal(Literal {
                        value: Value::String(_),
                        ..
                    }),
                ] => None,
                _ => bad("FORMULA takes one quoted formula: FORMULA('EndDate - StartDate')".into()),
            },
            _ if args.len() != 1 => bad(format!("{name} takes exactly one argument")),
            _ => match &args[0] {
                Expr::Literal(_) => bad(format!("{name} takes a field, not a value")),
                Expr::Call(inner) if !inner_call_allowed(call.function, inner.function) => bad(
                    format!("{} cannot be used inside {name}", inner.function.name()),
                ),
                _ => None,
            },
        };
        if let Some(message) = problem {
            self.error(DiagnosticKind::Syntax, call.span, message);
        }
    }

    /// Whether a literal value can start at the current token.
    pub(super) fn at_literal_start(&self) -> bool {
        match self.kind() {
            TokenKind::String { .. }
            | TokenKind::Number
            | TokenKind::Date
            | TokenKind::DateTime
            | TokenKind::Time
            | TokenKind::Currency => true,
            TokenKind::Minus | TokenKind::Plus => self.nth(1).kind == TokenKind::Number,
            TokenKind::Ident => self.ident_is_value(self.current()),
            _ => false,
        }
    }

    /// Whether an identifier token is a value: TRUE, FALSE, NULL, a date literal or `USD100`.
    fn ident_is_value(&self, token: Token) -> bool {
        let text = self.text_of(token);
        ["TRUE", "FALSE", "NULL"]
            .iter()
            .any(|kw| text.eq_ignore_ascii_case(kw))
            || DateLiteralName::from_name(text).is_some()
            || currency_parts(text).is_some()
    }

    /// A literal value. Reports an error and returns `None` if there is none here.
    pub(super) fn literal(&mut self) -> Option<Literal> {
        let token = self.current();
        let text = self.text_of(token);
        let value = match token.kind {
            TokenKind::String { terminated } => {
                self.bump();
                Value::String(self.decode_string(token, terminated, StringUse::Value)?)
            }
            TokenKind::Number => {
                self.bump();
                Value::Number(Number(text.to_string()))
            }
            TokenKind::Minus | TokenKind::Plus => {
                let number = self.nth(1);
                if number.kind != TokenKind::Number || number.span.start != token.span.end {
                    self.error_here(format!("expected a value, found {}", self.found()));
                    return None;
                }
                self.bump();
                self.bump();
                let digits = self.text_of(number);
                let text = if token.kind == TokenKind::Minus {
                    format!("-{digits}")
                } else {
                    digits.to_string()
                };
                return Some(Literal {
                    value: Value::Number(Number(text)),
                    span: token.span.to(number.span),
                });
            }
            TokenKind::Date => {
                self.bump();
                Value::Date(self.check_literal(
                    parse_date(text),
                    token.span,
                    "date",
                    "YYYY-MM-DD",
                )?)
            }
            TokenKind::DateTime => {
                self.bump();
                Value::DateTime(self.check_literal(
                    parse_datetime(text),
                    token.span,
                    "datetime",
                    "YYYY-MM-DDThh:mm:ssZ or YYYY-MM-DDThh:mm:ss+hh:mm",
                )?)
            }
            TokenKind::Time => {
                self.bump();
                Value::Time(self.check_literal(
                    parse_time(text),
                    token.span,
                    "time",
                    "hh:mm:ss.sssZ",
                )?)
            }
            TokenKind::Currency => {
                self.bump();
                let (code, amount) = text.split_at(3);
                Value::Currency {
                    code: code.to_string(),
                    amount: Number(amount.to_string()),
                }
            }
            TokenKind::Ident => {
                if text.eq_ignore_ascii_case("TRUE") {
                    self.bump();
                    Value::Boolean(true)
                } else if text.eq_ignore_ascii_case("FALSE") {
                    self.bump();
                    Value::Boolean(false)
                } else if text.eq_ignore_ascii_case("NULL") {
                    self.bump();
                    Value::Null
                } else if let Some(name) = DateLiteralName::from_name(text) {
                    self.bump();
                    return Some(self.date_literal(name, token.span));
                } else if let Some((code, amount)) = currency_parts(text) {
                    self.bump();
                    Value::Currency {
                        code: code.to_string(),
                        amount: Number(amount.to_string()),
                    }
                } else {
                    self.error_here(format!(
                        "expected a value, found `{text}`: write strings in single quotes, as in '{text}' (a field cannot stand on the right of a comparison)"
                    ));
                    return None;
                }
            }
            TokenKind::Colon => {
                self.apex_bind();
                return None;
            }
            _ => {
                self.error_here(format!("expected a value, found {}", self.found()));
                return None;
            }
        };
        Some(Literal {
            value,
            span: token.span,
        })
    }

    /// The right-hand side of LIKE: a quoted pattern.
    pub(super) fn like_pattern(&mut self) -> Option<(LikePattern, Span)> {
        let token = self.current();
        match token.kind {
            TokenKind::String { terminated } => {
                self.bump();
                let escaped = self.decode_string(token, terminated, StringUse::Like)?;
                // Decoding only lets `\%`, `\_` and `\\` through, so this cannot fail; fall back to
                // an exact match rather than panic if that ever changes.
                let pattern = LikePattern::from_escaped(&escaped)
                    .unwrap_or_else(|| LikePattern::exact(&escaped));
                Some((pattern, token.span))
            }
            TokenKind::Colon => {
                self.apex_bind();
                None
            }
            _ => {
                self.error_here(format!(
                    "expected a quoted pattern after LIKE, found {}",
                    self.found()
                ));
                None
            }
        }
    }

    fn date_literal(&mut self, name: DateLiteralName, span: Span) -> Literal {
        let mut n = None;
        if self.at(TokenKind::Colon) && self.nth(1).kind == TokenKind::Number {
            self.bump();
            let number = self.bump();
            let digits = self.text_of(number);
            match digits.parse::<u32>() {
                Ok(value) if name.takes_n() => n = Some(value),
                Ok(_) => self.error(
                    DiagnosticKind::Syntax,
                    self.span_from(span),
                    format!("{} takes no count", name.name()),
                ),
                Err(_) => self.error(
                    DiagnosticKind::InvalidLiteral,
                    number.span,
                    format!(
                        "the count of {} must be a whole number below 4294967296",
                        name.name()
                    ),
                ),
            }
        } else if name.takes_n() {
            self.error(
                DiagnosticKind::Syntax,
                span,
                format!("{0} needs a count, as in {0}:30", name.name()),
            );
        }
        // A missing or invalid count still yields a literal, so the tree keeps its shape.
        let n = if name.takes_n() {
            Some(n.unwrap_or(0))
        } else {
            None
        };
        Literal {
            value: Value::DateLiteral(DateLiteral { name, n }),
            span: self.span_from(span),
        }
    }

    fn check_literal<T>(
        &mut self,
        value: Option<T>,
        span: Span,
        what: &str,
        shape: &str,
    ) -> Option<T> {
        if value.is_none() {
            let text = self.text[span.range()].to_string();
            self.error(
                DiagnosticKind::InvalidLiteral,
                span,
                format!("invalid {what} `{text}`: expected a real {what} written as {shape}"),
            );
        }
        value
    }

    /// Decodes a quoted string's escapes. For LIKE, `\%`, `\_` and `\\` stay escaped so that the
    /// result is a pattern in [`LikePattern`]'s escaped form.
    fn decode_string(
        &mut self,
        token: Token,
        terminated: bool,
        string_use: StringUse,
    ) -> Option<String> {
        let start = token.span.start as usize + 1;
        let end = if terminated {
            token.span.end as usize - 1
        } else {
            token.span.end as usize
        };
        let body = &self.text[start..end.max(start)];
        let mut out = String::with_capacity(body.len());
        let mut chars = body.char_indices();
        let mut ok = terminated;
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some((_, escaped)) = chars.next() else {
                // Only possible in an unterminated string, which is already reported.
                break;
            };
            let decoded = match escaped {
                'n' | 'N' => '\n',
                'r' | 'R' => '\r',
                't' | 'T' => '\t',
                'b' | 'B' => '\u{8}',
                'f' | 'F' => '\u{c}',
                '"' => '"',
                '\'' => '\'',
                '\\' if string_use == StringUse::Like => {
                    out.push_str("\\\\");
                    continue;
                }
                '\\' => '\\',
                '%' | '_' if string_use == StringUse::Like => {
                    out.push('\\');
                    escaped
                }
                'u' | 'U' => {
                    let hex: String = chars.clone().take(4).map(|(_, h)| h).collect();
                    let code = (hex.len() == 4)
                        .then(|| u32::from_str_radix(&hex, 16).ok())
                        .flatten();
                    match code.and_then(char::from_u32) {
                        Some(ch) => {
                            for _ in 0..4 {
                                chars.next();
                            }
                            ch
                        }
                        None => {
                            let span = Span::new(start + i, start + i + 2 + hex.len());
                            self.error(
                                DiagnosticKind::InvalidLiteral,
                                span,
                                "invalid unicode escape: expected \\u followed by four hex digits of a character",
                            );
                            ok = false;
                            continue;
                        }
                    }
                }
                '%' | '_' => {
                    let span = Span::new(start + i, start + i + 2);
                    self.error(
                        DiagnosticKind::InvalidLiteral,
                        span,
                        format!("`\\{escaped}` is only allowed in a LIKE pattern"),
                    );
                    ok = false;
                    continue;
                }
                other => {
                    let span = Span::new(start + i, start + i + 1 + other.len_utf8());
                    self.error(
                        DiagnosticKind::InvalidLiteral,
                        span,
                        format!(
                            "invalid escape `\\{other}` in string: the escapes are \\n \\r \\t \\b \\f \\\" \\' \\\\ and \\uXXXX"
                        ),
                    );
                    ok = false;
                    continue;
                }
            };
            out.push(decoded);
        }
        ok.then_some(out)
    }
}

/// Which calls may be nested in which: date functions take convertTimezone, FORMAT takes an
/// aggregate or convertCurrency, DISTANCE takes GEOLOCATION (checked separately).
fn inner_call_allowed(outer: Function, inner: Function) -> bool {
    match outer.kind() {
        FunctionKind::Date => inner == Function::ConvertTimezone,
        FunctionKind::Aggregate => {
            inner.kind() == FunctionKind::Date || inner == Function::ConvertCurrency
        }
        FunctionKind::Transform if outer == Function::Format => {
            inner.kind() == FunctionKind::Aggregate || inner == Function::ConvertCurrency
        }
        _ => false,
    }
}

/// `USD5000` → `("USD", "5000")`: three letters then digits.
fn currency_parts(text: &str) -> Option<(&str, &str)> {
    let bytes = text.as_bytes();
    (bytes.len() > 3
        && bytes[..3].iter().all(u8::is_ascii_alphabetic)
        && bytes[3..].iter().all(u8::is_ascii_digit))
    .then(|| text.split_at(3))
}

fn digits_u32(text: &str) -> Option<u32> {
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

pub(crate) fn parse_date(text: &str) -> Option<Date> {
    let mut parts = text.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    Date::new(
        digits_u32(y)?.try_into().ok()?,
        digits_u32(m)?.try_into().ok()?,
        digits_u32(d)?.try_into().ok()?,
    )
}

/// `hh:mm:ss` with an optional `.fraction` of 1 to 9 digits and an optional `Z`.
pub(crate) fn parse_time(text: &str) -> Option<Time> {
    let text = text.strip_suffix(['Z', 'z']).unwrap_or(text);
    parse_time_of_day(text)
}

fn parse_time_of_day(text: &str) -> Option<Time> {
    let (hms, fraction) = match text.split_once('.') {
        Some((hms, f)) => (hms, Some(f)),
        None => (text, None),
    };
    let mut parts = hms.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || h.len() != 2 || m.len() != 2 || s.len() != 2 {
        return None;
    }
    let time = Time::new(
        digits_u32(h)?.try_into().ok()?,
        digits_u32(m)?.try_into().ok()?,
        digits_u32(s)?.try_into().ok()?,
    )?;
    match fraction {
        None => Some(time),
        Some(f) => time.with_fraction(digits_u32(f)?, u8::try_from(f.len()).ok()?),
    }
}

/// `YYYY-MM-DDThh:mm:ss[.f]` followed by `Z`, `±hh:mm`, `±hhmm` or `±hh`.
pub(crate) fn parse_datetime(text: &str) -> Option<DateTime> {
    let (date, rest) = text.split_once(['T', 't'])?;
    let date = parse_date(date)?;
    let (time, offset_minutes) = if let Some(time) = rest.strip_suffix(['Z', 'z']) {
        (time, 0)
    } else {
        let sign_at = rest.rfind(['+', '-'])?;
        let (time, offset) = rest.split_at(sign_at);
        let sign: i16 = if offset.starts_with('-') { -1 } else { 1 };
        let digits = offset[1..].replace(':', "");
        let (hours, minutes) = match digits.len() {
            2 => (digits_u32(&digits)?, 0),
            4 => (digits_u32(&digits[..2])?, digits_u32(&digits[2..])?),
            _ => return None,
        };
        if offset[1..].contains(':') && offset.len() != 6 {
            return None;
        }
        if hours > 23 || minutes > 59 {
            return None;
        }
        (time, sign * i16::try_from(hours * 60 + minutes).ok()?)
    };
    Some(DateTime {
        date,
        time: parse_time_of_day(time)?,
        offset_minutes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_accept_every_offset_style_and_up_to_nine_fraction_digits() {
        for (text, shown) in [
            ("2024-01-15T10:30:00Z", "2024-01-15T10:30:00Z"),
            ("2024-01-15T10:30:00.000+0000", "2024-01-15T10:30:00.000Z"),
            ("2021-07-25T00:00:00.000+00:00", "2021-07-25T00:00:00.000Z"),
            ("2021-07-25T00:00:00.000000Z", "2021-07-25T00:00:00.000000Z"),
            ("1999-01-01T23:01:01-08:00", "1999-01-01T23:01:01-08:00"),
            ("1999-01-01T23:01:01.5+0530", "1999-01-01T23:01:01.5+05:30"),
        ] {
            let parsed = parse_datetime(text).unwrap_or_else(|| panic!("{text} should parse"));
            assert_eq!(parsed.to_string(), shown);
        }
    }

    #[test]
    fn impossible_dates_and_times_are_rejected() {
        assert!(parse_date("2023-02-29").is_none());
        assert!(parse_date("2024-02-29").is_some());
        assert!(parse_date("2024-13-01").is_none());
        assert!(parse_datetime("2024-01-15T24:00:00Z").is_none());
        assert!(
            parse_datetime("2024-01-15T10:30:00").is_none(),
            "a datetime needs a zone"
        );
        assert!(parse_datetime("2024-01-15T10:30:00+25:00").is_none());
        assert!(parse_time("10:30:00.1234567890Z").is_none());
    }
}
