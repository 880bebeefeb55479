//! `forcebridge connect`: every flow saves only what logged in, secrets stay in their 0600 file
//! and out of every output, and read-only connections refuse writes before sending.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use forcebridge_emulator::{Config, DEFAULT_CLIENT_ID, DEFAULT_USERNAME};
use predicates::prelude::*;
use serde_json::Value;

use crate::support::{CLIENT_SECRET, Env, assert_no_secret, outputs};

#[test]
fn a_password_connection_is_checked_saved_listed_shown_and_tested() {
    let env = Env::new();
    let added = env.add_password("local", &["--json"]).success();
    let (stdout, stderr) = outputs(&added);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["username"], DEFAULT_USERNAME);
    assert_eq!(report["api_version"], "60.0");
    assert!(report["org_id"].as_str().unwrap().starts_with("00D"));
    assert_no_secret(&stdout, &[]);
    assert_no_secret(&stderr, &[]);

    // Settings and secrets are kept apart; the secrets file is the owner's alone.
    let profiles = std::fs::read_to_string(env.file("connections.toml")).unwrap();
    assert!(profiles.contains("[connections.local]"), "{profiles}");
    assert!(profiles.contains("default = \"local\""), "{profiles}");
    assert_no_secret(&profiles, &[]);
    let secrets = std::fs::read_to_string(env.file("secrets.toml")).unwrap();
    assert!(secrets.contains(CLIENT_SECRET));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.file("secrets.toml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let list = env.cmd(&["connect", "list", "--json"]).assert().success();
    let list: Value = serde_json::from_str(&outputs(&list).0).unwrap();
    assert_eq!(list[0]["name"], "local");
    assert_eq!(list[0]["default"], true);

    let show = env.cmd(&["connect", "show", "local"]).assert().success();
    let (stdout, _) = outputs(&show);
    assert!(
        stdout.contains("stored in the secrets file (redacted)"),
        "{stdout}"
    );
    assert!(stdout.contains(DEFAULT_CLIENT_ID), "{stdout}");
    assert_no_secret(&stdout, &[]);

    let test = env.cmd(&["connect", "test", "--json"]).assert().success();
    let report: Value = serde_json::from_str(&outputs(&test).0).unwrap();
    assert_eq!(report["name"], "local");
    assert_eq!(report["api_version"], "60.0");
    assert!(report["newest_api_version"].as_str().unwrap() >= "60.0");
    assert!(report["api_usage"]["used"].as_u64().unwrap() >= 1);
    assert!(report["daily_api_requests"]["max"].as_u64().unwrap() > 0);

    env.cmd(&["connect", "remove", "local"]).assert().success();
    let secrets = std::fs::read_to_string(env.file("secrets.toml")).unwrap();
    assert!(!secrets.contains(CLIENT_SECRET), "{secrets}");
    env.cmd(&["query", "SELECT Id FROM Account"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("connect add"));
}

#[test]
fn commands_in_a_row_cost_one_login_and_the_kept_session_stays_secret() {
    let env = Env::new();
    let counter = env.login_counter();
    env.cmd(&[
        "connect",
        "add",
        "p",
        "--password",
        "--login-url",
        &counter.url,
        "--client-id",
        DEFAULT_CLIENT_ID,
        "--username",
        DEFAULT_USERNAME,
    ])
    .env("FORCEBRIDGE_CLIENT_SECRET", CLIENT_SECRET)
    .env("FORCEBRIDGE_PASSWORD", crate::support::PASSWORD)
    .env("FORCEBRIDGE_SECURITY_TOKEN", crate::support::SECURITY_TOKEN)
    .assert()
    .success();
    assert_eq!(counter.count(), 1, "the check logs in");
    for _ in 0..2 {
        env.cmd(&["query", "SELECT COUNT() FROM Account"])
            .assert()
            .success();
    }
    assert_eq!(counter.count(), 1, "the next commands use the kept session");

    // Nothing shows the token, at any log level; the file that keeps it is the owner's.
    let token = env.kept_token();
    let show = env.cmd(&["connect", "show", "p"]).assert().success();
    let (stdout, _) = outputs(&show);
    assert!(
        stdout.contains("kept in the secrets file (token redacted)"),
        "{stdout}"
    );
    let shown = env
        .cmd(&["connect", "show", "p", "--json"])
        .assert()
        .success();
    let report: Value = serde_json::from_str(&outputs(&shown).0).unwrap();
    assert_eq!(report["session"]["usable"], true);
    let mut printed = vec![outputs(&show), outputs(&shown)];
    for args in [
        &["-vvv", "connect", "test", "p"][..],
        &["-vvv", "query", "SELECT Id FROM Account LIMIT 2"],
    ] {
        printed.push(outputs(&env.cmd(args).assert().success()));
    }
    for (stdout, stderr) in &printed {
        assert_no_secret(stdout, &[&token]);
        assert_no_secret(stderr, &[&token]);
    }
    assert!(
        !std::fs::read_to_string(env.file("connections.toml"))
            .unwrap()
            .contains(&token)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.file("secrets.toml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(counter.count(), 1);

    // A session the org no longer accepts costs one login, whose session is kept in turn.
    env.revoke(&token);
    env.cmd(&["query", "SELECT COUNT() FROM Account"])
        .assert()
        .success();
    assert_eq!(counter.count(), 2);
    assert_ne!(env.kept_token(), token);
    env.cmd(&["query", "SELECT COUNT() FROM Account"])
        .assert()
        .success();
    assert_eq!(counter.count(), 2);
}

#[test]
fn adding_a_saved_name_again_is_refused_unless_forced_and_forcing_still_checks_first() {
    let env = Env::new();
    env.add_password("p", &[]).success();
    let before = std::fs::read_to_string(env.file("connections.toml")).unwrap();
    let refused = env.add_password("p", &["--read-only"]).code(2);
    let (_, stderr) = outputs(&refused);
    assert!(
        stderr.contains("a connection named \"p\" already exists: add --force to replace it"),
        "{stderr}"
    );
    assert!(stderr.contains("forcebridge connect login p"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(env.file("connections.toml")).unwrap(),
        before
    );

    // --force with settings that do not log in: refused by the org, the old one untouched.
    env.connect_add(
        "p",
        "--password",
        DEFAULT_CLIENT_ID,
        &["--username", DEFAULT_USERNAME, "--force", "--read-only"],
    )
    .env("FORCEBRIDGE_CLIENT_SECRET", CLIENT_SECRET)
    .env("FORCEBRIDGE_PASSWORD", "not-the-password")
    .assert()
    .code(3)
    .stderr(predicate::str::contains("nothing was saved"));
    assert_eq!(
        std::fs::read_to_string(env.file("connections.toml")).unwrap(),
        before
    );

    // --force with settings that work replaces it.
    env.add_password("p", &["--read-only", "--force"]).success();
    let shown = env
        .cmd(&["connect", "show", "p", "--json"])
        .assert()
        .success();
    let report: Value = serde_json::from_str(&outputs(&shown).0).unwrap();
    assert_eq!(report["profile"]["read_only"], true);
}

#[test]
fn a_refused_login_saves_nothing_and_says_what_the_org_answered() {
    let env = Env::new();
    let refused = env
        .connect_add(
            "prod",
            "--password",
            DEFAULT_CLIENT_ID,
            &["--username", DEFAULT_USERNAME],
        )
        .env("FORCEBRIDGE_CLIENT_SECRET", CLIENT_SECRET)
        .env("FORCEBRIDGE_PASSWORD", "not-the-password")
        .assert()
        .code(3);
    let (_, stderr) = outputs(&refused);
    assert!(stderr.contains("nothing was saved"), "{stderr}");
    assert!(stderr.contains("invalid_grant"), "{stderr}");
    assert!(stderr.contains("\nhint: "), "{stderr}");
    assert!(stderr.contains("security token"), "{stderr}");
    assert_no_secret(&stderr, &["not-the-password"]);
    assert!(!env.file("connections.toml").exists());
    assert!(!env.file("secrets.toml").exists());

    // A wrong consumer key gets its own hint.
    let refused = env
        .connect_add("prod", "--client-credentials", "no-such-app", &[])
        .env("FORCEBRIDGE_CLIENT_SECRET", CLIENT_SECRET)
        .assert()
        .code(3);
    assert!(outputs(&refused).1.contains("consumer key"));
    assert!(!env.file("connections.toml").exists());

    // Without a secret and without a terminal to ask on, it says which variable to set.
    env.connect_add("prod", "--client-credentials", DEFAULT_CLIENT_ID, &[])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("FORCEBRIDGE_CLIENT_SECRET"));
}

#[test]
fn a_command_whose_login_is_refused_says_what_to_check() {
    let env = Env::new();
    env.add_password("p", &[]).success();
    let refused = env
        .cmd(&["query", "SELECT Id FROM Account"])
        .env("FORCEBRIDGE_PASSWORD", "not-the-password")
        .assert()
        .code(3);
    let (stdout, stderr) = outputs(&refused);
    assert_eq!(stdout, "");
    assert!(
        stderr.starts_with("error: cannot log in to connection \"p\": "),
        "{stderr}"
    );
    assert!(stderr.contains("invalid_grant"), "{stderr}");
    assert!(
        stderr.contains("\nhint: check the username, the password and the security token"),
        "{stderr}"
    );
    assert_no_secret(&stderr, &["not-the-password"]);
}

#[test]
fn the_environment_names_the_connection_unless_the_command_line_does() {
    let env = Env::new();
    env.add_password("first", &[]).success();
    env.add_password("second", &[]).success();
    let shown = |args: &[&str], connection: Option<&str>| {
        let mut cmd = env.cmd(args);
        if let Some(name) = connection {
            cmd.env("FORCEBRIDGE_CONNECTION", name);
        }
        let shown = cmd.assert().success();
        let (stdout, _) = outputs(&shown);
        let report: Value = serde_json::from_str(&stdout).unwrap();
        report["name"].as_str().unwrap().to_string()
    };
    assert_eq!(shown(&["connect", "show", "--json"], None), "first");
    assert_eq!(
        shown(&["connect", "show", "--json"], Some("second")),
        "second"
    );
    assert_eq!(
        shown(
            &["-c", "first", "connect", "show", "--json"],
            Some("second")
        ),
        "first"
    );
    env.cmd(&["limits"])
        .env("FORCEBRIDGE_CONNECTION", "third")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no connection named \"third\" (from FORCEBRIDGE_CONNECTION); saved connections: first (default), second",
        ));
    // The local org needs no connection, whatever the environment names.
    env.cmd(&["--local", "query", "SELECT COUNT() FROM Account"])
        .env("FORCEBRIDGE_CONNECTION", "third")
        .assert()
        .success();
    env.cmd(&["connect", "list"])
        .env("FORCEBRIDGE_SECRETS", "vault")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "FORCEBRIDGE_SECRETS=\"vault\" is not a secret store: expected file, keychain or auto",
        ));
}

