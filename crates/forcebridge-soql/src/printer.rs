//! Writes trees back as text: the canonical one-line form ([`to_soql`]) and a multi-line form
//! for people ([`format_pretty`]).
//!
//! Both forms parse back to the same tree (spans aside). Keywords are upper case, names keep the
//! case they were written in, and every string is escaped, so a printed literal can never end early.
//! A tree that holds parse errors prints placeholders and is not expected to round-trip.

use std::fmt::Write;

use crate::ast::{
    Binding, Call, Comparison, Condition, Direction, Expr, FieldPath, ForClause, From, GroupBy,
    GroupByKind, Nulls, Operand, OrderItem, Param, Query, Returning, Search, SelectItem, Statement,
    TypeOf, UpdateClause, Using, Value, With, WithKind,
};
use crate::like::LikePattern;

/// The width the pretty form tries to stay within.
const WIDTH: usize = 80;
const INDENT: usize = 4;

/// The canonical one-line form of a statement.
pub fn to_soql(statement: &Statement) -> String {
    let mut out = String::new();
    match statement {
        Statement::Query(q) => query(&mut out, q),
        Statement::Search(s) => search(&mut out, s),
    }
    out
}

/// The statement formatted over several lines, one clause per line, for people to read.
pub fn format_pretty(statement: &Statement) -> String {
    let mut out = String::new();
    match statement {
        Statement::Query(q) => pretty_query(&mut out, q, 0),
        Statement::Search(s) => pretty_search(&mut out, s),
    }
    out
}

impl std::fmt::Display for Statement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&to_soql(self))
    }
}

impl std::fmt::Display for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        query(&mut out, self);
        f.write_str(&out)
    }
}

impl std::fmt::Display for Search {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        search(&mut out, self);
        f.write_str(&out)
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        condition(&mut out, self);
        f.write_str(&out)
    }
}

// ---- One-line form -------------------------------------------------------------------------------

fn query(out: &mut String, q: &Query) {
    out.push_str("SELECT ");
    select_items(out, &q.select);
    out.push(' ');
    from(out, &q.from);
    clauses_after_from(out, q);
}

fn clauses_after_from(out: &mut String, q: &Query) {
    if let Some(u) = &q.using {
        out.push(' ');
        using(out, u);
    }
    if let Some(c) = &q.where_clause {
        out.push_str(" WHERE ");
        condition(out, c);
    }
    for w in &q.with {
        out.push(' ');
        with(out, w);
    }
    if let Some(g) = &q.group_by {
        out.push(' ');
        group_by(out, g);
    }
    if let Some(c) = &q.having {
        out.push_str(" HAVING ");
        condition(out, c);
    }
    if !q.order_by.is_empty() {
        out.push_str(" ORDER BY ");
        order_items(out, &q.order_by);
    }
    tail_clauses(out, q);
}

/// LIMIT and everything after it: always short, so the pretty form keeps them on one line each.
fn tail_clauses(out: &mut String, q: &Query) {
    if let Some(limit) = q.limit {
        let _ = write!(out, " LIMIT {}", limit.value);
    }
    if let Some(offset) = q.offset {
        let _ = write!(out, " OFFSET {}", offset.value);
    }
    if !q.bind.is_empty() {
        out.push(' ');
        bind(out, &q.bind);
    }
    if !q.for_clauses.is_empty() {
        out.push_str(" FOR ");
        join(out, &q.for_clauses, |out, f| {
            out.push_str(match f {
                ForClause::View => "VIEW",
                ForClause::Reference => "REFERENCE",
                ForClause::Update => "UPDATE",
            })
        });
    }
    update(out, &q.update);
}

fn bind(out: &mut String, bindings: &[Binding]) {
    out.push_str("BIND ");
    join(out, bindings, |out, b| {
        out.push_str(&b.field.name);
        out.push_str(" = ");
        literal(out, &b.value.value);
    });
}

fn update(out: &mut String, clauses: &[UpdateClause]) {
    if !clauses.is_empty() {
        out.push_str(" UPDATE ");
        join(out, clauses, |out, u| {
            out.push_str(match u {
                UpdateClause::Tracking => "TRACKING",
                UpdateClause::Viewstat => "VIEWSTAT",
            })
        });
    }
}

fn join<T>(out: &mut String, items: &[T], mut each: impl FnMut(&mut String, &T)) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        each(out, item);
    }
}

