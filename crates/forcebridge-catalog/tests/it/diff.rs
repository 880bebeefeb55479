//! Diffs of two catalogs: a field added to the org is reported, and nothing else; each kind
//! of change reads as a reviewer expects.

use forcebridge_catalog::{
    Catalog, ChangeKind, FieldType, Selection, diff, diff_to_json, diff_to_text,
};
use forcebridge_emulator::FieldConfig;

use crate::support::TestOrg;

/// A field an admin adds while the org runs (the local org's control API) shows in a refresh
/// of the catalog (its describe is not answered 304 any more), and the diff names exactly it.
#[tokio::test]
async fn a_diff_after_adding_a_field_reports_exactly_that_field() {
    let org = TestOrg::small().await;
    let old = org.extract(&Selection::all()).await.catalog;
    let mut priority = FieldConfig::new("Priority__c", "picklist");
    priority.values = vec!["Low".into(), "High".into()];
    org.emulator
        .control()
        .add_field("Task_Item__c", priority)
        .unwrap();
    let refreshed = Catalog::refresh(&org.client, &Selection::all(), &old, |_| {})
        .await
        .unwrap();
    assert!(
        refreshed.report.objects_described >= 1,
        "the changed describe was read again: {:?}",
        refreshed.report
    );
    let new = refreshed.catalog;

    let changes = diff(&old, &new);
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0].kind, ChangeKind::FieldAdded);
    assert_eq!(changes[0].object, "Task_Item__c");
    assert_eq!(changes[0].field.as_deref(), Some("Priority__c"));
    assert_eq!(changes[0].new.as_deref(), Some("picklist(255)"));
    let json: serde_json::Value =
        serde_json::from_str(&diff_to_json(&changes, &old, &new)).unwrap();
    assert_eq!(json["summary"], "1 field added");
    assert_eq!(
        json["changes"],
        serde_json::json!([{"object": "Task_Item__c", "field": "Priority__c",
                            "change": "field-added", "old": null, "new": "picklist(255)"}])
    );
}

#[tokio::test]
async fn every_kind_of_change_reads_as_a_schema_review() {
    let org = TestOrg::small().await;
    let old = org.small_catalog().await;
    let mut new = old.clone();
    new.extracted_at = "2026-02-01T00:00:00Z".into();
    let task = new
        .objects
        .iter_mut()
        .find(|o| o.name == "Task_Item__c")
        .unwrap();
    let notes = task
        .fields
        .iter_mut()
        .find(|f| f.name == "Notes__c")
        .unwrap();
    notes.length = 4000;
    let link = task
        .fields
        .iter_mut()
        .find(|f| f.name == "Link__c")
        .unwrap();
    link.field_type = FieldType::String;
    let hours = task
        .fields
        .iter_mut()
        .find(|f| f.name == "Hours__c")
        .unwrap();
    hours.formula = Some("Minutes__c / 60".into());
    task.fields.retain(|f| f.name != "Due__c");
    let project = new
        .objects
        .iter_mut()
        .find(|o| o.name == "Project__c")
        .unwrap();
    let stage = project
        .fields
        .iter_mut()
        .find(|f| f.name == "Stage__c")
        .unwrap();
    let values = &mut stage.picklist.as_mut().unwrap().values;
    let mut cancelled = values[0].clone();
    cancelled.value = "Cancelled".into();
    values.retain(|v| v.value != "Done");
    values.push(cancelled);
    let budget = project
        .fields
        .iter_mut()
        .find(|f| f.name == "Budget__c")
        .unwrap();
    budget.required_on_create = false;
    new.objects.retain(|o| o.name != "Account");

    let changes = diff(&old, &new);
    insta::assert_snapshot!(diff_to_text(&changes, &old, &new));
    assert!(diff(&old, &old).is_empty());
}
