//! `forcebridge bulk`: a load interrupted by Ctrl-C and run again, a results directory that
//! records another load, and listing and aborting the org's jobs.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use forcebridge_emulator::FaultConfig;
use serde_json::Value;

use crate::support::{Env, outputs};

/// An org with a saved default connection (an access token: no login per command).
fn connected() -> Env {
    let env = Env::new();
    let token = env.access_token();
    env.cmd(&[
        "connect",
        "add",
        "org",
        "--token",
        "--instance-url",
        env.url(),
    ])
    .env("FORCEBRIDGE_ACCESS_TOKEN", token)
    .assert()
    .success();
    env
}

/// A CSV file of `n` Accounts named `{prefix} 00000`, ...: unique names, so the org's rows can
/// be counted by name.
fn accounts_file(path: &Path, prefix: &str, n: usize) -> Vec<String> {
    let mut csv = String::from("Name,Description\n");
    let mut names = Vec::new();
    for i in 0..n {
        let name = format!("{prefix} {i:05}");
        csv.push_str(&format!(
            "{name},\"a description of this account, long enough to need a few jobs\"\n"
        ));
        names.push(name);
    }
    std::fs::write(path, csv).unwrap();
    names
}

/// The names of the org's Accounts starting with `prefix`, sorted, read back with a bulk
/// export: a name twice would be a row loaded twice.
fn names_in_org(env: &Env, prefix: &str) -> Vec<String> {
    let soql = format!("SELECT Name FROM Account WHERE Name LIKE '{prefix} %'");
    let exported = env.cmd(&["bulk", "export", &soql]).assert().success();
    let csv = outputs(&exported).0;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let mut names: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[0].to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn an_interrupted_import_says_what_to_do_and_running_it_again_loads_every_row_once() {
    let env = connected();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("accounts.csv");
    // About 3 MB: three jobs of at most 1 MB.
    let names = accounts_file(&file, "Sig", 30_000);
    let results = dir.path().join("results");
    let args = [
        "bulk",
        "import",
        "Account",
        file.to_str().unwrap(),
        "--results-dir",
        results.to_str().unwrap(),
        "--max-job-mb",
        "1",
    ];
    // Every answer of the org takes a while, so Ctrl-C lands while the first job's upload is
    // still to come.
    env.emulator.set_faults(FaultConfig {
        latency: Duration::from_millis(200),
        ..FaultConfig::none()
    });
    let mut child = env
        .std_cmd(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let first_job = loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("the import ended before naming a job:\n{seen}");
        }
        seen.push_str(&line);
        // `bulk job 750... created for rows 1-12345; uploading`
        if let Some(rest) = line.strip_prefix("bulk job ")
            && rest.contains(" created for rows 1-")
        {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    assert!(first_job.starts_with("750"), "{seen}");
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    stderr.read_to_string(&mut seen).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(seen.contains("interrupted: stopped uploading"), "{seen}");
    assert!(seen.contains(&first_job), "{seen}");
    assert!(seen.contains("rows 1-"), "{seen}");
    assert!(seen.contains("run the same command again"), "{seen}");
    assert!(seen.contains("`forcebridge bulk status ID`"), "{seen}");
    assert!(seen.contains("`forcebridge bulk abort ID`"), "{seen}");
    assert!(seen.contains("bulk-load.json"), "{seen}");
    let record: Value =
        serde_json::from_slice(&std::fs::read(results.join("bulk-load.json")).unwrap()).unwrap();
    assert_eq!(record["jobs"][0]["id"], first_job.as_str(), "{record}");

    // Run the same command again: nothing is loaded twice, nothing is missing.
    env.emulator.set_faults(FaultConfig::none());
    let again = env.cmd(&args).arg("--json").assert().success();
    let (stdout, stderr) = outputs(&again);
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["records_processed"], 30_000, "{stdout}");
    assert_eq!(summary["records_failed"], 0);
    assert!(stderr.contains(&first_job), "{stderr}");
    assert_eq!(names_in_org(&env, "Sig"), names);

    // Once more: every row is in a finished job, so nothing is sent.
    let third = env.cmd(&args).assert().success();
    let (stdout, stderr) = outputs(&third);
    assert!(stdout.contains("nothing was loaded again"), "{stdout}");
    assert!(!stderr.contains("created for"), "{stderr}");
    assert_eq!(names_in_org(&env, "Sig").len(), 30_000);
}

#[test]
fn a_results_directory_of_another_load_is_refused_unless_restarted() {
    let env = connected();
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.csv");
    let second = dir.path().join("second.csv");
    accounts_file(&first, "LoadOne", 20);
    let second_names = accounts_file(&second, "LoadTwo", 30);
    let results = dir.path().join("results");
    let import = |file: &Path| {
        env.cmd(&[
            "bulk",
            "import",
            "Account",
            file.to_str().unwrap(),
            "--results-dir",
            results.to_str().unwrap(),
        ])
    };
    import(&first).assert().success();
    let refused = import(&second).assert().code(2);
    let (_, stderr) = outputs(&refused);
    assert!(stderr.contains("records another load"), "{stderr}");
    assert!(stderr.contains("first.csv"), "{stderr}");
    assert!(stderr.contains("--restart"), "{stderr}");
    assert!(names_in_org(&env, "LoadTwo").is_empty());
    // The same object and file with another operation is another load too.
    let update = env
        .cmd(&[
            "bulk",
            "upsert",
            "Account",
            first.to_str().unwrap(),
            "--external-id",
            "Id",
            "--results-dir",
            results.to_str().unwrap(),
        ])
        .assert()
        .code(2);
    assert!(outputs(&update).1.contains("records another load"));

    import(&second).arg("--restart").assert().success();
    assert_eq!(names_in_org(&env, "LoadTwo"), second_names);
    assert_eq!(names_in_org(&env, "LoadOne").len(), 20);
}

#[test]
fn jobs_are_listed_filtered_and_aborted() {
    let env = connected();
    let created = env
        .cmd(&[
            "api",
            "POST",
            "jobs/ingest",
            "--data",
            r#"{"object":"Contact","operation":"insert"}"#,
        ])
        .assert()
        .success();
    let open: Value = serde_json::from_str(&outputs(&created).0).unwrap();
    let open_id = open["id"].as_str().unwrap().to_string();
    env.cmd(&["bulk", "export", "SELECT Id FROM Account"])
        .assert()
        .success();

    let listed = env
        .cmd(&["bulk", "list", "--state", "open", "--json"])
        .assert()
        .success();
    let jobs: Value = serde_json::from_str(&outputs(&listed).0).unwrap();
    let jobs = jobs.as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["id"], open_id.as_str());
    assert_eq!(jobs[0]["kind"], "ingest");
    assert_eq!(jobs[0]["object"], "Contact");

    let queries = env
        .cmd(&["bulk", "list", "--kind", "query", "--csv"])
        .assert()
        .success();
    let csv = outputs(&queries).0;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "id,kind,object,operation,state,processed,failed,created"
    );
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[1].contains(",query,Account,query,JobComplete,"),
        "{csv}"
    );

    let table = env.cmd(&["bulk", "list"]).assert().success();
    let table = outputs(&table).0;
    assert!(table.starts_with("ID "), "{table}");
    assert_eq!(table.lines().count(), 3, "{table}");
    let none = env
        .cmd(&["bulk", "list", "--object", "Lead", "--json"])
        .assert()
        .success();
    assert_eq!(outputs(&none).0.trim(), "[]");
    env.cmd(&["bulk", "list", "--state", "Sleeping"])
        .assert()
        .code(2);

    let aborted = env.cmd(&["bulk", "abort", &open_id]).assert().success();
    let text = outputs(&aborted).0;
    assert!(text.contains("it was Open"), "{text}");
    let status = env
        .cmd(&["bulk", "status", &open_id, "--json"])
        .assert()
        .success();
    let status: Value = serde_json::from_str(&outputs(&status).0).unwrap();
    assert_eq!(status["state"], "Aborted");
    let again = env.cmd(&["bulk", "abort", &open_id]).assert().code(1);
    assert!(outputs(&again).1.contains("already ended (Aborted)"));
    let unknown = env
        .cmd(&["bulk", "abort", "750000000000000AAA"])
        .assert()
        .code(2);
    assert!(outputs(&unknown).1.contains("`forcebridge bulk list`"));
}