#[test]
fn client_credentials_and_access_token_connections_work() {
    let env = Env::new();
    env.connect_add("cc", "--client-credentials", DEFAULT_CLIENT_ID, &[])
        .env("FORCEBRIDGE_CLIENT_SECRET", CLIENT_SECRET)
        .assert()
        .success()
        .stdout(predicate::str::contains(DEFAULT_USERNAME));

    let token = env.access_token();
    let added = env
        .cmd(&[
            "connect",
            "add",
            "tok",
            "--token",
            "--instance-url",
            env.url(),
            "--default",
        ])
        .env("FORCEBRIDGE_ACCESS_TOKEN", &token)
        .assert()
        .success();
    assert_no_secret(&outputs(&added).0, &[&token]);
    let query = env
        .cmd(&["query", "SELECT COUNT() FROM Account", "--json"])
        .assert()
        .success();
    let count: Value = serde_json::from_str(&outputs(&query).0).unwrap();
    assert!(count["totalSize"].as_u64().unwrap() > 0);
    env.cmd(&["-c", "cc", "query", "SELECT Id FROM User", "--csv"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("Id\n005"));

    // A token the org does not know is refused before anything is saved.
    env.cmd(&[
        "connect",
        "add",
        "bad",
        "--token",
        "--instance-url",
        env.url(),
    ])
    .env("FORCEBRIDGE_ACCESS_TOKEN", "00Dxx!not-a-token")
    .assert()
    .code(3);
    let list = env.cmd(&["connect", "list", "--json"]).assert().success();
    let list: Value = serde_json::from_str(&outputs(&list).0).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
}

#[test]
fn a_read_only_connection_refuses_writes_before_sending() {
    let env = Env::new();
    env.add_password("ro", &["--read-only"]).success();
    let refused = env
        .cmd(&["create", "Account", "Name=Should not exist"])
        .assert()
        .code(2);
    let (_, stderr) = outputs(&refused);
    assert!(stderr.contains("read-only"), "{stderr}");
    env.cmd(&["delete", "Account", "001000000000000AAA"])
        .assert()
        .code(2);
    env.cmd(&[
        "api",
        "POST",
        "sobjects/Account",
        "--data",
        r#"{"Name":"x"}"#,
    ])
    .assert()
    .code(2);
    // Reads still work, and nothing was created.
    env.cmd(&[
        "query",
        "SELECT COUNT() FROM Account WHERE Name = 'Should not exist'",
    ])
    .assert()
    .success()
    .stdout("0\n");
}

#[test]
fn secrets_never_appear_even_at_trace_level() {
    let env = Env::new();
    let token = env.access_token();
    let mut texts = Vec::new();
    let added = env.add_password("p", &["-vvv"]).success();
    texts.push(outputs(&added));
    for args in [
        &["-vvv", "connect", "show", "p"][..],
        &["-vvv", "connect", "show", "p", "--json"],
        &["-vvv", "connect", "test", "p"],
        &["-vvv", "connect", "list"],
        &["-vvv", "query", "SELECT Id, Name FROM Account LIMIT 3"],
        &["-vvv", "create", "Account", "Name=Traced"],
        &["-vvv", "api", "GET", "limits"],
        &["-vvv", "get", "Account", "001000000000000AAA"],
    ] {
        texts.push(outputs(&env.cmd(args).assert()));
    }
    let added = env
        .cmd(&[
            "-vvv",
            "connect",
            "add",
            "t",
            "--token",
            "--instance-url",
            env.url(),
        ])
        .env("FORCEBRIDGE_ACCESS_TOKEN", &token)
        .assert()
        .success();
    texts.push(outputs(&added));
    texts.push(outputs(
        &env.cmd(&["-vvv", "-c", "t", "describe", "Account"])
            .assert()
            .success(),
    ));
    let all = texts
        .iter()
        .map(|(o, e)| format!("{o}\n{e}"))
        .collect::<String>();
    // The trace really is on: the client's request events are there.
    assert!(
        all.contains("TRACE") || all.contains("DEBUG"),
        "no logs:\n{all}"
    );
    assert_no_secret(&all, &[&token]);
}

fn test_data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_jwt_connection_stores_the_key_and_logs_in_again_with_it() {
    let mut config = Config::builtin();
    config.apps[0].certificate_pem =
        Some(std::fs::read_to_string(test_data("jwt-test-cert.pem")).unwrap());
    let env = Env::with_config(config);
    let jwt = |name: &str, key: &str| {
        env.connect_add(
            name,
            "--jwt",
            DEFAULT_CLIENT_ID,
            &[
                "--username",
                DEFAULT_USERNAME,
                "--key-file",
                &test_data(key),
            ],
        )
        .assert()
    };
    let refused = jwt("wrong", "jwt-other-key.pem").code(3);
    let (_, stderr) = outputs(&refused);
    assert!(stderr.contains("invalid_grant"), "{stderr}");
    assert!(stderr.contains("certificate"), "{stderr}");
    assert!(!env.file("connections.toml").exists());

    jwt("jwt", "jwt-test-key.pem").success();
    // The key's content is kept with the secrets, so the file may go away.
    let key = std::fs::read_to_string(test_data("jwt-test-key.pem")).unwrap();
    let key_line = key.lines().nth(1).unwrap();
    let profiles = std::fs::read_to_string(env.file("connections.toml")).unwrap();
    assert!(!profiles.contains(key_line));
    let shown = env.cmd(&["connect", "show", "jwt"]).assert().success();
    assert!(!outputs(&shown).0.contains(key_line));
    env.cmd(&["query", "SELECT COUNT() FROM Contact"])
        .assert()
        .success();
}

#[test]
fn the_web_flow_listens_for_the_callback_and_keeps_the_refresh_token() {
    // The callback URL must be registered in the app exactly, port included.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let callback = format!("http://127.0.0.1:{port}/OauthRedirect");
    let mut config = Config::builtin();
    config.apps[0].callback_urls = vec![callback.clone()];
    // Every refresh hands out a new refresh token and retires the old one.
    config.apps[0].rotate_refresh_tokens = true;
    config.auto_approve = true;
    let env = Env::with_config(config);

    let (output, url, printed) = web_login(
        &env,
        &[
            "connect",
            "add",
            "web",
            "--web",
            "--login-url",
            env.url(),
            "--client-id",
            DEFAULT_CLIENT_ID,
            "--callback-url",
            &callback,
            "--wait",
            "30",
            "--json",
        ],
    );
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    assert!(printed.contains(&callback), "{printed}");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["username"], DEFAULT_USERNAME);

    let secrets = std::fs::read_to_string(env.file("secrets.toml")).unwrap();
    assert!(secrets.contains("refresh_token"), "no refresh token stored");
    let profiles = std::fs::read_to_string(env.file("connections.toml")).unwrap();
    assert!(profiles.contains("pkce = true"), "{profiles}");
    // The stored refresh token logs in for later commands. The org rotates it on every
    // refresh, so each command only works if the one before stored the new token.
    let refresh_token = |secrets: &str| {
        secrets
            .lines()
            .find(|l| l.starts_with("refresh_token"))
            .unwrap()
            .to_string()
    };
    let mut previous = refresh_token(&secrets);
    for _ in 0..3 {
        // The kept session would spare the login: revoke it, so the command must refresh.
        env.revoke(&env.kept_token());
        env.cmd(&["-c", "web", "query", "SELECT Id FROM User", "--jsonl"])
            .assert()
            .success();
        let now = refresh_token(&std::fs::read_to_string(env.file("secrets.toml")).unwrap());
        assert_ne!(now, previous, "the rotated refresh token was not stored");
        previous = now;
    }
}

