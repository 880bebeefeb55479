//! Builds queries from parts that may come from users, so that nothing a user passes can change
//! what the query does.
//!
//! Names are checked against the rules for Salesforce API names; values become literals, which
//! the printer escapes; LIKE helpers escape `%` and `_`. The builder produces a syntax tree and
//! prints it, then parses its own output and checks that it gets the same tree back: if some
//! input ever slipped past the escaping, `build` fails instead of returning a different query.
//!
//! ```
//! use forcebridge_soql::builder::{field, QueryBuilder};
//! use forcebridge_soql::Direction;
//!
//! let soql = QueryBuilder::select(["Id", "Name", "Account.Name"])
//!     .from("Contact")
//!     .filter(field("Email").eq("x' OR Name != '"))
//!     .filter(field("CreatedDate").ge(forcebridge_soql::DateTime::utc(2024, 1, 15, 10, 30, 0).unwrap()))
//!     .order_by("LastName", Direction::Asc)
//!     .limit(100)
//!     .build()
//!     .unwrap();
//! assert_eq!(
//!     soql,
//!     "SELECT Id, Name, Account.Name FROM Contact WHERE Email = 'x\\' OR Name != \\'' \
//!      AND CreatedDate >= 2024-01-15T10:30:00Z ORDER BY LastName ASC LIMIT 100"
//! );
//! ```

use crate::ast::{
    Call, Comparison, Condition, Count, Date, DateLiteral, DateTime, Direction, Expr, FieldPath,
    From, Function, Ident, Literal, Nulls, Number, Operand, Operator, OrderItem, Query, Returning,
    Search, SearchScope, SearchTerm, SelectItem, Statement, Time, Value,
};
use crate::error::Error;
use crate::like::LikePattern;
use crate::search_term::{SearchExpr, escape_search_term};
use crate::span::Span;

/// Longest name accepted; Salesforce API names are far shorter, paths a little longer.
const MAX_NAME_LEN: usize = 255;

/// Checks one API name: a letter, then letters, digits and underscores.
fn check_name(name: &str) -> Result<Ident, Error> {
    let first_ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if !first_ok {
        return Err(Error::invalid_identifier(
            name,
            "API names start with a letter",
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        return Err(Error::invalid_identifier(
            name,
            &format!("API names hold only letters, digits and underscores, not {bad:?}"),
        ));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Error::invalid_identifier(name, "the name is too long"));
    }
    Ok(Ident::new(name, Span::default()))
}

/// Checks a dotted path such as `Account.Owner.Name`.
fn check_path(path: &str) -> Result<FieldPath, Error> {
    if path.len() > MAX_NAME_LEN {
        return Err(Error::invalid_identifier(path, "the path is too long"));
    }
    let segments = path
        .split('.')
        .map(check_name)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(FieldPath {
        segments,
        span: Span::default(),
    })
}

fn literal(value: Value) -> Literal {
    Literal {
        value,
        span: Span::default(),
    }
}

/// A Rust value that can be written as a SOQL literal.
pub trait IntoValue {
    fn into_value(self) -> Result<Value, Error>;
}

impl IntoValue for Value {
    fn into_value(self) -> Result<Value, Error> {
        Ok(self)
    }
}

impl IntoValue for &str {
    fn into_value(self) -> Result<Value, Error> {
        Ok(Value::String(self.to_string()))
    }
}

impl IntoValue for String {
    fn into_value(self) -> Result<Value, Error> {
        Ok(Value::String(self))
    }
}

impl IntoValue for &String {
    fn into_value(self) -> Result<Value, Error> {
        Ok(Value::String(self.clone()))
    }
}

impl IntoValue for bool {
    fn into_value(self) -> Result<Value, Error> {
        Ok(Value::Boolean(self))
    }
}

macro_rules! integer_values {
    ($($t:ty),*) => {$(
        impl IntoValue for $t {
            fn into_value(self) -> Result<Value, Error> {
                Ok(Value::Number(Number(self.to_string())))
            }
        }
    )*};
}

integer_values!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize
);

impl IntoValue for f64 {
    fn into_value(self) -> Result<Value, Error> {
        if !self.is_finite() {
            return Err(Error::invalid_value(format!(
                "{self} cannot be written in SOQL: numbers must be finite"
            )));
        }
        // Rust prints f64 without an exponent, which is the only form SOQL reads.
        let mut text = self.to_string();
        if text == "-0" {
            text = "0".into();
        }
        Ok(Value::Number(Number(text)))
    }
}

