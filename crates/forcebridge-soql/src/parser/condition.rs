//! WHERE and HAVING conditions: comparisons joined by AND, OR and NOT.
//!
//! SOQL has no operator precedence between AND and OR: mixing them needs parentheses, so
//! `a AND b OR c` is an error here just as it is in Salesforce.

use super::Parser;
use crate::ast::{Comparison, Condition, Expr, Function, Operand, Operator};
use crate::error::DiagnosticKind;
use crate::lexer::TokenKind;
use crate::span::Span;

/// Where a condition stands, which changes what it may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ConditionPlace {
    Where,
    Having,
}

impl Parser<'_> {
    pub(super) fn condition(&mut self, place: ConditionPlace) -> Condition {
        let start = self.current().span;
        let first = self.unary_condition(place);
        let mut operands = vec![first];
        let mut joiner: Option<(bool, &'static str)> = None;
        loop {
            let is_and = if self.at_kw("AND") {
                true
            } else if self.at_kw("OR") {
                false
            } else {
                break;
            };
            let keyword = if is_and { "AND" } else { "OR" };
            let keyword_span = self.bump().span;
            match joiner {
                None => joiner = Some((is_and, keyword)),
                Some((previous, previous_keyword)) if previous != is_and => self.error(
                    DiagnosticKind::Syntax,
                    keyword_span,
                    format!(
                        "{keyword} after {previous_keyword} needs parentheses: SOQL has no precedence between AND and OR, so write `a {previous_keyword} (b {keyword} c)` or `(a {previous_keyword} b) {keyword} c`"
                    ),
                ),
                Some(_) => {}
            }
            operands.push(self.unary_condition(place));
        }
        let span = self.span_from(start);
        match joiner {
            None => operands.pop().unwrap_or(Condition::Error { span }),
            Some((true, _)) => Condition::And { operands, span },
            Some((false, _)) => Condition::Or { operands, span },
        }
    }

    fn unary_condition(&mut self, place: ConditionPlace) -> Condition {
        let start = self.current().span;
        if !self.enter() {
            return Condition::Error { span: start };
        }
        let condition = if self.eat_kw("NOT").is_some() {
            let operand = self.unary_condition(place);
            Condition::Not {
                operand: Box::new(operand),
                span: self.span_from(start),
            }
        } else if self.at(TokenKind::LParen) {
            let open = self.bump();
            let inner = self.condition(place);
            if self.eat(TokenKind::RParen).is_none() {
                let column =
                    crate::span::LineColumn::of(self.text, open.span.start as usize).column;
                self.error_here(format!(
                    "expected `)` to close the `(` at column {column}, found {}",
                    self.found()
                ));
            }
            inner
        } else {
            self.comparison(place)
        };
        self.leave();
        condition
    }

    fn comparison(&mut self, place: ConditionPlace) -> Condition {
        let start = self.current().span;
        let lhs = match self.kind() {
            TokenKind::Ident if self.at_reserved_word() || self.at_clause_keyword() => {
                self.error_here(format!("expected a condition, found {}", self.found()));
                None
            }
            TokenKind::Ident
                if !self.at_literal_start() || self.nth(1).kind == TokenKind::LParen =>
            {
                self.value_expr("a field name")
            }
            TokenKind::Ident | TokenKind::Number | TokenKind::String { .. } => {
                self.error_here(format!(
                    "expected a field name, found {}: a condition compares a field with a value, as in Name = 'Acme'",
                    self.found()
                ));
                None
            }
            _ => {
                self.error_here(format!("expected a condition, found {}", self.found()));
                None
            }
        };
        let Some(lhs) = lhs else {
            return self.condition_error(start);
        };
        if let (ConditionPlace::Having, Expr::Call(call)) = (place, &lhs)
            && call.function == Function::Formula
        {
            self.error(
                DiagnosticKind::Syntax,
                call.span,
                "FORMULA(...) is not allowed in HAVING",
            );
        }
        let Some(op) = self.operator(&lhs) else {
            return self.condition_error(start);
        };
        let Some(rhs) = self.operand(op) else {
            return self.condition_error(start);
        };
        Condition::Comparison(Comparison {
            lhs,
            op,
            rhs,
            span: self.span_from(start),
        })
    }

    fn condition_error(&mut self, start: Span) -> Condition {
        self.recover(|p| p.at_kw("AND") || p.at_kw("OR"));
        Condition::Error {
            span: self.span_from(start),
        }
    }

    fn operator(&mut self, lhs: &Expr) -> Option<Operator> {
        let op = match self.kind() {
            TokenKind::Eq => Operator::Eq,
            TokenKind::Ne => Operator::Ne,
            TokenKind::Lt => Operator::Lt,
            TokenKind::Le => Operator::Le,
            TokenKind::Gt => Operator::Gt,
            TokenKind::Ge => Operator::Ge,
            TokenKind::Ident if self.at_kw("LIKE") => Operator::Like,
            TokenKind::Ident if self.at_kw("IN") => Operator::In,
            TokenKind::Ident if self.at_kw("INCLUDES") => Operator::Includes,
            TokenKind::Ident if self.at_kw("EXCLUDES") => Operator::Excludes,
            TokenKind::Ident if self.at_kw("NOT") && self.nth_is_kw(1, "IN") => {
                self.bump();
                Operator::NotIn
            }
            TokenKind::Ident if self.at_kw("NOT") => {
                self.error_here(
                    "NOT goes before the whole comparison (NOT Name LIKE 'A%'); only NOT IN follows a field",
                );
                return None;
            }
            TokenKind::Plus | TokenKind::Minus | TokenKind::Star | TokenKind::Slash => {
                self.error_here(format!(
                    "expected a comparison operator, found {}: SOQL has no arithmetic (use FORMULA('...') for computed filters)",
                    self.found()
                ));
                return None;
            }
            _ => {
                let lhs_text = self.text[lhs.span().range()].to_string();
                self.error_here(format!(
                    "expected a comparison operator after `{lhs_text}` (=, !=, <, <=, >, >=, LIKE, IN, NOT IN, INCLUDES, EXCLUDES), found {}",
                    self.found()
                ));
                return None;
            }
        };
        self.bump();
        Some(op)
    }

    fn operand(&mut self, op: Operator) -> Option<Operand> {
        match op {
            Operator::In | Operator::NotIn => {
                if self.at(TokenKind::Colon) {
                    self.apex_bind();
                    return None;
                }
                if self.at(TokenKind::LParen) && self.nth_is_kw(1, "SELECT") {
                    let open = self.bump();
                    if !self.enter() {
                        return None;
                    }
                    let query = self.query();
                    self.leave();
                    self.expect(TokenKind::RParen, "`)` to close the subquery");
                    return Some(Operand::Subquery {
                        query: Box::new(query),
                        span: self.span_from(open.span),
                    });
                }
                self.value_list(op)
            }
            Operator::Includes | Operator::Excludes => self.value_list(op),
            Operator::Like => {
                let (pattern, span) = self.like_pattern()?;
                Some(Operand::Pattern { pattern, span })
            }
            _ => {
                if self.at(TokenKind::LParen) {
                    self.error_here(format!(
                        "a list of values needs IN, NOT IN, INCLUDES or EXCLUDES, not `{}`",
                        op.as_str()
                    ));
                    return None;
                }
                // An identifier goes to `literal`, which explains that strings need quotes.
                if !self.at_literal_start()
                    && !self.at(TokenKind::Colon)
                    && !self.at(TokenKind::Ident)
                {
                    self.error_here(format!(
                        "expected a value after `{}`, found {}",
                        op.as_str(),
                        self.found()
                    ));
                    return None;
                }
                self.literal().map(Operand::Value)
            }
        }
    }

    /// `('a', 'b', ...)` after IN, NOT IN, INCLUDES or EXCLUDES.
    fn value_list(&mut self, op: Operator) -> Option<Operand> {
        let open = self.expect(
            TokenKind::LParen,
            &format!("`(` and a list of values after {}", op.as_str()),
        )?;
        if self.at(TokenKind::RParen) {
            self.error_here(format!("the list after {} is empty", op.as_str()));
            self.bump();
            return None;
        }
        let mut values = Vec::new();
        let mut ok = true;
        loop {
            let before = self.pos;
            if self.at(TokenKind::Colon) {
                self.apex_bind();
                ok = false;
            } else if !self.at_literal_start() {
                self.error_here(format!(
                    "expected a value in the list, found {}",
                    self.found()
                ));
                ok = false;
                self.recover(|p| p.at(TokenKind::Comma));
            } else {
                match self.literal() {
                    Some(value) => values.push(value),
                    None => ok = false,
                }
            }
            if self.eat(TokenKind::Comma).is_none() {
                break;
            }
            if self.at(TokenKind::RParen) {
                self.error_here("expected a value after `,`, found `)`");
                ok = false;
                break;
            }
            if self.pos == before {
                self.bump();
            }
        }
        self.expect(TokenKind::RParen, "`,` or `)` in the list")?;
        if matches!(op, Operator::Includes | Operator::Excludes) {
            for value in &values {
                if !matches!(value.value, crate::ast::Value::String(_)) {
                    self.error(
                        DiagnosticKind::Syntax,
                        value.span,
                        format!("{} takes quoted picklist values", op.as_str()),
                    );
                    ok = false;
                }
            }
        }
        ok.then(|| Operand::List {
            values,
            span: self.span_from(open.span),
        })
    }
}
