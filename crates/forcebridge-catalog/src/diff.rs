//! What changed between two catalogs of an org: objects and fields added or removed, type
//! and size changes, picklist values added or removed, formula, reference and required
//! changes. Shown as a review would show a schema change, or as JSON for automation.

use std::collections::BTreeSet;
use std::fmt::Write;

use serde::Serialize;

use crate::model::{Catalog, Field, Object};

/// One difference between two catalogs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Change {
    pub object: String,
    /// The field, for field changes.
    pub field: Option<String>,
    pub kind: ChangeKind,
    /// What it was (a type, a size, a formula, a picklist value), when that says something.
    pub old: Option<String>,
    /// What it is now.
    pub new: Option<String>,
}

/// The kinds of change a diff reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ChangeKind {
    ObjectAdded,
    ObjectRemoved,
    FieldAdded,
    FieldRemoved,
    /// The data type changed (`string` → `textarea`).
    TypeChanged,
    /// Length, precision, scale or digits changed.
    SizeChanged,
    PicklistValueAdded,
    PicklistValueRemoved,
    /// A formula was added, removed or rewritten.
    FormulaChanged,
    /// A reference field points to other objects.
    ReferenceChanged,
    /// Whether a value is required on create changed.
    RequiredChanged,
}

impl ChangeKind {
    /// The kind as written in JSON (`field-added`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::ObjectAdded => "object-added",
            ChangeKind::ObjectRemoved => "object-removed",
            ChangeKind::FieldAdded => "field-added",
            ChangeKind::FieldRemoved => "field-removed",
            ChangeKind::TypeChanged => "type-changed",
            ChangeKind::SizeChanged => "size-changed",
            ChangeKind::PicklistValueAdded => "picklist-value-added",
            ChangeKind::PicklistValueRemoved => "picklist-value-removed",
            ChangeKind::FormulaChanged => "formula-changed",
            ChangeKind::ReferenceChanged => "reference-changed",
            ChangeKind::RequiredChanged => "required-changed",
        }
    }
}

/// The changes from `old` to `new`, object by object (sorted by name), fields in the order
/// the newer catalog lists them, removed fields after.
pub fn diff(old: &Catalog, new: &Catalog) -> Vec<Change> {
    let mut changes = Vec::new();
    let names: BTreeSet<&str> = old
        .objects
        .iter()
        .chain(&new.objects)
        .map(|o| o.name.as_str())
        .collect();
    for name in names {
        match (old.object(name), new.object(name)) {
            (None, Some(o)) => changes.push(change(
                o,
                None,
                ChangeKind::ObjectAdded,
                None,
                Some(format!("{} fields", o.fields.len())),
            )),
            (Some(o), None) => changes.push(change(o, None, ChangeKind::ObjectRemoved, None, None)),
            (Some(before), Some(after)) => object_changes(before, after, &mut changes),
            (None, None) => {}
        }
    }
    changes
}

fn change(
    object: &Object,
    field: Option<&Field>,
    kind: ChangeKind,
    old: Option<String>,
    new: Option<String>,
) -> Change {
    Change {
        object: object.name.clone(),
        field: field.map(|f| f.name.clone()),
        kind,
        old,
        new,
    }
}

fn object_changes(before: &Object, after: &Object, out: &mut Vec<Change>) {
    for field in &after.fields {
        let Some(old) = before.field(&field.name) else {
            out.push(change(
                after,
                Some(field),
                ChangeKind::FieldAdded,
                None,
                Some(field.type_summary()),
            ));
            continue;
        };
        let mut push = |kind, old: Option<String>, new: Option<String>| {
            out.push(change(after, Some(field), kind, old, new));
        };
        if old.field_type != field.field_type {
            push(
                ChangeKind::TypeChanged,
                Some(old.type_summary()),
                Some(field.type_summary()),
            );
        } else if (old.length, old.precision, old.scale, old.digits)
            != (field.length, field.precision, field.scale, field.digits)
        {
            push(
                ChangeKind::SizeChanged,
                Some(old.type_summary()),
                Some(field.type_summary()),
            );
        }
        if old.formula != field.formula {
            push(
                ChangeKind::FormulaChanged,
                old.formula.clone(),
                field.formula.clone(),
            );
        }
        let targets = |f: &Field| f.reference.as_ref().map(|r| r.targets.join(", "));
        if targets(old) != targets(field) {
            push(ChangeKind::ReferenceChanged, targets(old), targets(field));
        }
        if old.required_on_create != field.required_on_create {
            let word =
                |required: bool| Some(if required { "required" } else { "optional" }.to_string());
            push(
                ChangeKind::RequiredChanged,
                word(old.required_on_create),
                word(field.required_on_create),
            );
        }
        let values = |f: &Field| -> Vec<String> {
            f.picklist
                .iter()
                .flat_map(|p| p.values.iter().map(|v| v.value.clone()))
                .collect()
        };
        let (was, now) = (values(old), values(field));
        for value in now.iter().filter(|v| !was.contains(v)) {
            push(ChangeKind::PicklistValueAdded, None, Some(value.clone()));
        }
        for value in was.iter().filter(|v| !now.contains(v)) {
            push(ChangeKind::PicklistValueRemoved, Some(value.clone()), None);
        }
    }
    for field in &before.fields {
        if after.field(&field.name).is_none() {
            out.push(change(
                after,
                Some(field),
                ChangeKind::FieldRemoved,
                Some(field.type_summary()),
                None,
            ));
        }
    }
}

