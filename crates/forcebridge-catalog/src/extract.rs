//! Reading a catalog from an org in few API calls: the global describe once, the selected
//! objects' describes in composite requests of 25 (revalidated with `If-Modified-Since` when an
//! earlier catalog is given), and every record count in one call. A catalog of N objects costs
//! at most `ceil(N / 25) + 2` calls.
//!
//! Every request goes through the caller's [`Client`], so its read-only mode, API budget,
//! retries and concurrency cap hold. Nothing here prints; progress goes to a callback.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use forcebridge_client::wire::describe::{DescribeGlobal, DescribeSObject, Field as WireField};
use forcebridge_client::{Client, Method, Subrequest};
use futures_util::{StreamExt, TryStreamExt};

use crate::error::{Error, Result};
use crate::model::{
    Catalog, ChildRelationship, Field, FieldType, Object, Operations, Picklist, PicklistValue,
    RecordType, Reference, RelationshipKind,
};
use crate::selection::Selection;

/// Most subrequests in one composite request.
const BATCH: usize = 25;
/// Composite requests in flight at once (the client's own cap may be lower).
const CONCURRENT_BATCHES: usize = 4;
/// Past this many characters of object names, record counts are asked for every object (one
/// call still) rather than by name, so the URL stays short.
const MAX_NAMES_IN_URL: usize = 4000;

/// A catalog just read, and how it was read.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Extract {
    pub catalog: Catalog,
    pub report: ExtractReport,
}

/// What an extraction cost and found.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ExtractReport {
    /// API requests this extraction made (each composite request counts once, as the org
    /// counts it; retries of a failed request are not counted here).
    pub api_calls: u64,
    /// Objects the selection chose.
    pub objects_selected: usize,
    /// Objects whose describe was read in full.
    pub objects_described: usize,
    /// Objects the org said were unchanged since the earlier catalog (HTTP 304), taken from it.
    pub objects_revalidated: usize,
    /// Objects whose describe failed, with the org's reason; they are left out of the catalog.
    pub failures: Vec<ObjectFailure>,
    /// Include or exclude patterns that matched no object of the org.
    pub unmatched_patterns: Vec<String>,
    /// Wall-clock time of the extraction.
    pub elapsed: Duration,
}

/// An object whose describe failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectFailure {
    pub object: String,
    pub message: String,
}

/// How far an extraction has got, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Objects described (or revalidated) so far.
    pub objects_done: usize,
    /// Objects to describe in all.
    pub objects_total: usize,
    /// API requests made so far.
    pub api_calls: u64,
}

impl Catalog {
    /// Reads the catalog of the objects `selection` chooses. `on_progress` is called after the
    /// global describe and after each composite request.
    pub async fn extract(
        client: &Client,
        selection: &Selection,
        on_progress: impl FnMut(Progress) + Send,
    ) -> Result<Extract> {
        run(client, selection, None, on_progress).await
    }

    /// Like [`Catalog::extract`], but sends each describe with `If-Modified-Since` set to when
    /// `previous` was extracted, and takes the objects the org reports unchanged from
    /// `previous`. Record counts are always read afresh.
    pub async fn refresh(
        client: &Client,
        selection: &Selection,
        previous: &Catalog,
        on_progress: impl FnMut(Progress) + Send,
    ) -> Result<Extract> {
        run(client, selection, Some(previous), on_progress).await
    }
}