impl IntoValue for f32 {
    fn into_value(self) -> Result<Value, Error> {
        // Through the shortest f32 text, so 0.1f32 stays 0.1 rather than 0.10000000149011612.
        let text = self.to_string();
        if !self.is_finite() {
            return Err(Error::invalid_value(format!(
                "{text} cannot be written in SOQL: numbers must be finite"
            )));
        }
        Number::parse(&text)
            .map(Value::Number)
            .ok_or_else(|| Error::invalid_value(format!("{text} cannot be written in SOQL")))
    }
}

impl IntoValue for Date {
    fn into_value(self) -> Result<Value, Error> {
        Ok(Value::Date(self))
    }
}

impl IntoValue for DateTime {
    fn into_value(self) -> Result<Value, Error> {
        Ok(Value::DateTime(self))
    }
}

impl IntoValue for Time {
    fn into_value(self) -> Result<Value, Error> {
        Ok(Value::Time(self))
    }
}

impl IntoValue for DateLiteral {
    fn into_value(self) -> Result<Value, Error> {
        if self.name.takes_n() != self.n.is_some() {
            let why = if self.name.takes_n() {
                "needs a count"
            } else {
                "takes no count"
            };
            return Err(Error::invalid_value(format!("{} {why}", self.name.name())));
        }
        Ok(Value::DateLiteral(self))
    }
}

impl<T: IntoValue> IntoValue for Option<T> {
    fn into_value(self) -> Result<Value, Error> {
        match self {
            Some(v) => v.into_value(),
            None => Ok(Value::Null),
        }
    }
}

impl DateTime {
    /// A UTC datetime from its parts, or `None` if they do not form a real moment.
    pub fn utc(
        year: u16,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
    ) -> Option<DateTime> {
        Some(DateTime {
            date: Date::new(year, month, day)?,
            time: Time::new(hour, minute, second)?,
            offset_minutes: 0,
        })
    }
}

#[cfg(feature = "chrono")]
mod chrono_values {
    use chrono::{Datelike, Timelike};

    use super::{Date, DateTime, Error, IntoValue, Time, Value};

    fn date(d: chrono::NaiveDate) -> Result<Date, Error> {
        let year = u16::try_from(d.year()).ok();
        year.and_then(|y| Date::new(y, d.month() as u8, d.day() as u8))
            .ok_or_else(|| {
                Error::invalid_value(format!(
                    "{d} is outside the years SOQL can write (0001 to 9999)"
                ))
            })
    }

    fn time(t: chrono::NaiveTime) -> Result<Time, Error> {
        let base = Time::new(t.hour() as u8, t.minute() as u8, t.second() as u8)
            .ok_or_else(|| Error::invalid_value(format!("{t} is not a time SOQL can write")))?;
        // Salesforce keeps milliseconds; a leap second's extra nanoseconds are dropped.
        let millis = (t.nanosecond() / 1_000_000).min(999);
        Ok(base.with_fraction(millis, 3).unwrap_or(base))
    }

    impl IntoValue for chrono::NaiveDate {
        fn into_value(self) -> Result<Value, Error> {
            Ok(Value::Date(date(self)?))
        }
    }

    impl IntoValue for chrono::NaiveTime {
        fn into_value(self) -> Result<Value, Error> {
            Ok(Value::Time(time(self)?))
        }
    }

    impl IntoValue for chrono::DateTime<chrono::Utc> {
        fn into_value(self) -> Result<Value, Error> {
            let naive = self.naive_utc();
            Ok(Value::DateTime(DateTime {
                date: date(naive.date())?,
                time: time(naive.time())?,
                offset_minutes: 0,
            }))
        }
    }

    impl IntoValue for chrono::DateTime<chrono::FixedOffset> {
        fn into_value(self) -> Result<Value, Error> {
            let naive = self.naive_local();
            let offset_minutes = i16::try_from(self.offset().local_minus_utc() / 60)
                .map_err(|_| Error::invalid_value("the UTC offset is out of range"))?;
            Ok(Value::DateTime(DateTime {
                date: date(naive.date())?,
                time: time(naive.time())?,
                offset_minutes,
            }))
        }
    }
}

