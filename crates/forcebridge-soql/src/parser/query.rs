//! SOQL queries: the SELECT list, FROM, and the clauses after it. Clauses that SOSL shares
//! (WITH, USING, BIND, ORDER BY, LIMIT) are written once here and used by `search` too.

use super::Parser;
use super::condition::ConditionPlace;
use crate::ast::{
    Binding, CategorySelector, Count, DataCategoryFilter, Direction, Expr, FieldPath, FieldSet,
    ForClause, From, GroupBy, GroupByKind, Ident, Nulls, Operand, OrderItem, Param, Query,
    RelationshipAlias, SelectItem, TypeOf, TypeOfWhen, UpdateClause, Using, WITH_PARAMETERS, With,
    WithKind,
};
use crate::error::DiagnosticKind;
use crate::lexer::TokenKind;
use crate::span::Span;

/// Which statement a shared clause belongs to; some options exist in only one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    Soql,
    Sosl,
    /// Inside a SOSL `RETURNING Object(...)`.
    Returning,
}

/// Enforces the order of clauses and reports duplicates, so `... ORDER BY x WHERE y` gets an
/// error that says what is wrong instead of "unexpected WHERE".
#[derive(Default)]
pub(super) struct ClauseOrder {
    last: Option<(u8, &'static str)>,
    seen: Vec<&'static str>,
}

impl ClauseOrder {
    pub(super) fn check(
        &mut self,
        p: &mut Parser<'_>,
        rank: u8,
        name: &'static str,
        repeatable: bool,
    ) {
        let span = p.current().span;
        if self.seen.contains(&name) && !repeatable {
            p.error(
                DiagnosticKind::Syntax,
                span,
                format!("duplicate {name} clause"),
            );
        } else if let Some((last_rank, last_name)) = self.last
            && rank < last_rank
        {
            p.error(
                DiagnosticKind::Syntax,
                span,
                format!("{name} must come before {last_name}"),
            );
        }
        self.seen.push(name);
        if self.last.is_none_or(|(last_rank, _)| rank >= last_rank) {
            self.last = Some((rank, name));
        }
    }
}

impl Parser<'_> {
    /// A SOQL query, at the top level or nested. A nested query stops before its closing `)`.
    pub(super) fn query(&mut self) -> Query {
        let start = self.current().span;
        let select = if self.eat_kw("SELECT").is_some() {
            self.select_list(Place::Soql)
        } else {
            self.error_here(format!("expected SELECT, found {}", self.found()));
            Vec::new()
        };
        let from = self.parse_from();
        let mut query = Query {
            select,
            from,
            using: None,
            where_clause: None,
            with: Vec::new(),
            group_by: None,
            having: None,
            order_by: Vec::new(),
            limit: None,
            offset: None,
            bind: Vec::new(),
            for_clauses: Vec::new(),
            update: Vec::new(),
            span: start,
        };
        let mut order = ClauseOrder::default();
        loop {
            let before = self.pos;
            if self.at_kw("USING") {
                order.check(self, 1, "USING", false);
                query.using = self.using_clause(Place::Soql);
            } else if self.at_kw("WHERE") {
                order.check(self, 2, "WHERE", false);
                self.bump();
                query.where_clause = Some(self.condition(ConditionPlace::Where));
            } else if self.at_kw("WITH") {
                order.check(self, 3, "WITH", true);
                query.with.extend(self.with_clause(Place::Soql));
            } else if self.at_kw("GROUP") && self.nth_is_kw(1, "BY") {
                order.check(self, 4, "GROUP BY", false);
                query.group_by = Some(self.group_by());
            } else if self.at_kw("HAVING") {
                order.check(self, 5, "HAVING", false);
                self.bump();
                query.having = Some(self.condition(ConditionPlace::Having));
            } else if self.at_kw("ORDER") && self.nth_is_kw(1, "BY") {
                order.check(self, 6, "ORDER BY", false);
                query.order_by = self.order_by();
            } else if self.at_kw("LIMIT") {
                order.check(self, 7, "LIMIT", false);
                query.limit = self.count("LIMIT");
            } else if self.at_kw("OFFSET") {
                order.check(self, 8, "OFFSET", false);
                query.offset = self.count("OFFSET");
            } else if self.at_kw("BIND") {
                order.check(self, 9, "BIND", false);
                query.bind = self.bind_clause();
            } else if self.at_kw("FOR") {
                order.check(self, 10, "FOR", false);
                query.for_clauses = self.for_clause();
            } else if self.at_kw("UPDATE") {
                order.check(self, 11, "UPDATE", false);
                query.update = self.update_clause();
            } else if self.at_kw("ALL") && self.nth_is_kw(1, "ROWS") {
                let span = self.bump().span.to(self.bump().span);
                self.error(
                    DiagnosticKind::ApexOnly,
                    span,
                    "ALL ROWS is Apex-only: over the API, use queryAll to include deleted and archived records",
                );
            } else {
                break;
            }
            if self.pos == before {
                self.bump();
            }
        }
        query.span = self.span_from(start);
        query
    }

