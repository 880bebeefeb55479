//! `forcebridge query --tooling`: the statement goes to the Tooling API's query resource.
//! (The local org answers it over its own objects; a real org's Tooling API has objects of its
//! own, such as ApexClass.)

use predicates::prelude::*;
use serde_json::Value;

use crate::support::{Env, outputs};

#[test]
fn a_tooling_query_goes_to_the_tooling_api() {
    let env = Env::new();
    env.add_password("p", &[]).success();
    let tooling = env
        .cmd(&[
            "-vv",
            "query",
            "--tooling",
            "SELECT Id, Username FROM User",
            "--json",
        ])
        .assert()
        .success();
    let (stdout, stderr) = outputs(&tooling);
    // The client's request log names the resource.
    assert!(
        stderr.contains("GET /services/data/v60.0/tooling/query"),
        "{stderr}"
    );
    let records: Value = serde_json::from_str(&stdout).unwrap();
    let standard = env
        .cmd(&["query", "SELECT Id, Username FROM User", "--json"])
        .assert()
        .success();
    let expected: Value = serde_json::from_str(&outputs(&standard).0).unwrap();
    assert!(!records["records"].as_array().unwrap().is_empty());
    assert_eq!(records, expected);
    // Checked before it is sent, like any query.
    env.cmd(&["query", "--tooling", "SELECT Id FROM"])
        .assert()
        .code(2);
    // Tooling and queryAll are different resources.
    env.cmd(&["query", "--tooling", "--all", "SELECT Id FROM User"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--all"));
}
