//! The catalog as four SQL tables with keys: `objects`, `fields`, `relationships` and
//! `picklist_values`, written to SQLite (feature `sqlite`) or PostgreSQL (feature `postgres`).
//! The sync engine writes the same tables beside the data it replicates, so they are defined
//! once, here, for both databases.
//!
//! Writing replaces the tables' rows in one transaction: a reader sees the old catalog or the
//! new one, never a mix.

#![cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]

use crate::model::Catalog;
use crate::sql::{Dialect, column_type};

/// A column's kind, spelled per database.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Text,
    Int,
    Bool,
}

/// A value in a row.
#[derive(Debug, Clone)]
pub(crate) enum Cell {
    Null,
    Text(String),
    Int(i64),
    Bool(bool),
}

/// One table: its name, columns, key and rows.
pub(crate) struct Table {
    pub(crate) name: &'static str,
    /// Name, kind, whether it may be null.
    pub(crate) columns: &'static [(&'static str, Kind, bool)],
    /// The primary key and foreign keys, as SQL clauses.
    pub(crate) keys: &'static [&'static str],
    pub(crate) rows: Vec<Vec<Cell>>,
}

impl Table {
    pub(crate) fn create_sql(&self, dialect: Dialect) -> String {
        let mut columns: Vec<String> = self
            .columns
            .iter()
            .map(|(name, kind, nullable)| {
                let sql = match (kind, dialect) {
                    (Kind::Text, _) => "TEXT",
                    (Kind::Int, Dialect::Sqlite) => "INTEGER",
                    (Kind::Int, Dialect::Postgres) => "BIGINT",
                    (Kind::Bool, Dialect::Sqlite) => "INTEGER",
                    (Kind::Bool, Dialect::Postgres) => "BOOLEAN",
                };
                format!("{name} {sql}{}", if *nullable { "" } else { " NOT NULL" })
            })
            .collect();
        columns.extend(self.keys.iter().map(|k| k.to_string()));
        format!(
            "CREATE TABLE IF NOT EXISTS {} ({}){}",
            self.name,
            columns.join(", "),
            if dialect == Dialect::Sqlite {
                " STRICT"
            } else {
                ""
            }
        )
    }

    pub(crate) fn insert_sql(&self, dialect: Dialect) -> String {
        let names: Vec<&str> = self.columns.iter().map(|c| c.0).collect();
        let marks: Vec<String> = (1..=names.len())
            .map(|i| match dialect {
                Dialect::Sqlite => format!("?{i}"),
                Dialect::Postgres => format!("${i}"),
            })
            .collect();
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            self.name,
            names.join(", "),
            marks.join(", ")
        )
    }
}

fn text(s: &str) -> Cell {
    Cell::Text(s.to_string())
}

fn opt(s: &Option<String>) -> Cell {
    s.as_ref().map(|s| text(s)).unwrap_or(Cell::Null)
}