    /// The items of a SELECT list or a RETURNING field list, up to FROM or `)`.
    pub(super) fn select_list(&mut self, place: Place) -> Vec<SelectItem> {
        let mut items = Vec::new();
        if self.at_kw("FROM") || self.at_eof() || self.at(TokenKind::RParen) {
            self.error_here(format!(
                "expected a field, a function or a subquery, found {}",
                self.found()
            ));
            return items;
        }
        loop {
            let before = self.pos;
            match self.select_item(place) {
                Some(item) => items.push(item),
                None => self.recover(|p| p.at(TokenKind::Comma)),
            }
            if self.eat(TokenKind::Comma).is_none() {
                break;
            }
            if self.at_kw("FROM") || self.at(TokenKind::RParen) || self.at_eof() {
                self.error_here(format!(
                    "expected a field after `,`, found {}",
                    self.found()
                ));
                break;
            }
            if self.pos == before {
                self.bump();
            }
        }
        items
    }

    fn select_item(&mut self, place: Place) -> Option<SelectItem> {
        let start = self.current().span;
        if self.at(TokenKind::LParen) {
            if !self.nth_is_kw(1, "SELECT") {
                self.error_here("expected a subquery after `(`, as in (SELECT Id FROM Contacts)");
                return None;
            }
            if place != Place::Soql {
                self.error_here("subqueries are not allowed in a RETURNING field list");
                return None;
            }
            self.bump();
            if !self.enter() {
                return None;
            }
            let query = self.query();
            self.leave();
            self.expect(TokenKind::RParen, "`)` to close the subquery");
            return Some(SelectItem::Subquery {
                query: Box::new(query),
                span: self.span_from(start),
            });
        }
        if self.at_kw("TYPEOF") && self.nth(1).kind == TokenKind::Ident {
            return Some(SelectItem::TypeOf(self.type_of()));
        }
        if self.at_kw("FIELDS") && self.nth(1).kind == TokenKind::LParen {
            return self.fields_item();
        }
        if self.at_reserved_word() {
            self.error_here(format!(
                "expected a field, a function or a subquery, found {}",
                self.found()
            ));
            return None;
        }
        let expr = self.value_expr("a field, a function or a subquery")?;
        let alias = self.at_alias().then(|| self.ident("an alias"));
        Some(SelectItem::Expr {
            expr,
            alias,
            span: self.span_from(start),
        })
    }