/// A condition under construction. Errors (a bad name, a NaN) are kept inside and reported by
/// [`QueryBuilder::build`], so conditions chain without `?` at every step.
#[derive(Debug, Clone)]
pub struct Filter(Result<Condition, Error>);

/// Starts a condition on a field: `field("Name").eq("Acme")`.
pub fn field(path: &str) -> FieldFilter {
    FieldFilter {
        lhs: check_path(path).map(Expr::Field),
    }
}

/// Starts a condition on a function of a field, such as `CALENDAR_YEAR(CloseDate)`.
pub fn function(function: Function, path: &str) -> FieldFilter {
    let lhs = check_path(path).map(|p| {
        Expr::Call(Call {
            function,
            args: vec![Expr::Field(p)],
            span: Span::default(),
        })
    });
    FieldFilter { lhs }
}

/// The left-hand side of a comparison.
#[derive(Debug, Clone)]
pub struct FieldFilter {
    lhs: Result<Expr, Error>,
}

impl FieldFilter {
    fn compare(self, op: Operator, rhs: Result<Operand, Error>) -> Filter {
        Filter(self.lhs.and_then(|lhs| {
            Ok(Condition::Comparison(Comparison {
                lhs,
                op,
                rhs: rhs?,
                span: Span::default(),
            }))
        }))
    }

    fn value(self, op: Operator, value: impl IntoValue) -> Filter {
        let rhs = value.into_value().map(|v| Operand::Value(literal(v)));
        self.compare(op, rhs)
    }

    pub fn eq(self, value: impl IntoValue) -> Filter {
        self.value(Operator::Eq, value)
    }

    pub fn ne(self, value: impl IntoValue) -> Filter {
        self.value(Operator::Ne, value)
    }

    pub fn lt(self, value: impl IntoValue) -> Filter {
        self.value(Operator::Lt, value)
    }

    pub fn le(self, value: impl IntoValue) -> Filter {
        self.value(Operator::Le, value)
    }

    pub fn gt(self, value: impl IntoValue) -> Filter {
        self.value(Operator::Gt, value)
    }

    pub fn ge(self, value: impl IntoValue) -> Filter {
        self.value(Operator::Ge, value)
    }

    pub fn is_null(self) -> Filter {
        self.value(Operator::Eq, Value::Null)
    }

    pub fn is_not_null(self) -> Filter {
        self.value(Operator::Ne, Value::Null)
    }

    fn list<V: IntoValue>(self, op: Operator, values: impl IntoIterator<Item = V>) -> Filter {
        let values: Result<Vec<Literal>, Error> = values
            .into_iter()
            .map(|v| v.into_value().map(literal))
            .collect();
        let rhs = values.and_then(|values| {
            if values.is_empty() {
                return Err(Error::invalid_value(format!(
                    "{} needs at least one value",
                    op.as_str()
                )));
            }
            Ok(Operand::List {
                values,
                span: Span::default(),
            })
        });
        self.compare(op, rhs)
    }

    /// `IN (...)`. An empty list is an error, since SOQL has no empty list.
    pub fn is_in<V: IntoValue>(self, values: impl IntoIterator<Item = V>) -> Filter {
        self.list(Operator::In, values)
    }

    pub fn not_in<V: IntoValue>(self, values: impl IntoIterator<Item = V>) -> Filter {
        self.list(Operator::NotIn, values)
    }

    /// `INCLUDES ('a;b', 'c')` for multi-select picklists.
    pub fn includes<S: Into<String>>(self, values: impl IntoIterator<Item = S>) -> Filter {
        self.list(
            Operator::Includes,
            values.into_iter().map(|s| Value::String(s.into())),
        )
    }

    pub fn excludes<S: Into<String>>(self, values: impl IntoIterator<Item = S>) -> Filter {
        self.list(
            Operator::Excludes,
            values.into_iter().map(|s| Value::String(s.into())),
        )
    }

    /// `LIKE pattern`, with a pattern from [`LikePattern`]'s constructors.
    pub fn like(self, pattern: LikePattern) -> Filter {
        self.compare(
            Operator::Like,
            Ok(Operand::Pattern {
                pattern,
                span: Span::default(),
            }),
        )
    }

    /// Values that start with `text`, taken literally (`%` and `_` in it match themselves).
    pub fn starts_with(self, text: &str) -> Filter {
        self.like(LikePattern::starts_with(text))
    }