/// Runs `forcebridge ARGS`, a command that starts a web login, and plays the browser once it
/// prints the URL to open (the org approves at once and redirects to the callback). Returns
/// the command's output (stdout; stderr after the URL), the URL, and what it printed before.
fn web_login(env: &Env, args: &[&str]) -> (std::process::Output, String, String) {
    let mut child = env
        .std_cmd(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut url = None;
    let mut printed = String::new();
    while url.is_none() {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "no URL in:\n{printed}"
        );
        printed.push_str(&line);
        url = line
            .trim()
            .starts_with("http")
            .then(|| line.trim().to_string());
    }
    while !printed.contains("callback URL") {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "{printed}");
        printed.push_str(&line);
    }
    let url = url.unwrap();
    let page = env.block_on(async { reqwest::get(&url).await.unwrap().text().await.unwrap() });
    assert!(page.contains("logged in"), "{page}");
    let mut output = child.wait_with_output().unwrap();
    std::io::Read::read_to_end(&mut stderr, &mut output.stderr).unwrap();
    (output, url, printed)
}

#[test]
fn connect_login_puts_a_revoked_web_connection_right_in_the_browser() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let callback = format!("http://127.0.0.1:{port}/OauthRedirect");
    let mut config = Config::builtin();
    config.apps[0].callback_urls = vec![callback.clone()];
    config.auto_approve = true;
    let env = Env::with_config(config);
    let (added, _, _) = web_login(
        &env,
        &[
            "connect",
            "add",
            "web",
            "--web",
            "--login-url",
            env.url(),
            "--client-id",
            DEFAULT_CLIENT_ID,
            "--callback-url",
            &callback,
            "--wait",
            "30",
        ],
    );
    assert!(added.status.success());
    let stored_refresh_token = || {
        let secrets = std::fs::read_to_string(env.file("secrets.toml")).unwrap();
        let line = secrets
            .lines()
            .find(|l| l.starts_with("refresh_token = "))
            .unwrap()
            .to_string();
        line.trim_start_matches("refresh_token = ")
            .trim_matches('"')
            .to_string()
    };
    let revoked = stored_refresh_token();
    // An admin revokes the app's access: the refresh token and its sessions stop working.
    env.revoke(&revoked);
    let refused = env
        .cmd(&["-c", "web", "query", "SELECT Id FROM User"])
        .assert()
        .code(3);
    let (_, stderr) = outputs(&refused);
    assert!(stderr.contains("invalid_grant"), "{stderr}");
    assert!(
        stderr.contains("log in with the web flow again"),
        "{stderr}"
    );
    assert!(
        stderr.contains("\nhint: log in to it again with `forcebridge connect login web`"),
        "{stderr}"
    );

    // `connect login` runs the browser login again with the stored settings.
    let (login, url, _) = web_login(&env, &["connect", "login", "web", "--wait", "30", "--json"]);
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    assert!(
        url.contains(&format!("redirect_uri=http%3A%2F%2F127.0.0.1%3A{port}")),
        "{url}"
    );
    let report: Value = serde_json::from_slice(&login.stdout).unwrap();
    assert_eq!(report["username"], DEFAULT_USERNAME);
    assert_ne!(stored_refresh_token(), revoked);
    env.cmd(&["-c", "web", "query", "SELECT Id FROM User", "--csv"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("Id\n005"));
}

