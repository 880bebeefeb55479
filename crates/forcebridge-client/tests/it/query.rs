//! Queries: lazy streams, pages, typed and dynamic records, terminals, errors.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use forcebridge_client::{ErrorKind, Page, Record};
use futures_util::{StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::json;

use crate::support::TestOrg;

#[tokio::test]
async fn a_stream_walks_every_page_once_in_batches() {
    let org = TestOrg::seeded(3000).await;
    let client = org.client();
    let expected = client
        .query("SELECT COUNT() FROM Contact")
        .total_size()
        .await
        .unwrap();
    assert!(
        expected > 400,
        "the seed should make several pages: {expected}"
    );

    let pages: Vec<Page<Record>> = client
        .query("SELECT Id, LastName, Account.Name FROM Contact")
        .batch_size(200)
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert!(pages.len() as u64 >= expected / 200);
    assert!(
        pages
            .iter()
            .all(|p| p.records.len() <= 200 && p.total_size == expected)
    );
    assert!(pages.last().unwrap().done && pages.last().unwrap().next_records_url.is_none());

    let ids: Vec<String> = pages
        .iter()
        .flat_map(|p| &p.records)
        .map(|r| r.id().unwrap().to_string())
        .collect();
    assert_eq!(ids.len() as u64, expected);
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        ids.len(),
        "no duplicates"
    );
    let with_account = pages
        .iter()
        .flat_map(|p| &p.records)
        .filter(|r| r.get_str("Account.Name").is_some())
        .count();
    assert!(with_account > 0);
}

#[derive(Debug, Deserialize)]
struct Contact {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "LastName")]
    last_name: String,
    #[serde(rename = "Account")]
    account: Option<AccountName>,
}

#[derive(Debug, Deserialize)]
struct AccountName {
    #[serde(rename = "Name")]
    name: String,
}

/// A type that does not match `LastName`, a string.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct WrongLastName {
    #[serde(rename = "LastName")]
    last_name: u32,
}

#[tokio::test]
async fn typed_records_read_nested_parents_and_nulls() {
    let org = TestOrg::start().await;
    let client = org.client();
    let account = org
        .create(&client, "Account", json!({"Name": "Acme"}))
        .await;
    org.create(
        &client,
        "Contact",
        json!({"LastName": "Ng", "AccountId": account}),
    )
    .await;
    org.create(&client, "Contact", json!({"LastName": "Orphan"}))
        .await;

    let contacts: Vec<Contact> = client
        .query_as("SELECT Id, LastName, Account.Name FROM Contact ORDER BY LastName")
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(contacts.len(), 2);
    assert_eq!(contacts[0].last_name, "Ng");
    assert_eq!(contacts[0].account.as_ref().unwrap().name, "Acme");
    assert!(contacts[0].id.starts_with("003") && contacts[0].id.len() == 18);
    assert!(contacts[1].account.is_none());

    // The same rows, dynamic, with children nested as Salesforce nests them.
    let accounts = client
        .query("SELECT Name, (SELECT LastName FROM Contacts) FROM Account")
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(
        accounts[0].children("Contacts")[0].get_str("LastName"),
        Some("Ng")
    );

    // A type that does not match the SELECT list is a decode error that names the problem.
    let error = client
        .query_as::<WrongLastName>("SELECT LastName FROM Contact")
        .fetch_all()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
    let cause = std::error::Error::source(&error).unwrap().to_string();
    assert!(cause.contains("invalid type"), "{cause}");
}

#[tokio::test]
async fn full_pages_read_the_same_typed_and_dynamic() {
    // Pages of hundreds of records are parsed away from the runtime; the records must come
    // out the same, in order, and a record that does not fit the type must still fail.
    let org = TestOrg::seeded(3000).await;
    let client = org.client();
    let soql = "SELECT Id, LastName, Account.Name FROM Contact ORDER BY Id";
    let typed: Vec<Contact> = client.query_as(soql).fetch_all().await.unwrap();
    let dynamic: Vec<Record> = client.query(soql).fetch_all().await.unwrap();
    assert!(typed.len() > 400, "{} contacts", typed.len());
    assert_eq!(typed.len(), dynamic.len());
    for (typed, dynamic) in typed.iter().zip(&dynamic) {
        assert_eq!(Some(typed.id.as_str()), dynamic.id());
        assert_eq!(Some(typed.last_name.as_str()), dynamic.get_str("LastName"));
        assert_eq!(
            typed.account.as_ref().map(|a| a.name.as_str()),
            dynamic.get_str("Account.Name")
        );
        assert_eq!(dynamic.sobject_type(), Some("Contact"));
        assert!(dynamic.url().unwrap().ends_with(&typed.id));
    }

    let error = client
        .query_as::<WrongLastName>(soql)
        .fetch_all()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
}