    fn fields_item(&mut self) -> Option<SelectItem> {
        let start = self.bump().span;
        self.bump();
        let set = if self.eat_kw("ALL").is_some() {
            FieldSet::All
        } else if self.eat_kw("STANDARD").is_some() {
            FieldSet::Standard
        } else if self.eat_kw("CUSTOM").is_some() {
            FieldSet::Custom
        } else {
            self.error_here(format!(
                "FIELDS takes ALL, STANDARD or CUSTOM, found {}",
                self.found()
            ));
            self.recover(|_| false);
            self.eat(TokenKind::RParen);
            return None;
        };
        self.expect(TokenKind::RParen, "`)` after FIELDS(")?;
        Some(SelectItem::Fields {
            set,
            span: self.span_from(start),
        })
    }

    fn type_of(&mut self) -> TypeOf {
        let start = self.bump().span;
        let field = self.field_path();
        let mut whens = Vec::new();
        while self.at_kw("WHEN") {
            let when_start = self.bump().span;
            let object = self.ident("an object name after WHEN");
            self.expect_kw("THEN");
            let fields = self.field_list();
            whens.push(TypeOfWhen {
                object,
                fields,
                span: self.span_from(when_start),
            });
        }
        if whens.is_empty() {
            self.error_here(format!(
                "TYPEOF needs at least one WHEN Object THEN fields, found {}",
                self.found()
            ));
        }
        let else_fields = if self.eat_kw("ELSE").is_some() {
            self.field_list()
        } else {
            Vec::new()
        };
        if self.expect_kw("END").is_none() {
            self.recover(|p| p.at_kw("END") || p.at(TokenKind::Comma));
            self.eat_kw("END");
        }
        TypeOf {
            field,
            whens,
            else_fields,
            span: self.span_from(start),
        }
    }

    fn field_list(&mut self) -> Vec<FieldPath> {
        let mut fields = Vec::new();
        loop {
            if !self.at(TokenKind::Ident)
                || self.at_kw("WHEN")
                || self.at_kw("ELSE")
                || self.at_kw("END")
            {
                self.error_here(format!("expected a field name, found {}", self.found()));
                break;
            }
            fields.push(self.field_path());
            if self.eat(TokenKind::Comma).is_none() {
                break;
            }
        }
        fields
    }

    fn parse_from(&mut self) -> From {
        let start = self.current().span;
        if self.eat_kw("FROM").is_none() {
            self.error_here(format!("expected FROM, found {}", self.found()));
            self.recover(|p| p.at_kw("FROM"));
            if self.eat_kw("FROM").is_none() {
                return empty_from(self.current().span.start as usize);
            }
        }
        if !self.at(TokenKind::Ident) || self.at_clause_keyword() {
            self.error_here(format!(
                "expected an object name after FROM, found {}",
                self.found()
            ));
            return empty_from(self.current().span.start as usize);
        }
        let object = self.field_path();
        let alias = self.parse_from_alias();
        let mut relationship_aliases = Vec::new();
        while self.at(TokenKind::Comma) && self.nth(1).kind == TokenKind::Ident {
            self.bump();
            let path_start = self.current().span;
            let path = self.field_path();
            let alias = self.parse_from_alias();
            relationship_aliases.push(RelationshipAlias {
                path,
                alias,
                span: self.span_from(path_start),
            });
        }
        From {
            object,
            alias,
            relationship_aliases,
            span: self.span_from(start),
        }
    }

    fn parse_from_alias(&mut self) -> Option<Ident> {
        if self.eat_kw("AS").is_some() {
            return Some(self.ident("an alias after AS"));
        }
        self.at_alias().then(|| self.ident("an alias"))
    }

    fn group_by(&mut self) -> GroupBy {
        let start = self.bump().span;
        self.bump();
        let kind = if self.at_kw("ROLLUP") && self.nth(1).kind == TokenKind::LParen {
            GroupByKind::Rollup
        } else if self.at_kw("CUBE") && self.nth(1).kind == TokenKind::LParen {
            GroupByKind::Cube
        } else {
            GroupByKind::Plain
        };
        let items = if kind == GroupByKind::Plain {
            self.expr_list("a field to group by")
        } else {
            self.bump();
            self.bump();
            let items = self.expr_list("a field to group by");
            self.expect(TokenKind::RParen, "`)` to close the grouping list");
            items
        };
        GroupBy {
            kind,
            items,
            span: self.span_from(start),
        }
    }

