//! The catalog as a Mermaid `erDiagram`: one entity per object with its key, name and
//! reference fields, and one line per relationship in crow's-foot notation (master-detail
//! `||--|{`, lookup `|o--o{`, one line per target of a polymorphic field).

use std::fmt::Write;

use crate::crawl::{Crawl, graph};
use crate::error::Result;
use crate::model::{Catalog, FieldType, RelationshipKind};

impl Catalog {
    /// The part of the catalog `crawl` chooses as a Mermaid `erDiagram`.
    pub fn to_mermaid(&self, crawl: &Crawl) -> Result<String> {
        let graph = graph(self, crawl)?;
        let mut out = String::from("erDiagram\n");
        for object in &graph.objects {
            let _ = writeln!(out, "    {} {{", object.name);
            for field in &object.fields {
                let key = if field.field_type == FieldType::Id {
                    "PK"
                } else if graph
                    .edges
                    .iter()
                    .any(|e| e.child == object.name && e.field == field.name)
                {
                    "FK"
                } else if field.external_id || field.unique {
                    "UK"
                } else {
                    continue;
                };
                let _ = writeln!(
                    out,
                    "        {} {} {key}",
                    mermaid_type(&field.field_type),
                    field.name
                );
            }
            let _ = writeln!(out, "    }}");
        }
        for edge in &graph.edges {
            let line = match edge.kind {
                RelationshipKind::MasterDetail => "||--|{",
                RelationshipKind::Lookup => "|o--o{",
            };
            let _ = writeln!(
                out,
                "    {} {line} {} : \"{}\"",
                edge.parent, edge.child, edge.field
            );
        }
        Ok(out)
    }
}

/// A type name Mermaid accepts (a word).
fn mermaid_type(field_type: &FieldType) -> String {
    field_type
        .as_str()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}
