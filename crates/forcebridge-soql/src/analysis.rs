//! Questions about a query, answered without running it: which object it reads, which fields
//! and relationship paths it touches, whether it aggregates, its LIMIT, and the columns of its
//! result.
//!
//! The answers come from the text alone. Aliases are resolved (`FROM Contact c ... c.Name` reads
//! `Name`), but a leading object name (`SELECT Account.Name FROM Account`) is left in place:
//! only the org's schema can tell it from a relationship called `Account`, so that is the
//! caller's job.

use crate::ast::{
    Condition, Expr, FieldPath, FieldSet, Function, FunctionKind, Ident, Operand, Query, SelectItem,
};
use crate::span::Span;

/// What a query (or one nested level of it) reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryInfo {
    /// The object in FROM as written; for a child subquery, the relationship name.
    pub object: String,
    /// Every field referenced at this level, relative to `object`, in order of first
    /// appearance, each path once (compared without case).
    pub fields: Vec<FieldRef>,
    /// Parent relationship paths the fields traverse: `Account`, `Account.Owner`, ...
    pub relationships: Vec<String>,
    /// `FIELDS(ALL)` and friends in the SELECT list.
    pub field_sets: Vec<FieldSet>,
    /// Aggregate functions in the SELECT list, in order.
    pub aggregates: Vec<AggregateRef>,
    /// Whether the query has a GROUP BY clause.
    pub grouped: bool,
    /// Child relationship subqueries in the SELECT list.
    pub subqueries: Vec<QueryInfo>,
    /// Semi-join and anti-join subqueries in WHERE.
    pub semi_joins: Vec<QueryInfo>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

/// A field path, relative to the queried object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRef {
    pub path: Vec<String>,
    /// Where the field is first mentioned, for errors such as "no such column".
    pub span: Span,
}

impl FieldRef {
    pub fn dotted(&self) -> String {
        self.path.join(".")
    }
}

/// An aggregate call in the SELECT list: `COUNT()`, `SUM(Amount) total`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateRef {
    pub function: Function,
    /// The aggregated field, relative to the queried object; `None` for `COUNT()`.
    pub field: Option<String>,
    pub alias: Option<String>,
    pub span: Span,
}

/// Where an object appears in a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectRole {
    /// The object in the top-level FROM.
    Main,
    /// A child relationship queried in a SELECT-list subquery.
    ChildRelationship,
    /// The object of a semi-join or anti-join.
    SemiJoin,
}

impl QueryInfo {
    pub fn of(query: &Query) -> QueryInfo {
        let scope = AliasScope::of(query);
        let mut info = QueryInfo {
            object: query.from.object.dotted(),
            fields: Vec::new(),
            relationships: Vec::new(),
            field_sets: Vec::new(),
            aggregates: Vec::new(),
            grouped: query.group_by.is_some(),
            subqueries: Vec::new(),
            semi_joins: Vec::new(),
            limit: query.limit.map(|c| c.value),
            offset: query.offset.map(|c| c.value),
        };
        for item in &query.select {
            match item {
                SelectItem::Expr { expr, alias, .. } => {
                    if let Expr::Call(call) = expr
                        && call.function.kind() == FunctionKind::Aggregate
                    {
                        let field = call
                            .args
                            .iter()
                            .find_map(|a| first_field(a))
                            .map(|p| scope.resolve(p).join("."));
                        info.aggregates.push(AggregateRef {
                            function: call.function,
                            field,
                            alias: alias.as_ref().map(|a| a.name.clone()),
                            span: call.span,
                        });
                    }
                    info.add_expr(&scope, expr);
                }
                SelectItem::Fields { set, .. } => info.field_sets.push(*set),
                SelectItem::Subquery { query, .. } => info.subqueries.push(QueryInfo::of(query)),
                SelectItem::TypeOf(t) => {
                    let base = scope.resolve(&t.field);
                    let branches = t.whens.iter().flat_map(|w| &w.fields).chain(&t.else_fields);
                    for field in branches {
                        let mut path = base.clone();
                        path.extend(field.segments.iter().map(|s| s.name.clone()));
                        info.add_path(path, field.span);
                    }
                }
            }
        }
        if let Some(condition) = &query.where_clause {
            info.add_condition(&scope, condition);
        }
        if let Some(group_by) = &query.group_by {
            for item in &group_by.items {
                info.add_expr(&scope, item);
            }
        }
        if let Some(condition) = &query.having {
            info.add_condition(&scope, condition);
        }
        for item in &query.order_by {
            info.add_expr(&scope, &item.expr);
        }
        info
    }

    /// Whether the query returns aggregate rows (`AggregateResult`) rather than records.
    pub fn is_aggregate(&self) -> bool {
        self.grouped || !self.aggregates.is_empty()
    }