    fn expr_list(&mut self, what: &str) -> Vec<Expr> {
        let mut items = Vec::new();
        loop {
            let before = self.pos;
            match self.value_expr(what) {
                Some(expr) => items.push(expr),
                None => self.recover(|p| p.at(TokenKind::Comma)),
            }
            if self.eat(TokenKind::Comma).is_none() {
                break;
            }
            if self.pos == before {
                self.bump();
            }
        }
        items
    }

    pub(super) fn order_by(&mut self) -> Vec<OrderItem> {
        self.bump();
        self.bump();
        let mut items = Vec::new();
        loop {
            let before = self.pos;
            let start = self.current().span;
            match self.value_expr("a field to order by") {
                Some(expr) => {
                    let direction = if self.eat_kw("ASC").is_some() {
                        Some(Direction::Asc)
                    } else if self.eat_kw("DESC").is_some() {
                        Some(Direction::Desc)
                    } else {
                        None
                    };
                    let nulls = if self.eat_kw("NULLS").is_some() {
                        if self.eat_kw("FIRST").is_some() {
                            Some(Nulls::First)
                        } else if self.eat_kw("LAST").is_some() {
                            Some(Nulls::Last)
                        } else {
                            self.error_here(format!(
                                "expected FIRST or LAST after NULLS, found {}",
                                self.found()
                            ));
                            None
                        }
                    } else {
                        None
                    };
                    items.push(OrderItem {
                        expr,
                        direction,
                        nulls,
                        span: self.span_from(start),
                    });
                }
                None => self.recover(|p| p.at(TokenKind::Comma)),
            }
            if self.eat(TokenKind::Comma).is_none() {
                break;
            }
            if self.pos == before {
                self.bump();
            }
        }
        items
    }

    /// The number after LIMIT or OFFSET.
    pub(super) fn count(&mut self, keyword: &str) -> Option<Count> {
        self.bump();
        let token = self.current();
        match token.kind {
            TokenKind::Number => {
                self.bump();
                match self.text_of(token).parse::<u64>() {
                    Ok(value) => Some(Count {
                        value,
                        span: token.span,
                    }),
                    Err(_) => {
                        self.error(
                            DiagnosticKind::InvalidLiteral,
                            token.span,
                            format!("{keyword} takes a whole number"),
                        );
                        None
                    }
                }
            }
            TokenKind::Colon => {
                self.apex_bind();
                None
            }
            _ => {
                self.error_here(format!(
                    "expected a number after {keyword}, found {}",
                    self.found()
                ));
                None
            }
        }
    }

    pub(super) fn using_clause(&mut self, place: Place) -> Option<Using> {
        let start = self.bump().span;
        if place == Place::Soql && self.eat_kw("SCOPE").is_some() {
            let scope = self.ident("a scope after USING SCOPE, such as everything, mine or team");
            return Some(Using::Scope {
                scope,
                span: self.span_from(start),
            });
        }
        if self.eat_kw("LOOKUP").is_some() {
            if !self.at(TokenKind::Ident) {
                self.error_here(format!(
                    "expected a lookup field after USING LOOKUP, found {}",
                    self.found()
                ));
                return None;
            }
            let field = self.field_path();
            return Some(Using::Lookup {
                field,
                span: self.span_from(start),
            });
        }
        if place == Place::Returning && self.eat_kw("ListView").is_some() {
            self.expect(TokenKind::Eq, "`=` after USING ListView")?;
            let name = self.ident("a list view name");
            return Some(Using::ListView {
                name,
                span: self.span_from(start),
            });
        }
        let expected = if place == Place::Returning {
            "ListView = name or LOOKUP"
        } else {
            "SCOPE or LOOKUP"
        };
        self.error(
            DiagnosticKind::Syntax,
            self.span_from(start),
            format!("expected {expected} after USING, found {}", self.found()),
        );
        None
    }

