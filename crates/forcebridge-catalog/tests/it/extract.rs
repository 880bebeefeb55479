//! Extraction: the API-call bound, revalidation with `If-Modified-Since`, selection, read-only
//! connections and the API budget, and what the model records for each field.

use forcebridge_catalog::{Catalog, ErrorKind, FieldType, Object, RelationshipKind, Selection};
use forcebridge_client::{Access, ApiBudget};

use crate::org_files::many_objects;
use crate::support::{TestOrg, config};

/// The formula the issue states: at most `ceil(N / 25) + 3` calls for N objects.
fn bound(n: usize) -> u64 {
    n.div_ceil(25) as u64 + 3
}

/// Requests the org has counted so far, as the last response reported it.
fn org_usage(org: &TestOrg) -> u64 {
    org.client.api_usage().unwrap().used
}

#[tokio::test]
async fn a_catalog_of_n_objects_costs_at_most_ceil_n_over_25_plus_3_calls_and_counts_them_exactly()
{
    let org = TestOrg::from_org_file(&many_objects(60), 200).await;
    org.client.limits().await.unwrap();
    let before = org_usage(&org);
    let mut progress = Vec::new();
    let extract = Catalog::extract(&org.client, &Selection::all(), |p| progress.push(p))
        .await
        .unwrap();
    let n = extract.catalog.objects.len();
    assert!(n > 70, "{n} objects");
    assert_eq!(extract.report.objects_described, n);
    assert!(
        extract.report.failures.is_empty(),
        "{:?}",
        extract.report.failures
    );
    assert!(
        extract.report.api_calls <= bound(n),
        "{} calls",
        extract.report.api_calls
    );
    assert_eq!(extract.report.api_calls, n.div_ceil(25) as u64 + 2);
    // What the extraction counted is what the org counted.
    assert_eq!(org_usage(&org) - before, extract.report.api_calls);
    // Progress: after the global describe, then after each composite request, ending at all.
    assert_eq!(progress.first().unwrap().objects_done, 0);
    assert_eq!(progress.last().unwrap().objects_done, n);
    assert_eq!(progress.len(), 1 + n.div_ceil(25));
    // Record counts come from the org, for every object it counts.
    let uncounted: Vec<&str> = extract
        .catalog
        .objects
        .iter()
        .filter(|o| o.operations.queryable && o.record_count.is_none())
        .map(|o| o.name.as_str())
        .collect();
    assert!(uncounted.is_empty(), "no record count for {uncounted:?}");
    assert!(
        extract
            .catalog
            .object("Account")
            .unwrap()
            .record_count
            .unwrap()
            > 0
    );
}

#[tokio::test]
async fn a_refresh_revalidates_unchanged_describes_with_if_modified_since() {
    let org = TestOrg::small().await;
    let first = org.extract(&Selection::all()).await;
    // HTTP dates have whole seconds; the org's schema predates the first catalog.
    let second = Catalog::refresh(&org.client, &Selection::all(), &first.catalog, |_| {})
        .await
        .unwrap();
    let n = first.catalog.objects.len();
    assert_eq!(second.report.objects_revalidated, n);
    assert_eq!(second.report.objects_described, 0);
    assert_eq!(second.report.api_calls, n.div_ceil(25) as u64 + 2);
    assert_eq!(second.catalog.objects, first.catalog.objects);

    // An object the earlier catalog did not have is described in full.
    let mut partial = first.catalog.clone();
    partial.objects.retain(|o| o.name != "Project__c");
    let third = Catalog::refresh(&org.client, &Selection::all(), &partial, |_| {})
        .await
        .unwrap();
    assert_eq!(third.report.objects_described, 1);
    assert_eq!(third.report.objects_revalidated, n - 1);
    assert_eq!(third.catalog.objects, first.catalog.objects);
}

