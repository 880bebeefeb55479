//! The catalog of a Salesforce org: one typed model of its objects, fields, picklists and
//! relationships, read in few API calls, and the outputs made from it.
//!
//! ```no_run
//! # async fn demo(client: forcebridge_client::Client) -> forcebridge_catalog::Result<()> {
//! use forcebridge_catalog::{Catalog, Crawl, Selection};
//!
//! let selection = Selection::all().exclude("*History")?.queryable_only();
//! let extract = Catalog::extract(&client, &selection, |_progress| {}).await?;
//! println!("{} objects in {} API calls", extract.catalog.objects.len(), extract.report.api_calls);
//! let dictionary = extract.catalog.to_markdown();
//! let diagram = extract.catalog.to_mermaid(&Crawl::from("Account", 1))?;
//! # let _ = (dictionary, diagram);
//! # Ok(()) }
//! ```
//!
//! - **Extraction** ([`Catalog::extract`], [`Catalog::refresh`]): the global describe once,
//!   describes in composite requests of 25 (revalidated with `If-Modified-Since` against an
//!   earlier catalog), record counts in one call: at most `ceil(N / 25) + 2` API calls for N
//!   objects, all through the caller's client (read-only mode and API budget hold).
//! - **Model** ([`Catalog`], [`Object`], [`Field`], [`Relationship`], ...): plain data.
//! - **SQL types** ([`sql`]): the one mapping from Salesforce types to SQLite and PostgreSQL
//!   columns, and the text form of values in them.
//! - **Outputs**: a versioned JSON document with a JSON Schema ([`Catalog::to_json`],
//!   [`SCHEMA_V1`]), a Markdown data dictionary, a Mermaid `erDiagram`, an SVG ER picture, the
//!   catalog tables in SQLite or PostgreSQL, and a diff of two catalogs ([`diff()`]).
//!
//! | feature | adds |
//! |---------|------|
//! | `sqlite` | `Catalog::write_sqlite` (rusqlite with a bundled SQLite) |
//! | `postgres` | `Catalog::write_postgres` (tokio-postgres, no TLS) |
//!
//! The crate emits `tracing` events and never prints.

mod crawl;
mod diff;
mod document;
mod error;
mod extract;
mod markdown;
mod mermaid;
mod model;
mod selection;
pub mod sql;
mod svg;
mod tables;

pub use crawl::Crawl;
pub use diff::{Change, ChangeKind, diff, diff_to_json, diff_to_text, summary};
pub use document::{FORMAT, SCHEMA_V1, VERSION};
pub use error::{Error, ErrorKind, Result};
pub use extract::{Extract, ExtractReport, ObjectFailure, Progress};
pub use model::{
    Catalog, ChildRelationship, Field, FieldType, Object, Operations, Picklist, PicklistValue,
    RecordType, Reference, Relationship, RelationshipKind,
};
pub use selection::Selection;
