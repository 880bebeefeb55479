//! Real query pages from the local org, written as a CSV: the columns are the SELECT list in
//! its order, every record is there, and child records get rows of their own.

use forcebridge_client::{AccessTokenCredentials, Client, Record};
use forcebridge_emulator::Emulator;
use forcebridge_emulator::{Config, SeedConfig};
use forcebridge_rows::{Columns, Format, RowWriter};
use futures_util::TryStreamExt;

use crate::support::read_csv;

async fn seeded_org() -> (Emulator, Client) {
    let mut config = Config::builtin();
    config.seed = Some(SeedConfig {
        seed: "rows-tests".into(),
        records: 2000,
    });
    let emulator = Emulator::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = Client::builder(AccessTokenCredentials {
        instance_url: emulator.url().to_string(),
        access_token: emulator.access_token().into(),
    })
    .build()
    .unwrap();
    (emulator, client)
}

async fn csv_of(client: &Client, soql: &str) -> String {
    let mut out = Vec::new();
    let mut writer = RowWriter::new(Format::Csv, Columns::of_soql(soql), &mut out);
    let mut pages = client.query(soql).batch_size(200).raw_pages();
    while let Some(page) = pages.try_next().await.unwrap() {
        writer.write_page(&page).unwrap();
    }
    writer.finish().unwrap();
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn pages_from_the_org_become_rows_in_select_order() {
    let (_org, client) = seeded_org().await;
    let soql = "SELECT Title, Account.Name, LastName, Id FROM Contact ORDER BY Id";
    let (header, rows) = read_csv(&csv_of(&client, soql).await);
    assert_eq!(header, ["Title", "Account.Name", "LastName", "Id"]);

    let records: Vec<Record> = client.query(soql).fetch_all().await.unwrap();
    assert!(records.len() > 200, "several pages: {}", records.len());
    assert_eq!(rows.len(), records.len());
    for (row, record) in rows.iter().zip(&records) {
        let expected: Vec<&str> = ["Title", "Account.Name", "LastName", "Id"]
            .iter()
            .map(|path| record.get_str(path).unwrap_or(""))
            .collect();
        assert_eq!(row, &expected);
    }
}

#[tokio::test]
async fn each_child_record_is_a_row_and_childless_parents_keep_theirs() {
    let (_org, client) = seeded_org().await;
    let soql = "SELECT Name, Id, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account ORDER BY Id";
    let (header, rows) = read_csv(&csv_of(&client, soql).await);
    assert_eq!(header, ["Name", "Id", "Contacts.LastName"]);

    let accounts: Vec<Record> = client.query(soql).fetch_all().await.unwrap();
    let mut expected = Vec::new();
    for account in &accounts {
        let cells = |last_name: &str| {
            vec![
                account.get_str("Name").unwrap_or("").to_string(),
                account.get_str("Id").unwrap_or("").to_string(),
                last_name.to_string(),
            ]
        };
        let contacts = account.children("Contacts");
        if contacts.is_empty() {
            expected.push(cells(""));
        }
        for contact in contacts {
            expected.push(cells(contact.get_str("LastName").unwrap_or("")));
        }
    }
    assert!(accounts.iter().any(|a| a.children("Contacts").len() > 1));
    assert!(accounts.iter().any(|a| a.children("Contacts").is_empty()));
    assert_eq!(rows, expected);
}