#[tokio::test]
async fn raw_pages_hold_each_record_as_the_org_sent_it() {
    let org = TestOrg::seeded(3000).await;
    let client = org.client();
    let odd = "O\"Brien, \\ line one\nline two \u{e9}\u{1F600}\t";
    org.create(&client, "Contact", json!({"LastName": odd}))
        .await;
    let soql = "SELECT Id, LastName, Account.Name FROM Contact ORDER BY Id";

    let raw: Vec<forcebridge_client::RawPage> = client
        .query(soql)
        .batch_size(200)
        .raw_pages()
        .try_collect()
        .await
        .unwrap();
    let records: Vec<Record> = client.query(soql).fetch_all().await.unwrap();
    assert!(raw.len() > 2, "several pages: {}", raw.len());
    assert!(
        raw.iter()
            .all(|p| p.len() <= 200 && p.total_size == records.len() as u64)
    );
    assert!(raw.last().unwrap().done && raw.last().unwrap().next_records_url.is_none());

    let texts: Vec<&str> = raw.iter().flat_map(|p| p.records()).collect();
    assert_eq!(texts.len(), records.len());
    for (text, record) in texts.iter().zip(&records) {
        // Each text is exactly one record: it reads back as the record the stream gave.
        let read: Record = serde_json::from_str(text).unwrap();
        assert_eq!(&read, record);
        assert!(!text.contains('\n'), "{text}");
    }
    let odd_one = texts.iter().find(|t| t.contains("Brien")).unwrap();
    let read: Record = serde_json::from_str(odd_one).unwrap();
    assert_eq!(read.get_str("LastName"), Some(odd));
}

#[tokio::test]
async fn terminals_fetch_one_optional_and_count() {
    let org = TestOrg::start().await;
    let client = org.client();
    org.create(&client, "Account", json!({"Name": "Only"}))
        .await;

    let one = client
        .query("SELECT Name FROM Account")
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(one.get_str("Name"), Some("Only"));
    let none = client
        .query("SELECT Name FROM Account WHERE Name = 'Nobody'")
        .fetch_optional()
        .await
        .unwrap();
    assert!(none.is_none());
    let error = client
        .query("SELECT Name FROM Account WHERE Name = 'Nobody'")
        .fetch_one()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NoRecord);
    assert_eq!(
        client
            .query("SELECT COUNT() FROM Account")
            .total_size()
            .await
            .unwrap(),
        1
    );
    let aggregate = client
        .query("SELECT COUNT(Id) n FROM Account")
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(aggregate.sobject_type(), Some("AggregateResult"));
    assert_eq!(aggregate.get_i64("n"), Some(1));
}

#[tokio::test]
async fn query_all_sees_deleted_records_that_query_hides() {
    let org = TestOrg::start().await;
    let client = org.client();
    let id = org
        .create(&client, "Account", json!({"Name": "Gone"}))
        .await;
    client.sobject("Account").delete(&id).await.unwrap();

    let live = client
        .query("SELECT Id FROM Account")
        .fetch_all()
        .await
        .unwrap();
    assert!(live.is_empty());
    let all = client
        .query_all("SELECT Id, IsDeleted FROM Account")
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].get_bool("IsDeleted"), Some(true));
}

#[tokio::test]
async fn bad_queries_fail_with_the_orgs_code_and_position() {
    let org = TestOrg::start().await;
    let client = org.client();
    let error = client
        .query("SELECT Nme FROM Account")
        .fetch_all()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Api);
    assert_eq!(error.status(), Some(400));
    assert_eq!(error.error_code(), Some("INVALID_FIELD"));
    assert!(
        error.to_string().contains("No such column 'Nme'"),
        "{error}"
    );
    assert!(
        error.to_string().contains("GET /services/data/v60.0/query"),
        "{error}"
    );

    let error = client
        .query("SELECT Id FROM Nothing__c")
        .fetch_all()
        .await
        .unwrap_err();
    assert_eq!(error.error_code(), Some("INVALID_TYPE"));
    let error = client
        .query("SELECT Id FROM Account")
        .batch_size(50)
        .fetch_all()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotSent);
}