    pub fn ends_with(self, text: &str) -> Filter {
        self.like(LikePattern::ends_with(text))
    }

    pub fn contains(self, text: &str) -> Filter {
        self.like(LikePattern::contains(text))
    }

    fn subquery(self, op: Operator, subquery: QueryBuilder) -> Filter {
        let rhs = subquery.build_query().map(|q| Operand::Subquery {
            query: Box::new(q),
            span: Span::default(),
        });
        self.compare(op, rhs)
    }

    /// A semi-join: `Id IN (SELECT AccountId FROM Contact ...)`.
    pub fn in_subquery(self, subquery: QueryBuilder) -> Filter {
        self.subquery(Operator::In, subquery)
    }

    /// An anti-join: `Id NOT IN (SELECT ...)`.
    pub fn not_in_subquery(self, subquery: QueryBuilder) -> Filter {
        self.subquery(Operator::NotIn, subquery)
    }
}

impl Filter {
    /// A condition from trusted SOQL text, such as a filter in a config file: `Amount > 1000`.
    /// It is parsed, so it is checked, and it is parenthesised wherever it is combined.
    pub fn parse(text: &str) -> Filter {
        let wrapped = format!("SELECT Id FROM X WHERE {text}");
        let parse = crate::parse_query(&wrapped);
        if !parse.errors.is_empty() {
            return Filter(Err(Error::from_diagnostics(parse.errors, &wrapped)));
        }
        Filter(
            parse
                .tree
                .without_spans()
                .where_clause
                .ok_or_else(|| Error::invalid_value("the filter is empty")),
        )
    }

    /// Both conditions.
    pub fn and(self, other: Filter) -> Filter {
        Filter::all([self, other])
    }

    /// Either condition.
    pub fn or(self, other: Filter) -> Filter {
        Filter::any([self, other])
    }

    /// The opposite condition.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Filter {
        Filter(self.0.map(|c| Condition::Not {
            operand: Box::new(c),
            span: Span::default(),
        }))
    }

    /// Every condition holds. Nested ANDs are flattened.
    pub fn all(filters: impl IntoIterator<Item = Filter>) -> Filter {
        Filter::junction(filters, true)
    }

    /// At least one condition holds. Nested ORs are flattened.
    pub fn any(filters: impl IntoIterator<Item = Filter>) -> Filter {
        Filter::junction(filters, false)
    }

    fn junction(filters: impl IntoIterator<Item = Filter>, and: bool) -> Filter {
        let mut operands = Vec::new();
        for filter in filters {
            match filter.0 {
                Ok(Condition::And {
                    operands: inner, ..
                }) if and => operands.extend(inner),
                Ok(Condition::Or {
                    operands: inner, ..
                }) if !and => operands.extend(inner),
                Ok(c) => operands.push(c),
                Err(e) => return Filter(Err(e)),
            }
        }
        Filter(match operands.len() {
            0 => Err(Error::invalid_value(
                "a combined filter needs at least one condition",
            )),
            1 => Ok(operands.remove(0)),
            _ if and => Ok(Condition::And {
                operands,
                span: Span::default(),
            }),
            _ => Ok(Condition::Or {
                operands,
                span: Span::default(),
            }),
        })
    }
}

/// Builds a SOQL query. Start with [`QueryBuilder::select`] or [`QueryBuilder::count`].
#[derive(Debug, Clone)]
pub struct QueryBuilder {
    select: Vec<Result<SelectItem, Error>>,
    object: Option<Result<FieldPath, Error>>,
    filters: Vec<Filter>,
    order_by: Vec<Result<OrderItem, Error>>,
    limit: Option<u64>,
    offset: Option<u64>,
}

impl QueryBuilder {
    /// `SELECT` these fields (dotted paths allowed).
    pub fn select<S: AsRef<str>>(fields: impl IntoIterator<Item = S>) -> QueryBuilder {
        let mut builder = QueryBuilder::empty();
        for f in fields {
            builder = builder.field(f.as_ref());
        }
        builder
    }

    /// `SELECT COUNT()`: the number of matching records.
    pub fn count() -> QueryBuilder {
        let mut builder = QueryBuilder::empty();
        builder.select.push(Ok(SelectItem::Expr {
            expr: Expr::Call(Call {
                function: Function::Count,
                args: Vec::new(),
                span: Span::default(),
            }),
            alias: None,
            span: Span::default(),
        }));
        builder
    }