    /// Whether the query is `SELECT COUNT() FROM ...`, which returns a count and no rows.
    pub fn is_count_only(&self) -> bool {
        matches!(
            self.aggregates.as_slice(),
            [AggregateRef {
                function: Function::Count,
                field: None,
                ..
            }]
        )
    }

    /// Every object the query names, with its role, top-level first.
    pub fn objects(&self) -> Vec<(String, ObjectRole)> {
        let mut out = vec![(self.object.clone(), ObjectRole::Main)];
        self.collect_objects(&mut out);
        out
    }

    fn collect_objects(&self, out: &mut Vec<(String, ObjectRole)>) {
        for sub in &self.subqueries {
            out.push((sub.object.clone(), ObjectRole::ChildRelationship));
            sub.collect_objects(out);
        }
        for join in &self.semi_joins {
            out.push((join.object.clone(), ObjectRole::SemiJoin));
            join.collect_objects(out);
        }
    }

    fn add_condition(&mut self, scope: &AliasScope, condition: &Condition) {
        match condition {
            Condition::Comparison(c) => {
                self.add_expr(scope, &c.lhs);
                if let Operand::Subquery { query, .. } = &c.rhs {
                    self.semi_joins.push(QueryInfo::of(query));
                }
            }
            Condition::And { operands, .. } | Condition::Or { operands, .. } => {
                for operand in operands {
                    self.add_condition(scope, operand);
                }
            }
            Condition::Not { operand, .. } => self.add_condition(scope, operand),
            Condition::Error { .. } => {}
        }
    }

    fn add_expr(&mut self, scope: &AliasScope, expr: &Expr) {
        match expr {
            Expr::Field(path) => self.add_path(scope.resolve(path), path.span),
            Expr::Call(call) => {
                for arg in &call.args {
                    self.add_expr(scope, arg);
                }
            }
            Expr::Literal(_) => {}
        }
    }

    fn add_path(&mut self, path: Vec<String>, span: Span) {
        if path.is_empty() || path.iter().any(String::is_empty) {
            return;
        }
        for end in 1..path.len() {
            let relationship = path[..end].join(".");
            if !self
                .relationships
                .iter()
                .any(|r| r.eq_ignore_ascii_case(&relationship))
            {
                self.relationships.push(relationship);
            }
        }
        let same = |f: &FieldRef| {
            f.path.len() == path.len()
                && f.path
                    .iter()
                    .zip(&path)
                    .all(|(a, b)| a.eq_ignore_ascii_case(b))
        };
        if !self.fields.iter().any(same) {
            self.fields.push(FieldRef { path, span });
        }
    }
}

/// A column of a query's result, in SELECT-list order, named as the org names the members of
/// each record it returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultColumn {
    /// A member at this path of keys: `["Name"]`, `["Account", "Owner", "Name"]` (a parent's
    /// field), `["expr0"]` or an alias (a computed value).
    Value(Vec<String>),
    /// A parent-to-child subquery: the relationship (`Contacts`) and the columns of its
    /// records.
    Children {
        relationship: String,
        columns: Vec<ResultColumn>,
    },
    /// `FIELDS(ALL)`, `FIELDS(STANDARD)` or `FIELDS(CUSTOM)`: which fields, only the org can say.
    FieldSet(FieldSet),
}

