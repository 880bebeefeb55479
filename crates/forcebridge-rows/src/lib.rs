//! Salesforce query results as rows: records flattened into columns and written as an aligned
//! table, CSV, JSON or JSON lines, one record at a time, into any [`std::io::Write`].
//!
//! This crate decides how records look as rows; it never prints, draws progress or talks to
//! an org. What it wrote and what it could not show come back as data ([`Summary`],
//! [`Warning`]).
//!
//! - **Columns follow the query.** A table's and a CSV's columns are the SELECT list in its
//!   order ([`Columns::of_soql`]): fields, parents' fields as `Account.Name`, aggregates by
//!   alias or `expr0`, the fields of `TYPEOF` branches. Only what the list cannot name
//!   (`FIELDS(ALL)`, or records with no query) is found in the first [`SAMPLE`] records.
//!   An empty result still has its header.
//! - **Child subqueries are rows.** In a CSV, a record with child records (`SELECT Name,
//!   (SELECT LastName FROM Contacts) FROM Account`) gives one row per child record, with the
//!   parent's cells repeated and the child's columns named `Contacts.LastName`; a record with
//!   no child records gives one row with those columns empty. Several subqueries stack: each
//!   row holds one child record of one relationship. A table shows the count
//!   (`[2 records]`). Compound fields (addresses, locations) are one cell of JSON.
//! - **CSV is RFC 4180** (quoted where needed), so any CSV reader reads back every value.
//! - **Streaming.** JSON and JSON lines write each record as it comes, copying the org's
//!   compact JSON as it is; a CSV whose columns are all known writes each row as it comes; a
//!   table (and a CSV with columns to find) holds back only the first [`SAMPLE`] records.
//!   Nothing is allocated per cell.
//!
//! ```
//! use forcebridge_rows::{Columns, Format, RowWriter};
//!
//! let columns = Columns::of_soql("SELECT Name, Account.Name, (SELECT Subject FROM Cases) FROM Contact");
//! let mut csv = Vec::new();
//! let mut writer = RowWriter::new(Format::Csv, columns, &mut csv);
//! writer.write_json(r#"{"attributes":{"type":"Contact"},"Name":"Ada","Account":{"attributes":{"type":"Account"},"Name":"Acme, Inc."},
//!   "Cases":{"totalSize":2,"done":true,"records":[{"attributes":{"type":"Case"},"Subject":"Login"},{"attributes":{"type":"Case"},"Subject":"Bill"}]}}"#)?;
//! writer.write_json(r#"{"attributes":{"type":"Contact"},"Name":"Bo","Account":null,"Cases":null}"#)?;
//! let summary = writer.finish()?;
//! assert_eq!(
//!     String::from_utf8(csv).unwrap(),
//!     "Name,Account.Name,Cases.Subject\nAda,\"Acme, Inc.\",Login\nAda,\"Acme, Inc.\",Bill\nBo,,\n"
//! );
//! assert_eq!((summary.records, summary.rows), (2, 3));
//! # Ok::<(), forcebridge_rows::Error>(())
//! ```

mod columns;
mod error;
mod read;
mod writer;

pub use columns::Columns;
pub use error::{Error, ErrorKind, Result};
pub use writer::{Format, RowWriter, SAMPLE, Summary, Warning};