    fn empty() -> QueryBuilder {
        QueryBuilder {
            select: Vec::new(),
            object: None,
            filters: Vec::new(),
            order_by: Vec::new(),
            limit: None,
            offset: None,
        }
    }

    /// Adds one field to the SELECT list.
    pub fn field(mut self, path: &str) -> QueryBuilder {
        self.select.push(check_path(path).map(|p| SelectItem::Expr {
            expr: Expr::Field(p),
            alias: None,
            span: Span::default(),
        }));
        self
    }

    /// Adds an aggregate such as `SUM(Amount) total` to the SELECT list.
    pub fn aggregate(mut self, function: Function, path: &str, alias: &str) -> QueryBuilder {
        let item = check_path(path).and_then(|p| {
            Ok(SelectItem::Expr {
                expr: Expr::Call(Call {
                    function,
                    args: vec![Expr::Field(p)],
                    span: Span::default(),
                }),
                alias: Some(check_name(alias)?),
                span: Span::default(),
            })
        });
        self.select.push(item);
        self
    }

    /// Adds a child subquery: `(SELECT ... FROM Contacts)`. The subquery's own `from` is
    /// replaced by `relationship`.
    pub fn subquery(mut self, relationship: &str, subquery: QueryBuilder) -> QueryBuilder {
        let item = subquery
            .from(relationship)
            .build_query()
            .map(|q| SelectItem::Subquery {
                query: Box::new(q),
                span: Span::default(),
            });
        self.select.push(item);
        self
    }

    /// The object to query.
    pub fn from(mut self, object: &str) -> QueryBuilder {
        self.object = Some(check_path(object));
        self
    }

    /// Adds a condition; several are joined with AND.
    pub fn filter(mut self, filter: Filter) -> QueryBuilder {
        self.filters.push(filter);
        self
    }

    pub fn order_by(self, path: &str, direction: Direction) -> QueryBuilder {
        self.order(path, Some(direction), None)
    }

    pub fn order_by_nulls(self, path: &str, direction: Direction, nulls: Nulls) -> QueryBuilder {
        self.order(path, Some(direction), Some(nulls))
    }

    fn order(
        mut self,
        path: &str,
        direction: Option<Direction>,
        nulls: Option<Nulls>,
    ) -> QueryBuilder {
        self.order_by.push(check_path(path).map(|p| OrderItem {
            expr: Expr::Field(p),
            direction,
            nulls,
            span: Span::default(),
        }));
        self
    }

    pub fn limit(mut self, limit: u64) -> QueryBuilder {
        self.limit = Some(limit);
        self
    }

    pub fn offset(mut self, offset: u64) -> QueryBuilder {
        self.offset = Some(offset);
        self
    }

    /// The query as a tree, or the first error among its parts.
    pub fn build_query(self) -> Result<Query, Error> {
        if self.select.is_empty() {
            return Err(Error::invalid_value(
                "a query needs at least one field to select",
            ));
        }
        let select = self.select.into_iter().collect::<Result<Vec<_>, _>>()?;
        let object = self
            .object
            .ok_or_else(|| Error::invalid_value("a query needs an object: call from()"))??;
        let where_clause = if self.filters.is_empty() {
            None
        } else {
            Some(Filter::all(self.filters).0?)
        };
        let order_by = self.order_by.into_iter().collect::<Result<Vec<_>, _>>()?;
        let count = |value| Count {
            value,
            span: Span::default(),
        };
        Ok(Query {
            select,
            from: From {
                object,
                alias: None,
                relationship_aliases: Vec::new(),
                span: Span::default(),
            },
            using: None,
            where_clause,
            with: Vec::new(),
            group_by: None,
            having: None,
            order_by,
            limit: self.limit.map(count),
            offset: self.offset.map(count),
            bind: Vec::new(),
            for_clauses: Vec::new(),
            update: Vec::new(),
            span: Span::default(),
        })
    }

    /// The query as SOQL text.
    pub fn build(self) -> Result<String, Error> {
        let statement = Statement::Query(self.build_query()?);
        verified_text(&statement)
    }
}