/// The changes as a reviewer reads them: `+` added, `-` removed, `~` changed, grouped by
/// object, with a summary line first.
pub fn diff_to_text(changes: &[Change], old: &Catalog, new: &Catalog) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Schema changes from {} to {}: {}",
        old.extracted_at,
        new.extracted_at,
        summary(changes)
    );
    let mut current: Option<&str> = None;
    for c in changes {
        match c.kind {
            ChangeKind::ObjectAdded => {
                let _ = writeln!(
                    out,
                    "\n+ {} (new object, {})",
                    c.object,
                    c.new.as_deref().unwrap_or("")
                );
                current = Some(&c.object);
                continue;
            }
            ChangeKind::ObjectRemoved => {
                let _ = writeln!(out, "\n- {} (object removed)", c.object);
                current = Some(&c.object);
                continue;
            }
            _ => {}
        }
        if current != Some(c.object.as_str()) {
            let _ = writeln!(out, "\n~ {}", c.object);
            current = Some(&c.object);
        }
        let field = c.field.as_deref().unwrap_or("");
        let old = c.old.as_deref().unwrap_or("none");
        let new = c.new.as_deref().unwrap_or("none");
        let line = match c.kind {
            ChangeKind::FieldAdded => format!("+ {field}  {new}"),
            ChangeKind::FieldRemoved => format!("- {field}  {old}"),
            ChangeKind::TypeChanged => format!("~ {field}  type {old} → {new}"),
            ChangeKind::SizeChanged => format!("~ {field}  size {old} → {new}"),
            ChangeKind::PicklistValueAdded => format!("~ {field}  picklist value added: {new}"),
            ChangeKind::PicklistValueRemoved => format!("~ {field}  picklist value removed: {old}"),
            ChangeKind::FormulaChanged => {
                format!("~ {field}  formula\n        - {old}\n        + {new}")
            }
            ChangeKind::ReferenceChanged => format!("~ {field}  points to {old} → {new}"),
            ChangeKind::RequiredChanged => format!("~ {field}  {old} → {new}"),
            ChangeKind::ObjectAdded | ChangeKind::ObjectRemoved => unreachable!("handled above"),
        };
        let _ = writeln!(out, "    {line}");
    }
    out
}

/// `2 fields added, 1 picklist value removed`, or `no changes`.
pub fn summary(changes: &[Change]) -> String {
    let mut counts: std::collections::BTreeMap<ChangeKind, usize> = Default::default();
    for c in changes {
        *counts.entry(c.kind).or_default() += 1;
    }
    if counts.is_empty() {
        return "no changes".into();
    }
    counts
        .into_iter()
        .map(|(kind, n)| {
            let (one, many) = match kind {
                ChangeKind::ObjectAdded => ("object added", "objects added"),
                ChangeKind::ObjectRemoved => ("object removed", "objects removed"),
                ChangeKind::FieldAdded => ("field added", "fields added"),
                ChangeKind::FieldRemoved => ("field removed", "fields removed"),
                ChangeKind::TypeChanged => ("type changed", "types changed"),
                ChangeKind::SizeChanged => ("size changed", "sizes changed"),
                ChangeKind::PicklistValueAdded => ("picklist value added", "picklist values added"),
                ChangeKind::PicklistValueRemoved => {
                    ("picklist value removed", "picklist values removed")
                }
                ChangeKind::FormulaChanged => ("formula changed", "formulas changed"),
                ChangeKind::ReferenceChanged => ("reference changed", "references changed"),
                ChangeKind::RequiredChanged => ("required flag changed", "required flags changed"),
            };
            format!("{n} {}", if n == 1 { one } else { many })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The changes as JSON (`forcebridge-catalog-diff` version 1).
pub fn diff_to_json(changes: &[Change], old: &Catalog, new: &Catalog) -> String {
    #[derive(Serialize)]
    struct Document<'a> {
        format: &'static str,
        version: u32,
        from: &'a str,
        to: &'a str,
        summary: String,
        changes: Vec<ChangeDoc<'a>>,
    }
    #[derive(Serialize)]
    struct ChangeDoc<'a> {
        object: &'a str,
        field: Option<&'a str>,
        change: &'static str,
        old: Option<&'a str>,
        new: Option<&'a str>,
    }
    let document = Document {
        format: "forcebridge-catalog-diff",
        version: 1,
        from: &old.extracted_at,
        to: &new.extracted_at,
        summary: summary(changes),
        changes: changes
            .iter()
            .map(|c| ChangeDoc {
                object: &c.object,
                field: c.field.as_deref(),
                change: c.kind.as_str(),
                old: c.old.as_deref(),
                new: c.new.as_deref(),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}
