//! SOSL searches: `FIND {term} IN ... FIELDS RETURNING ... WITH ... LIMIT n`.

use super::Parser;
use super::condition::ConditionPlace;
use super::query::{ClauseOrder, Place};
use crate::ast::{Returning, Search, SearchScope, SearchTerm};
use crate::error::DiagnosticKind;
use crate::lexer::TokenKind;
use crate::search_term::{SearchExpr, parse_search_term};
use crate::span::Span;

impl Parser<'_> {
    pub(super) fn search(&mut self) -> Search {
        let start = self.current().span;
        if self.expect_kw("FIND").is_none() {
            self.recover(|_| false);
        }
        let term = self.search_term();
        let mut search = Search {
            term,
            scope: None,
            returning: Vec::new(),
            with: Vec::new(),
            search_mode: None,
            limit: None,
            update: Vec::new(),
            span: start,
        };
        let mut order = ClauseOrder::default();
        loop {
            let before = self.pos;
            if self.at_kw("IN") {
                order.check(self, 1, "IN", false);
                search.scope = self.search_scope();
            } else if self.at_kw("RETURNING") {
                order.check(self, 2, "RETURNING", false);
                self.bump();
                search.returning = self.returning_list();
            } else if self.at_kw("WITH") {
                order.check(self, 3, "WITH", true);
                search.with.extend(self.with_clause(Place::Sosl));
            } else if self.at_kw("USING") {
                order.check(self, 3, "USING", false);
                let using = self.bump().span;
                let mode = self.ident("a search mode after USING, such as ADVANCED");
                if self.expect_kw("SEARCH").is_none() {
                    self.error(
                        DiagnosticKind::Syntax,
                        using,
                        "expected USING <mode> SEARCH",
                    );
                }
                search.search_mode = Some(mode);
            } else if self.at_kw("LIMIT") {
                order.check(self, 4, "LIMIT", false);
                search.limit = self.count("LIMIT");
            } else if self.at_kw("UPDATE") {
                order.check(self, 5, "UPDATE", false);
                search.update = self.update_clause();
            } else {
                break;
            }
            if self.pos == before {
                self.bump();
            }
        }
        search.span = self.span_from(start);
        search
    }

    fn search_term(&mut self) -> SearchTerm {
        let token = self.current();
        let text = self.text_of(token);
        match token.kind {
            TokenKind::SearchTerm { terminated } => {
                self.bump();
                let end = if terminated {
                    text.len() - 1
                } else {
                    text.len()
                };
                let raw = &text[1..end.max(1)];
                // An unterminated, empty term is already reported; calling it empty too is noise.
                let expr = if !terminated && raw.trim().is_empty() {
                    SearchExpr::Empty
                } else {
                    parse_search_term(
                        raw,
                        token.span.start as usize + 1,
                        token.span,
                        &mut self.errors,
                    )
                };
                SearchTerm {
                    raw: raw.to_string(),
                    expr,
                    span: token.span,
                }
            }
            TokenKind::String { .. } => {
                self.bump();
                self.error(
                    DiagnosticKind::ApexOnly,
                    token.span,
                    "FIND 'term' is the Apex form: over the API the search term goes in braces, as in FIND {Acme}",
                );
                SearchTerm {
                    raw: String::new(),
                    expr: SearchExpr::Empty,
                    span: token.span,
                }
            }
            TokenKind::Colon => {
                self.apex_bind();
                SearchTerm {
                    raw: String::new(),
                    expr: SearchExpr::Empty,
                    span: token.span,
                }
            }
            _ => {
                self.error_here(format!(
                    "expected a search term in braces after FIND, as in FIND {{Acme}}, found {}",
                    self.found()
                ));
                SearchTerm {
                    raw: String::new(),
                    expr: SearchExpr::Empty,
                    span: Span::empty(token.span.start as usize),
                }
            }
        }
    }

    fn search_scope(&mut self) -> Option<SearchScope> {
        self.bump();
        let scope = [
            ("ALL", SearchScope::All),
            ("NAME", SearchScope::Name),
            ("EMAIL", SearchScope::Email),
            ("PHONE", SearchScope::Phone),
            ("SIDEBAR", SearchScope::Sidebar),
        ]
        .into_iter()
        .find(|(kw, _)| self.at_kw(kw))
        .map(|(_, scope)| scope);
        let Some(scope) = scope else {
            self.error_here(format!(
                "expected ALL, NAME, EMAIL, PHONE or SIDEBAR after IN, found {}",
                self.found()
            ));
            return None;
        };
        self.bump();
        self.expect_kw("FIELDS");
        Some(scope)
    }

    fn returning_list(&mut self) -> Vec<Returning> {
        let mut list = Vec::new();
        loop {
            let before = self.pos;
            if !self.at(TokenKind::Ident) || self.at_clause_keyword() {
                self.error_here(format!(
                    "expected an object name after RETURNING, found {}",
                    self.found()
                ));
                break;
            }
            list.push(self.returning());
            if self.eat(TokenKind::Comma).is_none() {
                break;
            }
            if self.pos == before {
                self.bump();
            }
        }
        list
    }

    fn returning(&mut self) -> Returning {
        let start = self.current().span;
        let mut returning = Returning::object(self.ident("an object name"));
        if let Some(open) = self.eat(TokenKind::LParen) {
            returning.fields = self.select_list(Place::Returning);
            let mut order = ClauseOrder::default();
            loop {
                let before = self.pos;
                if self.at_kw("WHERE") {
                    order.check(self, 1, "WHERE", false);
                    self.bump();
                    returning.where_clause = Some(self.condition(ConditionPlace::Where));
                } else if self.at_kw("USING") {
                    order.check(self, 1, "USING", false);
                    returning.using = self.using_clause(Place::Returning);
                } else if self.at_kw("BIND") {
                    order.check(self, 1, "BIND", false);
                    returning.bind = self.bind_clause();
                } else if self.at_kw("ORDER") && self.nth_is_kw(1, "BY") {
                    order.check(self, 2, "ORDER BY", false);
                    returning.order_by = self.order_by();
                } else if self.at_kw("LIMIT") {
                    order.check(self, 3, "LIMIT", false);
                    returning.limit = self.count("LIMIT");
                } else if self.at_kw("OFFSET") {
                    order.check(self, 4, "OFFSET", false);
                    returning.offset = self.count("OFFSET");
                } else {
                    break;
                }
                if self.pos == before {
                    self.bump();
                }
            }
            if self.eat(TokenKind::RParen).is_none() {
                let column =
                    crate::span::LineColumn::of(self.text, open.span.start as usize).column;
                self.error_here(format!(
                    "expected `)` to close the field list opened at column {column}, found {}",
                    self.found()
                ));
                self.recover(|_| false);
                self.eat(TokenKind::RParen);
            }
        }
        returning.span = self.span_from(start);
        returning
    }
}