fn select_items(out: &mut String, items: &[SelectItem]) {
    join(out, items, select_item);
}

fn select_item(out: &mut String, item: &SelectItem) {
    match item {
        SelectItem::Expr { expr: e, alias, .. } => {
            expr(out, e);
            if let Some(alias) = alias {
                out.push(' ');
                out.push_str(&alias.name);
            }
        }
        SelectItem::Fields { set, .. } => {
            let _ = write!(out, "FIELDS({})", set.keyword());
        }
        SelectItem::Subquery { query: q, .. } => {
            out.push('(');
            query(out, q);
            out.push(')');
        }
        SelectItem::TypeOf(t) => type_of(out, t),
    }
}

fn type_of(out: &mut String, t: &TypeOf) {
    out.push_str("TYPEOF ");
    field_path(out, &t.field);
    for when in &t.whens {
        out.push_str(" WHEN ");
        out.push_str(&when.object.name);
        out.push_str(" THEN ");
        join(out, &when.fields, field_path);
    }
    if !t.else_fields.is_empty() {
        out.push_str(" ELSE ");
        join(out, &t.else_fields, field_path);
    }
    out.push_str(" END");
}

fn from(out: &mut String, f: &From) {
    out.push_str("FROM ");
    field_path(out, &f.object);
    if let Some(alias) = &f.alias {
        out.push(' ');
        out.push_str(&alias.name);
    }
    for rel in &f.relationship_aliases {
        out.push_str(", ");
        field_path(out, &rel.path);
        if let Some(alias) = &rel.alias {
            out.push(' ');
            out.push_str(&alias.name);
        }
    }
}

fn field_path(out: &mut String, path: &FieldPath) {
    for (i, segment) in path.segments.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(&segment.name);
    }
}

fn expr(out: &mut String, e: &Expr) {
    match e {
        Expr::Field(path) => field_path(out, path),
        Expr::Call(c) => call(out, c),
        Expr::Literal(l) => literal(out, &l.value),
    }
}

fn call(out: &mut String, c: &Call) {
    out.push_str(c.function.name());
    out.push('(');
    join(out, &c.args, expr);
    out.push(')');
}

fn using(out: &mut String, u: &Using) {
    match u {
        Using::Scope { scope, .. } => {
            out.push_str("USING SCOPE ");
            out.push_str(&scope.name);
        }
        Using::Lookup { field, .. } => {
            out.push_str("USING LOOKUP ");
            field_path(out, field);
        }
        Using::ListView { name, .. } => {
            out.push_str("USING ListView = ");
            out.push_str(&name.name);
        }
    }
}

fn with(out: &mut String, w: &With) {
    out.push_str("WITH ");
    match &w.kind {
        WithKind::SecurityEnforced => out.push_str("SECURITY_ENFORCED"),
        WithKind::UserMode => out.push_str("USER_MODE"),
        WithKind::SystemMode => out.push_str("SYSTEM_MODE"),
        WithKind::Highlight => out.push_str("HIGHLIGHT"),
        WithKind::DataCategory { filters } => {
            out.push_str("DATA CATEGORY ");
            for (i, filter) in filters.iter().enumerate() {
                if i > 0 {
                    out.push_str(" AND ");
                }
                out.push_str(&filter.group.name);
                out.push(' ');
                out.push_str(filter.selector.keyword());
                out.push(' ');
                if filter.categories.len() == 1 {
                    out.push_str(&filter.categories[0].name);
                } else {
                    out.push('(');
                    join(out, &filter.categories, |out, c| out.push_str(&c.name));
                    out.push(')');
                }
            }
        }
        WithKind::Snippet { params: p } => {
            out.push_str("SNIPPET");
            if !p.is_empty() {
                out.push(' ');
                params(out, p);
            }
        }
        WithKind::RecordVisibilityContext { params: p } => {
            out.push_str("RecordVisibilityContext ");
            params(out, p);
        }
        WithKind::Parameter { name, value } => {
            out.push_str(&name.name);
            match value {
                Operand::List { .. } => out.push_str(" IN "),
                _ => out.push_str(" = "),
            }
            operand(out, value);
        }
    }
}

fn params(out: &mut String, params: &[Param]) {
    out.push('(');
    join(out, params, |out, p| {
        out.push_str(&p.name.name);
        out.push('=');
        literal(out, &p.value.value);
    });
    out.push(')');
}