#[test]
fn connect_login_checks_again_with_new_or_stored_secrets_and_saves_only_what_works() {
    let env = Env::new();
    let counter = env.login_counter();
    env.cmd(&[
        "connect",
        "add",
        "p",
        "--password",
        "--login-url",
        &counter.url,
        "--client-id",
        DEFAULT_CLIENT_ID,
        "--username",
        DEFAULT_USERNAME,
    ])
    .env("FORCEBRIDGE_CLIENT_SECRET", CLIENT_SECRET)
    .env("FORCEBRIDGE_PASSWORD", crate::support::PASSWORD)
    .env("FORCEBRIDGE_SECURITY_TOKEN", crate::support::SECURITY_TOKEN)
    .assert()
    .success();
    let kept = env.kept_token();

    // The password is changed in Salesforce: the stored one no longer logs in (played here by
    // storing a stale one, and revoking the session).
    let connections = forcebridge_connect::Connections::open(
        forcebridge_connect::Paths::in_dir(env.home()),
        forcebridge_connect::EnvSecrets::default(),
    );
    let profile = connections.get("p").unwrap();
    let mut stale = connections.secrets("p").unwrap();
    stale.set(
        forcebridge_connect::SecretKind::Password,
        "old-password".to_string().into(),
    );
    connections.save("p", &profile, &stale).unwrap();
    env.revoke(&kept);
    env.cmd(&["query", "SELECT COUNT() FROM Account"])
        .assert()
        .code(3);

    // A wrong one is refused, and nothing changes.
    let before = std::fs::read_to_string(env.file("secrets.toml")).unwrap();
    let refused = env
        .cmd(&["connect", "login", "p"])
        .env("FORCEBRIDGE_PASSWORD", "still-wrong")
        .assert()
        .code(3);
    let (_, stderr) = outputs(&refused);
    assert!(stderr.contains("was left as it was"), "{stderr}");
    assert_no_secret(&stderr, &["still-wrong", "old-password"]);
    assert_eq!(
        std::fs::read_to_string(env.file("secrets.toml")).unwrap(),
        before
    );

    // The new one, from the environment as `add` reads it: saved once it logged in, with the
    // stored consumer secret and security token, and a new session kept.
    let logins = counter.count();
    env.cmd(&["connect", "login", "p"])
        .env("FORCEBRIDGE_PASSWORD", crate::support::PASSWORD)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Logged in to connection \"p\" again",
        ));
    assert_eq!(counter.count(), logins + 1);
    let secrets = std::fs::read_to_string(env.file("secrets.toml")).unwrap();
    assert!(secrets.contains(crate::support::PASSWORD));
    assert!(!secrets.contains("old-password"));
    let session = env.kept_token();
    env.cmd(&["query", "SELECT COUNT() FROM Account"])
        .assert()
        .success();
    assert_eq!(counter.count(), logins + 1, "the new session was kept");

    // With nothing new to read, it checks again with the stored secrets: a fresh login, a
    // fresh session.
    env.cmd(&["connect", "login", "p"]).assert().success();
    assert_eq!(counter.count(), logins + 2);
    assert_ne!(env.kept_token(), session);
}