#[tokio::test]
async fn nothing_is_sent_until_polled_and_dropping_stops_the_paging() {
    let org = TestOrg::seeded(3000).await;
    let client = org.client();
    let stream = client
        .query("SELECT Id FROM Contact")
        .batch_size(200)
        .stream();
    tokio::task::yield_now().await;
    assert_eq!(client.requests_sent(), 0, "a stream is lazy");

    let first_five: Vec<Record> = stream.take(5).try_collect().await.unwrap();
    assert_eq!(first_five.len(), 5);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    // The first page, and at most the two fetched ahead (one parsed, one downloading).
    assert!(client.requests_sent() <= 3, "{}", client.requests_sent());
}

#[tokio::test]
async fn a_session_that_expires_mid_stream_is_renewed_once_and_the_stream_goes_on() {
    let org = TestOrg::seeded(3000).await;
    let (client, logins) = org.counted_client();
    let mut pages = client
        .query("SELECT Id FROM Contact")
        .batch_size(200)
        .pages();
    let first = pages.next().await.unwrap().unwrap();
    let total = first.total_size;
    let mut seen: HashSet<String> = first
        .records
        .iter()
        .map(|r| r.id().unwrap().to_string())
        .collect();
    org.emulator.control().expire_sessions();
    while let Some(page) = pages.next().await {
        for record in page.unwrap().records {
            assert!(seen.insert(record.id().unwrap().to_string()), "duplicate");
        }
    }
    assert_eq!(seen.len() as u64, total);
    assert_eq!(logins.load(Ordering::SeqCst), 2);
}

#[test]
fn the_client_its_futures_and_streams_are_send_and_static() {
    fn is_send_static<T: Send + 'static>(_: &T) {}
    fn is_send_sync<T: Send + Sync + 'static>() {}
    is_send_sync::<forcebridge_client::Client>();
    is_send_sync::<forcebridge_client::Error>();
    let client = forcebridge_client::Client::builder(forcebridge_client::AccessTokenCredentials {
        instance_url: "http://127.0.0.1:9".into(),
        access_token: "token".into(),
    })
    .build()
    .unwrap();
    is_send_static(&client.query("SELECT Id FROM Account").stream());
    is_send_static(&client.query("SELECT Id FROM Account").pages());
    is_send_static(&client.query("SELECT Id FROM Account").raw_pages());
    is_send_static(&client.query("SELECT Id FROM Account").fetch_all());
    is_send_static(
        &client
            .query_as::<Contact>("SELECT Id FROM Contact")
            .fetch_one(),
    );
    let object = client.sobject("Account");
    is_send_static(&async move { object.get("001").await });
    is_send_static(&async move { client.limits().await });
}

#[tokio::test]
async fn searches_find_records_across_objects() {
    let org = TestOrg::start().await;
    let client = org.client();
    org.create(&client, "Account", json!({"Name": "Quixotic Widgets"}))
        .await;
    org.create(&client, "Contact", json!({"LastName": "Quixotic"}))
        .await;
    org.create(&client, "Account", json!({"Name": "Other"}))
        .await;

    let found = client
        .search("FIND {Quixotic} RETURNING Account(Name), Contact(LastName)")
        .await
        .unwrap();
    let mut types: Vec<&str> = found.iter().filter_map(|r| r.sobject_type()).collect();
    types.sort();
    assert_eq!(types, ["Account", "Contact"]);

    let search = forcebridge_client::ParameterizedSearch::new("Quixotic")
        .returning("Account", &["Id", "Name"]);
    let accounts = client.parameterized_search(&search).await.unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].get_str("Name"), Some("Quixotic Widgets"));

    let read_only = org
        .builder()
        .access(forcebridge_client::Access::ReadOnly)
        .build()
        .unwrap();
    assert_eq!(
        read_only.parameterized_search(&search).await.unwrap().len(),
        1
    );
    // A broken search is refused before it is sent; unchecked, the org refuses it.
    let sent = client.requests_sent();
    let error = client.search("FIND {").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidQuery);
    assert!(
        error.to_string().starts_with("invalid SOSL at line 1"),
        "{error}"
    );
    assert_eq!(client.requests_sent(), sent);
    let error = client.search_unchecked("FIND {").await.unwrap_err();
    assert_eq!(error.error_code(), Some("MALFORMED_SEARCH"));
}

