//! The data commands against a saved connection: every output format, record round trips,
//! pipes, and exit codes that tell usage, API and auth errors apart.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use predicates::prelude::*;
use serde_json::Value;

use crate::support::{Env, connected, outputs, stdout_of};

#[test]
fn query_results_print_as_table_json_jsonl_and_csv() {
    let env = connected();
    let soql = "SELECT Id, Name, Account.Name FROM Contact ORDER BY Name LIMIT 25";

    // JSON is the org's own answer, in one piece: the count, then every record.
    let json: Value = serde_json::from_str(&stdout_of(&env, &["query", soql, "--json"])).unwrap();
    assert_eq!(json["totalSize"], 25);
    assert_eq!(json["done"], true);
    let records = json["records"].as_array().unwrap();
    assert_eq!(records.len(), 25);
    assert_eq!(records[0]["attributes"]["type"], "Contact");
    let first_name = records[0]["Name"].as_str().unwrap().to_string();

    let jsonl = stdout_of(&env, &["query", soql, "--jsonl"]);
    assert_eq!(jsonl.lines().count(), 25);
    for line in jsonl.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        assert!(record["Id"].as_str().unwrap().starts_with("003"));
    }

    let csv = stdout_of(&env, &["query", soql, "--csv"]);
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("Id,Name,Account.Name"));
    assert_eq!(lines.count(), 25);
    assert!(csv.contains(&first_name));

    let table = stdout_of(&env, &["query", soql]);
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("Id") && header.contains("Account.Name"),
        "{header}"
    );
    assert!(lines.next().unwrap().starts_with("──"));
    let row = lines.next().unwrap();
    assert!(row.contains(&first_name), "{row}");
    // Columns line up: every value of the Name column starts where its header does.
    let name_at = header.find("Name").unwrap();
    assert_eq!(row.find(&first_name), Some(name_at), "{table}");

    // Many pages stream through in order with nothing lost.
    let all = stdout_of(
        &env,
        &[
            "query",
            "SELECT Id FROM Contact",
            "--jsonl",
            "--batch-size",
            "200",
        ],
    );
    let count = stdout_of(&env, &["query", "SELECT COUNT() FROM Contact"]);
    assert_eq!(all.lines().count().to_string(), count.trim());

    // Empty results are still valid output, and a CSV still has its header.
    let none = "SELECT Id, Name FROM Account WHERE Name = 'nobody at all'";
    let empty: Value = serde_json::from_str(&stdout_of(&env, &["query", none, "--json"])).unwrap();
    assert_eq!(
        empty,
        serde_json::json!({ "totalSize": 0, "done": true, "records": [] })
    );
    assert_eq!(stdout_of(&env, &["query", none, "--csv"]), "Id,Name\n");
}

/// A CSV read back with a CSV reader: its header and its rows.
fn read_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|row| row.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

