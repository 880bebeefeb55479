//! The syntax tree of SOQL queries and SOSL searches.
//!
//! Every node carries the [`Span`] of the text it came from. The tree keeps what the statement
//! means, not how it was spelled: keyword case, `!=` versus `<>`, redundant parentheses and
//! whitespace are gone, so two spellings of one query give equal trees (once spans are removed
//! with [`Statement::without_spans`]). Names keep the case they were written in, because Salesforce
//! resolves them case-insensitively against a schema this crate does not know.
//!
//! When a parse reports errors the tree is still complete but may hold placeholders: an empty
//! [`Ident`] where a name was missing, and [`Condition::Error`] where a condition could not be read.

use std::fmt;

use crate::like::LikePattern;
use crate::search_term::SearchExpr;
use crate::span::Span;

#[cfg(feature = "serde")]
use serde::Serialize;

/// A name as written: an object, field, relationship, alias or keyword argument.
#[derive(Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

impl Ident {
    pub fn new(name: impl Into<String>, span: Span) -> Ident {
        Ident {
            name: name.into(),
            span,
        }
    }

    /// Case-insensitive comparison, which is how Salesforce compares names.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

impl fmt::Debug for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}@{:?}", self.name, self.span)
    }
}

/// A dotted name: `Name`, `Account.Owner.Name`, `Parent__r.Name`.
#[derive(Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct FieldPath {
    pub segments: Vec<Ident>,
    pub span: Span,
}

impl FieldPath {
    /// The path with its segments joined by dots, as written.
    pub fn dotted(&self) -> String {
        let mut out = String::new();
        for (i, segment) in self.segments.iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            out.push_str(&segment.name);
        }
        out
    }

    /// The last segment: the field itself, after any relationship hops.
    pub fn last(&self) -> Option<&Ident> {
        self.segments.last()
    }
}

impl fmt::Debug for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{:?}", self.dotted(), self.span)
    }
}

/// A whole statement: a SOQL query or a SOSL search.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize),
    serde(tag = "type", rename_all = "snake_case")
)]
pub enum Statement {
    Query(Query),
    Search(Search),
}

impl Statement {
    pub fn span(&self) -> Span {
        match self {
            Statement::Query(q) => q.span,
            Statement::Search(s) => s.span,
        }
    }

    pub fn as_query(&self) -> Option<&Query> {
        match self {
            Statement::Query(q) => Some(q),
            Statement::Search(_) => None,
        }
    }

    pub fn as_search(&self) -> Option<&Search> {
        match self {
            Statement::Search(s) => Some(s),
            Statement::Query(_) => None,
        }
    }
}

/// A SOQL query, top-level or nested (a child subquery in the SELECT list, or a semi-join).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Query {
    pub select: Vec<SelectItem>,
    pub from: From,
    pub using: Option<Using>,
    pub where_clause: Option<Condition>,
    pub with: Vec<With>,
    pub group_by: Option<GroupBy>,
    pub having: Option<Condition>,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<Count>,
    pub offset: Option<Count>,
    /// `BIND name = value, ...`, used with `USING LOOKUP`.
    pub bind: Vec<Binding>,
    /// `FOR VIEW`, `FOR REFERENCE`, `FOR UPDATE` (several may be listed).
    pub for_clauses: Vec<ForClause>,
    /// `UPDATE TRACKING`, `UPDATE VIEWSTAT`.
    pub update: Vec<UpdateClause>,
    pub span: Span,
}

/// The FROM clause: the object queried, an optional alias, and old-style relationship aliases
/// (`FROM Contact c, c.Account a`).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct From {
    /// The object, or for a child subquery the relationship name (`Contacts`, `Account.Contacts`).
    pub object: FieldPath,
    pub alias: Option<Ident>,
    pub relationship_aliases: Vec<RelationshipAlias>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct RelationshipAlias {
    pub path: FieldPath,
    pub alias: Option<Ident>,
    pub span: Span,
}