/// The four tables, in the order they are created (parents before children).
pub(crate) fn tables(catalog: &Catalog) -> Vec<Table> {
    use Kind::*;
    let mut objects = Table {
        name: "objects",
        columns: &[
            ("name", Text, false),
            ("label", Text, false),
            ("label_plural", Text, false),
            ("key_prefix", Text, true),
            ("custom", Bool, false),
            ("queryable", Bool, false),
            ("createable", Bool, false),
            ("updateable", Bool, false),
            ("deletable", Bool, false),
            ("replicable", Bool, false),
            ("searchable", Bool, false),
            ("record_count", Int, true),
            ("record_types", Text, true),
            ("extracted_at", Text, false),
        ],
        keys: &["PRIMARY KEY (name)"],
        rows: Vec::new(),
    };
    let mut fields = Table {
        name: "fields",
        columns: &[
            ("object", Text, false),
            ("name", Text, false),
            ("position", Int, false),
            ("label", Text, false),
            ("type", Text, false),
            ("length", Int, false),
            ("precision", Int, false),
            ("scale", Int, false),
            ("digits", Int, false),
            ("nillable", Bool, false),
            ("required_on_create", Bool, false),
            ("is_unique", Bool, false),
            ("case_sensitive", Bool, false),
            ("external_id", Bool, false),
            ("custom", Bool, false),
            ("calculated", Bool, false),
            ("formula", Text, true),
            ("auto_number", Bool, false),
            ("default_value", Text, true),
            ("default_formula", Text, true),
            ("help_text", Text, true),
            ("createable", Bool, false),
            ("updateable", Bool, false),
            ("filterable", Bool, false),
            ("sortable", Bool, false),
            ("groupable", Bool, false),
            ("reference_to", Text, true),
            ("relationship_name", Text, true),
            ("cascade_delete", Bool, false),
            ("restricted_picklist", Bool, false),
            ("controller", Text, true),
            ("compound_field", Text, true),
            ("sqlite_type", Text, true),
            ("postgres_type", Text, true),
        ],
        keys: &[
            "PRIMARY KEY (object, name)",
            "FOREIGN KEY (object) REFERENCES objects (name)",
        ],
        rows: Vec::new(),
    };
    let mut relationships = Table {
        name: "relationships",
        columns: &[
            ("child", Text, false),
            ("field", Text, false),
            ("parent", Text, false),
            ("kind", Text, false),
            ("relationship_name", Text, true),
            ("child_relationship_name", Text, true),
            ("polymorphic", Bool, false),
            ("cascade_delete", Bool, false),
        ],
        keys: &[
            "PRIMARY KEY (child, field, parent)",
            "FOREIGN KEY (child, field) REFERENCES fields (object, name)",
        ],
        rows: Vec::new(),
    };
    let mut picklist_values = Table {
        name: "picklist_values",
        columns: &[
            ("object", Text, false),
            ("field", Text, false),
            ("value", Text, false),
            ("position", Int, false),
            ("label", Text, false),
            ("active", Bool, false),
            ("is_default", Bool, false),
            ("valid_for", Text, true),
        ],
        keys: &[
            "PRIMARY KEY (object, field, value)",
            "FOREIGN KEY (object, field) REFERENCES fields (object, name)",
        ],
        rows: Vec::new(),
    };
    for o in &catalog.objects {
        let record_types: Vec<&str> = o
            .record_types
            .iter()
            .filter(|r| !r.master)
            .map(|r| r.developer_name.as_str())
            .collect();
        objects.rows.push(vec![
            text(&o.name),
            text(&o.label),
            text(&o.label_plural),
            opt(&o.key_prefix),
            Cell::Bool(o.custom),
            Cell::Bool(o.operations.queryable),
            Cell::Bool(o.operations.createable),
            Cell::Bool(o.operations.updateable),
            Cell::Bool(o.operations.deletable),
            Cell::Bool(o.operations.replicable),
            Cell::Bool(o.operations.searchable),
            o.record_count
                .map(|n| Cell::Int(n as i64))
                .unwrap_or(Cell::Null),
            if record_types.is_empty() {
                Cell::Null
            } else {
                text(&record_types.join(","))
            },
            text(&catalog.extracted_at),
        ]);
        for (position, f) in o.fields.iter().enumerate() {
            fields.rows.push(vec![
                text(&o.name),
                text(&f.name),
                Cell::Int(position as i64),
                text(&f.label),
                text(f.field_type.as_str()),
                Cell::Int(f.length.into()),
                Cell::Int(f.precision.into()),
                Cell::Int(f.scale.into()),
                Cell::Int(f.digits.into()),
                Cell::Bool(f.nillable),
                Cell::Bool(f.required_on_create),
                Cell::Bool(f.unique),
                Cell::Bool(f.case_sensitive),
                Cell::Bool(f.external_id),
                Cell::Bool(f.custom),
                Cell::Bool(f.calculated),
                opt(&f.formula),
                Cell::Bool(f.auto_number),
                opt(&f.default_value),
                opt(&f.default_formula),
                opt(&f.help_text),
                Cell::Bool(f.createable),
                Cell::Bool(f.updateable),
                Cell::Bool(f.filterable),
                Cell::Bool(f.sortable),
                Cell::Bool(f.groupable),
                opt(&f.reference.as_ref().map(|r| r.targets.join(","))),
                opt(&f
                    .reference
                    .as_ref()
                    .and_then(|r| r.relationship_name.clone())),
                Cell::Bool(f.reference.as_ref().is_some_and(|r| r.cascade_delete)),
                Cell::Bool(f.picklist.as_ref().is_some_and(|p| p.restricted)),
                opt(&f.picklist.as_ref().and_then(|p| p.controller.clone())),
                opt(&f.compound_field),
                opt(&column_type(f, Dialect::Sqlite)),
                opt(&column_type(f, Dialect::Postgres)),
            ]);
            if let Some(picklist) = &f.picklist {
                let mut seen = std::collections::HashSet::new();
                for (position, v) in picklist.values.iter().enumerate() {
                    // The key is the value; an org never lists one twice, but a bad document
                    // must not break the write.
                    if !seen.insert(v.value.as_str()) {
                        continue;
                    }
                    picklist_values.rows.push(vec![
                        text(&o.name),
                        text(&f.name),
                        text(&v.value),
                        Cell::Int(position as i64),
                        text(&v.label),
                        Cell::Bool(v.active),
                        Cell::Bool(v.default),
                        if v.valid_for.is_empty() {
                            Cell::Null
                        } else {
                            text(&v.valid_for.join(";"))
                        },
                    ]);
                }
            }
        }
    }
    for r in catalog.relationships() {
        let cascade = catalog
            .object(&r.child)
            .and_then(|o| o.field(&r.field))
            .and_then(|f| f.reference.as_ref())
            .is_some_and(|reference| reference.cascade_delete);
        relationships.rows.push(vec![
            text(&r.child),
            text(&r.field),
            text(&r.parent),
            text(r.kind.as_str()),
            opt(&r.relationship_name),
            opt(&r.child_relationship_name),
            Cell::Bool(r.polymorphic),
            Cell::Bool(cascade),
        ]);
    }
    vec![objects, fields, relationships, picklist_values]
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use std::path::Path;

    use rusqlite::types::{ToSqlOutput, Value};

    use super::{Cell, tables};
    use crate::error::{Error, ErrorKind, Result};
    use crate::model::Catalog;
    use crate::sql::Dialect;

    fn database(what: &str, e: rusqlite::Error) -> Error {
        Error::new(ErrorKind::Database, what.to_string()).with_source(e)
    }

    impl rusqlite::ToSql for Cell {
        fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
            Ok(ToSqlOutput::Owned(match self {
                Cell::Null => Value::Null,
                Cell::Text(s) => Value::Text(s.clone()),
                Cell::Int(i) => Value::Integer(*i),
                Cell::Bool(b) => Value::Integer(i64::from(*b)),
            }))
        }
    }

    impl Catalog {
        /// Writes the catalog tables into the SQLite database at `path` (created if missing),
        /// replacing their rows in one transaction. This blocks; from async code, call it in
        /// `spawn_blocking`.
        pub fn write_sqlite(&self, path: &Path) -> Result<()> {
            let mut db = rusqlite::Connection::open(path).map_err(|e| {
                database(
                    &format!("cannot open the SQLite database {}", path.display()),
                    e,
                )
            })?;
            let tx = db
                .transaction()
                .map_err(|e| database("cannot start a transaction", e))?;
            let tables = tables(self);
            for table in &tables {
                tx.execute(&table.create_sql(Dialect::Sqlite), [])
                    .map_err(|e| database(&format!("cannot create the {} table", table.name), e))?;
            }
            for table in tables.iter().rev() {
                tx.execute(&format!("DELETE FROM {}", table.name), [])
                    .map_err(|e| database(&format!("cannot empty the {} table", table.name), e))?;
            }
            for table in &tables {
                let mut insert = tx
                    .prepare(&table.insert_sql(Dialect::Sqlite))
                    .map_err(|e| database(&format!("cannot write the {} table", table.name), e))?;
                for row in &table.rows {
                    insert
                        .execute(rusqlite::params_from_iter(row.iter()))
                        .map_err(|e| {
                            database(&format!("cannot write the {} table", table.name), e)
                        })?;
                }
            }
            tx.commit()
                .map_err(|e| database("cannot commit the catalog tables", e))?;
            tracing::info!(path = %path.display(), objects = self.objects.len(), "catalog tables written to SQLite");
            Ok(())
        }
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use tokio_postgres::types::ToSql;

    use super::{Cell, Kind, tables};
    use crate::error::{Error, ErrorKind, Result};
    use crate::model::Catalog;
    use crate::sql::Dialect;

    fn database(what: &str, e: tokio_postgres::Error) -> Error {
        Error::new(ErrorKind::Database, what.to_string()).with_source(e)
    }

    impl Catalog {
        /// Writes the catalog tables into the PostgreSQL database `url`
        /// (`postgres://user@host/db`; no TLS), replacing their rows in one transaction.
        pub async fn write_postgres(&self, url: &str) -> Result<()> {
            let (mut client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .map_err(|e| database("cannot connect to PostgreSQL", e))?;
            let task = tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(error = %e, "the PostgreSQL connection ended with an error");
                }
            });
            let result = write(&mut client, self).await;
            drop(client);
            let _ = task.await;
            result
        }
    }

    async fn write(client: &mut tokio_postgres::Client, catalog: &Catalog) -> Result<()> {
        let tx = client
            .transaction()
            .await
            .map_err(|e| database("cannot start a transaction", e))?;
        let tables = tables(catalog);
        for table in &tables {
            tx.batch_execute(&table.create_sql(Dialect::Postgres))
                .await
                .map_err(|e| database(&format!("cannot create the {} table", table.name), e))?;
        }
        for table in tables.iter().rev() {
            tx.batch_execute(&format!("DELETE FROM {}", table.name))
                .await
                .map_err(|e| database(&format!("cannot empty the {} table", table.name), e))?;
        }
        for table in &tables {
            let insert = tx
                .prepare(&table.insert_sql(Dialect::Postgres))
                .await
                .map_err(|e| database(&format!("cannot write the {} table", table.name), e))?;
            for row in &table.rows {
                let values: Vec<Box<dyn ToSql + Sync + Send>> = row
                    .iter()
                    .zip(table.columns)
                    .map(|(cell, (_, kind, _))| -> Box<dyn ToSql + Sync + Send> {
                        match cell {
                            Cell::Null => match kind {
                                Kind::Text => Box::new(Option::<String>::None),
                                Kind::Int => Box::new(Option::<i64>::None),
                                Kind::Bool => Box::new(Option::<bool>::None),
                            },
                            Cell::Text(s) => Box::new(s.clone()),
                            Cell::Int(i) => Box::new(*i),
                            Cell::Bool(b) => Box::new(*b),
                        }
                    })
                    .collect();
                let params: Vec<&(dyn ToSql + Sync)> = values
                    .iter()
                    .map(|v| v.as_ref() as &(dyn ToSql + Sync))
                    .collect();
                tx.execute(&insert, &params)
                    .await
                    .map_err(|e| database(&format!("cannot write the {} table", table.name), e))?;
            }
        }
        tx.commit()
            .await
            .map_err(|e| database("cannot commit the catalog tables", e))?;
        tracing::info!(
            objects = catalog.objects.len(),
            "catalog tables written to PostgreSQL"
        );
        Ok(())
    }
}