fn group_by(out: &mut String, g: &GroupBy) {
    out.push_str("GROUP BY ");
    match g.kind {
        GroupByKind::Plain => join(out, &g.items, expr),
        GroupByKind::Rollup | GroupByKind::Cube => {
            out.push_str(if g.kind == GroupByKind::Rollup {
                "ROLLUP("
            } else {
                "CUBE("
            });
            join(out, &g.items, expr);
            out.push(')');
        }
    }
}

fn order_items(out: &mut String, items: &[OrderItem]) {
    join(out, items, |out, item| {
        expr(out, &item.expr);
        match item.direction {
            Some(Direction::Asc) => out.push_str(" ASC"),
            Some(Direction::Desc) => out.push_str(" DESC"),
            None => {}
        }
        match item.nulls {
            Some(Nulls::First) => out.push_str(" NULLS FIRST"),
            Some(Nulls::Last) => out.push_str(" NULLS LAST"),
            None => {}
        }
    });
}

fn condition(out: &mut String, c: &Condition) {
    match c {
        Condition::Comparison(cmp) => comparison(out, cmp),
        Condition::And { operands, .. } => junction(out, operands, " AND "),
        Condition::Or { operands, .. } => junction(out, operands, " OR "),
        Condition::Not { operand, .. } => {
            out.push_str("NOT ");
            nested_condition(out, operand);
        }
        Condition::Error { .. } => out.push_str("<error>"),
    }
}

fn junction(out: &mut String, operands: &[Condition], joiner: &str) {
    for (i, operand) in operands.iter().enumerate() {
        if i > 0 {
            out.push_str(joiner);
        }
        nested_condition(out, operand);
    }
}

/// A condition inside AND, OR or NOT: anything but a plain comparison gets parentheses, which
/// is what SOQL requires when operators mix and what keeps the tree's shape on a round trip.
fn nested_condition(out: &mut String, c: &Condition) {
    if matches!(c, Condition::Comparison(_) | Condition::Error { .. }) {
        condition(out, c);
    } else {
        out.push('(');
        condition(out, c);
        out.push(')');
    }
}

fn comparison(out: &mut String, c: &Comparison) {
    expr(out, &c.lhs);
    out.push(' ');
    out.push_str(c.op.as_str());
    out.push(' ');
    operand(out, &c.rhs);
}

fn operand(out: &mut String, o: &Operand) {
    match o {
        Operand::Value(l) => literal(out, &l.value),
        Operand::List { values, .. } => {
            out.push('(');
            join(out, values, |out, l| literal(out, &l.value));
            out.push(')');
        }
        Operand::Subquery { query: q, .. } => {
            out.push('(');
            query(out, q);
            out.push(')');
        }
        Operand::Pattern { pattern, .. } => like_pattern(out, pattern),
    }
}

/// Writes a literal value in SOQL syntax.
pub(crate) fn literal(out: &mut String, value: &Value) {
    match value {
        Value::String(s) => quoted(out, s),
        Value::Number(n) => out.push_str(n.as_str()),
        Value::Boolean(true) => out.push_str("TRUE"),
        Value::Boolean(false) => out.push_str("FALSE"),
        Value::Null => out.push_str("NULL"),
        Value::Date(d) => {
            let _ = write!(out, "{d}");
        }
        Value::DateTime(dt) => {
            let _ = write!(out, "{dt}");
        }
        Value::Time(t) => {
            let _ = write!(out, "{t}Z");
        }
        Value::Currency { code, amount } => {
            out.push_str(code);
            out.push_str(amount.as_str());
        }
        Value::DateLiteral(d) => {
            let _ = write!(out, "{d}");
        }
    }
}

/// A single-quoted SOQL string with every character that needs it escaped.
pub(crate) fn quoted(out: &mut String, s: &str) {
    out.push('\'');
    for c in s.chars() {
        escape_char(out, c);
    }
    out.push('\'');
}

fn escape_char(out: &mut String, c: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\'' => out.push_str("\\'"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        c if c.is_control() => {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        }
        c => out.push(c),
    }
}

fn like_pattern(out: &mut String, pattern: &LikePattern) {
    out.push('\'');
    let mut chars = pattern.as_escaped().chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            // In the pattern's escaped form a backslash always precedes `%`, `_` or `\`, which
            // SOQL spells the same way inside a LIKE string.
            out.push('\\');
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            escape_char(out, c);
        }
    }
    out.push('\'');
}