async fn run(
    client: &Client,
    selection: &Selection,
    previous: Option<&Catalog>,
    mut on_progress: impl FnMut(Progress) + Send,
) -> Result<Extract> {
    let started = Instant::now();
    let mut api_calls = 0u64;

    let response = client
        .raw(Method::GET, "sobjects")
        .send()
        .await
        .map_err(|e| Error::org("the global describe failed", e))?;
    api_calls += 1;
    let extracted_at = response
        .headers
        .get("date")
        .and_then(|v| v.to_str().ok())
        .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(Utc::now);
    let global: DescribeGlobal = response
        .json()
        .map_err(|e| Error::org("the global describe could not be read", e))?;
    let unmatched_patterns =
        selection.unmatched_patterns(global.sobjects.iter().map(|o| o.name.as_str()));
    let mut names: Vec<String> = global
        .sobjects
        .iter()
        .filter(|o| selection.matches(&o.name, o.custom, o.queryable))
        .map(|o| o.name.clone())
        .collect();
    names.sort();
    let total = names.len();
    tracing::info!(objects = total, "catalog: objects selected");
    on_progress(Progress {
        objects_done: 0,
        objects_total: total,
        api_calls,
    });

    // An earlier catalog is only as current as the moment it was extracted.
    let previous_objects: HashMap<&str, &Object> = previous
        .map(|p| p.objects.iter().map(|o| (o.name.as_str(), o)).collect())
        .unwrap_or_default();
    let since = previous.and_then(|p| http_date(&p.extracted_at));

    let batches: Vec<Vec<String>> = names.chunks(BATCH).map(<[String]>::to_vec).collect();
    let mut results = futures_util::stream::iter(batches.into_iter().map(|batch| {
        let since = since.clone();
        let previous_objects = &previous_objects;
        async move {
            let mut composite = client.composite();
            for (i, name) in batch.iter().enumerate() {
                let mut sub = Subrequest::new(Method::GET, format!("sobjects/{name}/describe"));
                if let Some(since) = &since
                    && previous_objects.contains_key(name.as_str())
                {
                    sub = sub.header("If-Modified-Since", since.clone());
                }
                composite = composite.subrequest(format!("d{i}"), sub);
            }
            let results = composite.send().await.map_err(|e| {
                Error::org(format!("describing {} failed", describe_list(&batch)), e)
            })?;
            Ok::<_, Error>((batch, results))
        }
    }))
    .buffered(CONCURRENT_BATCHES);

    let mut objects = Vec::with_capacity(total);
    let mut failures = Vec::new();
    let (mut described, mut revalidated) = (0, 0);
    while let Some((batch, results)) = results.try_next().await? {
        api_calls += 1;
        for (name, result) in batch.iter().zip(results.results()) {
            match result.status {
                304 => match previous_objects.get(name.as_str()) {
                    Some(object) => {
                        revalidated += 1;
                        objects.push((*object).clone());
                    }
                    None => failures.push(ObjectFailure {
                        object: name.clone(),
                        message: "the org answered 304 for an object never described".into(),
                    }),
                },
                200..=299 => match result.json::<DescribeSObject>() {
                    Ok(describe) => {
                        described += 1;
                        objects.push(object_from_describe(&describe));
                    }
                    Err(e) => failures.push(ObjectFailure {
                        object: name.clone(),
                        message: e.to_string(),
                    }),
                },
                status => {
                    let message = result
                        .errors()
                        .first()
                        .map(|e| format!("{}: {}", e.error_code, e.message))
                        .unwrap_or_else(|| format!("HTTP {status}"));
                    tracing::warn!(object = %name, %message, "describe failed");
                    failures.push(ObjectFailure {
                        object: name.clone(),
                        message,
                    });
                }
            }
        }
        on_progress(Progress {
            objects_done: objects.len() + failures.len(),
            objects_total: total,
            api_calls,
        });
    }
    drop(results);

    if !objects.is_empty() {
        let counts = record_counts(client, &objects).await?;
        api_calls += 1;
        for object in &mut objects {
            object.record_count = counts.get(object.name.as_str()).copied();
        }
    }
    objects.sort_by(|a, b| a.name.cmp(&b.name));
    let report = ExtractReport {
        api_calls,
        objects_selected: total,
        objects_described: described,
        objects_revalidated: revalidated,
        failures,
        unmatched_patterns,
        elapsed: started.elapsed(),
    };
    tracing::info!(
        objects = objects.len(),
        api_calls,
        revalidated,
        elapsed_ms = report.elapsed.as_millis() as u64,
        "catalog extracted"
    );
    Ok(Extract {
        catalog: Catalog {
            api_version: client.api_version().to_string(),
            extracted_at: extracted_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            objects,
        },
        report,
    })
}

/// The record counts of `objects`, in one call.
async fn record_counts(client: &Client, objects: &[Object]) -> Result<HashMap<String, u64>> {
    let names: Vec<&str> = objects.iter().map(|o| o.name.as_str()).collect();
    let length: usize = names.iter().map(|n| n.len() + 1).sum();
    let asked: &[&str] = if length > MAX_NAMES_IN_URL {
        &[]
    } else {
        &names
    };
    let counts = client
        .record_counts(asked)
        .await
        .map_err(|e| Error::org("reading record counts failed", e))?;
    Ok(counts.into_iter().collect())
}

fn describe_list(batch: &[String]) -> String {
    match batch {
        [one] => one.clone(),
        [first, .., last] => format!("{first} … {last} ({} objects)", batch.len()),
        [] => "nothing".into(),
    }
}

