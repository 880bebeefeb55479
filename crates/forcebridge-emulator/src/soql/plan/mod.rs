//! Name resolution: a parsed query becomes a plan of resolved columns, relationship hops,
//! typed filter values and output shapes, checked against the schema with Salesforce's errors.
//!
//! Everything that depends only on the query text and the schema is decided here, once: field
//! indexes, which column holds a lookup, the literal values converted to the field's type, the
//! date range a relative literal covers, the nested shape of the JSON records. Executing and
//! rendering then never look a name up. This module reads no records (semi-join subqueries are
//! planned here and run lazily by `eval`).
//!
//! The planner is split by clause: this file resolves paths and expressions and plans the query
//! as a whole; `select` shapes the records, `condition` plans WHERE and HAVING, `aggregate` plans
//! GROUP BY and aggregate columns, and `formula` reads `FORMULA('...')`.

mod aggregate;
mod condition;
mod formula;
mod select;

use std::collections::HashSet;
use std::sync::OnceLock;

use forcebridge_soql::{
    Condition, Expr, FieldPath, FieldSet, ForClause, Function, FunctionKind, GroupByKind, Ident,
    LikePattern, Literal, Operand, Operator, Query, SelectItem, Span, TypeOf, Using, Value as Lit,
    WithKind,
};

use super::dates;
use super::frame;
use crate::api_error::ApiFailure;
use crate::ids::RecordId;
use crate::schema::{FieldDef, FieldType, ObjectIdx, Schema, Storage};
use crate::value::{self, Value};
use aggregate::AggBuilder;
use formula::formula_type;
use select::SelectOut;

/// The most relationship hops a field path may take, as in Salesforce.
const MAX_HOPS: usize = 5;
/// The largest OFFSET Salesforce accepts.
pub(crate) const MAX_OFFSET: u64 = 2000;
/// The LIMIT `FIELDS(ALL)` and `FIELDS(CUSTOM)` require.
const FIELDS_LIMIT: u64 = 200;

/// One relationship hop: the lookup column on the current record and the objects it may point
/// at (more than one for polymorphic lookups such as `WhatId`).
#[derive(Debug, Clone)]
pub(crate) struct Hop {
    pub column: usize,
    pub targets: Vec<ObjectIdx>,
}

/// What a path reads once its hops are taken.
#[derive(Debug, Clone)]
pub(crate) enum Leaf {
    /// A field, per object the last hop may land on (one entry unless polymorphic).
    Field(Vec<(ObjectIdx, usize)>),
    /// `What.Type`: the name of the object the polymorphic lookup points at.
    Type,
}

/// A resolved field path: `Account.Owner.Name` is two hops and the `Name` field of User.
#[derive(Debug, Clone)]
pub(crate) struct PathPlan {
    pub hops: Vec<Hop>,
    pub leaf: Leaf,
    /// The leaf's type (of the first target when polymorphic).
    pub field_type: FieldType,
    /// Canonical names: the relationship names of the hops, then the field's name.
    pub names: Vec<String>,
}

impl PathPlan {
    /// `Account.Name`, with the schema's spelling.
    pub(crate) fn dotted(&self) -> String {
        self.names.join(".")
    }

    /// The field's own name (the last segment).
    pub(crate) fn last(&self) -> &str {
        self.names.last().map_or("", String::as_str)
    }

    /// The leaf field of the first (usually only) object the path lands on.
    pub(crate) fn field<'s>(&self, schema: &'s Schema) -> Option<&'s FieldDef> {
        match &self.leaf {
            Leaf::Field(list) => list
                .first()
                .map(|&(object, field)| &schema.object(object).fields[field]),
            Leaf::Type => None,
        }
    }

    /// The same path without its hops, read on `target` (one of the last hop's objects).
    fn relative_to(&self, target: ObjectIdx) -> Option<PathPlan> {
        let leaf = match &self.leaf {
            Leaf::Field(list) => Leaf::Field(vec![*list.iter().find(|(o, _)| *o == target)?]),
            Leaf::Type => Leaf::Type,
        };
        Some(PathPlan {
            hops: Vec::new(),
            leaf,
            field_type: self.field_type,
            names: vec![self.last().to_string()],
        })
    }

    fn canonical(&self) -> String {
        self.dotted().to_ascii_lowercase()
    }
}

