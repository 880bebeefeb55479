//! Tests of generated data: repeatable, coherent, and made only of values a save would accept.

use std::sync::Arc;

use super::{ANCHOR_MILLIS, Plan, START_MILLIS};
use crate::config::{Config, SeedConfig};
use crate::dml::{Input, coerce, is_deleted};
use crate::org::Org;
use crate::render::csv_text;
use crate::schema::{FieldType, ObjectIdx};
use crate::store::{id_of, slot_of};
use crate::value::Value;

const CUSTOM_SCHEMA: &str = r#"
[[objects]]
name = "Invoice__c"
fields = [
  { name = "Account__c", type = "reference", reference_to = "Account", required = true, child_relationship_name = "Invoices" },
  { name = "Number__c", type = "string", length = 20, external_id = true },
  { name = "Amount__c", type = "currency", precision = 8, scale = 2, required = true },
  { name = "Status__c", type = "picklist", values = ["Draft", "Sent", "Paid"], restricted = true, default = "Draft" },
  { name = "Tags__c", type = "multipicklist", values = ["a", "b", "c"] },
  { name = "Due__c", type = "date" },
  { name = "Contact_Email__c", type = "email", unique = true },
  { name = "Site__c", type = "location" },
  { name = "Seats__c", type = "int", precision = 3 },
  { name = "Share__c", type = "percent", precision = 5, scale = 2 },
]

[[objects]]
name = "Invoice_Line__c"
name_field = "auto_number"
owned = false
fields = [
  { name = "Invoice__c", type = "reference", reference_to = "Invoice__c", cascade_delete = true },
  { name = "Note__c", type = "textarea", length = 40 },
]

[[objects]]
name = "Account"
extends = true
fields = [
  { name = "Tier__c", type = "picklist", values = ["Gold", "Silver"], restricted = true },
  { name = "Code__c", type = "string", length = 12, unique = true },
]
"#;

fn seeded(seed: &str, records: u64, org_file: &str) -> Arc<Org> {
    let mut config = Config::from_toml(org_file).unwrap();
    config.seed = Some(SeedConfig {
        seed: seed.to_string(),
        records,
    });
    Org::new(config, false).unwrap()
}

/// Every row of every table, for comparing two orgs.
fn dump(org: &Org) -> Vec<(usize, u32, Vec<Value>)> {
    let snapshot = org.store.snapshot();
    let mut rows = Vec::new();
    for index in 0..org.schema().objects().len() {
        for (slot, row) in snapshot.table(ObjectIdx(index)).rows() {
            rows.push((index, slot, row.to_vec()));
        }
    }
    rows
}

#[test]
fn plans_add_up_to_roughly_the_requested_number_of_records() {
    let org = seeded("plan", 0, CUSTOM_SCHEMA);
    for records in [100, 1_000, 10_000, 100_000, 1_000_000] {
        let plan = Plan::new(records, &org.schema());
        let total = plan.total();
        assert!(
            total <= records && total * 100 >= records * 95,
            "{records} asked, {total} planned: {plan:?}"
        );
        assert_eq!(plan.custom.len(), 2, "both custom objects get rows");
    }
    assert_eq!(Plan::new(5, &org.schema()).total(), 5);
}

#[test]
fn the_same_seed_gives_the_same_org_and_another_seed_does_not() {
    let first = dump(&seeded("demo", 3_000, CUSTOM_SCHEMA));
    let second = dump(&seeded("demo", 3_000, CUSTOM_SCHEMA));
    assert!(first.len() > 2_800, "{} records", first.len());
    assert!(first == second, "two runs with one seed differ");
    let other = dump(&seeded("other", 3_000, CUSTOM_SCHEMA));
    assert!(first != other, "another seed gives the same org");
}

#[test]
fn generated_orgs_are_coherent_and_hold_only_values_a_save_accepts() {
    let org = seeded("coherent", 4_000, CUSTOM_SCHEMA);
    let schema = org.schema().clone();
    let snapshot = org.store.snapshot();
    let mut per_object = vec![0usize; schema.objects().len()];
    for (index, object) in schema.objects().iter().enumerate() {
        let sys = object.system;
        for (slot, row) in snapshot.table(ObjectIdx(index)).rows() {
            per_object[index] += 1;
            let what = format!("{} {}", object.name, id_of(object, slot));
            let (Value::DateTime(created), Value::DateTime(modified), Value::DateTime(stamp)) = (
                &row[sys.created_date],
                &row[sys.last_modified_date],
                &row[sys.system_modstamp],
            ) else {
                panic!("{what}: audit timestamps missing");
            };
            assert!(
                (START_MILLIS..ANCHOR_MILLIS).contains(created),
                "{what}: created {created} outside the window"
            );
            assert!(
                modified >= created && stamp >= modified,
                "{what}: timestamps out of order"
            );
            assert_eq!(row[sys.is_deleted], Value::Bool(false), "{what}");
            for field in &object.fields {
                let Some(column) = field.column() else {
                    continue;
                };
                let value = &row[column];
                if value.is_null() {
                    assert!(
                        field.nillable || field.defaulted_on_create || !field.createable,
                        "{what}: required {} is empty",
                        field.name
                    );
                    continue;
                }
                // The value goes through the same checks a Bulk upload of it would.
                let text = csv_text(field, value);
                let reread = coerce(field, Input::Csv(&text), &mut |id| {
                    let (target, _, target_row) = snapshot.find(&schema, id)?;
                    let target_def = schema.object(target);
                    (!is_deleted(target_def, target_row)).then(|| target_def.name.clone())
                });
                match reread {
                    Ok(reread) => assert!(
                        reread == *value
                            || (field.field_type == FieldType::Int
                                && reread.as_f64() == value.as_f64()),
                        "{what}: {} = {value:?} reads back as {reread:?}",
                        field.name
                    ),
                    Err(e) => panic!("{what}: {} = {value:?} is refused: {e:?}", field.name),
                }
                if let Value::Ref(parent) = value
                    && field.name != "CreatedById"
                    && field.name != "LastModifiedById"
                {
                    let parent_created = snapshot
                        .find(&schema, *parent)
                        .and_then(|(p, _, r)| match r[schema.object(p).system.created_date] {
                            Value::DateTime(t) => Some(t),
                            _ => None,
                        })
                        .unwrap_or(i64::MAX);
                    let self_or_owner = field.name == "OwnerId" || parent.prefix() == "005";
                    assert!(
                        self_or_owner || parent_created <= *created,
                        "{what}: created before its parent through {}",
                        field.name
                    );
                }
            }
        }
    }
    for name in [
        "User",
        "Account",
        "Contact",
        "Lead",
        "Campaign",
        "CampaignMember",
        "Opportunity",
        "OpportunityLineItem",
        "Product2",
        "Pricebook2",
        "PricebookEntry",
        "Case",
        "Task",
        "Event",
        "Invoice__c",
        "Invoice_Line__c",
    ] {
        let (index, _) = schema.find(name).unwrap();
        assert!(per_object[index.0] > 0, "no {name} records");
    }
}