#[tokio::test]
async fn selection_narrows_by_pattern_custom_and_queryable_and_reports_unused_patterns() {
    let org = TestOrg::small().await;
    let names = |catalog: &Catalog| -> Vec<String> {
        catalog.objects.iter().map(|o| o.name.clone()).collect()
    };
    let custom = org.extract(&Selection::all().custom_only()).await;
    assert_eq!(names(&custom.catalog), ["Project__c", "Task_Item__c"]);
    let patterns = org
        .extract(
            &Selection::all()
                .include("acc*")
                .unwrap()
                .include("*Item__c")
                .unwrap()
                .include("Nothing*")
                .unwrap()
                .exclude("AccountHistory")
                .unwrap()
                .queryable_only(),
        )
        .await;
    assert_eq!(names(&patterns.catalog), ["Account", "Task_Item__c"]);
    assert_eq!(
        patterns.report.unmatched_patterns,
        ["Nothing*", "AccountHistory"]
    );
    assert_eq!(patterns.report.api_calls, 3);
}

#[tokio::test]
async fn a_read_only_connection_can_catalog() {
    let org = TestOrg::small().await;
    let client = org.builder().access(Access::ReadOnly).build().unwrap();
    let extract = Catalog::extract(&client, &Selection::all(), |_| {})
        .await
        .unwrap();
    assert!(extract.catalog.object("Project__c").is_some());
}

#[tokio::test]
async fn the_api_budget_stops_an_extraction_with_a_limit_error() {
    let mut config = config(&many_objects(60), 0);
    config.daily_api_requests = 8;
    let org = TestOrg::with_config(config).await;
    // Half of 8: the global describe and the three composite requests go out (the org then
    // reports 4 requests used); the record counts call is refused before it is sent.
    let client = org
        .builder()
        .api_budget(ApiBudget { share: 0.5 })
        .build()
        .unwrap();
    let error = Catalog::extract(&client, &Selection::all(), |_| {})
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Org);
    let source = std::error::Error::source(&error)
        .and_then(|s| s.downcast_ref::<forcebridge_client::Error>())
        .expect("the client's error as the source");
    assert_eq!(
        source.kind(),
        forcebridge_client::ErrorKind::Limit,
        "{source}"
    );
    assert_eq!(error.to_string(), "reading record counts failed");
}

#[tokio::test]
async fn fields_record_types_sizes_flags_picklists_references_and_compounds() {
    let org = TestOrg::small().await;
    let catalog = org.extract(&Selection::all()).await.catalog;
    let project = catalog.object("Project__c").unwrap();
    assert_eq!(project.label, "Project");
    assert_eq!(project.label_plural, "Projects");
    assert!(project.custom && project.operations.queryable && project.operations.createable);
    assert_eq!(project.key_prefix.as_deref().map(str::len), Some(3));

    let budget = project.field("Budget__c").unwrap();
    assert_eq!(budget.field_type, FieldType::Currency);
    assert_eq!((budget.precision, budget.scale), (16, 2));
    assert!(budget.required_on_create && !budget.nillable && budget.custom);
    assert_eq!(budget.type_summary(), "currency(16,2)");

    let stage = project.field("Stage__c").unwrap();
    let picklist = stage.picklist.as_ref().unwrap();
    assert!(picklist.restricted);
    let values: Vec<(&str, bool)> = picklist
        .values
        .iter()
        .map(|v| (v.value.as_str(), v.default))
        .collect();
    assert_eq!(
        values,
        [("Planned", true), ("Active", false), ("Done", false)]
    );
    assert_eq!(stage.default_value.as_deref(), Some("Planned"));

    let code = project.field("Code__c").unwrap();
    assert!(code.external_id && code.unique && code.length == 20);

    let site = project.field("Site__c").unwrap();
    assert_eq!(site.field_type, FieldType::Location);
    let latitude = project.field("Site__Latitude__s").unwrap();
    assert_eq!(latitude.compound_field.as_deref(), Some("Site__c"));

    let relationships = catalog.relationships();
    let find = |child: &str, field: &str| {
        relationships
            .iter()
            .find(|r| r.child == child && r.field == field)
            .unwrap_or_else(|| panic!("no relationship {child}.{field}"))
    };
    let parent = find("Project__c", "Parent__c");
    assert!(parent.is_self_reference());
    assert_eq!(
        parent.child_relationship_name.as_deref(),
        Some("Subprojects__r")
    );
    let master = find("Task_Item__c", "Project__c");
    assert_eq!(master.kind, RelationshipKind::MasterDetail);
    assert_eq!(master.relationship_name.as_deref(), Some("Project__r"));
    assert_eq!(
        find("Project__c", "Account__c").kind,
        RelationshipKind::Lookup
    );
    // A polymorphic field makes one relationship per target.
    let who: Vec<&str> = relationships
        .iter()
        .filter(|r| r.child == "Task" && r.field == "WhoId")
        .map(|r| r.parent.as_str())
        .collect();
    assert_eq!(who, ["Contact", "Lead"]);
    assert!(
        relationships
            .iter()
            .filter(|r| r.field == "WhoId")
            .all(|r| r.polymorphic)
    );
    // Children as the parent lists them.
    let account = catalog.object("Account").unwrap();
    assert!(
        account.child_relationships.iter().any(|c| {
            c.child_object == "Project__c" && c.name.as_deref() == Some("Projects__r")
        })
    );
    assert!(account.record_count.unwrap() > 0);
}