/// A value expression, resolved.
#[derive(Debug, Clone)]
pub(crate) enum ExprPlan {
    Path(PathPlan),
    /// `CALENDAR_YEAR(CloseDate)` and the other date functions.
    DateFn(Function, Box<ExprPlan>),
    /// `toLabel(Status)`: the picklist label of the value.
    Label(PathPlan),
    /// `FORMAT(Amount)`: the value as locale-formatted text.
    Format(Box<ExprPlan>, FormatSpec),
    /// `DISTANCE(Location__c, GEOLOCATION(lat, lon), 'mi')`.
    Distance(Box<DistancePlan>),
    /// In aggregate queries: the value of GROUP BY item `i`.
    Group(usize),
    /// In aggregate queries: the value of aggregate `i`.
    Agg(usize),
    /// `GROUPING(f)`: 1 on rows where GROUP BY item `i` is rolled up, else 0.
    Grouping(usize),
    /// `FORMULA('...')`.
    Formula(Box<Formula>),
}

/// How `FORMAT()` writes a value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FormatSpec {
    pub field_type: FieldType,
    pub scale: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct DistancePlan {
    pub latitude: PathPlan,
    pub longitude: PathPlan,
    pub point: (f64, f64),
    pub kilometers: bool,
}

/// A small arithmetic formula over fields: numbers, number/date/datetime fields, `TODAY()`,
/// `NOW()`, `+ - * /`, unary minus and parentheses.
#[derive(Debug, Clone)]
pub(crate) enum Formula {
    Number(f64),
    Field(PathPlan),
    Today,
    Now,
    Negate(Box<Formula>),
    Binary(char, Box<Formula>, Box<Formula>),
}

/// What a formula computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FormulaType {
    Number,
    Date,
    DateTime,
}

/// Comparison operators (after `= null`, ranges and lists are taken out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A WHERE or HAVING condition, resolved.
#[derive(Debug)]
pub(crate) enum CondPlan {
    And(Vec<CondPlan>),
    Or(Vec<CondPlan>),
    Not(Box<CondPlan>),
    /// `f = null` (or `f != null` when `negate`).
    IsNull {
        expr: ExprPlan,
        negate: bool,
    },
    Compare {
        expr: ExprPlan,
        op: Op,
        value: Value,
    },
    /// A date or datetime compared with a range: `CloseDate = THIS_MONTH`, or a datetime field
    /// compared with a date (the whole UTC day). Bounds are days for dates and milliseconds
    /// for datetimes, half-open.
    Range {
        expr: ExprPlan,
        op: Op,
        start: i64,
        end: i64,
    },
    /// `=` / `!=` on a multi-select picklist: the same set of values, in any order.
    SameSet {
        expr: ExprPlan,
        values: Vec<String>,
        negate: bool,
    },
    In {
        expr: ExprPlan,
        values: Vec<Value>,
        has_null: bool,
        negate: bool,
    },
    Like {
        expr: ExprPlan,
        pattern: LikePattern,
    },
    /// INCLUDES (or EXCLUDES when `negate`): any of the sets, each set needing all its values.
    Includes {
        expr: ExprPlan,
        sets: Vec<Vec<String>>,
        negate: bool,
    },
    /// `Id IN (SELECT AccountId FROM Contact ...)`; the ids are collected on first use.
    SemiJoin {
        expr: ExprPlan,
        query: Box<QueryPlan>,
        field: PathPlan,
        negate: bool,
        ids: OnceLock<HashSet<RecordId>>,
    },
}

/// Which records USING SCOPE lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OwnerScope {
    Everything,
    OwnedBy(RecordId),
    Nothing,
}

#[derive(Debug, Clone)]
pub(crate) struct OrderKey {
    pub expr: ExprPlan,
    pub descending: bool,
    pub nulls_first: bool,
}

/// One member of a JSON record, in SELECT order.
#[derive(Debug, Clone)]
pub(crate) enum OutNode {
    /// A stored field, under `key` (`,"Name":` pre-rendered).
    Field { key: Box<[u8]>, field: usize },
    /// A computed value (toLabel, FORMAT, DISTANCE, What.Type).
    Computed {
        key: Box<[u8]>,
        name: String,
        expr: ExprPlan,
    },
    /// A parent record reached through the lookup in `column`: rendered as a nested record
    /// with the nodes of whichever object it turns out to be, or `null`.
    Parent {
        key: Box<[u8]>,
        name: String,
        column: usize,
        targets: Vec<(ObjectIdx, Vec<OutNode>)>,
        typeof_branch: bool,
    },
    /// A child relationship subquery: `children[index]` of the plan.
    Children { key: Box<[u8]>, index: usize },
}