/// One entry of a SELECT list (or of a SOSL RETURNING field list).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize),
    serde(tag = "type", rename_all = "snake_case")
)]
pub enum SelectItem {
    /// A field or a function call, with an optional alias: `Name`, `COUNT(Id) total`.
    Expr {
        expr: Expr,
        alias: Option<Ident>,
        span: Span,
    },
    /// `FIELDS(ALL)`, `FIELDS(STANDARD)`, `FIELDS(CUSTOM)`.
    Fields { set: FieldSet, span: Span },
    /// A parent-to-child subquery: `(SELECT Id FROM Contacts)`.
    Subquery { query: Box<Query>, span: Span },
    /// `TYPEOF What WHEN Account THEN Phone ELSE Name END`.
    TypeOf(TypeOf),
}

impl SelectItem {
    pub fn span(&self) -> Span {
        match self {
            SelectItem::Expr { span, .. }
            | SelectItem::Fields { span, .. }
            | SelectItem::Subquery { span, .. } => *span,
            SelectItem::TypeOf(t) => t.span,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum FieldSet {
    All,
    Standard,
    Custom,
}

impl FieldSet {
    pub fn keyword(self) -> &'static str {
        match self {
            FieldSet::All => "ALL",
            FieldSet::Standard => "STANDARD",
            FieldSet::Custom => "CUSTOM",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct TypeOf {
    /// The polymorphic relationship: `What`, `Owner`, `c.Owner`.
    pub field: FieldPath,
    pub whens: Vec<TypeOfWhen>,
    /// The fields after ELSE; empty when there is no ELSE branch.
    pub else_fields: Vec<FieldPath>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct TypeOfWhen {
    pub object: Ident,
    pub fields: Vec<FieldPath>,
    pub span: Span,
}

/// A value expression: what can stand in a SELECT list, GROUP BY, ORDER BY, or on the left of a
/// comparison. Literals appear only as function arguments (`GEOLOCATION(37.7, -122.4)`, `'mi'`).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize),
    serde(tag = "type", rename_all = "snake_case")
)]
pub enum Expr {
    Field(FieldPath),
    Call(Call),
    Literal(Literal),
}

impl Expr {
    pub fn span(&self) -> Span {
        match self {
            Expr::Field(f) => f.span,
            Expr::Call(c) => c.span,
            Expr::Literal(l) => l.span,
        }
    }
}

/// A function call such as `COUNT(Id)`, `toLabel(Status)` or `DISTANCE(Loc__c, GEOLOCATION(1, 2), 'mi')`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Call {
    pub function: Function,
    pub args: Vec<Expr>,
    pub span: Span,
}

macro_rules! functions {
    ($($variant:ident => $name:literal, $kind:ident;)*) => {
        /// Every function SOQL accepts.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "serde", derive(Serialize))]
        pub enum Function {
            $($variant,)*
        }

        impl Function {
            pub const ALL: &'static [Function] = &[$(Function::$variant,)*];

            /// The canonical spelling, as the Salesforce documentation writes it.
            pub fn name(self) -> &'static str {
                match self {
                    $(Function::$variant => $name,)*
                }
            }

            pub fn kind(self) -> FunctionKind {
                match self {
                    $(Function::$variant => FunctionKind::$kind,)*
                }
            }

            /// Looks a function up by name, ignoring case.
            pub fn from_name(name: &str) -> Option<Function> {
                Function::ALL.iter().copied().find(|f| f.name().eq_ignore_ascii_case(name))
            }
        }
    };
}

functions! {
    Avg => "AVG", Aggregate;
    Count => "COUNT", Aggregate;
    CountDistinct => "COUNT_DISTINCT", Aggregate;
    Max => "MAX", Aggregate;
    Min => "MIN", Aggregate;
    Sum => "SUM", Aggregate;
    Grouping => "GROUPING", Grouping;
    CalendarMonth => "CALENDAR_MONTH", Date;
    CalendarQuarter => "CALENDAR_QUARTER", Date;
    CalendarYear => "CALENDAR_YEAR", Date;
    DayInMonth => "DAY_IN_MONTH", Date;
    DayInWeek => "DAY_IN_WEEK", Date;
    DayInYear => "DAY_IN_YEAR", Date;
    DayOnly => "DAY_ONLY", Date;
    FiscalMonth => "FISCAL_MONTH", Date;
    FiscalQuarter => "FISCAL_QUARTER", Date;
    FiscalYear => "FISCAL_YEAR", Date;
    HourInDay => "HOUR_IN_DAY", Date;
    WeekInMonth => "WEEK_IN_MONTH", Date;
    WeekInYear => "WEEK_IN_YEAR", Date;
    ConvertTimezone => "convertTimezone", Transform;
    ConvertCurrency => "convertCurrency", Transform;
    Format => "FORMAT", Transform;
    ToLabel => "toLabel", Transform;
    Distance => "DISTANCE", Location;
    Geolocation => "GEOLOCATION", Location;
    Formula => "FORMULA", Formula;
}

/// Families of functions, which decide where a function may appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum FunctionKind {
    /// COUNT, COUNT_DISTINCT, SUM, AVG, MIN, MAX: they make a query an aggregate query.
    Aggregate,
    /// GROUPING(field), with GROUP BY ROLLUP or CUBE.
    Grouping,
    /// CALENDAR_YEAR(date) and friends.
    Date,
    /// toLabel, FORMAT, convertCurrency, convertTimezone: a field shown differently.
    Transform,
    /// DISTANCE and GEOLOCATION.
    Location,
    /// FORMULA('...'), a formula expression in WHERE.
    Formula,
}

/// A literal value with its span.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Literal {
    pub value: Value,
    pub span: Span,
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize),
    serde(tag = "type", content = "value", rename_all = "snake_case")
)]
pub enum Value {
    /// A quoted string, with its escapes decoded.
    String(String),
    Number(Number),
    Boolean(bool),
    Null,
    Date(Date),
    DateTime(DateTime),
    Time(Time),
    /// `USD5000`: an amount in a given currency (multi-currency orgs).
    Currency {
        code: String,
        amount: Number,
    },
    /// `TODAY`, `LAST_N_DAYS:30`, ...
    DateLiteral(DateLiteral),
}