fn search(out: &mut String, s: &Search) {
    out.push_str("FIND {");
    out.push_str(&s.term.raw);
    out.push('}');
    if let Some(scope) = s.scope {
        let _ = write!(out, " IN {} FIELDS", scope.keyword());
    }
    if !s.returning.is_empty() {
        out.push_str(" RETURNING ");
        join(out, &s.returning, returning);
    }
    search_tail(out, s);
}

fn search_tail(out: &mut String, s: &Search) {
    for w in &s.with {
        out.push(' ');
        with(out, w);
    }
    if let Some(mode) = &s.search_mode {
        let _ = write!(out, " USING {} SEARCH", mode.name);
    }
    if let Some(limit) = s.limit {
        let _ = write!(out, " LIMIT {}", limit.value);
    }
    update(out, &s.update);
}

fn returning(out: &mut String, r: &Returning) {
    out.push_str(&r.object.name);
    if r.fields.is_empty() {
        return;
    }
    out.push('(');
    select_items(out, &r.fields);
    if let Some(u) = &r.using {
        out.push(' ');
        using(out, u);
    }
    if !r.bind.is_empty() {
        out.push(' ');
        bind(out, &r.bind);
    }
    if let Some(c) = &r.where_clause {
        out.push_str(" WHERE ");
        condition(out, c);
    }
    if !r.order_by.is_empty() {
        out.push_str(" ORDER BY ");
        order_items(out, &r.order_by);
    }
    if let Some(limit) = r.limit {
        let _ = write!(out, " LIMIT {}", limit.value);
    }
    if let Some(offset) = r.offset {
        let _ = write!(out, " OFFSET {}", offset.value);
    }
    out.push(')');
}

// ---- Pretty form ---------------------------------------------------------------------------------

fn newline(out: &mut String, indent: usize) {
    out.push('\n');
    out.extend(std::iter::repeat_n(' ', indent));
}

fn fits(indent: usize, text: &str) -> bool {
    indent + text.chars().count() <= WIDTH && !text.contains('\n')
}

fn one_line<T: ?Sized>(f: impl Fn(&mut String, &T), value: &T) -> String {
    let mut s = String::new();
    f(&mut s, value);
    s
}

fn pretty_query(out: &mut String, q: &Query, indent: usize) {
    let select_line = format!("SELECT {}", one_line(select_items, &q.select[..]));
    if fits(indent, &select_line) {
        out.push_str(&select_line);
    } else {
        out.push_str("SELECT");
        for (i, item) in q.select.iter().enumerate() {
            newline(out, indent + INDENT);
            pretty_select_item(out, item, indent + INDENT);
            if i + 1 < q.select.len() {
                out.push(',');
            }
        }
    }
    newline(out, indent);
    from(out, &q.from);
    if let Some(u) = &q.using {
        newline(out, indent);
        using(out, u);
    }
    if let Some(c) = &q.where_clause {
        newline(out, indent);
        out.push_str("WHERE ");
        pretty_condition(out, c, indent);
    }
    for w in &q.with {
        newline(out, indent);
        with(out, w);
    }
    if let Some(g) = &q.group_by {
        newline(out, indent);
        if g.kind == GroupByKind::Plain {
            let items: Vec<String> = g.items.iter().map(|e| one_line(expr, e)).collect();
            pretty_list(out, "GROUP BY", &items, indent);
        } else {
            group_by(out, g);
        }
    }
    if let Some(c) = &q.having {
        newline(out, indent);
        out.push_str("HAVING ");
        pretty_condition(out, c, indent);
    }
    if !q.order_by.is_empty() {
        newline(out, indent);
        let items: Vec<String> = q
            .order_by
            .iter()
            .map(|o| one_line(order_items, std::slice::from_ref(o)))
            .collect();
        pretty_list(out, "ORDER BY", &items, indent);
    }
    let mut tail = String::new();
    tail_clauses(&mut tail, q);
    // Each tail clause on its own line: split before the keywords tail_clauses wrote.
    for clause in split_clauses(
        &tail,
        &[" LIMIT ", " OFFSET ", " BIND ", " FOR ", " UPDATE "],
    ) {
        newline(out, indent);
        out.push_str(clause);
    }
}