/// A refresh token for the org's first app, got as the Salesforce CLI would have got it: an
/// approved authorization request (the org approves at once), then the code exchanged.
fn refresh_token_from(env: &Env, callback: &str) -> String {
    env.block_on(async {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let authorized = http
            .get(format!("{}/services/oauth2/authorize", env.url()))
            .query(&[
                ("response_type", "code"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("redirect_uri", callback),
                ("scope", "api refresh_token"),
            ])
            .send()
            .await
            .unwrap();
        let location = authorized.headers()["location"].to_str().unwrap();
        let code = reqwest::Url::parse(location)
            .unwrap()
            .query_pairs()
            .find(|(name, _)| name == "code")
            .map(|(_, code)| code.into_owned())
            .unwrap_or_else(|| panic!("no code in {location}"));
        let token: Value = http
            .post(format!("{}/services/oauth2/token", env.url()))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
                ("redirect_uri", callback),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        token["refresh_token"].as_str().unwrap().to_string()
    })
}

#[test]
fn a_salesforce_cli_auth_url_imports_a_refresh_token_connection() {
    let callback = "http://localhost:1717/OauthRedirect";
    let mut config = Config::builtin();
    config.apps[0].callback_urls = vec![callback.to_string()];
    config.auto_approve = true;
    let env = Env::with_config(config);
    // The local org is plain HTTP, so the URLs name the scheme (the Salesforce CLI leaves
    // `https://` out for a real org).
    let host = env.url().to_string();
    let write = |name: &str, contents: String| {
        let path = env.file(name);
        std::fs::write(&path, contents).unwrap();
        path.display().to_string()
    };
    let with_secret = refresh_token_from(&env, callback);
    let plain = write(
        "auth-url.txt",
        format!("force://{DEFAULT_CLIENT_ID}:{CLIENT_SECRET}:{with_secret}@{host}\n"),
    );
    let without_secret = refresh_token_from(&env, callback);
    let json = write(
        "display.json",
        serde_json::json!({
            "status": 0,
            "result": {
                "username": DEFAULT_USERNAME,
                "sfdxAuthUrl": format!("force://{DEFAULT_CLIENT_ID}::{without_secret}@{host}"),
            },
            "warnings": [],
        })
        .to_string(),
    );
    for (name, file, token) in [
        ("from-url", &plain, &with_secret),
        ("from-json", &json, &without_secret),
    ] {
        let added = env
            .cmd(&["connect", "add", name, "--sfdx-url-file", file, "--json"])
            .assert()
            .success();
        let (stdout, stderr) = outputs(&added);
        let report: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(report["username"], DEFAULT_USERNAME);
        assert_eq!(report["flow"], "web");
        assert_no_secret(&stdout, &[token]);
        assert_no_secret(&stderr, &[token]);
        env.cmd(&["-c", name, "query", "SELECT Id FROM User", "--csv"])
            .assert()
            .success()
            .stdout(predicate::str::starts_with("Id\n005"));
    }
    // The refresh tokens went to the secret store, never to the profiles file.
    let profiles = std::fs::read_to_string(env.file("connections.toml")).unwrap();
    assert_no_secret(&profiles, &[&with_secret, &without_secret]);
    let secrets = std::fs::read_to_string(env.file("secrets.toml")).unwrap();
    assert!(secrets.contains(&with_secret) && secrets.contains(&without_secret));

    // A file that holds no auth URL is refused before anything is sent, without its contents.
    let bad = write("bad.txt", format!("{with_secret}@{host}\n"));
    let refused = env
        .cmd(&["connect", "add", "bad", "--sfdx-url-file", &bad])
        .assert()
        .code(2);
    let (_, stderr) = outputs(&refused);
    assert!(stderr.contains("force://<clientId>"), "{stderr}");
    assert_no_secret(&stderr, &[&with_secret]);
    // A refresh token the org does not know: nothing saved, and the org's answer said.
    let unknown = write(
        "unknown.txt",
        format!("force://{DEFAULT_CLIENT_ID}::5Aep861notatoken@{host}"),
    );
    env.cmd(&["connect", "add", "unknown", "--sfdx-url-file", &unknown])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("invalid_grant"));
    let list = env.cmd(&["connect", "list", "--json"]).assert().success();
    let list: Value = serde_json::from_str(&outputs(&list).0).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
}