/// A decimal number, kept as written (minus a leading `+`) so no precision is lost: `5`, `-15.50`.
#[derive(Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Number(pub(crate) String);

impl Number {
    /// Makes a number from text of the form `-?digits(.digits)?`.
    pub fn parse(text: &str) -> Option<Number> {
        let unsigned = text.strip_prefix('-').unwrap_or(text);
        let (int, frac) = match unsigned.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (unsigned, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        (digits(int) && frac.is_none_or(digits)).then(|| Number(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn as_f64(&self) -> f64 {
        self.0.parse().unwrap_or(f64::NAN)
    }

    /// The value as an integer, if it has no fractional part and fits.
    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse().ok()
    }

    pub fn is_integer(&self) -> bool {
        !self.0.contains('.')
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A calendar date, `YYYY-MM-DD`. Always a real date: the parser and the constructor check it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

impl Date {
    /// `None` unless the parts form a real date in years 0001 to 9999.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        ((1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month))
        .then_some(Date { year, month, day })
    }

    pub fn year(self) -> u16 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    pub fn day(self) -> u8 {
        self.day
    }
}

pub(crate) fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A time of day with an optional fraction of a second (up to 9 digits, kept as written).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Time {
    hour: u8,
    minute: u8,
    second: u8,
    /// The fraction as an integer of `fraction_digits` digits: `.050` is (50, 3).
    fraction: u32,
    fraction_digits: u8,
}

impl Time {
    pub fn new(hour: u8, minute: u8, second: u8) -> Option<Time> {
        (hour < 24 && minute < 60 && second < 60).then_some(Time {
            hour,
            minute,
            second,
            fraction: 0,
            fraction_digits: 0,
        })
    }

    /// The same time with a fraction of `digits` digits (1 to 9): `with_fraction(50, 3)` is `.050`.
    pub fn with_fraction(self, fraction: u32, digits: u8) -> Option<Time> {
        let fits = (1..=9).contains(&digits) && u64::from(fraction) < 10u64.pow(u32::from(digits));
        fits.then_some(Time {
            fraction,
            fraction_digits: digits,
            ..self
        })
    }

    pub fn hour(self) -> u8 {
        self.hour
    }

    pub fn minute(self) -> u8 {
        self.minute
    }

    pub fn second(self) -> u8 {
        self.second
    }

    /// The fraction of a second in nanoseconds.
    pub fn nanosecond(self) -> u32 {
        if self.fraction_digits == 0 {
            0
        } else {
            self.fraction * 10u32.pow(9 - u32::from(self.fraction_digits))
        }
    }
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}:{:02}", self.hour, self.minute, self.second)?;
        if self.fraction_digits > 0 {
            write!(
                f,
                ".{:0width$}",
                self.fraction,
                width = usize::from(self.fraction_digits)
            )?;
        }
        Ok(())
    }
}

/// A date and time with a UTC offset, as SOQL writes them: `2024-01-15T10:30:00Z`,
/// `2024-01-15T10:30:00.000+01:00`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct DateTime {
    pub date: Date,
    pub time: Time,
    /// Offset from UTC in minutes; 0 prints as `Z`.
    pub offset_minutes: i16,
}

impl fmt::Debug for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}T{}", self.date, self.time)?;
        if self.offset_minutes == 0 {
            f.write_str("Z")
        } else {
            let sign = if self.offset_minutes < 0 { '-' } else { '+' };
            let abs = self.offset_minutes.unsigned_abs();
            write!(f, "{sign}{:02}:{:02}", abs / 60, abs % 60)
        }
    }
}