/// Prints a built statement and proves it parses back to the same tree.
fn verified_text(statement: &Statement) -> Result<String, Error> {
    let text = crate::to_soql(statement);
    let parse = crate::parse(&text);
    if !parse.errors.is_empty() {
        return Err(Error::from_diagnostics(parse.errors, &text));
    }
    if parse.tree.without_spans() != statement.without_spans() {
        return Err(Error::invalid_value(format!(
            "the built statement does not read back as built: {text}"
        )));
    }
    Ok(text)
}

/// Builds a SOSL search whose term is user text, searched for literally.
///
/// ```
/// use forcebridge_soql::builder::SearchBuilder;
///
/// let sosl = SearchBuilder::find("Acme (UK) Ltd*")
///     .returning("Account", ["Id", "Name"])
///     .limit(10)
///     .build()
///     .unwrap();
/// assert_eq!(sosl, r"FIND {Acme \(UK\) Ltd\*} RETURNING Account(Id, Name) LIMIT 10");
/// ```
#[derive(Debug, Clone)]
pub struct SearchBuilder {
    term: String,
    scope: Option<SearchScope>,
    returning: Vec<Result<Returning, Error>>,
    limit: Option<u64>,
}

impl SearchBuilder {
    /// Searches for `text` as plain words (see [`escape_search_term`]): nothing in it is read as
    /// search syntax.
    pub fn find(text: &str) -> SearchBuilder {
        SearchBuilder {
            term: escape_search_term(text),
            scope: None,
            returning: Vec::new(),
            limit: None,
        }
    }

    /// `IN NAME FIELDS` and the other search groups.
    pub fn in_fields(mut self, scope: SearchScope) -> SearchBuilder {
        self.scope = Some(scope);
        self
    }

    /// Adds an object to RETURNING, with the fields to return (none: just the Id).
    pub fn returning<S: AsRef<str>>(
        mut self,
        object: &str,
        fields: impl IntoIterator<Item = S>,
    ) -> SearchBuilder {
        let item = check_name(object).and_then(|object| {
            let fields = fields
                .into_iter()
                .map(|f| {
                    check_path(f.as_ref()).map(|p| SelectItem::Expr {
                        expr: Expr::Field(p),
                        alias: None,
                        span: Span::default(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Returning {
                fields,
                ..Returning::object(object)
            })
        });
        self.returning.push(item);
        self
    }

    pub fn limit(mut self, limit: u64) -> SearchBuilder {
        self.limit = Some(limit);
        self
    }

    pub fn build(self) -> Result<String, Error> {
        if self.term.is_empty() {
            return Err(Error::invalid_value("the search text is empty"));
        }
        let mut errors = Vec::new();
        let whole = Span::new(0, self.term.len());
        let expr = crate::search_term::parse_search_term(&self.term, 0, whole, &mut errors);
        if !errors.is_empty() || expr == SearchExpr::Empty {
            return Err(Error::invalid_value(
                "the search text has no words to search for",
            ));
        }
        let returning = self.returning.into_iter().collect::<Result<Vec<_>, _>>()?;
        let statement = Statement::Search(Search {
            term: SearchTerm {
                raw: self.term,
                expr,
                span: Span::default(),
            },
            scope: self.scope,
            returning,
            with: Vec::new(),
            search_mode: None,
            limit: self.limit.map(|value| Count {
                value,
                span: Span::default(),
            }),
            update: Vec::new(),
            span: Span::default(),
        });
        verified_text(&statement)
    }
}

#[cfg(all(test, feature = "chrono"))]
mod chrono_tests {
    use super::{QueryBuilder, field};

    #[test]
    fn chrono_values_are_written_as_soql_literals() {
        let day = chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        let utc = day.and_hms_milli_opt(10, 30, 0, 250).unwrap().and_utc();
        let offset = chrono::FixedOffset::east_opt(-8 * 3600).unwrap();
        let local = day
            .and_hms_opt(23, 1, 1)
            .unwrap()
            .and_local_timezone(offset)
            .unwrap();
        let soql = QueryBuilder::select(["Id"])
            .from("Event")
            .filter(field("ActivityDate").eq(day))
            .filter(field("CreatedDate").ge(utc))
            .filter(field("LastModifiedDate").lt(local))
            .build()
            .unwrap();
        assert_eq!(
            soql,
            "SELECT Id FROM Event WHERE ActivityDate = 2024-02-29 AND CreatedDate >= 2024-02-29T10:30:00.250Z \
             AND LastModifiedDate < 2024-02-29T23:01:01.000-08:00"
        );
    }
}
