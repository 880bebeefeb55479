//! The one mapping from Salesforce field types to SQLite and PostgreSQL column types, and the
//! text form each value takes in those columns. The catalog tables, the sync engine and the
//! push path all use it; the README's table is generated from [`mapping`] (a test keeps them
//! equal).
//!
//! Rules: currency and percent keep exact decimals (canonical decimal text in SQLite,
//! `numeric(p,s)` in PostgreSQL); datetimes keep milliseconds and UTC; compound fields
//! (address, location) get no column of their own, because their components are fields of
//! their own (`BillingStreet`, `Site__Latitude__s`); base64 content is not stored inline, only
//! the path the API serves it at.

use serde_json::Value;

use crate::model::{Field, FieldType};

/// A SQL database flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite, with STRICT tables (column types `TEXT`, `INTEGER`, `REAL`).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// How one Salesforce type is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mapping {
    /// The SQLite column type, or `None` when the type gets no column.
    pub sqlite: Option<&'static str>,
    /// The PostgreSQL column type (`numeric(p,s)` takes the field's precision and scale), or
    /// `None` when the type gets no column.
    pub postgres: Option<&'static str>,
    /// The value's form in the column.
    pub stored_as: &'static str,
}

/// How values of `field_type` are stored.
pub fn mapping(field_type: &FieldType) -> Mapping {
    let m = |sqlite, postgres, stored_as| Mapping {
        sqlite: Some(sqlite),
        postgres: Some(postgres),
        stored_as,
    };
    match field_type {
        FieldType::Id | FieldType::Reference => m(
            "TEXT",
            "varchar(18)",
            "the 18-character id (case-sensitive)",
        ),
        FieldType::String
        | FieldType::Textarea
        | FieldType::Combobox
        | FieldType::Email
        | FieldType::Phone
        | FieldType::Url
        | FieldType::EncryptedString => m("TEXT", "text", "the text as the API returns it"),
        FieldType::Picklist => m(
            "TEXT",
            "text",
            "the value; the catalog lists the allowed values",
        ),
        FieldType::Multipicklist => m("TEXT", "text", "the values joined by `;` (`A;B`)"),
        FieldType::Boolean => m("INTEGER", "boolean", "0 or 1 in SQLite"),
        FieldType::Int => m("INTEGER", "integer", "the integer"),
        FieldType::Long => m("INTEGER", "bigint", "the integer"),
        FieldType::Double => m(
            "REAL",
            "double precision",
            "a binary float (`numeric(p,s)` in PostgreSQL when the field has a precision)",
        ),
        FieldType::Currency => m(
            "TEXT",
            "numeric(p,s)",
            "an exact decimal (`1234.5`), never a float",
        ),
        FieldType::Percent => m("TEXT", "numeric(p,s)", "an exact decimal, 0 to 100"),
        FieldType::Date => m("TEXT", "date", "`YYYY-MM-DD`"),
        FieldType::DateTime => m(
            "TEXT",
            "timestamptz(3)",
            "UTC with milliseconds: `YYYY-MM-DDTHH:MM:SS.sssZ`",
        ),
        FieldType::Time => m("TEXT", "time(3)", "`HH:MM:SS.sss`"),
        FieldType::Base64 => m(
            "TEXT",
            "text",
            "not inline: the path the API serves the content at, fetched on demand",
        ),
        FieldType::Address | FieldType::Location => Mapping {
            sqlite: None,
            postgres: None,
            stored_as: "no column: its components are fields of their own",
        },
        FieldType::AnyType => m("TEXT", "text", "the value as text"),
        FieldType::Json | FieldType::ComplexValue => m("TEXT", "jsonb", "JSON text"),
        FieldType::DataCategoryGroupReference | FieldType::Other(_) => {
            m("TEXT", "text", "the value as text")
        }
    }
}

/// The column type of `field` in `dialect`, or `None` for a compound field.
pub fn column_type(field: &Field, dialect: Dialect) -> Option<String> {
    let mapping = mapping(&field.field_type);
    match dialect {
        Dialect::Sqlite => mapping.sqlite.map(str::to_string),
        Dialect::Postgres => {
            let postgres = mapping.postgres?;
            Some(match field.field_type {
                FieldType::Currency | FieldType::Percent | FieldType::Double
                    if field.precision > 0 =>
                {
                    format!("numeric({},{})", field.precision, field.scale)
                }
                FieldType::Currency | FieldType::Percent => "numeric".to_string(),
                _ => postgres.to_string(),
            })
        }
    }
}

/// The mapping of every known type as a Markdown table (the README shows it).
pub fn mapping_table_markdown() -> String {
    let mut out = String::from(
        "| Salesforce type | SQLite (STRICT) | PostgreSQL | stored as |\n|---|---|---|---|\n",
    );
    for field_type in FieldType::KNOWN {
        let m = mapping(&field_type);
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            field_type,
            m.sqlite
                .map(|t| format!("`{t}`"))
                .unwrap_or_else(|| "—".into()),
            m.postgres
                .map(|t| format!("`{t}`"))
                .unwrap_or_else(|| "—".into()),
            m.stored_as
        ));
    }
    out
}