impl OutNode {
    fn name_matches(&self, other: &str) -> bool {
        match self {
            OutNode::Field { key, .. } => key_name(key).eq_ignore_ascii_case(other),
            OutNode::Computed { name, .. } | OutNode::Parent { name, .. } => {
                name.eq_ignore_ascii_case(other)
            }
            OutNode::Children { key, .. } => key_name(key).eq_ignore_ascii_case(other),
        }
    }
}

/// The name inside a pre-rendered `,"Name":` key.
pub(crate) fn key_name(key: &[u8]) -> &str {
    std::str::from_utf8(key)
        .unwrap_or("")
        .trim_start_matches(',')
        .trim_end_matches(':')
        .trim_matches('"')
}

/// `,"Name":` for a member name (names are API names: no escaping is ever needed, but the
/// JSON writer is used anyway so an alias can never break the document).
pub(crate) fn json_key(name: &str) -> Box<[u8]> {
    let mut out = Vec::with_capacity(name.len() + 4);
    out.push(b',');
    crate::render::write_json_str(&mut out, name);
    out.push(b':');
    out.into_boxed_slice()
}

/// A flat output column (CSV): its header and how to read it.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub header: String,
    pub expr: ExprPlan,
}

/// A parent-to-child subquery.
#[derive(Debug)]
pub(crate) struct ChildPlan {
    /// The column of the child's lookup to the parent.
    pub column: usize,
    /// The parent object (to check a polymorphic lookup points at it).
    pub parent: ObjectIdx,
    pub plan: QueryPlan,
}

/// An aggregate function call.
#[derive(Debug, Clone)]
pub(crate) struct AggSpec {
    pub function: Function,
    /// `None` for `COUNT()`.
    pub arg: Option<ExprPlan>,
}

#[derive(Debug, Clone)]
pub(crate) struct AggColumn {
    pub key: Box<[u8]>,
    pub name: String,
    pub source: ExprPlan,
}

#[derive(Debug)]
pub(crate) struct AggPlan {
    pub kind: GroupByKind,
    pub keys: Vec<ExprPlan>,
    pub aggregates: Vec<AggSpec>,
    pub columns: Vec<AggColumn>,
    pub having: Option<CondPlan>,
}

#[derive(Debug)]
pub(crate) enum Shape {
    Records {
        nodes: Vec<OutNode>,
        columns: Vec<Column>,
        children: Vec<ChildPlan>,
    },
    Aggregate(AggPlan),
    /// `SELECT COUNT() FROM ...`: only the count.
    Count(Option<AggPlan>),
}

/// A whole query, resolved.
#[derive(Debug)]
pub(crate) struct QueryPlan {
    pub object: ObjectIdx,
    pub shape: Shape,
    pub filter: Option<CondPlan>,
    pub owner_scope: OwnerScope,
    pub order: Vec<OrderKey>,
    pub limit: Option<usize>,
    pub offset: usize,
    pub all_rows: bool,
    /// What Bulk API 2.0 refuses in this query, first found first (for `check_bulk_query`).
    pub bulk_problems: Vec<&'static str>,
}

/// The names that stand for the queried object or an abbreviation of a path in one query.
#[derive(Debug, Clone)]
struct Scope {
    object: ObjectIdx,
    /// Names that may qualify a path and mean the object itself: the object's name, the FROM
    /// alias, and for a child subquery its relationship name.
    self_names: Vec<String>,
    /// `FROM Contact c, c.Account a`: `a` → `[Account]`.
    aliases: Vec<(String, Vec<Ident>)>,
}

/// Plans queries against one schema, for one user at one moment.
#[derive(Debug)]
pub(crate) struct Planner<'a> {
    pub schema: &'a Schema,
    /// The whole statement, for framing errors.
    pub text: &'a str,
    /// Today's date in the org (UTC), for relative date literals.
    pub today: i32,
    pub user: RecordId,
    pub all_rows: bool,
}

type Planned<T> = Result<T, ApiFailure>;

impl<'a> Planner<'a> {
    /// Plans a top-level query.
    pub(crate) fn plan(&self, query: &Query) -> Planned<QueryPlan> {
        let (object, _) = self.queried_object(query)?;
        for clause in &query.for_clauses {
            if *clause == ForClause::Update {
                // The API runs every query in its own transaction, so there is nothing a lock
                // could protect; Salesforce accepts FOR UPDATE only in Apex. UNVERIFIED wording.
                return Err(frame::malformed(
                    self.text,
                    for_update_span(self.text),
                    "FOR UPDATE not allowed in this context",
                ));
            }
        }
        let scope = self.scope_for(object, query, &[]);
        self.plan_in(query, scope)
    }

