//! The catalog as a data dictionary in Markdown: a summary, an index, and one section per
//! object with its properties, record types, a field table (type, required, description,
//! values, references) and the relationships that point to it.

use std::fmt::Write;

use crate::model::{Catalog, Field, Object};

impl Catalog {
    /// The catalog as a Markdown data dictionary.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# Data dictionary\n");
        let custom = self.objects.iter().filter(|o| o.custom).count();
        let fields: usize = self.objects.iter().map(|o| o.fields.len()).sum();
        let _ = writeln!(
            out,
            "{} ({} custom, {} standard), {}. Extracted {} with API version {}.\n",
            plural(self.objects.len(), "object"),
            custom,
            self.objects.len() - custom,
            plural(fields, "field"),
            self.extracted_at,
            self.api_version
        );
        let _ = writeln!(out, "| Object | Label | Kind | Records | Fields |");
        let _ = writeln!(out, "|---|---|---|---:|---:|");
        for o in &self.objects {
            let _ = writeln!(
                out,
                "| [{}](#{}) | {} | {} | {} | {} |",
                o.name,
                anchor(&o.name),
                cell(&o.label),
                if o.custom { "custom" } else { "standard" },
                o.record_count
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "—".into()),
                o.fields.len()
            );
        }
        for o in &self.objects {
            out.push('\n');
            object_section(&mut out, self, o);
        }
        out
    }
}

fn object_section(out: &mut String, catalog: &Catalog, o: &Object) {
    let _ = writeln!(out, "## {}\n", o.name);
    let _ = writeln!(
        out,
        "**{}** ({}), {} object{}{}.\n",
        o.label,
        o.label_plural,
        if o.custom { "custom" } else { "standard" },
        o.key_prefix
            .as_ref()
            .map(|p| format!(", key prefix `{p}`"))
            .unwrap_or_default(),
        o.record_count
            .map(|n| format!(", about {n} record{}", if n == 1 { "" } else { "s" }))
            .unwrap_or_default(),
    );
    let ops = o.operations;
    let allowed: Vec<&str> = [
        (ops.queryable, "query"),
        (ops.createable, "create"),
        (ops.updateable, "update"),
        (ops.deletable, "delete"),
        (ops.replicable, "replicate"),
        (ops.searchable, "search"),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| name)
    .collect();
    let _ = writeln!(
        out,
        "Allows: {}.\n",
        if allowed.is_empty() {
            "nothing".to_string()
        } else {
            allowed.join(", ")
        }
    );
    if !o.record_types.is_empty() {
        let names: Vec<String> = o
            .record_types
            .iter()
            .filter(|r| !r.master)
            .map(|r| {
                let mut name = format!("{} (`{}`)", r.name, r.developer_name);
                if r.default {
                    name.push_str(", default");
                }
                if !r.active {
                    name.push_str(", inactive");
                }
                name
            })
            .collect();
        let _ = writeln!(out, "Record types: {}.\n", names.join("; "));
    }
    let _ = writeln!(
        out,
        "| Field | Label | Type | Required | Description | Values and references |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for f in &o.fields {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            f.name,
            cell(&f.label),
            cell(&f.type_summary()),
            if f.required_on_create { "yes" } else { "" },
            cell(&description(f)),
            cell(&values(catalog, f)),
        );
    }
    if !o.child_relationships.is_empty() {
        let _ = writeln!(out, "\nReferenced by:\n");
        for c in &o.child_relationships {
            let _ = writeln!(
                out,
                "- `{}.{}`{}{}",
                c.child_object,
                c.field,
                c.name
                    .as_ref()
                    .map(|n| format!(" (`{n}`)"))
                    .unwrap_or_default(),
                if c.cascade_delete {
                    ", deleted with the parent"
                } else {
                    ""
                }
            );
        }
    }
}

/// Help text, formula, default and flags, in that order.
fn description(f: &Field) -> String {
    let mut parts = Vec::new();
    if let Some(help) = &f.help_text {
        parts.push(help.clone());
    }
    if let Some(formula) = &f.formula {
        parts.push(format!("Formula: `{}`", formula.replace('`', "'")));
    }
    if let Some(default) = &f.default_value {
        parts.push(format!("Default: `{default}`"));
    }
    if let Some(default) = &f.default_formula {
        parts.push(format!("Default formula: `{default}`"));
    }
    let mut flags = Vec::new();
    if f.external_id {
        flags.push("external id");
    }
    if f.unique {
        flags.push("unique");
    }
    if f.case_sensitive && f.unique {
        flags.push("case-sensitive");
    }
    if !f.updateable && !f.calculated && f.createable {
        flags.push("set on create only");
    }
    if !f.createable && !f.updateable && !f.calculated && f.name != "Id" {
        flags.push("read-only");
    }
    if let Some(compound) = &f.compound_field {
        parts.push(format!("Part of `{compound}`"));
    }
    if !flags.is_empty() {
        parts.push(capitalized(&flags.join(", ")));
    }
    parts.join(". ")
}

/// Picklist values and reference targets (linked when the target has a section).
fn values(catalog: &Catalog, f: &Field) -> String {
    if let Some(reference) = &f.reference {
        let targets: Vec<String> = reference
            .targets
            .iter()
            .map(|t| match catalog.object(t) {
                Some(target) => format!("[{}](#{})", target.name, anchor(&target.name)),
                None => t.clone(),
            })
            .collect();
        let mut text = format!("→ {}", targets.join(", "));
        text.push_str(&format!(" ({}", reference.kind.as_str()));
        if let Some(name) = &reference.relationship_name {
            text.push_str(&format!(", `{name}`"));
        }
        if reference.cascade_delete {
            text.push_str(", cascade delete");
        }
        text.push(')');
        return text;
    }
    let Some(picklist) = &f.picklist else {
        return String::new();
    };
    let mut values: Vec<String> = picklist
        .values
        .iter()
        .map(|v| {
            let mut text = if v.active {
                format!("`{}`", v.value)
            } else {
                format!("~~`{}`~~ (inactive)", v.value)
            };
            if v.default {
                text.push_str(" (default)");
            }
            if !v.valid_for.is_empty() {
                text.push_str(&format!(" when {}", v.valid_for.join("/")));
            }
            text
        })
        .collect();
    if picklist.restricted {
        values.push("restricted".into());
    }
    if let Some(controller) = &picklist.controller {
        values.push(format!("depends on `{controller}`"));
    }
    values.join(", ")
}

/// `1 object`, `2 objects`.
fn plural(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A table cell: no line breaks, no column separators.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace('\n', "<br>")
}

/// The anchor GitHub-style renderers give a heading.
fn anchor(name: &str) -> String {
    name.to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}
