//! Parse and print throughput on a realistic mix: the small queries that integrations and
//! assistants send all day, and the wide SELECT a replication tool sends (300 fields).
//!
//! Run with `cargo bench -p forcebridge-soql`; numbers are recorded in the crate README.

use divan::counter::BytesCount;
use divan::{Bencher, black_box};

fn main() {
    divan::main();
}

/// Small and medium statements of the kinds clients send (paging, lookups, aggregates, joins).
const MIX: &[&str] = &[
    "SELECT Id, Name FROM Account",
    "SELECT Id, Name, Industry FROM Account WHERE Name LIKE 'Acme%' ORDER BY Name LIMIT 20",
    "SELECT Id FROM Contact WHERE AccountId = '001xx000003DGb2AAG'",
    "SELECT Id, LastModifiedDate FROM Opportunity WHERE SystemModstamp > 2024-01-15T10:30:00.000+0000 ORDER BY SystemModstamp ASC",
    "SELECT COUNT() FROM Lead WHERE IsConverted = false AND CreatedDate = LAST_N_DAYS:30",
    "SELECT StageName, COUNT(Id) n, SUM(Amount) total FROM Opportunity WHERE CloseDate = THIS_FISCAL_YEAR GROUP BY StageName HAVING SUM(Amount) > 100000",
    "SELECT Id, Name, (SELECT Id, LastName, Email FROM Contacts WHERE Email != null ORDER BY LastName LIMIT 5) FROM Account WHERE Industry IN ('Media', 'Technology', 'Energy') LIMIT 100",
    "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Opportunity WHERE StageName = 'Closed Won') AND Id NOT IN (SELECT AccountId FROM Case WHERE IsClosed = false)",
    "SELECT Id, TYPEOF What WHEN Account THEN Phone, Name WHEN Opportunity THEN Amount ELSE Name END FROM Event WHERE ActivityDate = NEXT_N_DAYS:7",
    "SELECT Id, Subject FROM Case WHERE (Priority = 'High' OR Priority = 'Critical') AND Status != 'Closed' AND Owner.Alias = 'jdoe' ORDER BY CreatedDate DESC NULLS LAST LIMIT 50 OFFSET 100",
    "FIND {Acme* OR \"Acme Corp\"} IN NAME FIELDS RETURNING Account(Id, Name WHERE Industry = 'Media' LIMIT 10), Contact(Id, Email) LIMIT 25",
];

fn wide_select() -> String {
    let fields: Vec<String> = (0..300)
        .map(|i| format!("Custom_Field_{i:03}__c"))
        .collect();
    format!(
        "SELECT Id, {} FROM Account__c WHERE SystemModstamp > 2024-01-15T10:30:00.000Z ORDER BY SystemModstamp, Id LIMIT 2000",
        fields.join(", ")
    )
}

#[divan::bench]
fn parse_mix(bencher: Bencher<'_, '_>) {
    let bytes: usize = MIX.iter().map(|q| q.len()).sum();
    bencher.counter(BytesCount::new(bytes)).bench(|| {
        for query in MIX {
            black_box(forcebridge_soql::parse(black_box(query)));
        }
    });
}

#[divan::bench]
fn parse_300_field_select(bencher: Bencher<'_, '_>) {
    let query = wide_select();
    bencher
        .counter(BytesCount::new(query.len()))
        .bench(|| black_box(forcebridge_soql::parse(black_box(&query))));
}

#[divan::bench]
fn print_canonical_300_field_select(bencher: Bencher<'_, '_>) {
    let tree = forcebridge_soql::parse(&wide_select()).tree;
    bencher.bench(|| black_box(forcebridge_soql::to_soql(black_box(&tree))));
}

#[divan::bench]
fn build_query_with_user_input(bencher: Bencher<'_, '_>) {
    use forcebridge_soql::builder::{QueryBuilder, field};
    bencher.bench(|| {
        QueryBuilder::select(["Id", "Name", "Email"])
            .from("Contact")
            .filter(field("LastName").starts_with(black_box("O'Brien")))
            .filter(field("AccountId").eq(black_box("001xx000003DGb2AAG")))
            .limit(20)
            .build()
            .unwrap()
    });
}