    /// Plans a condition on `object` alone (validation rules).
    pub(crate) fn plan_condition(
        &self,
        object: ObjectIdx,
        condition: &Condition,
    ) -> Planned<CondPlan> {
        let scope = Scope {
            object,
            self_names: vec![self.schema.object(object).name.clone()],
            aliases: Vec::new(),
        };
        self.condition(&scope, condition, None)
    }

    fn queried_object(&self, query: &Query) -> Planned<(ObjectIdx, String)> {
        let path = &query.from.object;
        let name = path.dotted();
        match (path.segments.len(), self.schema.find(&name)) {
            (1, Some((idx, def))) if def.flags.queryable => Ok((idx, def.name.clone())),
            _ => Err(frame::unknown_object(self.text, path.span, &name)),
        }
    }

    fn scope_for(&self, object: ObjectIdx, query: &Query, extra_self: &[String]) -> Scope {
        let mut self_names = vec![self.schema.object(object).name.clone()];
        self_names.extend(extra_self.iter().cloned());
        if let Some(alias) = &query.from.alias {
            self_names.push(alias.name.clone());
        }
        let mut scope = Scope {
            object,
            self_names,
            aliases: Vec::new(),
        };
        for rel in &query.from.relationship_aliases {
            let Some(alias) = &rel.alias else { continue };
            let expanded = self.expand_alias(&scope, &rel.path.segments);
            scope.aliases.push((alias.name.clone(), expanded));
        }
        scope
    }

    /// A path with a leading alias (or object-name qualifier) replaced by what it stands for.
    fn expand_alias(&self, scope: &Scope, segments: &[Ident]) -> Vec<Ident> {
        if segments.len() > 1 {
            let first = &segments[0];
            if let Some((_, prefix)) = scope.aliases.iter().find(|(a, _)| first.is(a)) {
                let mut out = prefix.clone();
                out.extend_from_slice(&segments[1..]);
                return out;
            }
            let def = self.schema.object(scope.object);
            if scope.self_names.iter().any(|n| first.is(n))
                && def.relationship(&first.name).is_none()
            {
                return segments[1..].to_vec();
            }
        }
        segments.to_vec()
    }

    fn plan_in(&self, query: &Query, scope: Scope) -> Planned<QueryPlan> {
        let object = scope.object;
        let mut bulk_problems = Vec::new();
        if let Some(using) = &query.using {
            self.check_using(using)?;
        }
        if !query.bind.is_empty() {
            return Err(frame::malformed(
                self.text,
                query.bind[0].span,
                "unexpected token: 'BIND'",
            ));
        }
        for with in &query.with {
            match &with.kind {
                WithKind::SecurityEnforced
                | WithKind::UserMode
                | WithKind::SystemMode
                | WithKind::DataCategory { .. }
                | WithKind::RecordVisibilityContext { .. }
                | WithKind::Parameter { .. } => {}
                WithKind::Highlight | WithKind::Snippet { .. } => {
                    return Err(frame::malformed(
                        self.text,
                        with.span,
                        "unexpected token: 'WITH'",
                    ));
                }
            }
        }
        let owner_scope = self.owner_scope(query, object);
        if let Some(offset) = query.offset {
            if offset.value > MAX_OFFSET {
                return Err(frame::failure(
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    self.text,
                    offset.span,
                    "Maximum SOQL offset allowed is 2000",
                ));
            }
            bulk_problems.push("OFFSET not supported in Bulk Query");
        }
        let filter = match &query.where_clause {
            Some(condition) => Some(self.condition(&scope, condition, None)?),
            None => None,
        };
        let aggregate = query.group_by.is_some()
            || query.select.iter().any(|item| match item {
                SelectItem::Expr {
                    expr: Expr::Call(call),
                    ..
                } => call.function.kind() == FunctionKind::Aggregate,
                _ => false,
            });
        let limit = query
            .limit
            .map(|l| usize::try_from(l.value).unwrap_or(usize::MAX));
        let offset = query
            .offset
            .map_or(0, |o| usize::try_from(o.value).unwrap_or(usize::MAX));
        if aggregate {
            bulk_problems.push("Aggregate functions not supported in Bulk Query");
            if query.group_by.is_some() {
                bulk_problems.push("GROUP BY not supported in Bulk Query");
            }
            // `COUNT()` (no field) counts rows and returns no records; it stands alone.
            let bare_count = |item: &SelectItem| {
                matches!(item, SelectItem::Expr { expr: Expr::Call(call), .. }
                    if call.function == Function::Count && call.args.is_empty())
            };
            if let Some(count) = query.select.iter().find(|i| bare_count(i))
                && query.select.len() > 1
            {
                return Err(frame::malformed(
                    self.text,
                    count.span(),
                    "COUNT() must be the only element in the SELECT list",
                ));
            }
            let (agg, order) = self.aggregate(&scope, query)?;
            let shape = match (
                query.select.first().is_some_and(bare_count),
                &query.group_by,
            ) {
                (true, None) => Shape::Count(None),
                // Grouped, `COUNT()` counts the groups.
                (true, Some(_)) => Shape::Count(Some(agg)),
                (false, _) => Shape::Aggregate(agg),
            };
            return Ok(QueryPlan {
                object,
                shape,
                filter,
                owner_scope,
                order,
                limit,
                offset,
                all_rows: self.all_rows,
                bulk_problems,
            });
        }
        if query.having.is_some() {
            return Err(frame::malformed(
                self.text,
                query.having.as_ref().map_or(query.span, Condition::span),
                "HAVING clause requires GROUP BY or an aggregate function",
            ));
        }
        let mut nodes = Vec::new();
        let mut columns = Vec::new();
        let mut children = Vec::new();
        let mut expr_count = 0usize;
        for item in &query.select {
            self.select_item(
                &scope,
                query,
                item,
                &mut SelectOut {
                    nodes: &mut nodes,
                    columns: &mut columns,
                    children: &mut children,
                    expr_count: &mut expr_count,
                    bulk_problems: &mut bulk_problems,
                },
            )?;
        }
        let mut order = Vec::new();
        for item in &query.order_by {
            let expr = self.expr(&scope, &item.expr, Context::OrderBy)?;
            order.push(order_key(expr, item));
        }
        Ok(QueryPlan {
            object,
            shape: Shape::Records {
                nodes,
                columns,
                children,
            },
            filter,
            owner_scope,
            order,
            limit,
            offset,
            all_rows: self.all_rows,
            bulk_problems,
        })
    }