#[test]
fn csv_columns_follow_the_select_list() {
    let env = connected();
    // The org nests Account.Industry next to Account.Name, and ReportsTo is null on every
    // contact: the columns are still the SELECT list, in its order.
    let soql = "SELECT Account.Name, LastName, ReportsTo.Name, Account.Industry FROM Contact \
                ORDER BY LastName LIMIT 30";
    let (header, rows) = read_csv(&stdout_of(&env, &["query", soql, "--csv"]));
    assert_eq!(
        header,
        [
            "Account.Name",
            "LastName",
            "ReportsTo.Name",
            "Account.Industry"
        ]
    );
    let jsonl = stdout_of(&env, &["query", soql, "--jsonl"]);
    let expected: Vec<Vec<String>> = jsonl
        .lines()
        .map(|line| {
            let record: Value = serde_json::from_str(line).unwrap();
            [
                "/Account/Name",
                "/LastName",
                "/ReportsTo/Name",
                "/Account/Industry",
            ]
            .iter()
            .map(|path| {
                record
                    .pointer(path)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
        })
        .collect();
    assert_eq!(rows.len(), 30);
    assert_eq!(rows, expected);
}

#[test]
fn csv_gives_each_child_record_a_row_of_its_own() {
    let env = connected();
    let soql = "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account ORDER BY Name LIMIT 40";
    let (header, rows) = read_csv(&stdout_of(&env, &["query", soql, "--csv"]));
    assert_eq!(header, ["Name", "Contacts.LastName"]);
    let mut expected = Vec::new();
    for line in stdout_of(&env, &["query", soql, "--jsonl"]).lines() {
        let account: Value = serde_json::from_str(line).unwrap();
        let name = account["Name"].as_str().unwrap().to_string();
        let contacts = account["Contacts"]["records"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if contacts.is_empty() {
            expected.push(vec![name.clone(), String::new()]);
        }
        for contact in contacts {
            expected.push(vec![
                name.clone(),
                contact["LastName"].as_str().unwrap().to_string(),
            ]);
        }
    }
    assert!(expected.len() > 40, "some accounts have several contacts");
    assert!(
        expected.iter().any(|row| row[1].is_empty()),
        "and some none"
    );
    assert_eq!(rows, expected);

    // The table counts them.
    let table = stdout_of(&env, &["query", soql]);
    assert!(
        table.lines().next().unwrap().ends_with("Contacts"),
        "{table}"
    );
    assert!(
        table.contains(" records]") || table.contains("[1 record]"),
        "{table}"
    );
}

#[test]
fn any_text_reads_back_from_the_csv() {
    let env = connected();
    let odd = "O'Brien, \"Bo\"\r\nsecond line; naïve 日本 😀\ttab";
    let id = stdout_of(&env, &["create", "Contact", &format!("LastName={odd}")]);
    let soql = format!(
        "SELECT Id, LastName, ReportsTo.Name FROM Contact WHERE Id = '{}'",
        id.trim()
    );
    let (header, rows) = read_csv(&stdout_of(&env, &["query", &soql, "--csv"]));
    assert_eq!(header, ["Id", "LastName", "ReportsTo.Name"]);
    assert_eq!(rows, [[id.trim(), odd, ""]]);
}

#[test]
fn records_are_created_read_updated_upserted_and_deleted() {
    let env = connected();
    let id = stdout_of(
        &env,
        &[
            "create",
            "Account",
            "Name=Acme CLI",
            "NumberOfEmployees:=42",
        ],
    )
    .trim()
    .to_string();
    assert!(id.starts_with("001") && id.len() == 18, "{id}");

    let got: Value = serde_json::from_str(&stdout_of(
        &env,
        &[
            "get",
            "Account",
            &id,
            "--fields",
            "Name,NumberOfEmployees",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(got[0]["Name"], "Acme CLI");
    assert_eq!(got[0]["NumberOfEmployees"], 42);

    env.cmd(&[
        "update",
        "Account",
        &id,
        "--data",
        r#"{"Name":"Acme Renamed"}"#,
    ])
    .assert()
    .success();
    let csv = stdout_of(&env, &["get", "Account", &id, "--fields", "Name", "--csv"]);
    assert!(csv.contains("Acme Renamed"), "{csv}");

    // Upsert reports created, then updated, by an external id (the record's own Id field).
    let upserted: Value = serde_json::from_str(&stdout_of(
        &env,
        &[
            "upsert",
            "Account",
            "--external-id",
            "Id",
            &id,
            "Name=Acme Upserted",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(upserted["created"], false);
    assert_eq!(upserted["id"], id.as_str());

    env.cmd(&["delete", "Account", &id]).assert().success();
    env.cmd(&["get", "Account", &id])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("ENTITY_IS_DELETED"));
    let deleted = stdout_of(
        &env,
        &[
            "query",
            &format!("SELECT Id, IsDeleted FROM Account WHERE Id = '{id}'"),
            "--all",
            "--csv",
        ],
    );
    assert!(deleted.contains(&format!("{id},true")), "{deleted}");
}

#[test]
fn describe_search_limits_and_raw_api() {
    let env = connected();
    let describe = stdout_of(&env, &["describe", "Contact", "--jsonl"]);
    let account_id = describe
        .lines()
        .find(|l| l.contains("\"AccountId\""))
        .unwrap();
    let fields: Value = serde_json::from_str(account_id).unwrap();
    assert_eq!(fields["type"], "reference");
    assert_eq!(fields["referenceTo"], "Account");
    let global = stdout_of(&env, &["describe", "--csv"]);
    assert!(global.starts_with("name,label,keyPrefix"), "{global}");
    assert!(global.contains("\nOpportunity,"), "{global}");

    let name = stdout_of(
        &env,
        &[
            "query",
            "SELECT Name FROM Account ORDER BY Name LIMIT 1",
            "--jsonl",
        ],
    );
    let name: Value = serde_json::from_str(name.trim()).unwrap();
    let word = name["Name"]
        .as_str()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let found = stdout_of(
        &env,
        &[
            "search",
            &format!("FIND {{{word}}} RETURNING Account(Name)"),
            "--jsonl",
        ],
    );
    assert!(found.contains(&word), "{found}");

    let limits: Value = serde_json::from_str(&stdout_of(&env, &["limits", "--json"])).unwrap();
    assert!(limits["DailyApiRequests"]["Max"].as_u64().unwrap() > 0);

    let raw: Value = serde_json::from_str(&stdout_of(
        &env,
        &["api", "GET", "query?q=SELECT+COUNT()+FROM+Account"],
    ))
    .unwrap();
    assert!(raw["totalSize"].as_u64().unwrap() > 0);
}

#[test]
fn exit_codes_tell_usage_api_and_auth_errors_apart() {
    let env = connected();
    // An invalid query is shown with its code frame and never sent.
    env.cmd(&["query", "SELECT Id FROM Account WHERE Name = Acme"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("column 37").and(predicate::str::contains("^^^^")));
    // The org refuses an unknown field: an API error.
    env.cmd(&["query", "SELECT Nope__c FROM Account"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("INVALID_FIELD"));
    env.cmd(&["create", "Account", "not a pair"])
        .assert()
        .code(2);
    env.cmd(&["-c", "missing", "limits"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no connection named \"missing\""));
    // A revoked token cannot be renewed: an auth error.
    env.cmd(&[
        "connect",
        "add",
        "dead",
        "--token",
        "--instance-url",
        env.url(),
    ])
    .env("FORCEBRIDGE_ACCESS_TOKEN", env.access_token())
    .assert()
    .success();
    env.cmd(&["-c", "dead", "limits"])
        .env("FORCEBRIDGE_ACCESS_TOKEN", "00Dxx!expired")
        .assert()
        .code(3);
}

/// A query of about `bytes` bytes that matches every Contact.
fn long_query(bytes: usize) -> String {
    let mut soql = String::from("SELECT COUNT() FROM Contact WHERE LastName NOT IN (");
    let mut n = 0;
    while soql.len() < bytes {
        soql.push_str(&format!("'no such name {n}', "));
        n += 1;
    }
    soql.push_str("'none')");
    soql
}

#[test]
fn long_queries_run_and_queries_over_the_limit_are_refused_in_a_few_lines() {
    let env = connected();
    let count = stdout_of(&env, &["query", "SELECT COUNT() FROM Contact"]);
    // 45 KB: too long for a URL, so the client sends it in a /composite body.
    let long = env
        .cmd(&["query", "-"])
        .write_stdin(long_query(45_000))
        .assert()
        .success();
    assert_eq!(outputs(&long).0, count);
    // Over Salesforce's 100,000 characters: refused before sending, in a few lines.
    for bytes in [150_000, 11_500_000] {
        let refused = env
            .cmd(&["query", "-"])
            .write_stdin(long_query(bytes))
            .assert()
            .code(2);
        let (stdout, stderr) = outputs(&refused);
        assert_eq!(stdout, "");
        assert!(
            stderr.contains("Salesforce accepts at most 100,000"),
            "{stderr}"
        );
        assert!(stderr.len() < 1000, "{} bytes of stderr", stderr.len());
    }
}

#[test]
fn an_unreachable_org_exits_5_and_says_each_thing_once() {
    // A saved connection whose org has gone away since: nothing listens on its port.
    let env = connected();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let profiles = env.file("connections.toml");
    let text = std::fs::read_to_string(&profiles).unwrap();
    assert!(text.contains(env.url()), "{text}");
    std::fs::write(&profiles, text.replace(env.url(), &url)).unwrap();
    let failed = env
        .cmd(&["query", "SELECT Id FROM Account WHERE Name = 'Needle'"])
        .assert()
        .code(5);
    let (_, stderr) = outputs(&failed);
    assert!(
        !stderr.contains("Needle") && !stderr.contains("?q="),
        "{stderr}"
    );
    // Retries are logged as they happen; the error is the last line.
    let last = stderr.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with("error: GET /services/data/v60.0/query: could not connect: "),
        "{stderr}"
    );
    let parts: Vec<&str> = last.split(": ").collect();
    for (i, part) in parts.iter().enumerate() {
        assert!(
            !parts[i + 1..].contains(part),
            "{part:?} appears twice in {last}"
        );
    }
}

#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    let env = connected();
    let mut child = env
        .std_cmd(&[
            "query",
            "SELECT Id, Name FROM Contact",
            "--jsonl",
            "--batch-size",
            "200",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is gone, as with `| head -1`.
    let output = child.wait_with_output().unwrap();
    assert!(first.starts_with('{'), "{first}");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn the_local_org_needs_no_connection() {
    let env = Env::new();
    env.cmd(&["--local", "query", "SELECT COUNT() FROM Opportunity"])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"^[1-9][0-9]*\n$").unwrap());
}

#[test]
fn bulk_loads_report_failures_and_exports_resume_where_they_stopped() {
    let env = connected();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("accounts.csv");
    let mut text = String::from("Name,Industry\n");
    for n in 0..3000 {
        // Two rows without a Name fail; the rest load.
        let name = if n == 10 || n == 2000 {
            String::new()
        } else {
            format!("Bulk {n}")
        };
        text.push_str(&format!("{name},Media\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let results = dir.path().join("results");
    let loaded = env
        .cmd(&["bulk", "import", "Account", csv.to_str().unwrap(), "--json"])
        .args(["--results-dir", results.to_str().unwrap()])
        .assert()
        .code(1);
    let summary: Value = serde_json::from_str(&outputs(&loaded).0).unwrap();
    assert_eq!(summary["records_processed"], 3000);
    assert_eq!(summary["records_failed"], 2);
    let failed_file = summary["jobs"][0]["results"]["failed"].as_str().unwrap();
    let failed = std::fs::read_to_string(failed_file).unwrap();
    assert_eq!(failed.lines().count(), 3, "{failed}");
    assert!(failed.contains("REQUIRED_FIELD_MISSING"), "{failed}");
    let count = stdout_of(
        &env,
        &[
            "query",
            "SELECT COUNT() FROM Account WHERE Industry = 'Media' AND Name LIKE 'Bulk %'",
        ],
    );
    assert_eq!(count.trim(), "2998");

    // Export to a file: one header, every row, no partial files left behind.
    let soql = "SELECT Id, Name FROM Account WHERE Name LIKE 'Bulk %'";
    let out = dir.path().join("out.csv");
    let exported = env
        .cmd(&["bulk", "export", soql, "--max-records", "500", "--json"])
        .args(["--output", out.to_str().unwrap()])
        .assert()
        .success();
    let report: Value = serde_json::from_str(&outputs(&exported).0).unwrap();
    assert_eq!(report["records"], 2998);
    let full = std::fs::read_to_string(&out).unwrap();
    assert_eq!(full.lines().count(), 2999);
    assert_eq!(
        full.matches("\"Id\",\"Name\"").count() + full.matches("Id,Name").count(),
        1
    );
    assert!(!dir.path().join("out.csv.part").exists());
    let job_id = report["job_id"].as_str().unwrap().to_string();

    // An export interrupted after its first page: the partial file and the saved locator.
    let first = env
        .cmd(&[
            "api",
            "GET",
            &format!("jobs/query/{job_id}/results?maxRecords=500"),
            "-i",
        ])
        .assert()
        .success();
    let (page, head) = outputs(&first);
    let locator = head
        .lines()
        .find_map(|l| l.strip_prefix("sforce-locator: "))
        .unwrap()
        .trim()
        .to_string();
    let again = dir.path().join("again.csv");
    std::fs::write(
        dir.path().join("again.csv.part"),
        format!("{page}garbage from a crash"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("again.csv.part.state"),
        serde_json::to_string(&serde_json::json!({
            "job_id": job_id, "bytes": page.len(), "records": 500, "next_locator": locator,
        }))
        .unwrap(),
    )
    .unwrap();
    env.cmd(&[
        "bulk",
        "resume",
        &job_id,
        "--output",
        again.to_str().unwrap(),
    ])
    .assert()
    .success();
    assert_eq!(std::fs::read_to_string(&again).unwrap(), full);

    let status = env
        .cmd(&["bulk", "status", &job_id, "--json"])
        .assert()
        .success();
    let status: Value = serde_json::from_str(&outputs(&status).0).unwrap();
    assert_eq!(status["state"], "JobComplete");
}

#[test]
fn the_demo_tours_the_local_org_with_no_set_up() {
    let env = Env::new();
    let tour = env.cmd(&["demo"]).assert().success();
    let (stdout, _) = outputs(&tour);
    for step in [
        "== login",
        "== query",
        "== describe",
        "== create/update/delete",
        "== bulk export",
        "== sync",
        "== push",
        "== done",
    ] {
        assert!(stdout.contains(step), "{step} missing from:\n{stdout}");
    }
    assert!(
        stdout.contains("in the recycle bin (1 found by queryAll)"),
        "{stdout}"
    );
    let report = env
        .cmd(&["demo", "--json", "--records", "500"])
        .assert()
        .success();
    let report: Value = serde_json::from_str(&outputs(&report).0).unwrap();
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 8);
    assert_eq!(steps[3]["result"]["deleted"], true);
    assert!(steps[4]["result"]["records"].as_u64().unwrap() > 0);
    // The sync into SQLite, and the query of its tables.
    assert!(steps[5]["result"]["rows"].as_u64().unwrap() > 0);
    assert!(
        !steps[5]["result"]["top_industries"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The push of a rating per account: every account is sent once, and the second push
    // sends nothing.
    let push = &steps[6]["result"];
    let sent = push["sent"].as_u64().unwrap();
    assert!(sent > 0, "{push}");
    assert_eq!(push["succeeded"], sent, "{push}");
    assert_eq!(push["sent_again"], 0, "{push}");
    assert_eq!(push["unchanged_again"], sent, "{push}");
    let rated: u64 = push["ratings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r.as_str().unwrap().starts_with('-'))
        .map(|r| {
            r.as_str()
                .unwrap()
                .rsplit(' ')
                .next()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(
        rated, sent,
        "every account pushed has its rating in the org: {push}"
    );
    // Nothing was saved: the demo needs no connection and leaves none.
    assert!(!env.file("connections.toml").exists());
}

#[test]
fn api_takes_a_path_under_the_version_a_full_path_a_record_url_or_a_url() {
    let env = connected();
    let limits = format!("{}/services/data/v60.0/limits", env.url());
    for path in [
        "limits",
        "/limits",
        "v60.0/limits",
        "/services/data/v60.0/limits",
        "/services/data/v60.0/limits/",
        &limits,
    ] {
        let answer = env.cmd(&["api", "GET", path]).assert().success();
        let limits: Value = serde_json::from_str(&outputs(&answer).0).unwrap();
        assert!(
            limits["DailyApiRequests"]["Max"].as_u64().unwrap() > 0,
            "{path}: {limits}"
        );
    }
    // Other roots than /services/data/.
    let versions: Value =
        serde_json::from_str(&stdout_of(&env, &["api", "GET", "/services/data/"])).unwrap();
    assert!(versions[0]["version"].is_string(), "{versions}");
    let user: Value = serde_json::from_str(&stdout_of(
        &env,
        &["api", "GET", "/services/oauth2/userinfo"],
    ))
    .unwrap();
    assert!(user["preferred_username"].is_string(), "{user}");
    // A full path keeps its query string.
    let count: Value = serde_json::from_str(&stdout_of(
        &env,
        &[
            "api",
            "GET",
            "/services/data/v60.0/query?q=SELECT+COUNT()+FROM+Account",
        ],
    ))
    .unwrap();
    assert!(count["totalSize"].as_u64().unwrap() > 0);

    // A record's attributes.url, as a query prints it.
    let record = stdout_of(
        &env,
        &["query", "SELECT Id, Name FROM Account LIMIT 1", "--jsonl"],
    );
    let record: Value = serde_json::from_str(record.trim()).unwrap();
    let url = record["attributes"]["url"].as_str().unwrap();
    assert!(url.starts_with("/services/data/v"), "{url}");
    let got: Value = serde_json::from_str(&stdout_of(&env, &["api", "GET", url])).unwrap();
    assert_eq!(got["Id"], record["Id"]);
    assert_eq!(got["Name"], record["Name"]);

    // A URL on another host is refused: the session's token never goes there.
    env.cmd(&[
        "api",
        "GET",
        "https://elsewhere.example.com/services/data/v60.0/limits",
    ])
    .assert()
    .code(2)
    .stderr(predicate::str::contains("is not on the org's instance"));
}

#[test]
fn counts_go_to_stderr_for_a_table_and_into_json() {
    let env = connected();
    let soql = "SELECT Id, Name FROM Contact ORDER BY Name LIMIT 12";
    let table = env.cmd(&["query", soql]).assert().success();
    let (stdout, stderr) = outputs(&table);
    assert_eq!(stdout.lines().count(), 14, "{stdout}");
    assert_eq!(stderr, "12 records\n");
    let one = env
        .cmd(&["query", "SELECT Id FROM Contact LIMIT 1"])
        .assert()
        .success();
    assert_eq!(outputs(&one).1, "1 record\n");

    let json = env.cmd(&["query", soql, "--json"]).assert().success();
    let (stdout, stderr) = outputs(&json);
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["totalSize"], 12);
    assert_eq!(json["records"].as_array().unwrap().len(), 12);
    assert_eq!(stderr, "");
    // A COUNT() query answers as the org does.
    let count: Value = serde_json::from_str(&stdout_of(
        &env,
        &["query", "SELECT COUNT() FROM Contact", "--json"],
    ))
    .unwrap();
    assert!(count["totalSize"].as_u64().unwrap() > 12);
    assert_eq!(count["records"], serde_json::json!([]));

    // CSV and JSON lines into a pipe are for programs: the data alone.
    for format in ["--csv", "--jsonl"] {
        let piped = env.cmd(&["query", soql, format]).assert().success();
        assert_eq!(outputs(&piped).1, "", "{format}");
    }
}

#[test]
fn get_prints_one_field_per_line_and_each_address_once() {
    let env = connected();
    let id = stdout_of(
        &env,
        &[
            "create",
            "Account",
            "Name=Acme Lines",
            "BillingStreet=1 Main Street",
            "BillingCity=Springfield",
            "Description=first line\nsecond line",
        ],
    );
    let id = id.trim();
    let text = stdout_of(&env, &["get", "Account", id]);
    let lines: Vec<&str> = text.lines().collect();
    let field = |name: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
            .to_string()
    };
    // Values start in one column, whatever the name's length.
    let column = field("Id").find(id).unwrap();
    assert_eq!(field("Name").find("Acme Lines"), Some(column), "{text}");
    assert_eq!(
        field("BillingCity").find("Springfield"),
        Some(column),
        "{text}"
    );
    assert!(lines.iter().all(|l| l.len() < 200), "{text}");
    // Its parts are there, so the compound address is not.
    assert!(!text.contains("BillingAddress"), "{text}");
    assert!(text.contains("ShippingCity:"), "{text}");
    assert!(!text.contains("ShippingAddress"), "{text}");
    assert!(!text.contains("attributes"), "{text}");
    // A value of several lines keeps to the values' column.
    let description = lines
        .iter()
        .position(|l| l.starts_with("Description:"))
        .unwrap();
    assert_eq!(
        lines[description + 1].find("second line"),
        Some(column),
        "{text}"
    );

    // Asked for alone, the compound address is shown, as its parts.
    let address = stdout_of(&env, &["get", "Account", id, "--fields", "BillingAddress"]);
    assert!(
        address.contains("BillingAddress:") && address.contains("1 Main Street, Springfield"),
        "{address}"
    );
}

#[test]
fn describe_shows_external_ids_unique_fields_and_picklist_values() {
    let env = connected();
    let field = |object: &str, name: &str| -> Value {
        let rows = stdout_of(&env, &["describe", object, "--jsonl"]);
        rows.lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .find(|row| row["name"] == name)
            .unwrap_or_else(|| panic!("no {object}.{name} in:\n{rows}"))
    };
    let external = field("Product2", "ExternalId");
    assert_eq!(external["externalId"], true);
    assert_eq!(field("Product2", "Name")["externalId"], false);
    assert_eq!(field("User", "Username")["unique"], true);
    assert_eq!(field("User", "FirstName")["unique"], false);
    let industry = field("Account", "Industry");
    let values = industry["picklistValues"].as_str().unwrap();
    assert!(values.split(';').count() > 3, "{values}");

    let table = stdout_of(&env, &["describe", "Account"]);
    let header = table.lines().next().unwrap();
    for column in ["externalId", "unique", "picklistValues"] {
        assert!(header.contains(column), "{header}");
    }
    let csv = stdout_of(&env, &["describe", "Account", "--csv"]);
    assert!(csv.contains(values), "{csv}");

    // The JSON is the org's describe, which says all three of each field.
    let json: Value =
        serde_json::from_str(&stdout_of(&env, &["describe", "Product2", "--json"])).unwrap();
    let fields = json["fields"].as_array().unwrap();
    let external = fields.iter().find(|f| f["name"] == "ExternalId").unwrap();
    assert_eq!(external["externalId"], true);
    assert!(external["unique"].is_boolean());
    let family = fields.iter().find(|f| f["name"] == "Family").unwrap();
    assert!(!family["picklistValues"].as_array().unwrap().is_empty());
}
