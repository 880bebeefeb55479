//! `forcebridge emulator` driven through the real binary: it prints its details as one JSON
//! line, serves requests, and stops on a signal.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use assert_cmd::cargo::cargo_bin;
use predicates::prelude::*;
use serde_json::Value;

/// A running `forcebridge emulator`, killed when dropped.
struct Running {
    child: Child,
    details: Value,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = Command::new(cargo_bin("forcebridge"))
            .arg("emulator")
            .args(["--port", "0", "--json"])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let details = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the first line is not JSON ({e}): {line:?}"));
        Running { child, details }
    }

    fn field(&self, name: &str) -> &str {
        self.details[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name} in {}", self.details))
    }

    /// Sends SIGINT (Ctrl-C) and waits for a clean exit.
    fn interrupt(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-INT", &pid]).status().unwrap();
        assert!(sent.success());
        self.child.wait().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("forcebridge-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn json_details_are_one_line_and_the_org_answers_with_them() {
    let running = Running::start(&["--seed", "cli", "--records", "200"]);
    let url = running.field("url").to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(running.field("username"), "admin@forcebridge.local");
    assert_eq!(running.field("password"), "forcebridge");
    assert_eq!(running.field("security_token"), "LOCALTOKEN");
    assert_eq!(running.field("client_id"), "forcebridge-local");
    assert_eq!(running.field("client_secret"), "forcebridge-local-secret");
    assert_eq!(
        running.field("token_url"),
        format!("{url}/services/oauth2/token")
    );
    assert!(
        running
            .field("soap_login_url")
            .starts_with(&format!("{url}/services/Soap/u/"))
    );
    assert_eq!(running.details["tls"], Value::Bool(false));
    assert_eq!(running.details["records"], serde_json::json!(200));
    let token = running.field("access_token").to_string();
    runtime().block_on(async {
        let client = reqwest::Client::new();
        let versions = client
            .get(format!("{url}/services/data"))
            .send()
            .await
            .unwrap();
        assert_eq!(versions.status(), 200);
        // The generated data is there, and the printed token is a working session.
        let account = client
            .get(format!(
                "{url}/services/data/v60.0/sobjects/Account/001RO0000000001YAA"
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(account.status(), 200);
        let account: Value = account.json().await.unwrap();
        assert!(
            account["Name"].as_str().is_some_and(|n| !n.is_empty()),
            "{account}"
        );
    });
}

#[test]
fn with_tls_the_details_name_the_certificate_to_trust() {
    let dir = temp_dir("tls");
    let cert = dir.join("ca.pem");
    let running = Running::start(&["--tls", "--cert-file", cert.to_str().unwrap()]);
    let url = running.field("url").to_string();
    assert!(url.starts_with("https://localhost:"), "{url}");
    assert_eq!(running.field("cert_file"), cert.to_str().unwrap());
    assert_eq!(
        running.details["trust"]["REQUESTS_CA_BUNDLE"],
        serde_json::json!(cert)
    );
    assert_eq!(
        running.details["trust"]["NODE_EXTRA_CA_CERTS"],
        serde_json::json!(cert)
    );
    let pem = std::fs::read(&cert).unwrap();
    runtime().block_on(async {
        let client = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .build()
            .unwrap();
        let versions = client
            .get(format!("{url}/services/data"))
            .send()
            .await
            .unwrap();
        assert_eq!(versions.status(), 200);
    });
    drop(running);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn ctrl_c_stops_the_org_cleanly_and_keeps_its_data() {
    let dir = temp_dir("data");
    let running = Running::start(&["--data-dir", dir.to_str().unwrap()]);
    let url = running.field("url").to_string();
    let token = running.field("access_token").to_string();
    let id = runtime().block_on(async {
        let created = reqwest::Client::new()
            .post(format!("{url}/services/data/v60.0/sobjects/Account"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"Name": "Kept"}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let created: Value = created.json().await.unwrap();
        created["id"].as_str().unwrap().to_string()
    });
    let status = running.interrupt();
    assert!(status.success(), "{status:?}");
    // A clean stop folds the journal into the snapshot.
    let journal = std::fs::read_to_string(dir.join("org.journal")).unwrap();
    assert_eq!(journal.lines().count(), 1, "{journal}");

    let again = Running::start(&["--data-dir", dir.to_str().unwrap()]);
    let url = again.field("url").to_string();
    let token = again.field("access_token").to_string();
    runtime().block_on(async {
        let fetched = reqwest::Client::new()
            .get(format!("{url}/services/data/v60.0/sobjects/Account/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(fetched.status(), 200);
    });
    drop(again);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_flags_and_org_files_are_reported_before_anything_starts() {
    let forcebridge = || assert_cmd::Command::new(cargo_bin("forcebridge"));
    forcebridge()
        .args(["emulator", "--error-rate", "2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("2 is not between 0 and 1"));
    forcebridge()
        .args(["emulator", "--lock-rate", "1.5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("1.5 is not between 0 and 1"));
    forcebridge()
        .args(["emulator", "--fault-scope", "sometimes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`sometimes` is not a scope"));
    forcebridge()
        .args(["emulator", "--cert-file", "x.pem"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--tls"));
    forcebridge()
        .args(["emulator", "--records", "10"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--records needs a seed"));
    let dir = temp_dir("config");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("org.toml");
    std::fs::write(
        &file,
        "[[objects]]\nname = \"Invoice__c\"\nfields = [{ name = \"A__c\", type = \"money\" }]\n",
    )
    .unwrap();
    forcebridge()
        .args([
            "emulator",
            "--port",
            "0",
            "--config",
            file.to_str().unwrap(),
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "objects[0] (Invoice__c): field A__c: unknown type `money`",
        ));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn listening_beyond_this_machine_prints_a_warning() {
    let mut child = Command::new(cargo_bin("forcebridge"))
        .args(["emulator", "--port", "0", "--json", "--bind", "0.0.0.0"])
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let details: Value = serde_json::from_str(&line).unwrap();
    // A listener on every interface is reached locally through the loopback address.
    assert!(
        details["url"]
            .as_str()
            .is_some_and(|url| url.starts_with("http://127.0.0.1:")),
        "{details}"
    );
    let _ = child.kill();
    let _ = child.wait();
    let mut errors = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut errors).unwrap();
    assert!(
        errors.starts_with("warning: listening on 0.0.0.0, which other machines may reach"),
        "{errors}"
    );
}

/// The most memory the process has held (`VmHWM`), in bytes.
#[cfg(target_os = "linux")]
fn peak_memory(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in {status}"));
    kib * 1024
}

/// What a user notices: eight parallel uploads of 40 MiB each make the org's peak memory grow
/// by about its upload budget (64 MiB here), not by the 320 MiB sent at once. The bodies are
/// JSON that does not parse, so the org keeps nothing of them: all memory they take is memory
/// held while receiving. Uploads larger than 32 MiB are each their own allocation, which the
/// allocator returns to the system when freed, so the peak is not blurred by reuse.
#[cfg(target_os = "linux")]
#[test]
fn parallel_uploads_raise_peak_memory_by_the_upload_budget_not_by_their_sum() {
    const MIB: usize = 1024 * 1024;
    let dir = temp_dir("budget");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("org.toml");
    std::fs::write(&file, "upload_budget_mb = 64\n").unwrap();
    let running = Running::start(&["--config", file.to_str().unwrap()]);
    let url = running.field("url").to_string();
    let token = running.field("access_token").to_string();
    let pid = running.child.id();
    let before = peak_memory(pid);
    let body: &'static [u8] = Box::leak(vec![b'x'; 40 * MIB].into_boxed_slice());
    let statuses = runtime().block_on(async {
        let client = reqwest::Client::new();
        let uploads: Vec<_> = (0..8)
            .map(|_| {
                let request = client
                    .post(format!("{url}/services/data/v60.0/sobjects/Account"))
                    .bearer_auth(&token)
                    .header("Content-Type", "application/json")
                    .body(body);
                tokio::spawn(async move {
                    let response = request.send().await.unwrap();
                    let status = response.status();
                    let text = response.text().await.unwrap();
                    (status, text)
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for upload in uploads {
            statuses.push(upload.await.unwrap());
        }
        statuses
    });
    // Every upload was received whole and answered (the JSON does not parse): the budget made
    // them take turns, it turned none away.
    for (status, text) in &statuses {
        assert_eq!(status.as_u16(), 400, "{text}");
        assert!(text.contains("JSON_PARSER_ERROR"), "{text}");
    }
    let grown = peak_memory(pid).saturating_sub(before);
    assert!(
        grown <= (64 + 32) as u64 * MIB as u64,
        "peak memory grew by {} MiB",
        grown / MIB as u64
    );
    drop(running);
    let _ = std::fs::remove_dir_all(dir);
}