    fn check_using(&self, using: &Using) -> Planned<()> {
        match using {
            Using::Scope { scope, .. } => {
                const KNOWN: &[&str] = &[
                    "everything",
                    "mine",
                    "mine_and_my_groups",
                    "allprivate",
                    "delegated",
                    "team",
                    "queue",
                    "my_territory",
                    "my_team_territory",
                    "scopingrule",
                ];
                if KNOWN.iter().any(|k| scope.is(k)) {
                    Ok(())
                } else {
                    Err(frame::malformed(
                        self.text,
                        scope.span,
                        &format!("unexpected token: '{}'", scope.name),
                    ))
                }
            }
            Using::Lookup { span, .. } | Using::ListView { span, .. } => Err(frame::malformed(
                self.text,
                *span,
                "unexpected token: 'USING'",
            )),
        }
    }

    /// USING SCOPE: `mine` is what the caller owns; `everything` (and no scope) is all. The
    /// org has no teams, queues, territories or delegates, so those scopes hold nothing.
    fn owner_scope(&self, query: &Query, object: ObjectIdx) -> OwnerScope {
        let Some(Using::Scope { scope, .. }) = &query.using else {
            return OwnerScope::Everything;
        };
        let owned = self.schema.object(object).system.owner.is_some();
        if ["mine", "mine_and_my_groups", "allprivate"]
            .iter()
            .any(|k| scope.is(k))
        {
            if owned {
                OwnerScope::OwnedBy(self.user)
            } else {
                OwnerScope::Everything
            }
        } else if ["everything", "scopingrule"].iter().any(|k| scope.is(k)) {
            OwnerScope::Everything
        } else {
            OwnerScope::Nothing
        }
    }

    // ---- Paths ---------------------------------------------------------------------------------

    /// Resolves a field path on the scope's object.
    fn path(&self, scope: &Scope, path: &FieldPath) -> Planned<PathPlan> {
        let segments = self.expand_alias(scope, &path.segments);
        self.path_segments(scope.object, &segments, path.span)
    }

