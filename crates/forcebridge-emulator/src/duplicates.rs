//! Duplicate rules: a save whose record matches a record already saved, on every field of a
//! rule, meets the rule's action (`Allow`, `Alert` or `Block`), as Duplicate Management does.
//!
//! Matching is exact and without case on the text form of each value; a record with any of the
//! rule's fields empty is never a duplicate. A record is compared with the records saved
//! before its save began ([`Txn::before_save`]), never with the others of the same save: a
//! collection or a Bulk chunk holding two equal new records saves both, as Salesforce
//! documents. A `Block` rule always refuses the save with `DUPLICATES_DETECTED`; an `Alert`
//! rule refuses it unless the request acknowledged alerts (`Sforce-Duplicate-Rule-Header:
//! allowSave=true`, see [`allow_save`]); an `Allow` rule lets it through.
//!
//! It deliberately does not model fuzzy matching rules, conditions on rules, sharing
//! (`runAsCurrentUser`) or `includeRecordDetails`: the header's other settings are read and
//! ignored, and the error always names the matching records by id only.

use axum::http::HeaderMap;
use serde_json::{Value as Json, json};

use crate::api_error::DmlError;
use crate::config::DuplicateAction;
use crate::schema::{DuplicateRule, ObjectIdx};
use crate::store::{Txn, id_of};
use crate::value::{Value, text_form};
use crate::versions::ApiVersion;

/// The request header that acknowledges duplicate alerts.
pub(crate) const HEADER: &str = "sforce-duplicate-rule-header";

/// The first API version that reads [`HEADER`] (Salesforce documents it from 52.0; an older
/// request's header is ignored here, which is UNVERIFIED).
pub(crate) const HEADER_SINCE: ApiVersion = ApiVersion(52);

/// Whether `headers` acknowledge duplicate alerts: `Sforce-Duplicate-Rule-Header` with
/// `allowSave=true` among its settings. Salesforce's documentation separates the settings with
/// semicolons and some clients send commas, so either is read; names and values are compared
/// without case.
pub(crate) fn allow_save(headers: &HeaderMap) -> bool {
    headers
        .get_all(HEADER)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(allows_save)
}

/// [`allow_save`] for one header value (a composite sub-request's `httpHeaders` entry).
pub(crate) fn allows_save(value: &str) -> bool {
    value
        .split([',', ';'])
        .filter_map(|setting| setting.split_once('='))
        .any(|(name, value)| {
            name.trim().eq_ignore_ascii_case("allowSave")
                && value.trim().eq_ignore_ascii_case("true")
        })
}

/// Whether a save creates or edits the record (rules have an action for each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Save {
    Create,
    Edit,
}

/// Checks the record of `object` in `slot` (a new record's slot too) about to be saved with
/// `values` against every duplicate rule of the object. `DUPLICATES_DETECTED` when a `Block`
/// rule finds a duplicate, or an `Alert` rule does and the save did not acknowledge alerts; a
/// `Block` rule is reported before an `Alert` one.
pub(crate) fn check(
    txn: &Txn<'_>,
    object: ObjectIdx,
    slot: u32,
    values: &[Value],
    save: Save,
) -> Result<(), DmlError> {
    let def = txn.schema().object(object);
    if def.duplicate_rules.is_empty() {
        return Ok(());
    }
    let mut alert = None;
    for rule in &def.duplicate_rules {
        let action = match save {
            Save::Create => rule.on_create,
            Save::Edit => rule.on_edit,
        };
        let stops = match action {
            DuplicateAction::Allow => false,
            DuplicateAction::Alert => !txn.duplicates_allowed(),
            DuplicateAction::Block => true,
        };
        if !stops || (action == DuplicateAction::Alert && alert.is_some()) {
            continue;
        }
        let matches = matching(txn, object, rule, slot, values);
        if matches.is_empty() {
            continue;
        }
        tracing::debug!(object = %def.name, rule = %rule.name, n_matches = matches.len(), ?action, "duplicate rule matched");
        let error = detected(txn, object, rule, action, &matches);
        if action == DuplicateAction::Block {
            return Err(error);
        }
        alert = Some(error);
    }
    alert.map_or(Ok(()), Err)
}

/// The slots of the live records saved before this save whose rule fields all equal those of
/// `values` (the record in `slot` itself left out).
fn matching(
    txn: &Txn<'_>,
    object: ObjectIdx,
    rule: &DuplicateRule,
    slot: u32,
    values: &[Value],
) -> Vec<u32> {
    let def = txn.schema().object(object);
    let mut keys = Vec::with_capacity(rule.fields.len());
    for &field in &rule.fields {
        let Some(column) = def.fields[field].column() else {
            return Vec::new();
        };
        match key(&values[column]) {
            Some(key) => keys.push((column, key)),
            None => return Vec::new(),
        }
    }
    txn.before_save()
        .table(object)
        .rows()
        .filter(|(other, row)| *other != slot && !crate::dml::is_deleted(def, row))
        .filter(|(_, row)| {
            keys.iter()
                .all(|(column, wanted)| key(&row[*column]).as_deref() == Some(wanted.as_str()))
        })
        .map(|(other, _)| other)
        .collect()
}

/// The value a rule compares: its text form without case, or `None` when it is empty.
fn key(value: &Value) -> Option<String> {
    let text = text_form(value)?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_lowercase())
}

/// The `DUPLICATES_DETECTED` error for `rule` matching the records in `slots`, with its
/// `duplicateResult` as the REST API reports it. The shape follows what clients read from
/// Salesforce's answer (`matchResults[].matchRecords[].record.Id`, `matchConfidence`,
/// `matchEngine`, `rule`); the matching rule is reported under the duplicate rule's own name,
/// and records carry no `url` (UNVERIFIED: a real org names its matching rule separately and
/// gives each record's URL).
fn detected(
    txn: &Txn<'_>,
    object: ObjectIdx,
    rule: &DuplicateRule,
    action: DuplicateAction,
    slots: &[u32],
) -> DmlError {
    let def = txn.schema().object(object);
    let records: Vec<Json> = slots
        .iter()
        .map(|&slot| {
            json!({
                "additionalInformation": [],
                "fieldDiffs": [],
                "matchConfidence": 100.0,
                "record": {
                    "attributes": {"type": def.name},
                    "Id": id_of(def, slot).to_string(),
                },
            })
        })
        .collect();
    let result = json!({
        "allowSave": action != DuplicateAction::Block,
        "duplicateRule": rule.name,
        "duplicateRuleEntityType": def.name,
        "errorMessage": rule.message,
        "matchResults": [{
            "entityType": def.name,
            "errors": [],
            "matchEngine": "ExactMatchEngine",
            "matchRecords": records,
            "rule": rule.name,
            "size": slots.len(),
            "success": true,
        }],
    });
    DmlError::new("DUPLICATES_DETECTED", rule.message.clone()).with_duplicate_result(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_read_with_either_separator_and_without_case() {
        assert!(allows_save("allowSave=true"));
        assert!(allows_save(
            "allowSave=true, includeRecordDetails=false, runAsCurrentUser=true"
        ));
        assert!(allows_save(
            "includeRecordDetails=true; ALLOWSAVE = True; runAsCurrentUser=true"
        ));
        assert!(!allows_save("allowSave=false"));
        assert!(!allows_save("includeRecordDetails=true"));
        assert!(!allows_save("allowSave"));
        assert!(!allows_save(""));
    }
}