    pub(super) fn bind_clause(&mut self) -> Vec<Binding> {
        self.bump();
        let mut bindings = Vec::new();
        loop {
            let before = self.pos;
            let start = self.current().span;
            let field = self.ident("a field name after BIND");
            if self.expect(TokenKind::Eq, "`=` in BIND").is_some()
                && let Some(value) = self.literal()
            {
                bindings.push(Binding {
                    field,
                    value,
                    span: self.span_from(start),
                });
            }
            if self.eat(TokenKind::Comma).is_none() {
                break;
            }
            if self.pos == before {
                self.bump();
            }
        }
        bindings
    }

    fn for_clause(&mut self) -> Vec<ForClause> {
        let options = [
            ("VIEW", ForClause::View),
            ("REFERENCE", ForClause::Reference),
            ("UPDATE", ForClause::Update),
        ];
        self.keyword_list("FOR", "VIEW, REFERENCE or UPDATE", &options)
    }

    pub(super) fn update_clause(&mut self) -> Vec<UpdateClause> {
        let options = [
            ("TRACKING", UpdateClause::Tracking),
            ("VIEWSTAT", UpdateClause::Viewstat),
        ];
        self.keyword_list("UPDATE", "TRACKING or VIEWSTAT", &options)
    }

    /// `CLAUSE a, b, ...` where each item is one of the `options` keywords. The caller has
    /// checked that the clause keyword comes next.
    fn keyword_list<T: Copy>(
        &mut self,
        clause: &str,
        expected: &str,
        options: &[(&str, T)],
    ) -> Vec<T> {
        self.bump();
        let mut items = Vec::new();
        loop {
            let Some(&(_, item)) = options.iter().find(|(keyword, _)| self.at_kw(keyword)) else {
                self.error_here(format!(
                    "expected {expected} after {clause}, found {}",
                    self.found()
                ));
                break;
            };
            self.bump();
            items.push(item);
            if self.eat(TokenKind::Comma).is_none() {
                break;
            }
        }
        items
    }

    /// One WITH clause. Returns `None` (after reporting) when it cannot be read.
    pub(super) fn with_clause(&mut self, place: Place) -> Option<With> {
        let start = self.bump().span;
        let word = self.current();
        if word.kind != TokenKind::Ident {
            self.error_here(format!("expected a WITH option, found {}", self.found()));
            return None;
        }
        let name = self.text_of(word).to_string();
        let upper = name.to_ascii_uppercase();
        let sosl = place != Place::Soql;
        let kind = match upper.as_str() {
            "SECURITY_ENFORCED" => Some(WithKind::SecurityEnforced),
            "USER_MODE" => Some(WithKind::UserMode),
            "SYSTEM_MODE" => Some(WithKind::SystemMode),
            "HIGHLIGHT" if sosl => Some(WithKind::Highlight),
            _ => None,
        };
        let kind = if let Some(kind) = kind {
            self.bump();
            kind
        } else if upper == "DATA" && self.nth_is_kw(1, "CATEGORY") {
            self.bump();
            self.bump();
            WithKind::DataCategory {
                filters: self.data_category_filters(),
            }
        } else if upper == "SNIPPET" && sosl {
            self.bump();
            let params = if self.at(TokenKind::LParen) {
                self.params()?
            } else {
                Vec::new()
            };
            WithKind::Snippet { params }
        } else if upper == "RECORDVISIBILITYCONTEXT" && !sosl {
            self.bump();
            if !self.at(TokenKind::LParen) {
                self.error_here(format!(
                    "expected `(` after RecordVisibilityContext, found {}",
                    self.found()
                ));
                return None;
            }
            WithKind::RecordVisibilityContext {
                params: self.params()?,
            }
        } else if let Some(known) = WITH_PARAMETERS
            .iter()
            .find(|p| p.eq_ignore_ascii_case(&name))
        {
            let for_soql = *known == "UserId";
            if for_soql == sosl {
                let statement = if sosl {
                    "a SOSL search"
                } else {
                    "a SOQL query"
                };
                self.error_here(format!("WITH {known} is not valid in {statement}"));
            }
            let name = Ident::new(name, self.bump().span);
            let value = if self.eat(TokenKind::Eq).is_some() {
                Operand::Value(self.literal()?)
            } else if self.at_kw("IN") {
                self.bump();
                let list_start = self.current().span;
                self.expect(TokenKind::LParen, "`(` after IN")?;
                let mut values = Vec::new();
                loop {
                    values.push(self.literal()?);
                    if self.eat(TokenKind::Comma).is_none() {
                        break;
                    }
                }
                self.expect(TokenKind::RParen, "`,` or `)` in the list")?;
                Operand::List {
                    values,
                    span: self.span_from(list_start),
                }
            } else {
                self.error_here(format!(
                    "expected `=` after WITH {}, found {}",
                    name.name,
                    self.found()
                ));
                return None;
            };
            WithKind::Parameter { name, value }
        } else {
            let options = if sosl {
                "DATA CATEGORY, DIVISION, HIGHLIGHT, METADATA, NETWORK, PRICEBOOKID, SNIPPET, SPELL_CORRECTION, USER_MODE or SYSTEM_MODE"
            } else {
                "SECURITY_ENFORCED, USER_MODE, SYSTEM_MODE, DATA CATEGORY or RecordVisibilityContext"
            };
            self.error_here(format!("unknown WITH option `{name}`: expected {options}"));
            self.bump();
            return None;
        };
        Some(With {
            kind,
            span: self.span_from(start),
        })
    }