    fn path_segments(
        &self,
        object: ObjectIdx,
        segments: &[Ident],
        span: Span,
    ) -> Planned<PathPlan> {
        let Some((last, relationships)) = segments.split_last() else {
            return Err(frame::malformed(
                self.text,
                span,
                "unexpected token: '<EOF>'",
            ));
        };
        let mut current = vec![object];
        let mut hops = Vec::new();
        let mut names = Vec::new();
        for segment in relationships {
            let def = self.schema.object(current[0]);
            let found = (current.len() == 1)
                .then(|| def.relationship(&segment.name))
                .flatten();
            let Some((_, field)) = found else {
                return Err(frame::unknown_relationship(self.text, span, &segment.name));
            };
            let Some(column) = field.column() else {
                return Err(frame::unknown_relationship(self.text, span, &segment.name));
            };
            let targets: Vec<ObjectIdx> = field
                .reference_to
                .iter()
                .filter_map(|t| self.schema.find(t).map(|(idx, _)| idx))
                .collect();
            names.push(
                field
                    .relationship_name
                    .clone()
                    .unwrap_or_else(|| segment.name.clone()),
            );
            hops.push(Hop {
                column,
                targets: targets.clone(),
            });
            current = targets;
        }
        if hops.len() > MAX_HOPS {
            return Err(frame::malformed(
                self.text,
                span,
                "SOQL statements cannot query more than 5 levels of child-to-parent relationships",
            ));
        }
        if current.len() == 1 {
            let def = self.schema.object(current[0]);
            let Some((index, field)) = def.field(&last.name) else {
                return Err(frame::no_such_column(
                    self.text, span, &last.name, &def.name,
                ));
            };
            names.push(field.name.clone());
            return Ok(PathPlan {
                hops,
                leaf: Leaf::Field(vec![(current[0], index)]),
                field_type: field.field_type,
                names,
            });
        }
        // A polymorphic lookup: the field is read on whichever object the record points at.
        // `Type` is that object's name; `Name` falls back to the object's name field.
        if last.is("Type") {
            names.push("Type".to_string());
            return Ok(PathPlan {
                hops,
                leaf: Leaf::Type,
                field_type: FieldType::String,
                names,
            });
        }
        let mut leaves = Vec::new();
        let mut canonical = None;
        let mut field_type = None;
        for &target in &current {
            let def = self.schema.object(target);
            let found = def.field(&last.name).or_else(|| {
                last.is("Name")
                    .then(|| def.name_field.map(|i| (i, &def.fields[i])))
                    .flatten()
            });
            if let Some((index, field)) = found {
                leaves.push((target, index));
                if canonical.is_none() {
                    canonical = Some(if last.is("Name") {
                        "Name".to_string()
                    } else {
                        field.name.clone()
                    });
                    field_type = Some(field.field_type);
                }
            }
        }
        let (Some(canonical), Some(field_type)) = (canonical, field_type) else {
            return Err(frame::no_such_column(self.text, span, &last.name, "Name"));
        };
        names.push(canonical);
        Ok(PathPlan {
            hops,
            leaf: Leaf::Field(leaves),
            field_type,
            names,
        })
    }

    // ---- Expressions ---------------------------------------------------------------------------

    fn expr(&self, scope: &Scope, expr: &Expr, context: Context) -> Planned<ExprPlan> {
        match expr {
            Expr::Field(path) => {
                let plan = self.path(scope, path)?;
                self.check_usable(&plan, context, path.span)?;
                Ok(ExprPlan::Path(plan))
            }
            Expr::Call(call) => {
                let args = &call.args;
                match call.function.kind() {
                    FunctionKind::Aggregate | FunctionKind::Grouping => Err(frame::malformed(
                        self.text,
                        call.span,
                        &format!(
                            "{} is an aggregate function: it needs GROUP BY or an aggregate query, and cannot be used in {}",
                            call.function.name(),
                            context.clause()
                        ),
                    )),
                    FunctionKind::Date => {
                        let inner = self.arg_expr(scope, args, call.span, context)?;
                        let input_type = expr_type(&inner);
                        let needs_datetime =
                            matches!(call.function, Function::HourInDay | Function::DayOnly);
                        let ok = input_type == FieldType::DateTime
                            || (input_type == FieldType::Date && !needs_datetime);
                        if !ok {
                            return Err(frame::malformed(
                                self.text,
                                call.span,
                                &format!(
                                    "{} requires a {} field",
                                    call.function.name(),
                                    if needs_datetime {
                                        "datetime"
                                    } else {
                                        "date or datetime"
                                    }
                                ),
                            ));
                        }
                        Ok(ExprPlan::DateFn(call.function, Box::new(inner)))
                    }
                    FunctionKind::Transform => match call.function {
                        Function::ToLabel => {
                            let path = self.arg_path(scope, args, call.span)?;
                            Ok(ExprPlan::Label(path))
                        }
                        Function::Format => {
                            let inner = self.arg_expr(scope, args, call.span, Context::Select)?;
                            let spec = self.format_spec(&inner);
                            Ok(ExprPlan::Format(Box::new(inner), spec))
                        }
                        // A single-currency org in UTC: both conversions change nothing.
                        _ => self.arg_expr(scope, args, call.span, context),
                    },
                    FunctionKind::Location => self.distance(scope, call.function, args, call.span),
                    FunctionKind::Formula => self.formula(scope, args, call.span),
                }
            }
            Expr::Literal(literal) => Err(frame::malformed(
                self.text,
                literal.span,
                &format!(
                    "unexpected token: '{}'",
                    token_text(self.text, literal.span)
                ),
            )),
        }
    }

