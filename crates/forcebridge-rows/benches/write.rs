//! How fast a writer turns records into output, with no network: a page of 2,000 contacts
//! of 20 fields (as the org writes them, `Account.Name` and a street with a line break
//! included) written as CSV, JSON lines, JSON and a table into `io::sink()`, and what the
//! client's check of that page (`RawPage::from_json`) costs before any of them.
//!
//! Run with `cargo bench -p forcebridge-rows`; `scripts/bench-query` measures the whole query
//! command against its peers.

use divan::counter::{BytesCount, ItemsCount};
use divan::{Bencher, black_box};
use forcebridge_client::RawPage;
use forcebridge_rows::{Columns, Format, RowWriter};

fn main() {
    divan::main();
}

const SOQL: &str = "SELECT Id, FirstName, LastName, Name, Email, Phone, MobilePhone, Title, \
    Department, LeadSource, Birthdate, MailingStreet, MailingCity, MailingState, \
    MailingPostalCode, MailingCountry, HasOptedOutOfEmail, CreatedDate, LastModifiedDate, \
    Account.Name FROM Contact";

fn records() -> Vec<String> {
    (0..2000)
        .map(|i| {
            format!(
                concat!(
                    r#"{{"attributes":{{"type":"Contact","url":"/services/data/v60.0/sobjects/Contact/003Hs00000{i:08}AAA"}},"#,
                    r#""Id":"003Hs00000{i:08}AAA","FirstName":"Maria","LastName":"Lindqvist-{i}","Name":"Maria Lindqvist-{i}","#,
                    r#""Email":"maria.lindqvist{i}@example.com","Phone":"(415) 555-{p:04}","MobilePhone":null,"#,
                    r#""Title":"VP, Operations","Department":"Operations","LeadSource":"Web","Birthdate":"1984-03-{d:02}","#,
                    r#""MailingStreet":"{i} Market Street\nSuite 400","MailingCity":"San Francisco","MailingState":"CA","#,
                    r#""MailingPostalCode":"94105","MailingCountry":"United States","HasOptedOutOfEmail":false,"#,
                    r#""CreatedDate":"2024-01-15T10:30:00.000+0000","LastModifiedDate":"2024-02-01T08:00:00.000+0000","#,
                    r#""Account":{{"attributes":{{"type":"Account","url":"/services/data/v60.0/sobjects/Account/001Hs00000{a:08}AAA"}},"Name":"Acme Holdings {a}"}}}}"#
                ),
                i = i,
                p = i % 10000,
                d = 1 + i % 28,
                a = i / 7,
            )
        })
        .collect()
}

/// The page as the org sends it.
fn page() -> RawPage {
    let records = records();
    let body = format!(
        r#"{{"totalSize":{n},"done":true,"records":[{}]}}"#,
        records.join(","),
        n = records.len()
    );
    RawPage::from_json(body).unwrap()
}

/// What the client does to each page before a writer sees it: check it is JSON and find its
/// records.
#[divan::bench]
fn page_check(bencher: Bencher<'_, '_>) {
    let body = page().body().to_string();
    bencher
        .counter(ItemsCount::new(2000usize))
        .counter(BytesCount::new(body.len()))
        .with_inputs(|| body.clone())
        .bench_local_values(|body| RawPage::from_json(body).unwrap());
}

fn write_page(bencher: Bencher<'_, '_>, format: Format) {
    let page = page();
    bencher
        .counter(ItemsCount::new(page.len()))
        .counter(BytesCount::new(page.body().len()))
        .bench_local(|| {
            let mut writer = RowWriter::new(format, Columns::of_soql(SOQL), std::io::sink());
            writer.write_page(black_box(&page)).unwrap();
            writer.finish().unwrap()
        });
}

#[divan::bench]
fn csv(bencher: Bencher<'_, '_>) {
    write_page(bencher, Format::Csv);
}

#[divan::bench]
fn json_lines(bencher: Bencher<'_, '_>) {
    write_page(bencher, Format::Jsonl);
}

#[divan::bench]
fn json(bencher: Bencher<'_, '_>) {
    write_page(bencher, Format::Json);
}

#[divan::bench]
fn table(bencher: Bencher<'_, '_>) {
    write_page(bencher, Format::Table);
}

/// A record given as text (not from a checked page) is checked before it is written.
#[divan::bench]
fn csv_of_unchecked_text(bencher: Bencher<'_, '_>) {
    let records = records();
    bencher
        .counter(ItemsCount::new(records.len()))
        .bench_local(|| {
            let mut writer = RowWriter::new(Format::Csv, Columns::of_soql(SOQL), std::io::sink());
            for record in &records {
                writer.write_json(black_box(record)).unwrap();
            }
            writer.finish().unwrap()
        });
}