#[test]
fn an_org_over_https_is_reached_with_its_ca_file_and_refused_at_once_without() {
    let env = Env::with_tls();
    let trust_file = env.trust_file();
    let add = |name: &str, login_url: &str, extra: &[&str]| {
        env.cmd(&[
            "connect",
            "add",
            name,
            "--password",
            "--login-url",
            login_url,
            "--client-id",
            DEFAULT_CLIENT_ID,
            "--username",
            DEFAULT_USERNAME,
        ])
        .args(extra)
        .env("FORCEBRIDGE_CLIENT_SECRET", CLIENT_SECRET)
        .env("FORCEBRIDGE_PASSWORD", crate::support::PASSWORD)
        .env("FORCEBRIDGE_SECURITY_TOKEN", crate::support::SECURITY_TOKEN)
        .assert()
    };

    // Without the CA file: refused in one attempt (one connection, no retries), with an error
    // that says why and a hint that says how to trust it; nothing saved.
    let counter = env.login_counter();
    let refused = add("untrusted", &counter.url, &[]).code(5);
    let (_, stderr) = outputs(&refused);
    assert!(
        stderr.contains("the server's TLS certificate is not trusted"),
        "{stderr}"
    );
    assert!(stderr.contains("\nhint: "), "{stderr}");
    assert!(stderr.contains("--ca-file PATH"), "{stderr}");
    assert!(!stderr.contains("retrying"), "{stderr}");
    assert_eq!(counter.connections(), 1, "one attempt");
    assert!(!env.file("connections.toml").exists());

    // With it: saved (with the file's absolute path), shown, and used by later commands.
    add(
        "tls",
        env.url(),
        &["--ca-file", trust_file.to_str().unwrap()],
    )
    .success();
    let shown = env
        .cmd(&["connect", "show", "tls", "--json"])
        .assert()
        .success();
    let report: Value = serde_json::from_str(&outputs(&shown).0).unwrap();
    assert_eq!(
        report["profile"]["ca_file"],
        trust_file.canonicalize().unwrap().to_str().unwrap()
    );
    env.cmd(&["query", "SELECT Id FROM User", "--csv"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("Id\n005"));

    // A CA file that has gone is named in the error.
    let moved = env.file("moved.pem");
    std::fs::rename(&trust_file, &moved).unwrap();
    let failed = env.cmd(&["connect", "test", "tls"]).assert().code(2);
    let (_, stderr) = outputs(&failed);
    assert!(stderr.contains(trust_file.to_str().unwrap()), "{stderr}");
    // A missing file is refused when the connection is added, too.
    env.cmd(&[
        "connect",
        "add",
        "x",
        "--token",
        "--instance-url",
        env.url(),
    ])
    .args(["--ca-file", "/no/such/ca.pem"])
    .env("FORCEBRIDGE_ACCESS_TOKEN", "t")
    .assert()
    .code(2)
    .stderr(predicate::str::contains("--ca-file /no/such/ca.pem"));
}

/// Whether `program` is on the PATH.
fn installed(program: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Stops a test that cannot run here: a failure when `FORCEBRIDGE_REQUIRE_KEYCHAIN=1` (as
/// `scripts/test` and so CI set it), else a `SKIPPED:` line that shows in the test run.
/// Returns whether the test must stop.
fn skip_without(tools: &[&str], test: &str) -> bool {
    let missing = tools
        .iter()
        .copied()
        .filter(|tool| !installed(tool))
        .collect::<Vec<_>>();
    if missing.is_empty() {
        return false;
    }
    let reason = format!(
        "{test} needs {}, which {} not installed",
        missing.join(" and "),
        if missing.len() == 1 { "is" } else { "are" }
    );
    assert!(
        std::env::var_os("FORCEBRIDGE_REQUIRE_KEYCHAIN").is_none_or(|v| v != "1"),
        "{reason} (FORCEBRIDGE_REQUIRE_KEYCHAIN=1; scripts/test installs gnome-keyring, dbus and libglib2.0-bin)"
    );
    // Straight to the process's stderr: the test harness captures `eprintln!` and shows it
    // only when a test fails, and a passing skip must still be seen.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {reason} (set FORCEBRIDGE_REQUIRE_KEYCHAIN=1 to make this a failure)"
    );
    true
}

#[test]
fn secrets_go_to_the_os_keychain_when_one_answers() {
    if skip_without(
        &["dbus-run-session", "gnome-keyring-daemon", "gdbus"],
        "secrets_go_to_the_os_keychain_when_one_answers",
    ) {
        return;
    }
    let env = Env::new();
    let keyrings = tempfile::tempdir().unwrap();
    // gnome-keyring's control socket lives under XDG_RUNTIME_DIR: a private one keeps two runs
    // of this test (or a desktop session's daemon) from answering each other's requests.
    let runtime = tempfile::tempdir().unwrap();
    // A private session bus with a fresh, unlocked keyring (under a temporary XDG_DATA_HOME):
    // the user's own keyrings are never touched.
    let script = r#"
printf 'test' | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 || exit 90
# The daemon takes its bus name after it has returned. A request before then would have the
# bus start a second daemon, without the unlocked keyring (and racing the first one for it).
gdbus wait --session --timeout 20 org.freedesktop.secrets || exit 89
env FORCEBRIDGE_CLIENT_SECRET="$CS" FORCEBRIDGE_PASSWORD="$PW" FORCEBRIDGE_SECURITY_TOKEN="$ST" \
  "$FB" connect add kc --password --login-url "$URL" --client-id "$CLIENT_ID" --username "$USER_NAME" || exit 91
"$FB" connect show kc || exit 92
"$FB" query "SELECT COUNT() FROM Account" || exit 93
# The session the add logged in with is kept in the keychain too, never in the file.
"$FB" connect show kc | grep -q "kept in the OS keychain (token redacted)" || exit 96
cp "$FORCEBRIDGE_HOME/connections.toml" "$FORCEBRIDGE_HOME/saved.toml"
"$FB" connect remove kc || exit 94
FORCEBRIDGE_SECRETS=keychain "$FB" connect list || exit 95
"#;
    let output = std::process::Command::new("dbus-run-session")
        .args(["--", "sh", "-c", script])
        .env("FB", assert_cmd::cargo::cargo_bin("forcebridge"))
        .env("URL", env.url())
        .env("CLIENT_ID", DEFAULT_CLIENT_ID)
        .env("USER_NAME", DEFAULT_USERNAME)
        .env("CS", crate::support::CLIENT_SECRET)
        .env("PW", crate::support::PASSWORD)
        .env("ST", crate::support::SECURITY_TOKEN)
        .env("FORCEBRIDGE_HOME", env.home())
        .env("XDG_DATA_HOME", keyrings.path())
        .env("XDG_RUNTIME_DIR", runtime.path())
        .env_remove("FORCEBRIDGE_SECRETS")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{:?}\n{stdout}\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("stored in the OS keychain (redacted)"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.trim().parse::<u64>().is_ok_and(|n| n > 0)),
        "{stdout}"
    );
    assert_no_secret(&stdout, &[]);
    assert_no_secret(&stderr, &[]);
    // The secrets never touched the file; the profile says where they are.
    assert!(!env.file("secrets.toml").exists());
    let saved = std::fs::read_to_string(env.file("saved.toml")).unwrap();
    assert!(saved.contains("secrets = \"keychain\""), "{saved}");
    assert_no_secret(&saved, &[]);
}
