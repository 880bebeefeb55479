//! `GET /query?q=...&columns=true`: the columns a query returns, described from its plan,
//! without running it. The Salesforce CLI's `sf data query` asks for this before printing any
//! result, and builds its table from `columnName`, `aggregate`, `displayName` and `joinColumns`.
//!
//! The shape follows real answers captured in the Salesforce CLI's test exemplars: a field is a
//! column with its describe flags; a parent relationship (`Owner.Name`) is one column named for
//! the relationship, `foreignKeyName` the lookup, the fields read through it in `joinColumns`
//! (paths through the same relationship share it); a child subquery is a column named for the
//! relationship with `aggregate: true` and its fields in `joinColumns`; an aggregate call is
//! `aggregate: true`, `apexType: null`, named `expr0` (or its alias), with the call, its
//! function in lower case, as `displayName`. UNVERIFIED: `apexType` beyond `Id` and `String`
//! (seen), `custom` on relationship and subquery columns, `insertable`/`updatable` taken from
//! the describe's `createable`/`updateable`, the columns of GROUP BY date functions, of
//! TYPEOF, toLabel and FORMAT, and an empty list for `SELECT COUNT()`.

use forcebridge_wire::query::{QueryColumn, QueryColumns};

use super::plan::{AggPlan, ExprPlan, OutNode, QueryPlan, Shape};
use crate::schema::{FieldDef, FieldType, ObjectIdx, Schema};

/// The column description of a planned query.
pub(crate) fn describe(schema: &Schema, plan: &QueryPlan) -> QueryColumns {
    let object = schema.object(plan.object);
    let (columns, group_by, id_selected) = match &plan.shape {
        Shape::Records { nodes, .. } => (
            record_columns(schema, plan.object, plan, nodes),
            false,
            nodes
                .iter()
                .any(|node| matches!(node, OutNode::Field { field: 0, .. })),
        ),
        Shape::Aggregate(aggregate) => (
            aggregate_columns(schema, aggregate),
            !aggregate.keys.is_empty(),
            false,
        ),
        Shape::Count(aggregate) => (
            Vec::new(),
            aggregate.as_ref().is_some_and(|a| !a.keys.is_empty()),
            false,
        ),
    };
    QueryColumns {
        column_metadata: columns,
        entity_name: object.name.clone(),
        group_by,
        id_selected,
        key_prefix: Some(object.key_prefix.clone()),
    }
}

/// The columns of a records query (or subquery) on `object`, in SELECT order.
fn record_columns(
    schema: &Schema,
    object: ObjectIdx,
    plan: &QueryPlan,
    nodes: &[OutNode],
) -> Vec<QueryColumn> {
    let def = schema.object(object);
    let mut columns: Vec<QueryColumn> = Vec::with_capacity(nodes.len());
    for node in nodes {
        match node {
            OutNode::Field { field, .. } => columns.push(field_column(&def.fields[*field])),
            OutNode::Computed { name, expr, .. } => {
                let field = match expr {
                    ExprPlan::Label(path) => path.field(schema),
                    ExprPlan::Format(inner, _) => match inner.as_ref() {
                        ExprPlan::Path(path) => path.field(schema),
                        _ => None,
                    },
                    ExprPlan::Path(path) => path.field(schema),
                    _ => None,
                };
                let mut column = match field {
                    Some(field) => field_column(field),
                    None => plain_column(name),
                };
                column.column_name = name.clone();
                column.display_name = name.clone();
                columns.push(column);
            }
            OutNode::Parent {
                name,
                column,
                targets,
                ..
            } => {
                let lookup = def.fields.iter().find(|f| f.column() == Some(*column));
                let joined = targets
                    .first()
                    .map(|(target, children)| record_columns(schema, *target, plan, children))
                    .unwrap_or_default();
                // Two paths through one relationship (`Account.Name, Account.Industry`) share
                // its column, at the place of the first.
                if let Some(existing) = columns
                    .iter_mut()
                    .find(|c| c.foreign_key_name.is_some() && c.column_name == *name)
                {
                    existing.join_columns.extend(joined);
                    continue;
                }
                columns.push(QueryColumn {
                    custom: lookup.is_some_and(|f| f.custom),
                    foreign_key_name: lookup.map(|f| f.name.clone()),
                    join_columns: joined,
                    ..plain_column(name)
                });
            }
            OutNode::Children { key, index } => {
                let name = super::plan::key_name(key).to_string();
                let Shape::Records { children, .. } = &plan.shape else {
                    continue;
                };
                let Some(child) = children.get(*index) else {
                    continue;
                };
                let joined = match &child.plan.shape {
                    Shape::Records { nodes, .. } => {
                        record_columns(schema, child.plan.object, &child.plan, nodes)
                    }
                    _ => Vec::new(),
                };
                columns.push(QueryColumn {
                    aggregate: true,
                    custom: name.ends_with("__r"),
                    join_columns: joined,
                    ..plain_column(&name)
                });
            }
        }
    }
    columns
}