macro_rules! date_literals {
    ($($variant:ident => $name:literal, $takes_n:literal;)*) => {
        /// The names of SOQL's relative date literals.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "serde", derive(Serialize))]
        pub enum DateLiteralName {
            $($variant,)*
        }

        impl DateLiteralName {
            pub const ALL: &'static [DateLiteralName] = &[$(DateLiteralName::$variant,)*];

            pub fn name(self) -> &'static str {
                match self {
                    $(DateLiteralName::$variant => $name,)*
                }
            }

            /// Whether the literal needs a count, as in `LAST_N_DAYS:30`.
            pub fn takes_n(self) -> bool {
                match self {
                    $(DateLiteralName::$variant => $takes_n,)*
                }
            }

            pub fn from_name(name: &str) -> Option<DateLiteralName> {
                DateLiteralName::ALL.iter().copied().find(|d| d.name().eq_ignore_ascii_case(name))
            }
        }
    };
}

date_literals! {
    Yesterday => "YESTERDAY", false;
    Today => "TODAY", false;
    Tomorrow => "TOMORROW", false;
    LastWeek => "LAST_WEEK", false;
    ThisWeek => "THIS_WEEK", false;
    NextWeek => "NEXT_WEEK", false;
    LastMonth => "LAST_MONTH", false;
    ThisMonth => "THIS_MONTH", false;
    NextMonth => "NEXT_MONTH", false;
    Last90Days => "LAST_90_DAYS", false;
    Next90Days => "NEXT_90_DAYS", false;
    ThisQuarter => "THIS_QUARTER", false;
    LastQuarter => "LAST_QUARTER", false;
    NextQuarter => "NEXT_QUARTER", false;
    ThisYear => "THIS_YEAR", false;
    LastYear => "LAST_YEAR", false;
    NextYear => "NEXT_YEAR", false;
    ThisFiscalQuarter => "THIS_FISCAL_QUARTER", false;
    LastFiscalQuarter => "LAST_FISCAL_QUARTER", false;
    NextFiscalQuarter => "NEXT_FISCAL_QUARTER", false;
    ThisFiscalYear => "THIS_FISCAL_YEAR", false;
    LastFiscalYear => "LAST_FISCAL_YEAR", false;
    NextFiscalYear => "NEXT_FISCAL_YEAR", false;
    LastNDays => "LAST_N_DAYS", true;
    NextNDays => "NEXT_N_DAYS", true;
    NDaysAgo => "N_DAYS_AGO", true;
    LastNWeeks => "LAST_N_WEEKS", true;
    NextNWeeks => "NEXT_N_WEEKS", true;
    NWeeksAgo => "N_WEEKS_AGO", true;
    LastNMonths => "LAST_N_MONTHS", true;
    NextNMonths => "NEXT_N_MONTHS", true;
    NMonthsAgo => "N_MONTHS_AGO", true;
    LastNQuarters => "LAST_N_QUARTERS", true;
    NextNQuarters => "NEXT_N_QUARTERS", true;
    NQuartersAgo => "N_QUARTERS_AGO", true;
    LastNYears => "LAST_N_YEARS", true;
    NextNYears => "NEXT_N_YEARS", true;
    NYearsAgo => "N_YEARS_AGO", true;
    LastNFiscalQuarters => "LAST_N_FISCAL_QUARTERS", true;
    NextNFiscalQuarters => "NEXT_N_FISCAL_QUARTERS", true;
    NFiscalQuartersAgo => "N_FISCAL_QUARTERS_AGO", true;
    LastNFiscalYears => "LAST_N_FISCAL_YEARS", true;
    NextNFiscalYears => "NEXT_N_FISCAL_YEARS", true;
    NFiscalYearsAgo => "N_FISCAL_YEARS_AGO", true;
}

