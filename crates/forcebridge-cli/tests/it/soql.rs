//! `forcebridge soql ...` driven through the real binary.

use std::io::Read;
use std::process::{Command, Stdio};

use assert_cmd::cargo::cargo_bin;
use predicates::prelude::*;

fn forcebridge() -> assert_cmd::Command {
    assert_cmd::Command::new(cargo_bin("forcebridge"))
}

#[test]
fn check_is_silent_for_valid_queries_and_searches() {
    for query in [
        "SELECT Id FROM Account",
        "FIND {Acme} RETURNING Account(Name)",
    ] {
        forcebridge()
            .args(["soql", "check", query])
            .assert()
            .success()
            .stdout("")
            .stderr("");
    }
}

#[test]
fn check_prints_a_code_frame_and_exits_1() {
    forcebridge()
        .args(["soql", "check", "SELECT Id FROM Account WHERE Name = Acme"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("--> line 1, column 37"))
        .stderr(predicate::str::contains("1 | SELECT Id FROM Account WHERE Name = Acme\n  |                                     ^^^^"));
}

#[test]
fn check_reads_one_whole_query_from_stdin() {
    forcebridge()
        .args(["soql", "check", "-"])
        .write_stdin("SELECT Id\nFROM Account\nWHERE Name = 'x'\n")
        .assert()
        .success();
    forcebridge()
        .args(["soql", "check", "-"])
        .write_stdin("SELECT Id\nFROM Account\nWHERE\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--> line 3, column 6"));
}

#[test]
fn check_json_reports_positions() {
    let out = forcebridge()
        .args([
            "soql",
            "check",
            "--json",
            "SELECT Id FROM Account WHERE Id = :id",
        ])
        .assert()
        .code(1);
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(json["valid"], false);
    assert_eq!(json["errors"][0]["kind"], "apex_only");
    assert_eq!(json["errors"][0]["column"], 35);
    let out = forcebridge()
        .args(["soql", "check", "--json", "FIND {x}"])
        .assert()
        .success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"valid": true, "kind": "sosl", "errors": []})
    );
}

#[test]
fn fmt_prints_the_formatted_and_canonical_forms() {
    forcebridge()
        .args([
            "soql",
            "fmt",
            "select id,name from account where name like 'a%' order by name limit 5",
        ])
        .assert()
        .success()
        .stdout("SELECT id, name\nFROM account\nWHERE name LIKE 'a%'\nORDER BY name\nLIMIT 5\n");
    forcebridge()
        .args(["soql", "fmt", "--one-line", "-"])
        .write_stdin("select id\nfrom account\nwhere x <> 5\n")
        .assert()
        .success()
        .stdout("SELECT id FROM account WHERE x != 5\n");
    forcebridge()
        .args(["soql", "fmt", "SELECT FROM"])
        .assert()
        .code(1)
        .stdout("");
}

#[test]
fn parse_json_is_the_tree() {
    let out = forcebridge()
        .args(["soql", "parse", "--json", "SELECT Id FROM Account LIMIT 3"])
        .assert()
        .success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(json["tree"]["type"], "query");
    assert_eq!(
        json["tree"]["from"]["object"]["segments"][0]["name"],
        "Account"
    );
    assert_eq!(json["tree"]["limit"]["value"], 3);
    // A broken query still has a tree, and says it is invalid.
    let out = forcebridge()
        .args(["soql", "parse", "--json", "SELECT Id FROM Account WHERE"])
        .assert()
        .code(1);
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(json["valid"], false);
    assert_eq!(
        json["tree"]["from"]["object"]["segments"][0]["name"],
        "Account"
    );
}

#[test]
fn info_json_lists_what_the_query_reads() {
    let out = forcebridge()
        .args(["soql", "info", "--json", "SELECT Name, COUNT(Id) n FROM Account a WHERE a.Owner.Alias = 'x' GROUP BY Name LIMIT 10"])
        .assert()
        .success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(json["object"], "Account");
    assert_eq!(
        json["fields"],
        serde_json::json!(["Name", "Id", "Owner.Alias"])
    );
    assert_eq!(json["aggregate_query"], true);
    assert_eq!(
        json["aggregates"][0],
        serde_json::json!({"function": "COUNT", "field": "Id", "alias": "n"})
    );
    assert_eq!(json["limit"], 10);
}

#[test]
fn a_closed_pipe_ends_quietly() {
    // A 3,000-field query prints a tree far larger than a pipe buffer, so the binary is still
    // writing when the reader goes away.
    let fields: Vec<String> = (0..3000).map(|i| format!("Field{i}__c")).collect();
    let query = format!("SELECT {} FROM Account", fields.join(", "));
    let mut child = Command::new(cargo_bin("forcebridge"))
        .args(["soql", "parse", &query])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "exit status {:?}", output.status);
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn usage_errors_exit_2() {
    forcebridge().args(["soql", "check"]).assert().code(2);
    forcebridge().args(["soql", "frobnicate"]).assert().code(2);
}

#[test]
fn check_refuses_a_statement_over_salesforces_limit_without_echoing_it() {
    let long = format!(
        "SELECT Id FROM Account WHERE Name IN ({}'last')",
        "'a name', ".repeat(15_000)
    );
    assert!(long.len() > 150_000);
    let out = forcebridge()
        .args(["soql", "check", "-"])
        .write_stdin(long.as_str())
        .assert()
        .code(1)
        .stdout("");
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains(
            "the statement is 150,045 characters long; Salesforce accepts at most 100,000"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("--> line 1, column 100001"), "{stderr}");
    assert!(stderr.len() < 1000, "{} bytes of stderr", stderr.len());
    // Just under the limit, the same kind of statement is fine.
    let fits = format!(
        "SELECT Id FROM Account WHERE Name IN ({}'last')",
        "'a name', ".repeat(9_000)
    );
    forcebridge()
        .args(["soql", "check", "-"])
        .write_stdin(fits.as_str())
        .assert()
        .success();
    let out = forcebridge()
        .args(["soql", "check", "--json", "-"])
        .write_stdin(long.as_str())
        .assert()
        .code(1);
    let report: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["errors"][0]["kind"], "too_complex");
    assert_eq!(report["errors"][0]["column"], 100_001);
}