#[test]
fn a_load_that_fails_after_opening_jobs_names_them_with_commands_to_go_on() {
    let env = connected();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("accounts.csv");
    accounts_file(&file, "Big", 15_000);
    // After more than a job's worth of rows, one row larger than a whole job.
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str(&format!("Too big,{}\n", "x".repeat(1_100_000)));
    std::fs::write(&file, text).unwrap();
    let failed = env
        .cmd(&[
            "bulk",
            "import",
            "Account",
            file.to_str().unwrap(),
            "--max-job-mb",
            "1",
            "--results-dir",
            dir.path().join("results").to_str().unwrap(),
        ])
        .assert()
        .code(2);
    let (_, stderr) = outputs(&failed);
    assert!(stderr.contains("error: row 15001 is"), "{stderr}");
    assert!(stderr.contains("The load's jobs:"), "{stderr}");
    let job_line = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("750"))
        .unwrap_or_else(|| panic!("no job named:\n{stderr}"));
    assert!(job_line.contains("rows 1-"), "{job_line}");
    assert!(stderr.contains("run the same command again"), "{stderr}");
    assert!(stderr.contains("`forcebridge bulk status ID`"), "{stderr}");
    for rust in [
        "ingest_job",
        "bulk()",
        ".abort()",
        "IngestOptions",
        "max_upload_bytes",
    ] {
        assert!(!stderr.contains(rust), "a Rust name in: {stderr}");
    }
}