/// A relative date literal: `TODAY`, or `LAST_N_DAYS:30` (then `n` is `Some(30)`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct DateLiteral {
    pub name: DateLiteralName,
    pub n: Option<u32>,
}

impl fmt::Debug for DateLiteral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for DateLiteral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name.name())?;
        if let Some(n) = self.n {
            write!(f, ":{n}")?;
        }
        Ok(())
    }
}

/// A WHERE or HAVING condition.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize),
    serde(tag = "type", rename_all = "snake_case")
)]
pub enum Condition {
    Comparison(Comparison),
    /// Two or more conditions joined by AND.
    And {
        operands: Vec<Condition>,
        span: Span,
    },
    /// Two or more conditions joined by OR.
    Or {
        operands: Vec<Condition>,
        span: Span,
    },
    Not {
        operand: Box<Condition>,
        span: Span,
    },
    /// A condition that could not be parsed; the parse's errors say why.
    Error {
        span: Span,
    },
}

impl Condition {
    pub fn span(&self) -> Span {
        match self {
            Condition::Comparison(c) => c.span,
            Condition::And { span, .. }
            | Condition::Or { span, .. }
            | Condition::Not { span, .. }
            | Condition::Error { span } => *span,
        }
    }
}

/// `lhs op rhs`: `Name = 'Acme'`, `Id IN (SELECT AccountId FROM Contact)`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Comparison {
    pub lhs: Expr,
    pub op: Operator,
    pub rhs: Operand,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum Operator {
    Eq,
    /// `!=`, also written `<>`.
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    In,
    NotIn,
    Includes,
    Excludes,
}

impl Operator {
    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Eq => "=",
            Operator::Ne => "!=",
            Operator::Lt => "<",
            Operator::Le => "<=",
            Operator::Gt => ">",
            Operator::Ge => ">=",
            Operator::Like => "LIKE",
            Operator::In => "IN",
            Operator::NotIn => "NOT IN",
            Operator::Includes => "INCLUDES",
            Operator::Excludes => "EXCLUDES",
        }
    }
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize),
    serde(tag = "type", rename_all = "snake_case")
)]
pub enum Operand {
    Value(Literal),
    /// A parenthesised list for IN, NOT IN, INCLUDES and EXCLUDES.
    List {
        values: Vec<Literal>,
        span: Span,
    },
    /// A semi-join or anti-join: `IN (SELECT AccountId FROM Contact)`.
    Subquery {
        query: Box<Query>,
        span: Span,
    },
    /// The pattern of a LIKE comparison.
    Pattern {
        pattern: LikePattern,
        span: Span,
    },
}

impl Operand {
    pub fn span(&self) -> Span {
        match self {
            Operand::Value(l) => l.span,
            Operand::List { span, .. }
            | Operand::Subquery { span, .. }
            | Operand::Pattern { span, .. } => *span,
        }
    }
}

/// `USING SCOPE x`, `USING LOOKUP Object.Field`, and in SOSL `USING ListView = name`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize),
    serde(tag = "type", rename_all = "snake_case")
)]
pub enum Using {
    Scope { scope: Ident, span: Span },
    Lookup { field: FieldPath, span: Span },
    ListView { name: Ident, span: Span },
}

/// A WITH clause.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct With {
    pub kind: WithKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize),
    serde(tag = "type", rename_all = "snake_case")
)]
pub enum WithKind {
    SecurityEnforced,
    UserMode,
    SystemMode,
    /// `WITH DATA CATEGORY Geography__c AT usa__c AND Product__c BELOW phones__c`.
    DataCategory {
        filters: Vec<DataCategoryFilter>,
    },
    /// SOSL `WITH HIGHLIGHT`.
    Highlight,
    /// SOSL `WITH SNIPPET` with optional `(target_length=120)`.
    Snippet {
        params: Vec<Param>,
    },
    /// `WITH RecordVisibilityContext (maxDescriptorPerRecord=100, ...)`.
    RecordVisibilityContext {
        params: Vec<Param>,
    },
    /// `WITH name = value` or `WITH name IN (...)`: SOSL's DIVISION, METADATA, NETWORK,
    /// PRICEBOOKID and SPELL_CORRECTION, and SOQL's `UserId`. The name is one of
    /// [`WITH_PARAMETERS`] (compared without case).
    Parameter {
        name: Ident,
        value: Operand,
    },
}