/// The columns of `query`'s result, in SELECT-list order, each once.
///
/// The names follow the org's rules for the JSON of each record:
///
/// - in a record query, a field is a member at its path (`Account.Name` is `Name` inside
///   `Account`), and so is a field under `toLabel`, `FORMAT`, `convertCurrency` or
///   `convertTimezone` (an alias replaces its last key); each field of a `TYPEOF` is under the
///   polymorphic relationship; any other expression (`DISTANCE(...)`) is a top-level member
///   named by its alias or `expr0`, `expr1`, ... in order;
/// - in an aggregate query (GROUP BY, or an aggregate function), every column is a top-level
///   member: its alias, else a grouped field's last name (`Account.Name` gives `Name`), else
///   `exprN`.
///
/// Aliases of the FROM clause are resolved; as for the rest of this module, a leading object
/// name (`SELECT Account.Name FROM Account`) is left in place.
pub fn result_columns(query: &Query) -> Vec<ResultColumn> {
    let scope = AliasScope::of(query);
    let aggregate = query.group_by.is_some()
        || query.select.iter().any(|item| {
            matches!(item, SelectItem::Expr { expr: Expr::Call(call), .. }
                if call.function.kind() == FunctionKind::Aggregate)
        });
    let mut columns = Vec::new();
    let mut n_computed = 0;
    let mut computed = |alias: &Option<Ident>| match alias {
        Some(alias) => vec![alias.name.clone()],
        None => {
            let name = format!("expr{n_computed}");
            n_computed += 1;
            vec![name]
        }
    };
    for item in &query.select {
        match item {
            SelectItem::Expr { expr, alias, .. } if aggregate => {
                let path = match (alias, expr) {
                    (None, Expr::Field(field)) => match field.segments.last() {
                        Some(last) => vec![last.name.clone()],
                        None => continue,
                    },
                    _ => computed(alias),
                };
                push_column(&mut columns, ResultColumn::Value(path));
            }
            SelectItem::Expr { expr, alias, .. } => {
                let path = match shown_field(expr) {
                    Some(field) => {
                        let mut path = scope.resolve(field);
                        if let (Some(alias), Some(last)) = (alias, path.last_mut()) {
                            *last = alias.name.clone();
                        }
                        path
                    }
                    None => computed(alias),
                };
                push_column(&mut columns, ResultColumn::Value(path));
            }
            SelectItem::Fields { set, .. } => {
                push_column(&mut columns, ResultColumn::FieldSet(*set));
            }
            SelectItem::Subquery { query: sub, .. } => {
                let column = ResultColumn::Children {
                    relationship: sub.from.object.dotted(),
                    columns: result_columns(sub),
                };
                push_column(&mut columns, column);
            }
            SelectItem::TypeOf(t) => {
                let base = scope.resolve(&t.field);
                let branches = t.whens.iter().flat_map(|w| &w.fields).chain(&t.else_fields);
                for field in branches {
                    let mut path = base.clone();
                    path.extend(field.segments.iter().map(|s| s.name.clone()));
                    push_column(&mut columns, ResultColumn::Value(path));
                }
            }
        }
    }
    columns
}