    fn arg_expr(
        &self,
        scope: &Scope,
        args: &[Expr],
        span: Span,
        context: Context,
    ) -> Planned<ExprPlan> {
        match args {
            [arg] => self.expr(scope, arg, context),
            _ => Err(frame::malformed(self.text, span, "unexpected token: ')'")),
        }
    }

    fn arg_path(&self, scope: &Scope, args: &[Expr], span: Span) -> Planned<PathPlan> {
        match args {
            [Expr::Field(path)] => self.path(scope, path),
            _ => Err(frame::malformed(self.text, span, "unexpected token: '('")),
        }
    }

    fn format_spec(&self, inner: &ExprPlan) -> FormatSpec {
        match inner {
            ExprPlan::Path(path) => FormatSpec {
                field_type: path.field_type,
                scale: path.field(self.schema).map_or(0, |f| f.scale as usize),
            },
            other => FormatSpec {
                field_type: expr_type(other),
                scale: 2,
            },
        }
    }

    /// Checks a field may be used in the clause: filterable in WHERE, sortable in ORDER BY,
    /// groupable in GROUP BY.
    fn check_usable(&self, plan: &PathPlan, context: Context, span: Span) -> Planned<()> {
        let Some(field) = plan.field(self.schema) else {
            return Ok(());
        };
        let (ok, verb) = match context {
            Context::Where => (field.filterable(), "filtered"),
            Context::OrderBy => (field.sortable(), "sorted"),
            Context::GroupBy => (field.groupable(), "grouped"),
            Context::Select => (true, ""),
        };
        if ok {
            Ok(())
        } else {
            Err(frame::failure(
                "INVALID_FIELD",
                self.text,
                span,
                &format!("field '{}' can not be {verb} in a query call", field.name),
            ))
        }
    }

    fn distance(
        &self,
        scope: &Scope,
        function: Function,
        args: &[Expr],
        span: Span,
    ) -> Planned<ExprPlan> {
        let (
            Function::Distance,
            [
                Expr::Field(location),
                Expr::Call(point),
                Expr::Literal(unit),
            ],
        ) = (function, args)
        else {
            return Err(frame::malformed(
                self.text,
                span,
                "GEOLOCATION can only be used inside DISTANCE",
            ));
        };
        let compound = self.path(scope, location)?;
        let object = match (&compound.leaf, compound.hops.last()) {
            (Leaf::Field(list), _) if list.len() == 1 => list[0],
            _ => {
                return Err(frame::malformed(
                    self.text,
                    location.span,
                    "DISTANCE needs a location or address field",
                ));
            }
        };
        let def = self.schema.object(object.0);
        let field = &def.fields[object.1];
        let (latitude, longitude) = match field.storage {
            Storage::Location => crate::schema::location_components(&field.name),
            Storage::Address => {
                let prefix = field.name.strip_suffix("Address").unwrap_or("");
                (format!("{prefix}Latitude"), format!("{prefix}Longitude"))
            }
            _ => {
                return Err(frame::failure(
                    "INVALID_FIELD",
                    self.text,
                    location.span,
                    &format!(
                        "DISTANCE can only be applied to a location or address field; {} is not one",
                        field.name
                    ),
                ));
            }
        };
        let component = |name: &str| -> Planned<PathPlan> {
            let (index, f) = def
                .field(name)
                .ok_or_else(|| frame::no_such_column(self.text, location.span, name, &def.name))?;
            Ok(PathPlan {
                hops: compound.hops.clone(),
                leaf: Leaf::Field(vec![(object.0, index)]),
                field_type: f.field_type,
                names: vec![f.name.clone()],
            })
        };
        let coordinates: Vec<f64> = point
            .args
            .iter()
            .filter_map(|a| match a {
                Expr::Literal(Literal {
                    value: Lit::Number(n),
                    ..
                }) => Some(n.as_f64()),
                _ => None,
            })
            .collect();
        let (Function::Geolocation, [lat, lon]) = (point.function, coordinates.as_slice()) else {
            return Err(frame::malformed(
                self.text,
                point.span,
                "DISTANCE needs GEOLOCATION(latitude, longitude) as its second argument",
            ));
        };
        let kilometers = matches!(&unit.value, Lit::String(u) if u == "km");
        Ok(ExprPlan::Distance(Box::new(DistancePlan {
            latitude: component(&latitude)?,
            longitude: component(&longitude)?,
            point: (*lat, *lon),
            kilometers,
        })))
    }
}