/// An RFC 3339 time as an HTTP date (`Tue, 01 Jan 2999 00:00:00 GMT`).
fn http_date(rfc3339: &str) -> Option<String> {
    let time = DateTime::parse_from_rfc3339(rfc3339)
        .ok()?
        .with_timezone(&Utc);
    Some(time.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
}

impl Object {
    /// The model of one object from its describe (`GET /sobjects/{Type}/describe`), for
    /// callers that already hold one. The record count is left empty.
    pub fn from_describe(describe: &DescribeSObject) -> Object {
        object_from_describe(describe)
    }
}

fn object_from_describe(describe: &DescribeSObject) -> Object {
    let o = &describe.object;
    let mut fields: Vec<Field> = describe.fields.iter().map(field_from_describe).collect();
    resolve_dependent_picklists(&mut fields, &describe.fields);
    let record_types = if describe.record_type_infos.iter().any(|r| !r.master) {
        describe
            .record_type_infos
            .iter()
            .map(|r| RecordType {
                id: r.record_type_id.clone(),
                name: r.name.clone(),
                developer_name: r.developer_name.clone(),
                active: r.active,
                available: r.available,
                default: r.default_record_type_mapping,
                master: r.master,
            })
            .collect()
    } else {
        Vec::new()
    };
    Object {
        name: o.name.clone(),
        label: o.label.clone(),
        label_plural: o.label_plural.clone(),
        key_prefix: o.key_prefix.clone(),
        custom: o.custom,
        operations: Operations {
            queryable: o.queryable,
            createable: o.createable,
            updateable: o.updateable,
            deletable: o.deletable,
            replicable: o.replicateable,
            searchable: o.searchable,
        },
        record_count: None,
        record_types,
        fields,
        child_relationships: describe
            .child_relationships
            .iter()
            .filter(|c| !c.deprecated_and_hidden)
            .map(|c| ChildRelationship {
                name: c.relationship_name.clone(),
                child_object: c.child_sobject.clone(),
                field: c.field.clone(),
                cascade_delete: c.cascade_delete,
                restricted_delete: c.restricted_delete,
            })
            .collect(),
    }
}

fn field_from_describe(f: &WireField) -> Field {
    let field_type = FieldType::parse(&f.field_type);
    let picklist = (field_type.is_picklist() || !f.picklist_values.is_empty()).then(|| Picklist {
        values: f
            .picklist_values
            .iter()
            .map(|p| PicklistValue {
                value: p.value.clone(),
                label: p.label.clone(),
                active: p.active,
                default: p.default_value,
                valid_for: Vec::new(),
            })
            .collect(),
        restricted: f.restricted_picklist,
        controller: f.controller_name.clone().filter(|_| f.dependent_picklist),
    });
    let reference = (!f.reference_to.is_empty()).then(|| Reference {
        targets: f.reference_to.clone(),
        relationship_name: f.relationship_name.clone(),
        // Master-detail fields of custom objects carry a relationship order; a required field
        // whose parent's deletion deletes it behaves as master-detail too.
        kind: if f.relationship_order.is_some() || (f.cascade_delete && !f.nillable) {
            RelationshipKind::MasterDetail
        } else {
            RelationshipKind::Lookup
        },
        cascade_delete: f.cascade_delete,
        restricted_delete: f.restricted_delete,
    });
    Field {
        name: f.name.clone(),
        label: f.label.clone(),
        field_type,
        length: f.length,
        precision: f.precision,
        scale: f.scale,
        digits: f.digits,
        nillable: f.nillable,
        required_on_create: !f.nillable && !f.defaulted_on_create && f.createable,
        unique: f.unique,
        case_sensitive: f.case_sensitive,
        external_id: f.external_id,
        custom: f.custom,
        calculated: f.calculated,
        formula: f.calculated_formula.clone().filter(|t| !t.is_empty()),
        auto_number: f.auto_number,
        default_value: f.default_value.as_ref().and_then(|v| match v {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }),
        default_formula: f.default_value_formula.clone().filter(|t| !t.is_empty()),
        picklist,
        help_text: f.inline_help_text.clone().filter(|t| !t.is_empty()),
        createable: f.createable,
        updateable: f.updateable,
        filterable: f.filterable,
        sortable: f.sortable,
        groupable: f.groupable,
        reference,
        compound_field: f.compound_field_name.clone(),
    }
}

/// Turns each dependent picklist value's `validFor` bitmap into the controlling values it is
/// offered for. Bit `i` (most significant bit first) stands for the controller's `i`-th value;
/// a checkbox controller has two, `false` then `true`.
fn resolve_dependent_picklists(fields: &mut [Field], wire: &[WireField]) {
    let controllers: HashMap<String, Vec<String>> = fields
        .iter()
        .map(|f| {
            let values = match (&f.field_type, &f.picklist) {
                (FieldType::Boolean, _) => vec!["false".to_string(), "true".to_string()],
                (_, Some(p)) => p.values.iter().map(|v| v.value.clone()).collect(),
                _ => Vec::new(),
            };
            (f.name.clone(), values)
        })
        .collect();
    for (field, wire) in fields.iter_mut().zip(wire) {
        let Some(picklist) = &mut field.picklist else {
            continue;
        };
        let Some(controller_values) = picklist
            .controller
            .as_ref()
            .and_then(|c| controllers.get(c))
        else {
            continue;
        };
        for (value, entry) in picklist.values.iter_mut().zip(&wire.picklist_values) {
            let Some(bits) = entry
                .valid_for
                .as_deref()
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            else {
                continue;
            };
            value.valid_for = controller_values
                .iter()
                .enumerate()
                .filter(|(i, _)| {
                    bits.get(i / 8)
                        .is_some_and(|byte| byte & (0x80 >> (i % 8)) != 0)
                })
                .map(|(_, v)| v.clone())
                .collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_are_written_as_servers_read_them() {
        assert_eq!(
            http_date("2026-12-05T21:40:07Z").as_deref(),
            Some("Sat, 05 Dec 2026 21:40:07 GMT")
        );
        assert_eq!(http_date("yesterday"), None);
    }
}