#[test]
fn derived_fields_match_what_a_save_derives() {
    let org = seeded("derived", 3_000, "");
    let schema = org.schema().clone();
    let (line_item, item_def) = schema.find("OpportunityLineItem").unwrap();
    let (opportunity, opp_def) = schema.find("Opportunity").unwrap();
    let column =
        |def: &crate::schema::ObjectDef, name: &str| def.field(name).unwrap().1.column().unwrap();
    let result: Result<(), crate::store::WriteError<()>> = org.store.write(org.admin(), |txn| {
        for (index, object) in schema.objects().iter().enumerate() {
            let rows: Vec<(u32, Vec<Value>)> = txn
                .data()
                .table(ObjectIdx(index))
                .rows()
                .map(|(slot, row)| (slot, row.to_vec()))
                .collect();
            for (slot, row) in rows {
                let mut derived = row.clone();
                crate::dml::derive(txn, ObjectIdx(index), slot, &mut derived);
                assert!(
                    derived == row,
                    "{} {slot}: {row:?} derives to {derived:?}",
                    object.name
                );
            }
        }
        // An opportunity with line items has their total as its Amount.
        let snapshot = txn.data();
        let (opp_of, total) = (
            column(item_def, "OpportunityId"),
            column(item_def, "TotalPrice"),
        );
        let mut sums = std::collections::BTreeMap::new();
        for (_, row) in snapshot.table(line_item).rows() {
            let Value::Ref(opp) = row[opp_of] else {
                panic!("line item without opportunity")
            };
            *sums.entry(opp).or_insert(0.0) += row[total].as_f64().unwrap();
        }
        assert!(!sums.is_empty(), "no line items");
        for (slot, row) in snapshot.table(opportunity).rows() {
            let id = id_of(opp_def, slot);
            let has_items = row[column(opp_def, "HasOpportunityLineItem")] == Value::Bool(true);
            assert_eq!(has_items, sums.contains_key(&id), "{id}");
            if let Some(sum) = sums.get(&id) {
                let amount = row[column(opp_def, "Amount")].as_f64().unwrap();
                assert_eq!(amount, (sum * 100.0_f64).round() / 100.0, "{id}");
            }
            let stage = row[column(opp_def, "StageName")].as_text().unwrap();
            assert_eq!(
                row[column(opp_def, "IsWon")],
                Value::Bool(stage == "Closed Won"),
                "{id}"
            );
        }
        Err(crate::store::WriteError::Work(()))
    });
    assert!(result.is_err(), "the check transaction is rolled back");
    let (case, case_def) = schema.find("Case").unwrap();
    let numbers: Vec<String> = org
        .store
        .snapshot()
        .table(case)
        .rows()
        .take(2)
        .map(|(_, row)| {
            row[column(case_def, "CaseNumber")]
                .as_text()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(numbers, ["00001001", "00001002"]);
    let _ = slot_of;
}

#[test]
fn generated_records_keep_the_orgs_validation_rules() {
    let rules = r#"
    [[validation_rules]]
    object = "Opportunity"
    name = "No_Huge_Deals"
    condition = "Amount > 200000"
    message = "Deals above 200,000 need approval"

    [[validation_rules]]
    object = "Account"
    name = "Only_Some_Industries"
    condition = "Industry != 'Banking' AND Industry != 'Energy' AND Industry != 'Retail'"
    message = "Pick a covered industry"
    "#;
    let org = seeded("rules", 2_000, rules);
    let schema = org.schema().clone();
    let snapshot = org.store.snapshot();
    let mut checked = 0;
    for name in ["Opportunity", "Account"] {
        let (object, def) = schema.find(name).unwrap();
        assert_eq!(def.validation_rules.len(), 1);
        let rule = &def.validation_rules[0].condition;
        for (slot, row) in snapshot.table(object).rows() {
            assert!(
                !crate::soql::condition_holds(&schema, &snapshot, object, slot, row, rule),
                "{name} {} breaks its rule",
                id_of(def, slot)
            );
            checked += 1;
        }
    }
    // Accounts are only kept in three industries (or none), so the rule really was applied.
    let (account, def) = schema.find("Account").unwrap();
    let industry = def.field("Industry").unwrap().1.column().unwrap();
    assert!(snapshot.table(account).rows().all(|(_, row)| matches!(
        row[industry].as_text(),
        None | Some("Banking" | "Energy" | "Retail")
    )));
    assert!(checked > 100, "{checked} records checked");
}