#[tokio::test]
async fn an_invalid_query_is_refused_before_anything_is_sent_unless_unchecked() {
    let org = TestOrg::start().await;
    let client = org.client();
    let soql = "SELECT Id FROM Account WHERE Name = Acme";
    let error = client.query(soql).fetch_all().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidQuery);
    assert!(error.is_not_sent());
    assert_eq!(client.requests_sent(), 0, "not even a login");
    let message = error.to_string();
    assert!(
        message.starts_with("invalid SOQL at line 1, column 37: "),
        "{message}"
    );
    assert!(!message.contains('\n'), "one line: {message}");
    let diagnostic = &error.query_diagnostics()[0];
    assert_eq!(&soql[diagnostic.span.range()], "Acme");
    let frame = error.code_frame().unwrap();
    assert!(frame.contains(&format!("1 | {soql}")), "{frame}");
    assert!(frame.contains("^^^^"), "{frame}");
    // Streams and terminals refuse alike; a SOSL search is not a query.
    let mut pages = client.query_all(soql).pages();
    assert_eq!(
        pages.try_next().await.unwrap_err().kind(),
        ErrorKind::InvalidQuery
    );
    assert!(pages.try_next().await.unwrap().is_none(), "the stream ends");
    let error = client.query("FIND {Acme}").total_size().await.unwrap_err();
    assert!(error.to_string().contains("found a SOSL search"), "{error}");
    assert_eq!(client.requests_sent(), 0);

    // Unchecked, the statement goes to the org, which refuses it as Salesforce would.
    let error = client
        .query(soql)
        .unchecked()
        .fetch_all()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Api);
    assert!(error.code_frame().is_none());
    assert!(client.requests_sent() > 0);
}

/// A valid query of about `bytes` bytes over Contacts that matches every one of them.
fn long_query(bytes: usize) -> String {
    let mut soql = String::from("SELECT Id FROM Contact WHERE LastName NOT IN (");
    let mut n = 0;
    while soql.len() < bytes {
        soql.push_str(&format!("'no such name {n}', "));
        n += 1;
    }
    soql.push_str("'none') ORDER BY Id");
    soql
}

#[tokio::test]
async fn a_query_too_long_for_a_url_is_sent_through_composite_and_pages_as_usual() {
    // More Contacts than the 2,000 of a first page (the local org's composite pages by 2,000).
    let org = TestOrg::seeded(12_000).await;
    let client = org.client();
    let expected: Vec<String> = client
        .query("SELECT Id FROM Contact ORDER BY Id")
        .fetch_all()
        .await
        .unwrap()
        .iter()
        .map(|r| r.id().unwrap().to_string())
        .collect();
    assert!(expected.len() > 2000, "several pages: {}", expected.len());

    let soql = long_query(45_000);
    assert!(soql.len() >= 45_000);
    let mut pages = client.query(&soql).batch_size(200).pages();
    let mut ids = Vec::new();
    let mut n_pages = 0;
    while let Some(page) = pages.try_next().await.unwrap() {
        n_pages += 1;
        ids.extend(page.records.iter().map(|r| r.id().unwrap().to_string()));
    }
    assert!(n_pages > 1, "the first page named the next: {n_pages}");
    assert_eq!(ids, expected);
    // queryAll takes the same road.
    let all = client.query_all(&soql).total_size().await.unwrap();
    assert_eq!(all, expected.len() as u64);
    // The org's refusal of a long query is the query's error, not the composite's.
    let unknown = soql.replacen("SELECT Id", "SELECT Nope__c", 1);
    let error = client.query(&unknown).fetch_all().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Api);
    assert_eq!(error.status(), Some(400));
    assert!(
        error
            .to_string()
            .starts_with("GET /services/data/v60.0/query: INVALID_FIELD"),
        "{error}"
    );
}

#[tokio::test]
async fn a_query_over_salesforces_limit_is_refused_with_a_short_message() {
    let org = TestOrg::start().await;
    let client = org.client();
    for soql in [long_query(150_000), long_query(11_500_000)] {
        for error in [
            client.query(&soql).fetch_all().await.unwrap_err(),
            client
                .query(&soql)
                .unchecked()
                .fetch_all()
                .await
                .unwrap_err(),
            client.bulk().query(&soql).start().await.unwrap_err(),
        ] {
            assert_eq!(error.kind(), ErrorKind::InvalidQuery);
            let message = error.to_string();
            assert!(
                message.contains("characters long; Salesforce accepts at most 100,000"),
                "{message}"
            );
            assert!(message.len() < 200, "{message}");
            assert!(error.code_frame().unwrap().len() < 1000);
            assert!(std::error::Error::source(&error).is_none());
        }
    }
    assert_eq!(client.requests_sent(), 0);
}

