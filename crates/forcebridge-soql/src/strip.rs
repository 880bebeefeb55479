//! Structural comparison of trees: every span set to zero, so that two parses of differently
//! spelled text can be compared with `==`.

use crate::ast::{
    Call, Comparison, Condition, Expr, FieldPath, From, Ident, Literal, Operand, OrderItem, Query,
    Returning, Search, SelectItem, Statement, Using, With, WithKind,
};
use crate::span::Span;

impl Statement {
    /// A copy of the tree with every span set to `0..0`. Two statements that mean the same
    /// thing, however they were spelled, have equal span-less trees.
    pub fn without_spans(&self) -> Statement {
        let mut copy = self.clone();
        copy.strip();
        copy
    }
}

impl Query {
    /// See [`Statement::without_spans`].
    pub fn without_spans(&self) -> Query {
        let mut copy = self.clone();
        copy.strip();
        copy
    }
}

trait Strip {
    fn strip(&mut self);
}

impl<T: Strip> Strip for Vec<T> {
    fn strip(&mut self) {
        self.iter_mut().for_each(Strip::strip);
    }
}

impl<T: Strip> Strip for Option<T> {
    fn strip(&mut self) {
        if let Some(inner) = self {
            inner.strip();
        }
    }
}

impl<T: Strip> Strip for Box<T> {
    fn strip(&mut self) {
        (**self).strip();
    }
}

impl Strip for Span {
    fn strip(&mut self) {
        *self = Span::default();
    }
}

impl Strip for Ident {
    fn strip(&mut self) {
        self.span.strip();
    }
}

impl Strip for FieldPath {
    fn strip(&mut self) {
        self.segments.strip();
        self.span.strip();
    }
}

impl Strip for Statement {
    fn strip(&mut self) {
        match self {
            Statement::Query(q) => q.strip(),
            Statement::Search(s) => s.strip(),
        }
    }
}

impl Strip for Query {
    fn strip(&mut self) {
        self.select.strip();
        self.from.strip();
        self.using.strip();
        self.where_clause.strip();
        self.with.strip();
        if let Some(g) = &mut self.group_by {
            g.items.strip();
            g.span.strip();
        }
        self.having.strip();
        self.order_by.strip();
        for count in self.limit.iter_mut().chain(self.offset.iter_mut()) {
            count.span.strip();
        }
        for b in &mut self.bind {
            b.field.strip();
            b.value.strip();
            b.span.strip();
        }
        self.span.strip();
    }
}

impl Strip for From {
    fn strip(&mut self) {
        self.object.strip();
        self.alias.strip();
        for rel in &mut self.relationship_aliases {
            rel.path.strip();
            rel.alias.strip();
            rel.span.strip();
        }
        self.span.strip();
    }
}

impl Strip for SelectItem {
    fn strip(&mut self) {
        match self {
            SelectItem::Expr { expr, alias, span } => {
                expr.strip();
                alias.strip();
                span.strip();
            }
            SelectItem::Fields { span, .. } => span.strip(),
            SelectItem::Subquery { query, span } => {
                query.strip();
                span.strip();
            }
            SelectItem::TypeOf(t) => {
                t.field.strip();
                for when in &mut t.whens {
                    when.object.strip();
                    when.fields.strip();
                    when.span.strip();
                }
                t.else_fields.strip();
                t.span.strip();
            }
        }
    }
}

impl Strip for Expr {
    fn strip(&mut self) {
        match self {
            Expr::Field(f) => f.strip(),
            Expr::Call(c) => c.strip(),
            Expr::Literal(l) => l.strip(),
        }
    }
}

impl Strip for Call {
    fn strip(&mut self) {
        self.args.strip();
        self.span.strip();
    }
}

impl Strip for Literal {
    fn strip(&mut self) {
        self.span.strip();
    }
}

impl Strip for Condition {
    fn strip(&mut self) {
        match self {
            Condition::Comparison(c) => c.strip(),
            Condition::And { operands, span } | Condition::Or { operands, span } => {
                operands.strip();
                span.strip();
            }
            Condition::Not { operand, span } => {
                operand.strip();
                span.strip();
            }
            Condition::Error { span } => span.strip(),
        }
    }
}

impl Strip for Comparison {
    fn strip(&mut self) {
        self.lhs.strip();
        self.rhs.strip();
        self.span.strip();
    }
}

impl Strip for Operand {
    fn strip(&mut self) {
        match self {
            Operand::Value(l) => l.strip(),
            Operand::List { values, span } => {
                values.strip();
                span.strip();
            }
            Operand::Subquery { query, span } => {
                query.strip();
                span.strip();
            }
            Operand::Pattern { span, .. } => span.strip(),
        }
    }
}

impl Strip for OrderItem {
    fn strip(&mut self) {
        self.expr.strip();
        self.span.strip();
    }
}

impl Strip for Using {
    fn strip(&mut self) {
        match self {
            Using::Scope { scope: ident, span } | Using::ListView { name: ident, span } => {
                ident.strip();
                span.strip();
            }
            Using::Lookup { field, span } => {
                field.strip();
                span.strip();
            }
        }
    }
}

impl Strip for With {
    fn strip(&mut self) {
        match &mut self.kind {
            WithKind::DataCategory { filters } => {
                for f in filters {
                    f.group.strip();
                    f.categories.strip();
                    f.span.strip();
                }
            }
            WithKind::Snippet { params } | WithKind::RecordVisibilityContext { params } => {
                for p in params {
                    p.name.strip();
                    p.value.strip();
                    p.span.strip();
                }
            }
            WithKind::Parameter { name, value } => {
                name.strip();
                value.strip();
            }
            WithKind::SecurityEnforced
            | WithKind::UserMode
            | WithKind::SystemMode
            | WithKind::Highlight => {}
        }
        self.span.strip();
    }
}

impl Strip for Search {
    fn strip(&mut self) {
        self.term.span.strip();
        self.returning.strip();
        self.with.strip();
        self.search_mode.strip();
        if let Some(limit) = &mut self.limit {
            limit.span.strip();
        }
        self.span.strip();
    }
}

impl Strip for Returning {
    fn strip(&mut self) {
        self.object.strip();
        self.fields.strip();
        self.where_clause.strip();
        self.order_by.strip();
        for count in self.limit.iter_mut().chain(self.offset.iter_mut()) {
            count.span.strip();
        }
        self.using.strip();
        for b in &mut self.bind {
            b.field.strip();
            b.value.strip();
            b.span.strip();
        }
        self.span.strip();
    }
}