/// The `WITH name = value` parameters the grammar knows.
pub const WITH_PARAMETERS: &[&str] = &[
    "DIVISION",
    "METADATA",
    "NETWORK",
    "PRICEBOOKID",
    "SPELL_CORRECTION",
    "UserId",
];

/// `name=value` inside WITH SNIPPET or WITH RecordVisibilityContext.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Param {
    pub name: Ident,
    pub value: Literal,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct DataCategoryFilter {
    pub group: Ident,
    pub selector: CategorySelector,
    pub categories: Vec<Ident>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum CategorySelector {
    At,
    Above,
    Below,
    AboveOrBelow,
}

impl CategorySelector {
    pub fn keyword(self) -> &'static str {
        match self {
            CategorySelector::At => "AT",
            CategorySelector::Above => "ABOVE",
            CategorySelector::Below => "BELOW",
            CategorySelector::AboveOrBelow => "ABOVE_OR_BELOW",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct GroupBy {
    pub kind: GroupByKind,
    pub items: Vec<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum GroupByKind {
    Plain,
    Rollup,
    Cube,
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct OrderItem {
    pub expr: Expr,
    /// `None` when neither ASC nor DESC was written (Salesforce sorts ascending).
    pub direction: Option<Direction>,
    /// `None` when no NULLS clause was written.
    pub nulls: Option<Nulls>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum Direction {
    Asc,
    Desc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum Nulls {
    First,
    Last,
}

/// A LIMIT or OFFSET count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Count {
    pub value: u64,
    pub span: Span,
}

/// `name = value` in a BIND clause.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Binding {
    pub field: Ident,
    pub value: Literal,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum ForClause {
    View,
    Reference,
    Update,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum UpdateClause {
    Tracking,
    Viewstat,
}

/// A SOSL search: `FIND {term} IN NAME FIELDS RETURNING Account(Id, Name) LIMIT 20`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Search {
    pub term: SearchTerm,
    pub scope: Option<SearchScope>,
    pub returning: Vec<Returning>,
    pub with: Vec<With>,
    /// `USING ADVANCED SEARCH`, `USING PHRASE SEARCH`: the word between USING and SEARCH.
    pub search_mode: Option<Ident>,
    pub limit: Option<Count>,
    pub update: Vec<UpdateClause>,
    pub span: Span,
}

/// The text between the braces of `FIND {...}`, kept exactly as written (escapes included), and
/// its parsed structure.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct SearchTerm {
    pub raw: String,
    pub expr: SearchExpr,
    pub span: Span,
}

/// `IN ALL FIELDS` and the other search groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "snake_case"))]
pub enum SearchScope {
    All,
    Name,
    Email,
    Phone,
    Sidebar,
}

impl SearchScope {
    pub fn keyword(self) -> &'static str {
        match self {
            SearchScope::All => "ALL",
            SearchScope::Name => "NAME",
            SearchScope::Email => "EMAIL",
            SearchScope::Phone => "PHONE",
            SearchScope::Sidebar => "SIDEBAR",
        }
    }
}

impl Returning {
    /// An object with no field list and no filters: `RETURNING Account`.
    pub fn object(object: Ident) -> Returning {
        let span = object.span;
        Returning {
            object,
            fields: Vec::new(),
            where_clause: None,
            order_by: Vec::new(),
            limit: None,
            offset: None,
            using: None,
            bind: Vec::new(),
            span,
        }
    }
}

/// One object in a RETURNING clause, with its optional field list and filters.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Returning {
    pub object: Ident,
    pub fields: Vec<SelectItem>,
    pub where_clause: Option<Condition>,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<Count>,
    pub offset: Option<Count>,
    pub using: Option<Using>,
    pub bind: Vec<Binding>,
    pub span: Span,
}