#[tokio::test]
async fn tooling_queries_go_to_the_tooling_resource_and_are_checked_first() {
    let org = TestOrg::seeded(3000).await;
    let client = org.client();
    let soql = "SELECT Id, LastName FROM Contact";
    let expected = client.query(soql).fetch_all().await.unwrap();
    // Several pages: the next ones follow the org's nextRecordsUrl.
    let pages: Vec<Page<Record>> = client
        .tooling_query(soql)
        .batch_size(500)
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert!(pages.len() > 1, "{} pages", pages.len());
    let tooling: Vec<Record> = pages.into_iter().flat_map(|p| p.records).collect();
    assert_eq!(tooling.len(), expected.len());

    let sent = client.requests_sent();
    let error = client
        .tooling_query("SELECT Id FROM")
        .fetch_all()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidQuery);
    assert_eq!(client.requests_sent(), sent, "nothing sent");
}

/// A server of three pages whose second page sends its first bytes (with `nextRecordsUrl`) and
/// then holds the rest of its body back until the third page has been asked for.
async fn page_server_holding_page_two() -> String {
    use axum::body::Body;
    use axum::extract::Path;
    use std::sync::{Arc, Mutex};
    use tokio::sync::oneshot;

    fn records(from: usize) -> String {
        (from..from + 3)
            .map(|i| format!(r#"{{"attributes":{{"type":"Contact"}},"LastName":"L{i}"}}"#))
            .collect::<Vec<_>>()
            .join(",")
    }
    let (asked_for_three, three_asked) = oneshot::channel::<()>();
    let asked_for_three = Arc::new(Mutex::new(Some(asked_for_three)));
    let three_asked = Arc::new(Mutex::new(Some(three_asked)));
    let app = axum::Router::new()
        .route(
            "/services/data/v60.0/query",
            axum::routing::get(|| async {
                format!(
                    r#"{{"totalSize":9,"done":false,"nextRecordsUrl":"/services/data/v60.0/query/01g-3","records":[{}]}}"#,
                    records(0)
                )
            }),
        )
        .route(
            "/services/data/v60.0/query/{locator}",
            axum::routing::get(move |Path(locator): Path<String>| {
                let asked_for_three = asked_for_three.clone();
                let three_asked = three_asked.clone();
                async move {
                    if locator == "01g-6" {
                        if let Some(tell) = asked_for_three.lock().unwrap().take() {
                            let _ = tell.send(());
                        }
                        return Body::from(format!(
                            r#"{{"totalSize":9,"done":true,"records":[{}]}}"#,
                            records(6)
                        ));
                    }
                    let head = r#"{"totalSize":9,"done":false,"nextRecordsUrl":"/services/data/v60.0/query/01g-6","records":["#;
                    let rest = format!("{}]}}", records(3));
                    let wait = three_asked.lock().unwrap().take();
                    let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(
                        bytes::Bytes::from_static(head.as_bytes()),
                    )])
                    .chain(futures_util::stream::once(async move {
                        if let Some(wait) = wait {
                            let _ = wait.await;
                        }
                        Ok(bytes::Bytes::from(rest))
                    }));
                    Body::from_stream(chunks)
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn the_next_page_is_asked_for_as_soon_as_a_page_s_first_bytes_name_it() {
    // Page two's body is held back until page three is asked for: a client that waited for
    // the whole body before asking would wait for ever.
    let url = page_server_holding_page_two().await;
    let client = forcebridge_client::Client::builder(forcebridge_client::AccessTokenCredentials {
        instance_url: url,
        access_token: "token".into(),
    })
    .build()
    .unwrap();
    let names = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        client
            .query("SELECT LastName FROM Contact")
            .stream()
            .map_ok(|r: Record| r.get_str("LastName").unwrap().to_string())
            .try_collect::<Vec<_>>()
            .await
    })
    .await
    .expect("page three was not asked for while page two's body was still coming")
    .unwrap();
    let expected: Vec<String> = (0..9).map(|i| format!("L{i}")).collect();
    assert_eq!(names, expected, "every record once, in order");
}