/// A value as the REST API returns it (JSON) in its stored text form: what goes into the
/// column (SQLite binds integers and reals from it). `None` for null, and for compound values,
/// which have no column.
pub fn to_text(field_type: &FieldType, value: &Value) -> Option<String> {
    match (field_type, value) {
        (_, Value::Null) => None,
        (t, _) if t.is_compound() => None,
        (FieldType::Boolean, Value::Bool(b)) => Some(if *b { "1" } else { "0" }.to_string()),
        (FieldType::Currency | FieldType::Percent | FieldType::Double, Value::Number(n)) => {
            Some(decimal(n))
        }
        (FieldType::Int | FieldType::Long, Value::Number(n)) => Some(match n.as_i64() {
            Some(i) => i.to_string(),
            None => decimal(n),
        }),
        (FieldType::DateTime, Value::String(s)) => Some(utc_millis(s)),
        (FieldType::Time, Value::String(s)) => Some(s.trim_end_matches('Z').to_string()),
        (_, Value::String(s)) => Some(s.clone()),
        (_, other) => Some(other.to_string()),
    }
}

/// The JSON value the REST API would return for a stored text form: the inverse of
/// [`to_text`].
pub fn from_text(field_type: &FieldType, text: Option<&str>) -> Value {
    let Some(text) = text else {
        return Value::Null;
    };
    match field_type {
        FieldType::Boolean => Value::Bool(matches!(text, "1" | "true" | "t")),
        FieldType::Int | FieldType::Long => text
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(text.to_string())),
        FieldType::Currency | FieldType::Percent | FieldType::Double => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(text.to_string())),
        FieldType::DateTime => Value::String(match text.strip_suffix('Z') {
            Some(body) => format!("{body}+0000"),
            None => text.to_string(),
        }),
        FieldType::Time => Value::String(format!("{text}Z")),
        FieldType::Json | FieldType::ComplexValue => {
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
        }
        _ => Value::String(text.to_string()),
    }
}

/// A PostgreSQL expression reading `column` (already quoted) back as the stored text form.
pub fn postgres_read_expr(field_type: &FieldType, column: &str) -> String {
    match field_type {
        FieldType::Boolean => format!("CASE WHEN {column} THEN '1' ELSE '0' END"),
        FieldType::DateTime => {
            format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
        }
        FieldType::Time => format!("to_char(date '2000-01-01' + {column}, 'HH24:MI:SS.MS')"),
        _ => format!("{column}::text"),
    }
}

/// A number as a plain decimal: no exponent, no trailing zeros (`1.0E7` → `10000000`).
fn decimal(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    let Some(f) = n.as_f64() else {
        return n.to_string();
    };
    // `{}` on f64 prints the shortest text that reads back as the same number, without an
    // exponent.
    let text = format!("{f}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// `2024-01-15T10:30:00.000+0000` (or any offset, or `Z`) as UTC with milliseconds and `Z`.
fn utc_millis(text: &str) -> String {
    chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(text))
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string()
        })
        .unwrap_or_else(|_| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_keep_exact_decimals_milliseconds_and_utc() {
        let check = |t: FieldType, value: Value, text: &str| {
            assert_eq!(to_text(&t, &value).as_deref(), Some(text), "{t}");
            assert_eq!(from_text(&t, Some(text)), value, "{t}");
        };
        check(FieldType::Currency, json!(1234.5), "1234.5");
        check(FieldType::Percent, json!(12.25), "12.25");
        check(FieldType::Boolean, json!(true), "1");
        check(FieldType::Int, json!(42), "42");
        check(
            FieldType::DateTime,
            json!("2024-01-15T10:30:00.123+0000"),
            "2024-01-15T10:30:00.123Z",
        );
        check(FieldType::Time, json!("10:30:00.000Z"), "10:30:00.000");
        check(FieldType::Date, json!("2024-01-15"), "2024-01-15");
        check(FieldType::Multipicklist, json!("A;B"), "A;B");
        assert_eq!(
            to_text(&FieldType::DateTime, &json!("2024-01-15T12:30:00.000+0200")).as_deref(),
            Some("2024-01-15T10:30:00.000Z")
        );
        assert_eq!(
            to_text(&FieldType::Currency, &json!(1.0e7)).as_deref(),
            Some("10000000")
        );
        assert_eq!(
            to_text(&FieldType::Address, &json!({"city": "Paris"})),
            None
        );
        assert_eq!(to_text(&FieldType::String, &Value::Null), None);
    }

    #[test]
    fn the_readme_shows_the_mapping_table() {
        let readme = include_str!("../README.md");
        assert!(
            readme.contains(&mapping_table_markdown()),
            "README.md's table differs from:\n{}",
            mapping_table_markdown()
        );
    }

    #[test]
    fn every_known_type_has_a_row_and_compounds_have_no_column() {
        let table = mapping_table_markdown();
        for t in FieldType::KNOWN {
            assert!(table.contains(&format!("| `{t}` |")), "{t}");
        }
        assert_eq!(mapping(&FieldType::Location).sqlite, None);
        assert_eq!(
            mapping(&FieldType::Other("vector".into())).sqlite,
            Some("TEXT")
        );
    }
}