/// `KEYWORD a, b, c` on one line if it fits, otherwise one item per line under the keyword.
fn pretty_list(out: &mut String, keyword: &str, items: &[String], indent: usize) {
    let inline = format!("{keyword} {}", items.join(", "));
    if fits(indent, &inline) {
        out.push_str(&inline);
        return;
    }
    out.push_str(keyword);
    for (i, item) in items.iter().enumerate() {
        newline(out, indent + INDENT);
        out.push_str(item);
        if i + 1 < items.len() {
            out.push(',');
        }
    }
}

fn pretty_select_item(out: &mut String, item: &SelectItem, indent: usize) {
    match item {
        SelectItem::Subquery { query: q, .. } => {
            let inline = one_line(select_item, item);
            if fits(indent, &inline) {
                out.push_str(&inline);
            } else {
                out.push('(');
                newline(out, indent + INDENT);
                pretty_query(out, q, indent + INDENT);
                newline(out, indent);
                out.push(')');
            }
        }
        _ => select_item(out, item),
    }
}

fn pretty_condition(out: &mut String, c: &Condition, indent: usize) {
    let inline = one_line(condition, c);
    if fits(indent + "WHERE ".len(), &inline) {
        out.push_str(&inline);
        return;
    }
    let (operands, joiner) = match c {
        Condition::And { operands, .. } => (operands, "AND "),
        Condition::Or { operands, .. } => (operands, "OR "),
        _ => {
            pretty_leaf_condition(out, c, indent);
            return;
        }
    };
    for (i, operand) in operands.iter().enumerate() {
        if i > 0 {
            newline(out, indent + 2);
            out.push_str(joiner);
        }
        if matches!(operand, Condition::Comparison(_)) {
            pretty_leaf_condition(out, operand, indent + 2);
        } else {
            out.push_str(&one_line(nested_condition, operand));
        }
    }
}

/// A comparison whose semi-join subquery is too long for one line gets the subquery laid out.
fn pretty_leaf_condition(out: &mut String, c: &Condition, indent: usize) {
    if let Condition::Comparison(cmp) = c
        && let Operand::Subquery { query: q, .. } = &cmp.rhs
    {
        expr(out, &cmp.lhs);
        let _ = write!(out, " {} (", cmp.op.as_str());
        newline(out, indent + INDENT);
        pretty_query(out, q, indent + INDENT);
        newline(out, indent);
        out.push(')');
        return;
    }
    condition(out, c);
}

fn pretty_search(out: &mut String, s: &Search) {
    out.push_str("FIND {");
    out.push_str(&s.term.raw);
    out.push('}');
    if let Some(scope) = s.scope {
        newline(out, 0);
        let _ = write!(out, "IN {} FIELDS", scope.keyword());
    }
    if !s.returning.is_empty() {
        newline(out, 0);
        let inline = format!(
            "RETURNING {}",
            one_line(|o, r: &[Returning]| join(o, r, returning), &s.returning[..])
        );
        if fits(0, &inline) {
            out.push_str(&inline);
        } else {
            out.push_str("RETURNING");
            for (i, r) in s.returning.iter().enumerate() {
                newline(out, INDENT);
                returning(out, r);
                if i + 1 < s.returning.len() {
                    out.push(',');
                }
            }
        }
    }
    let mut tail = String::new();
    search_tail(&mut tail, s);
    for clause in split_clauses(&tail, &[" WITH ", " USING ", " LIMIT ", " UPDATE "]) {
        newline(out, 0);
        out.push_str(clause);
    }
}

/// Splits a run of clauses written on one line (" LIMIT 5 OFFSET 10 FOR VIEW") before each
/// keyword in `starts`, skipping keywords inside string literals.
fn split_clauses<'a>(tail: &'a str, starts: &[&str]) -> Vec<&'a str> {
    let mut cuts = Vec::new();
    let mut in_string = false;
    let bytes = tail.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_string => i += 1,
            b'\'' => in_string = !in_string,
            b' ' if !in_string && starts.iter().any(|kw| tail[i..].starts_with(kw)) => cuts.push(i),
            _ => {}
        }
        i += 1;
    }
    let mut parts = Vec::new();
    for (n, &start) in cuts.iter().enumerate() {
        let end = cuts.get(n + 1).copied().unwrap_or(tail.len());
        parts.push(tail[start + 1..end].trim_end());
    }
    parts
}
