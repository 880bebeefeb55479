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
    assert_eq!(
        running.field("connect_command"),
        format!(
            "forcebridge connect add local --password --login-url {url} --client-id forcebridge-local --username admin@forcebridge.local"
        )
    );
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
fn plain_accounts_are_in_the_org_before_its_details_are_printed() {
    let running = Running::start(&["--plain-accounts", "1234"]);
    let url = running.field("url").to_string();
    let token = running.field("access_token").to_string();
    runtime().block_on(async {
        let counted: Value = reqwest::Client::new()
            .get(format!(
                "{url}/services/data/v60.0/query?q=SELECT+COUNT()+FROM+Account+WHERE+Name+LIKE+'Account+%25'"
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(counted["totalSize"], 1234, "{counted}");
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
    // The banner's command saves a forcebridge connection that trusts the certificate.
    let command = running.field("connect_command").to_string();
    assert!(
        command.ends_with(&format!("--ca-file {}", cert.display())),
        "{command}"
    );
    assert!(
        command.contains(&format!("--login-url {url} ")),
        "{command}"
    );
    let home = tempfile::tempdir().unwrap();
    let forcebridge = |args: &[&str]| {
        let mut cmd = assert_cmd::Command::new(cargo_bin("forcebridge"));
        cmd.args(args)
            .env("FORCEBRIDGE_HOME", home.path())
            .env("FORCEBRIDGE_SECRETS", "file")
            .env_remove("FORCEBRIDGE_CONNECTION")
            .env_remove("RUST_LOG");
        cmd
    };
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(words[..3], ["forcebridge", "connect", "add"]);
    forcebridge(&words[1..])
        .env("FORCEBRIDGE_CLIENT_SECRET", running.field("client_secret"))
        .env("FORCEBRIDGE_PASSWORD", running.field("password"))
        .env(
            "FORCEBRIDGE_SECURITY_TOKEN",
            running.field("security_token"),
        )
        .assert()
        .success();
    forcebridge(&["query", "SELECT COUNT() FROM User"])
        .assert()
        .success();
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

/// Starts `forcebridge emulator ARGS --port 0 --json` and returns it with its first stdout line
/// as JSON, keeping stderr to read after it is stopped.
fn start_with_stderr(args: &[&str]) -> (Child, Value) {
    let mut child = Command::new(cargo_bin("forcebridge"))
        .args(["emulator", "--port", "0", "--json"])
        .args(args)
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let details = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("the first line is not JSON ({e}): {line:?}"));
    (child, details)
}

/// Stops `child` and returns what it wrote to stderr.
fn stop_and_read_stderr(mut child: Child) -> String {
    let _ = child.kill();
    let _ = child.wait();
    let mut errors = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut errors).unwrap();
    errors
}

const OWN_LOGIN: &str = "[[users]]\nusername = \"jane@acme.test\"\npassword = \"correct horse battery staple\"\n\n[[apps]]\nclient_id = \"acme-app\"\nclient_secret = \"acme-secret\"\n";

#[test]
fn the_built_in_login_is_refused_beyond_this_machine_with_what_to_add() {
    assert_cmd::Command::new(cargo_bin("forcebridge"))
        .args(["emulator", "--port", "0", "--bind", "0.0.0.0"])
        .env("RUST_LOG", "off")
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::starts_with(
            "error: refusing to listen on 0.0.0.0:0 with credentials anyone can know: other machines can connect there, and the built-in login (user admin@forcebridge.local, password forcebridge, app forcebridge-local with secret forcebridge-local-secret) is published",
        ))
        .stderr(predicate::str::contains(
            "  - the built-in user admin@forcebridge.local",
        ))
        .stderr(predicate::str::contains(
            "[[users]]\nusername = \"you@example.com\"\npassword = \"<a long random password>\"\n\n[[apps]]\nclient_id = \"my-app\"\nclient_secret = \"<a long random secret>\"\n",
        ))
        .stderr(predicate::str::contains(
            "forcebridge emulator reads the org file given with --config FILE; --insecure-public serves the built-in login anyway",
        ));

    // An org file with users but no app of its own, or one that keeps auto-approval, is not
    // enough either.
    let dir = temp_dir("exposed");
    std::fs::create_dir_all(&dir).unwrap();
    let users_only = dir.join("users.toml");
    std::fs::write(
        &users_only,
        "[[users]]\nusername = \"jane@acme.test\"\npassword = \"correct horse battery staple\"\n",
    )
    .unwrap();
    let own = dir.join("own.toml");
    std::fs::write(&own, OWN_LOGIN).unwrap();
    for (args, found) in [
        (
            vec!["--config", users_only.to_str().unwrap()],
            "  - no connected app of the org's own",
        ),
        (
            vec!["--config", own.to_str().unwrap(), "--auto-approve"],
            "  - auto_approve, which hands a session to anyone",
        ),
    ] {
        assert_cmd::Command::new(cargo_bin("forcebridge"))
            .args(["emulator", "--port", "0", "--bind", "::"])
            .args(&args)
            .env("RUST_LOG", "off")
            .assert()
            .code(2)
            .stderr(predicate::str::contains("refusing to listen on [::]:0"))
            .stderr(predicate::str::contains(found));
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn beyond_this_machine_the_org_files_own_login_is_served_and_named() {
    let dir = temp_dir("own-login");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("org.toml");
    std::fs::write(&file, OWN_LOGIN).unwrap();
    let (child, details) =
        start_with_stderr(&["--bind", "0.0.0.0", "--config", file.to_str().unwrap()]);
    // A listener on every interface is reached locally through the loopback address.
    let url = details["url"].as_str().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{details}");
    assert_eq!(details["username"], "jane@acme.test", "{details}");
    assert_eq!(details["client_id"], "acme-app", "{details}");
    assert_eq!(details["client_secret"], "acme-secret", "{details}");
    runtime().block_on(async {
        let published = reqwest::Client::new()
            .post(format!("{url}/services/oauth2/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "forcebridge-local"),
                ("client_secret", "forcebridge-local-secret"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(published.status(), 400);
    });
    let errors = stop_and_read_stderr(child);
    assert!(
        errors.starts_with(
            "warning: listening on 0.0.0.0, which other machines may reach: only the org file's users and apps can log in (the built-in forcebridge-local app is off)"
        ),
        "{errors}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn insecure_public_serves_the_built_in_login_beyond_this_machine_with_a_warning() {
    let (child, details) = start_with_stderr(&["--bind", "0.0.0.0", "--insecure-public"]);
    assert_eq!(details["username"], "admin@forcebridge.local", "{details}");
    assert_eq!(details["client_id"], "forcebridge-local", "{details}");
    let errors = stop_and_read_stderr(child);
    assert!(
        errors.starts_with(
            "warning: listening on 0.0.0.0 with --insecure-public: other machines may connect, and the built-in login below is published, so anyone who can reach this address can log in and read or change every record"
        ),
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