/// Where in a query an expression appears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Select,
    Where,
    OrderBy,
    GroupBy,
}

impl Context {
    fn clause(self) -> &'static str {
        match self {
            Context::Select => "the SELECT list",
            Context::Where => "the WHERE clause",
            Context::OrderBy => "ORDER BY",
            Context::GroupBy => "GROUP BY",
        }
    }
}

fn order_key(expr: ExprPlan, item: &forcebridge_soql::OrderItem) -> OrderKey {
    let descending = item.direction == Some(forcebridge_soql::Direction::Desc);
    // Salesforce puts nulls first when sorting up and last when sorting down, unless told.
    let nulls_first = match item.nulls {
        Some(forcebridge_soql::Nulls::First) => true,
        Some(forcebridge_soql::Nulls::Last) => false,
        None => !descending,
    };
    OrderKey {
        expr,
        descending,
        nulls_first,
    }
}

/// The type an expression yields (for converting the literals compared with it).
pub(crate) fn expr_type(expr: &ExprPlan) -> FieldType {
    match expr {
        ExprPlan::Path(path) => path.field_type,
        ExprPlan::DateFn(Function::DayOnly, _) => FieldType::Date,
        ExprPlan::DateFn(..) | ExprPlan::Grouping(_) => FieldType::Int,
        ExprPlan::Label(_) | ExprPlan::Format(..) => FieldType::String,
        ExprPlan::Distance(_) => FieldType::Double,
        ExprPlan::Group(_) | ExprPlan::Agg(_) => FieldType::Double,
        ExprPlan::Formula(f) => match formula_type(f) {
            Some(FormulaType::Date) => FieldType::Date,
            Some(FormulaType::DateTime) => FieldType::DateTime,
            _ => FieldType::Double,
        },
    }
}

/// A name for an expression in messages: the field's canonical path, or the function call.
fn expr_name(expr: &ExprPlan) -> String {
    match expr {
        ExprPlan::Path(path) | ExprPlan::Label(path) => path.dotted(),
        ExprPlan::DateFn(function, inner) => {
            format!("{}({})", function.name(), expr_name(inner))
        }
        ExprPlan::Format(inner, _) => format!("FORMAT({})", expr_name(inner)),
        ExprPlan::Distance(_) => "DISTANCE".to_string(),
        ExprPlan::Group(i) | ExprPlan::Agg(i) | ExprPlan::Grouping(i) => format!("expr{i}"),
        ExprPlan::Formula(_) => "FORMULA".to_string(),
    }
}

/// The form expressions are matched by (GROUP BY items against SELECT and HAVING).
fn canonical(expr: &ExprPlan) -> String {
    match expr {
        ExprPlan::Path(path) => path.canonical(),
        ExprPlan::Label(path) => format!("tolabel({})", path.canonical()),
        other => expr_name(other).to_ascii_lowercase(),
    }
}

/// The field path inside `FORMAT(field)`.
fn format_path(expr: &ExprPlan) -> Option<&PathPlan> {
    match expr {
        ExprPlan::Format(inner, _) => match inner.as_ref() {
            ExprPlan::Path(path) => Some(path),
            _ => None,
        },
        _ => None,
    }
}

/// The first word of the text at `span`.
fn token_text(text: &str, span: Span) -> String {
    text.get(span.range())
        .unwrap_or("")
        .split_whitespace()
        .next()
        .unwrap_or("<EOF>")
        .to_string()
}

/// Where `FOR UPDATE` is in the text (the AST keeps no span for it).
fn for_update_span(text: &str) -> Span {
    let lower = text.to_ascii_lowercase();
    let words: Vec<(usize, &str)> = lower
        .split_whitespace()
        .map(|w| (w.as_ptr() as usize - lower.as_ptr() as usize, w))
        .collect();
    for pair in words.windows(2).rev() {
        if pair[0].1 == "for" && pair[1].1 == "update" {
            return Span::new(pair[0].0, pair[0].0 + 3);
        }
    }
    Span::empty(text.len())
}