/// The field an expression shows, when the org returns it in the field's place: the field
/// itself, or the field under a function that only changes how it is shown.
fn shown_field(expr: &Expr) -> Option<&FieldPath> {
    match expr {
        Expr::Field(field) => Some(field),
        Expr::Call(call) if call.function.kind() == FunctionKind::Transform => {
            match call.args.as_slice() {
                [arg] => shown_field(arg),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Adds a column unless an equal one (names compared without case) is there already.
fn push_column(columns: &mut Vec<ResultColumn>, column: ResultColumn) {
    let same_path = |a: &[String], b: &[String]| {
        a.len() == b.len() && a.iter().zip(b).all(|(a, b)| a.eq_ignore_ascii_case(b))
    };
    let duplicate = columns.iter().any(|c| match (c, &column) {
        (ResultColumn::Value(a), ResultColumn::Value(b)) => same_path(a, b),
        (
            ResultColumn::Children {
                relationship: a, ..
            },
            ResultColumn::Children {
                relationship: b, ..
            },
        ) => a.eq_ignore_ascii_case(b),
        (ResultColumn::FieldSet(a), ResultColumn::FieldSet(b)) => a == b,
        _ => false,
    });
    if !duplicate
        && !matches!(&column, ResultColumn::Value(path) if path.iter().any(String::is_empty))
    {
        columns.push(column);
    }
}

fn first_field(expr: &Expr) -> Option<&FieldPath> {
    match expr {
        Expr::Field(path) => Some(path),
        Expr::Call(call) => call.args.iter().find_map(first_field),
        Expr::Literal(_) => None,
    }
}

/// The aliases declared in one query's FROM clause and what they stand for.
struct AliasScope {
    /// Alias name → the path (relative to the queried object) it abbreviates.
    aliases: Vec<(String, Vec<String>)>,
}

impl AliasScope {
    fn of(query: &Query) -> AliasScope {
        let mut scope = AliasScope {
            aliases: Vec::new(),
        };
        if let Some(alias) = &query.from.alias {
            scope.aliases.push((alias.name.clone(), Vec::new()));
        }
        for rel in &query.from.relationship_aliases {
            let expanded = scope.resolve(&rel.path);
            if let Some(alias) = &rel.alias {
                scope.aliases.push((alias.name.clone(), expanded));
            }
        }
        scope
    }

    /// The path with a leading alias replaced by what it stands for.
    fn resolve(&self, path: &FieldPath) -> Vec<String> {
        let names: Vec<String> = path.segments.iter().map(|s| s.name.clone()).collect();
        if names.len() > 1
            && let Some((_, prefix)) = self
                .aliases
                .iter()
                .find(|(a, _)| a.eq_ignore_ascii_case(&names[0]))
        {
            let mut out = prefix.clone();
            out.extend_from_slice(&names[1..]);
            return out;
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(text: &str) -> Vec<ResultColumn> {
        let parse = crate::parse_query(text);
        assert!(parse.errors.is_empty(), "{:?}", parse.errors);
        result_columns(&parse.tree)
    }

    fn value(path: &str) -> ResultColumn {
        ResultColumn::Value(path.split('.').map(str::to_string).collect())
    }

    #[test]
    fn result_columns_follow_the_select_list_as_the_org_names_them() {
        assert_eq!(
            columns(
                "SELECT c.Name, c.Account.Owner.Name, toLabel(LeadSource), FORMAT(Birthdate) bd, \
                 DISTANCE(MailingAddress, GEOLOCATION(1, 2), 'km'), Id, id \
                 FROM Contact c WHERE Name = 'x' ORDER BY CreatedDate"
            ),
            [
                value("Name"),
                value("Account.Owner.Name"),
                value("LeadSource"),
                value("bd"),
                value("expr0"),
                value("Id"),
            ]
        );
    }

    #[test]
    fn aggregate_columns_are_flat_with_aliases_or_expr_names() {
        assert_eq!(
            columns(
                "SELECT Account.Name, COUNT(Id), MAX(Amount) top, CALENDAR_YEAR(CloseDate), SUM(Amount) \
                 FROM Opportunity GROUP BY Account.Name, CALENDAR_YEAR(CloseDate)"
            ),
            [
                value("Name"),
                value("expr0"),
                value("top"),
                value("expr1"),
                value("expr2"),
            ]
        );
        assert_eq!(columns("SELECT COUNT(Id) FROM Contact"), [value("expr0")]);
    }

    #[test]
    fn subqueries_typeof_and_field_sets_are_columns_of_their_own() {
        assert_eq!(
            columns(
                "SELECT Name, (SELECT LastName, Owner.Name FROM Contacts), \
                 TYPEOF Owner WHEN User THEN Email, Name WHEN Group THEN Name END, FIELDS(STANDARD) \
                 FROM Account"
            ),
            [
                value("Name"),
                ResultColumn::Children {
                    relationship: "Contacts".into(),
                    columns: vec![value("LastName"), value("Owner.Name")],
                },
                value("Owner.Email"),
                value("Owner.Name"),
                ResultColumn::FieldSet(FieldSet::Standard),
            ]
        );
    }

    fn info(text: &str) -> QueryInfo {
        let parse = crate::parse_query(text);
        assert!(parse.errors.is_empty(), "{:?}", parse.errors);
        QueryInfo::of(&parse.tree)
    }

    fn fields(info: &QueryInfo) -> Vec<String> {
        info.fields.iter().map(FieldRef::dotted).collect()
    }

    #[test]
    fn fields_come_from_every_clause_once_with_aliases_resolved() {
        let i = info(
            "SELECT c.Name, Account.Owner.Name FROM Contact c \
             WHERE c.name = 'x' AND Account.Industry = 'Media' ORDER BY CreatedDate LIMIT 5 OFFSET 2",
        );
        assert_eq!(i.object, "Contact");
        assert_eq!(
            fields(&i),
            [
                "Name",
                "Account.Owner.Name",
                "Account.Industry",
                "CreatedDate"
            ]
        );
        assert_eq!(i.relationships, ["Account", "Account.Owner"]);
        assert_eq!((i.limit, i.offset), (Some(5), Some(2)));
        assert!(!i.is_aggregate());
    }

    #[test]
    fn relationship_aliases_expand() {
        let i = info("SELECT Id FROM Contact c, c.Account a WHERE a.Name = 'MyriadPubs'");
        assert_eq!(fields(&i), ["Id", "Account.Name"]);
    }

    #[test]
    fn aggregates_and_count_only() {
        let i = info("SELECT LeadSource, COUNT(Name) cnt FROM Lead GROUP BY LeadSource");
        assert!(i.is_aggregate());
        assert!(!i.is_count_only());
        assert_eq!(i.aggregates[0].field.as_deref(), Some("Name"));
        assert_eq!(i.aggregates[0].alias.as_deref(), Some("cnt"));
        assert!(info("SELECT COUNT() FROM Account").is_count_only());
    }

    #[test]
    fn nested_queries_are_reported_by_role() {
        let i = info(
            "SELECT Id, (SELECT LastName FROM Contacts) FROM Account \
             WHERE Id IN (SELECT AccountId FROM Opportunity WHERE IsClosed = false)",
        );
        assert_eq!(
            i.objects(),
            vec![
                ("Account".to_string(), ObjectRole::Main),
                ("Contacts".to_string(), ObjectRole::ChildRelationship),
                ("Opportunity".to_string(), ObjectRole::SemiJoin),
            ]
        );
        assert_eq!(fields(&i.semi_joins[0]), ["AccountId", "IsClosed"]);
    }

    #[test]
    fn typeof_branches_read_through_the_polymorphic_field() {
        let i = info("SELECT TYPEOF What WHEN Account THEN Phone ELSE Name END FROM Event");
        assert_eq!(fields(&i), ["What.Phone", "What.Name"]);
    }
}