    fn data_category_filters(&mut self) -> Vec<DataCategoryFilter> {
        let mut filters = Vec::new();
        loop {
            let start = self.current().span;
            let group = self.ident("a data category group name");
            let selector = if self.eat_kw("AT").is_some() {
                CategorySelector::At
            } else if self.eat_kw("ABOVE").is_some() {
                CategorySelector::Above
            } else if self.eat_kw("BELOW").is_some() {
                CategorySelector::Below
            } else if self.eat_kw("ABOVE_OR_BELOW").is_some() {
                CategorySelector::AboveOrBelow
            } else {
                self.error_here(format!(
                    "expected AT, ABOVE, BELOW or ABOVE_OR_BELOW, found {}",
                    self.found()
                ));
                break;
            };
            let mut categories = Vec::new();
            if self.eat(TokenKind::LParen).is_some() {
                loop {
                    categories.push(self.ident("a category name"));
                    if self.eat(TokenKind::Comma).is_none() {
                        break;
                    }
                }
                self.expect(TokenKind::RParen, "`,` or `)` in the category list");
            } else {
                categories.push(self.ident("a category name"));
            }
            filters.push(DataCategoryFilter {
                group,
                selector,
                categories,
                span: self.span_from(start),
            });
            if self.eat_kw("AND").is_none() {
                break;
            }
        }
        filters
    }

    /// `(name=value, ...)`.
    fn params(&mut self) -> Option<Vec<Param>> {
        self.bump();
        let mut params = Vec::new();
        loop {
            let start = self.current().span;
            let name = self.ident("a parameter name");
            self.expect(TokenKind::Eq, "`=` after the parameter name")?;
            let value = self.literal()?;
            params.push(Param {
                name,
                value,
                span: self.span_from(start),
            });
            if self.eat(TokenKind::Comma).is_none() {
                break;
            }
        }
        self.expect(TokenKind::RParen, "`,` or `)` in the parameter list")?;
        Some(params)
    }
}

fn empty_from(offset: usize) -> From {
    let span = Span::empty(offset);
    From {
        object: FieldPath {
            segments: vec![Ident::new("", span)],
            span,
        },
        alias: None,
        relationship_aliases: Vec::new(),
        span,
    }
}
