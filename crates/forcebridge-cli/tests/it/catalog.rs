//! `forcebridge catalog` against a saved read-only connection to an org with custom objects:
//! every output, revalidation through --cache and --diff, and options that name themselves
//! when they are wrong.

use forcebridge_emulator::{Config, SeedConfig};
use serde_json::Value;

use crate::support::{Env, outputs, read_only_to};

const ORG_FILE: &str = r#"
[[objects]]
name = "Project__c"
label = "Project"
fields = [
  { name = "Account__c", type = "reference", reference_to = "Account", relationship_name = "Account__r", child_relationship_name = "Projects__r" },
  { name = "Stage__c", type = "picklist", values = ["Planned", "Active"] },
]
"#;

/// An org with a custom object and a saved read-only default connection.
fn cataloged() -> Env {
    let mut config = Config::from_toml(ORG_FILE).unwrap();
    config.seed = Some(SeedConfig {
        seed: "cli-catalog".into(),
        records: 100,
    });
    read_only_to(Env::with_config(config))
}

#[test]
fn json_markdown_mermaid_svg_and_tables_from_a_read_only_connection() {
    let env = cataloged();
    let (stdout, stderr) = outputs(&env.cmd(&["catalog", "--json"]).assert().success());
    let document: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(document["format"], "forcebridge-catalog");
    let calls = document["extraction"]["apiCalls"].as_u64().unwrap();
    assert_eq!(calls, 3);
    assert!(
        stderr.contains("with 3 API calls (at most ceil(16/25) + 3 = 4)"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "no progress bar when stderr is not a terminal"
    );

    let markdown = env.file("dictionary.md");
    env.cmd(&[
        "catalog",
        "--markdown",
        "--include",
        "Project*",
        "-o",
        markdown.to_str().unwrap(),
    ])
    .assert()
    .success()
    .stdout("");
    let markdown = std::fs::read_to_string(markdown).unwrap();
    assert!(markdown.contains("## Project__c"), "{markdown}");
    assert!(markdown.contains("`Planned`, `Active`"), "{markdown}");

    let (mermaid, _) = outputs(
        &env.cmd(&[
            "catalog",
            "--mermaid",
            "--from",
            "Project__c",
            "--depth",
            "1",
        ])
        .assert()
        .success(),
    );
    assert!(mermaid.starts_with("erDiagram\n"), "{mermaid}");
    assert!(
        mermaid.contains("Account |o--o{ Project__c : \"Account__c\""),
        "{mermaid}"
    );
    assert!(
        !mermaid.contains("Opportunity"),
        "depth 1 from Project__c: {mermaid}"
    );

    let svg = env.file("er.svg");
    let (_, stderr) = outputs(
        &env.cmd(&[
            "catalog",
            "--svg",
            svg.to_str().unwrap(),
            "--exclude",
            "User",
        ])
        .assert()
        .success(),
    );
    assert!(stderr.contains("ER diagram written to"), "{stderr}");
    let svg = std::fs::read_to_string(svg).unwrap();
    let mut reader = quick_xml::Reader::from_str(&svg);
    loop {
        match reader.read_event().expect("well-formed SVG") {
            quick_xml::events::Event::Eof => break,
            _ => continue,
        }
    }
    assert!(svg.contains(">Project__c</text>"));

    let db = env.file("catalog.db");
    let target = format!("sqlite:{}", db.display());
    env.cmd(&["catalog", "--to", &target]).assert().success();
    assert!(std::fs::metadata(&db).unwrap().len() > 0);
}

#[test]
fn a_cache_and_a_diff_revalidate_and_show_no_change() {
    let env = cataloged();
    let cache = env.file("catalog.json");
    let cache = cache.to_str().unwrap();
    let (_, first) = outputs(&env.cmd(&["catalog", "--cache", cache]).assert().success());
    assert!(!first.contains("unchanged"), "{first}");
    let (_, second) = outputs(&env.cmd(&["catalog", "--cache", cache]).assert().success());
    assert!(
        second.contains("; 16 unchanged since the earlier catalog"),
        "{second}"
    );

    let (diff, _) = outputs(&env.cmd(&["catalog", "--diff", cache]).assert().success());
    assert!(diff.contains(": no changes"), "{diff}");
    let (json, _) = outputs(
        &env.cmd(&["catalog", "--diff", cache, "--json"])
            .assert()
            .success(),
    );
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["changes"], serde_json::json!([]));
}

#[test]
fn wrong_options_name_themselves_and_exit_2() {
    let env = cataloged();
    for (args, expected) in [
        (
            vec!["catalog", "--include", "Acc%"],
            "--include \"Acc%\": '%' cannot appear in an object name",
        ),
        (
            vec!["catalog", "--to", "mysql://x"],
            "--to \"mysql://x\": expected sqlite:PATH or a postgres:// URL",
        ),
        (
            vec!["catalog", "--json", "--from", "Account"],
            "--from and --depth shape a diagram",
        ),
        (
            vec!["catalog", "--mermaid", "--from", "Nope__c"],
            "--from Nope__c: no object of that name",
        ),
        (
            vec!["catalog", "--diff", "missing.json"],
            "--diff missing.json:",
        ),
    ] {
        let (_, stderr) = outputs(&env.cmd(&args).assert().code(2));
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    // clap's own checks.
    env.cmd(&["catalog", "--depth", "2"]).assert().code(2);
    env.cmd(&["catalog", "--markdown", "--mermaid"])
        .assert()
        .code(2);
}