/// The columns of an aggregate query: GROUP BY fields as fields, everything else as an
/// aggregate column.
fn aggregate_columns(schema: &Schema, aggregate: &AggPlan) -> Vec<QueryColumn> {
    aggregate
        .columns
        .iter()
        .map(|column| match &column.source {
            ExprPlan::Group(i) => match aggregate.keys.get(*i) {
                Some(ExprPlan::Path(path)) => match path.field(schema) {
                    Some(field) => QueryColumn {
                        column_name: column.name.clone(),
                        display_name: column.name.clone(),
                        ..field_column(field)
                    },
                    None => plain_column(&column.name),
                },
                Some(other) => QueryColumn {
                    aggregate: true,
                    display_name: call_text(other),
                    number_type: true,
                    ..plain_column(&column.name)
                },
                None => plain_column(&column.name),
            },
            ExprPlan::Agg(i) => {
                let spec = &aggregate.aggregates[*i];
                let argument = spec.arg.as_ref().map(call_text).unwrap_or_default();
                let function = spec.function.name().to_ascii_lowercase();
                let numeric = match spec.function {
                    forcebridge_soql::Function::Min | forcebridge_soql::Function::Max => {
                        spec.arg.as_ref().is_some_and(|arg| match arg {
                            ExprPlan::Path(path) => is_number(path.field_type),
                            _ => false,
                        })
                    }
                    _ => true,
                };
                QueryColumn {
                    aggregate: true,
                    display_name: format!("{function}({argument})"),
                    number_type: numeric,
                    ..plain_column(&column.name)
                }
            }
            other => QueryColumn {
                aggregate: true,
                display_name: call_text(other),
                number_type: true,
                ..plain_column(&column.name)
            },
        })
        .collect()
}

/// What an expression looks like in a `displayName`: a path as the schema spells it, a date
/// function in lower case around its argument.
fn call_text(expr: &ExprPlan) -> String {
    match expr {
        ExprPlan::Path(path) => path.dotted(),
        ExprPlan::DateFn(function, inner) => format!(
            "{}({})",
            function.name().to_ascii_lowercase(),
            call_text(inner)
        ),
        _ => String::new(),
    }
}

/// A column for a field, with the flags its describe gives.
fn field_column(field: &FieldDef) -> QueryColumn {
    QueryColumn {
        aggregate: false,
        apex_type: Some(apex_type(field.field_type).to_string()),
        boolean_type: field.field_type == FieldType::Boolean,
        column_name: field.name.clone(),
        custom: field.custom,
        display_name: field.name.clone(),
        foreign_key_name: None,
        insertable: field.createable,
        join_columns: Vec::new(),
        number_type: is_number(field.field_type),
        text_type: field.field_type.is_text() && field.field_type != FieldType::Base64,
        updatable: field.updateable,
    }
}

/// A column with every flag off and no type, named `name`.
fn plain_column(name: &str) -> QueryColumn {
    QueryColumn {
        aggregate: false,
        apex_type: None,
        boolean_type: false,
        column_name: name.to_string(),
        custom: false,
        display_name: name.to_string(),
        foreign_key_name: None,
        insertable: false,
        join_columns: Vec::new(),
        number_type: false,
        text_type: false,
        updatable: false,
    }
}

fn is_number(field_type: FieldType) -> bool {
    field_type == FieldType::Int || field_type.is_decimal()
}

/// The Apex type of a field's values.
fn apex_type(field_type: FieldType) -> &'static str {
    match field_type {
        FieldType::Id | FieldType::Reference => "Id",
        FieldType::Boolean => "Boolean",
        FieldType::Int => "Integer",
        FieldType::Double | FieldType::Percent => "Double",
        FieldType::Currency => "Decimal",
        FieldType::Date => "Date",
        FieldType::DateTime => "Datetime",
        FieldType::Time => "Time",
        FieldType::Base64 => "Blob",
        FieldType::Address => "Address",
        FieldType::Location => "Location",
        FieldType::AnyType => "Object",
        _ => "String",
    }
}