/// What the local org does not serve (formulas, help text, dependent picklists, record
/// types) is read from a describe as a real org writes it.
#[tokio::test]
async fn formulas_help_text_dependent_picklists_and_record_types_come_from_the_describe() {
    let org = TestOrg::small().await;
    let mut describe = (*org.client.sobject("Account").describe().await.unwrap()).clone();
    let field = |describe: &mut forcebridge_client::wire::describe::DescribeSObject, name: &str| {
        describe.fields.iter().position(|f| f.name == name).unwrap()
    };
    let tier = field(&mut describe, "Tier__c");
    describe.fields[tier].calculated = true;
    describe.fields[tier].calculated_formula =
        Some("IF(AnnualRevenue > 1000000, 'Gold', 'Silver')".into());
    describe.fields[tier].inline_help_text = Some("Set by the revenue rule".into());
    // Rating depends on Industry: "Hot" is offered for Industry's first and third values.
    let industry = field(&mut describe, "Industry");
    let industry_values: Vec<String> = describe.fields[industry]
        .picklist_values
        .iter()
        .map(|p| p.value.clone())
        .collect();
    let rating = field(&mut describe, "Rating");
    describe.fields[rating].dependent_picklist = true;
    describe.fields[rating].controller_name = Some("Industry".into());
    describe.fields[rating].picklist_values[0].valid_for = Some("oA==".into()); // 1010 0000
    let template = forcebridge_client::wire::describe::RecordTypeInfo {
        active: true,
        available: true,
        default_record_type_mapping: false,
        developer_name: "Master".into(),
        master: true,
        name: "Master".into(),
        record_type_id: "012000000000000AAA".into(),
        urls: Default::default(),
    };
    describe.record_type_infos = vec![
        template.clone(),
        forcebridge_client::wire::describe::RecordTypeInfo {
            default_record_type_mapping: true,
            developer_name: "Partner".into(),
            master: false,
            name: "Partner account".into(),
            record_type_id: "012000000000001AAA".into(),
            ..template
        },
    ];

    let account = Object::from_describe(&describe);
    let tier = account.field("Tier__c").unwrap();
    assert_eq!(
        tier.formula.as_deref(),
        Some("IF(AnnualRevenue > 1000000, 'Gold', 'Silver')")
    );
    assert_eq!(tier.help_text.as_deref(), Some("Set by the revenue rule"));
    assert_eq!(tier.type_summary(), "formula picklist(255)");
    let rating = account.field("Rating").unwrap().picklist.as_ref().unwrap();
    assert_eq!(rating.controller.as_deref(), Some("Industry"));
    assert_eq!(
        rating.values[0].valid_for,
        [industry_values[0].clone(), industry_values[2].clone()]
    );
    assert!(rating.values[1].valid_for.is_empty());
    let partner = account.record_types.iter().find(|r| !r.master).unwrap();
    assert_eq!(
        (partner.developer_name.as_str(), partner.default),
        ("Partner", true)
    );
}
