//! What users hand the commands as text: query files with a byte order mark, and input that
//! cannot be read or is not what it should be, which is a usage error (exit 2) that names the
//! option and the file or position.

use forcebridge_emulator::{DEFAULT_CLIENT_ID, DEFAULT_USERNAME};

use crate::support::{connected, outputs, stdout_of};

/// What editors on Windows put at the start of a UTF-8 file.
const BOM: &str = "\u{feff}";

/// `forcebridge ARGS` fails with a usage error (exit 2) whose message contains `expected`,
/// and prints nothing on stdout.
fn check_usage(assert: assert_cmd::assert::Assert, expected: &[&str]) {
    let assert = assert.code(2);
    let (stdout, stderr) = outputs(&assert);
    assert_eq!(stdout, "", "{stderr}");
    for part in expected {
        assert!(stderr.contains(part), "{part:?} not in:\n{stderr}");
    }
}

#[test]
fn statements_and_json_may_start_with_a_byte_order_mark() {
    let env = connected();
    let soql = "SELECT Id, Name FROM Account ORDER BY Name LIMIT 3";
    let expected = stdout_of(&env, &["query", soql, "--csv"]);
    let file = env.file("accounts.soql");
    std::fs::write(&file, format!("{BOM}{soql}\r\n")).unwrap();
    let path = file.to_str().unwrap();

    assert_eq!(
        stdout_of(&env, &["query", "--file", path, "--csv"]),
        expected
    );
    for args in [
        ["query", "--file", "-", "--csv"],
        ["query", "-", "--csv", ""],
    ] {
        let args: Vec<&str> = args.into_iter().filter(|a| !a.is_empty()).collect();
        let piped = env
            .cmd(&args)
            .write_stdin(format!("{BOM}{soql}\n"))
            .assert()
            .success();
        assert_eq!(outputs(&piped).0, expected, "{args:?}");
    }
    // The offline checker, a search and a bulk export read files alike.
    env.cmd(&["soql", "check", "--file", path])
        .assert()
        .success()
        .stdout("");
    let sosl = env.file("search.sosl");
    std::fs::write(&sosl, format!("{BOM}FIND {{Acme}} RETURNING Account(Name)")).unwrap();
    env.cmd(&["search", "--file", sosl.to_str().unwrap(), "--jsonl"])
        .assert()
        .success();
    let exported = stdout_of(&env, &["bulk", "export", "--file", path]);
    assert_eq!(exported.lines().count(), 4, "{exported}");

    // A JSON body with one, from stdin.
    let created = env
        .cmd(&["create", "Account", "--data", "-"])
        .write_stdin(format!("{BOM}{{\"Name\": \"Bom Industries\"}}"))
        .assert()
        .success();
    let id = outputs(&created).0.trim().to_string();
    let name = stdout_of(&env, &["get", "Account", &id, "--fields", "Name", "--csv"]);
    assert!(name.starts_with("Name,Id\nBom Industries,"), "{name}");
}

#[test]
fn input_that_cannot_be_used_is_a_usage_error_that_says_where() {
    let env = connected();
    let missing = env.file("missing.soql");
    let missing = missing.to_str().unwrap();

    // A file that is not there, for each option that reads one.
    check_usage(
        env.cmd(&["query", "--file", missing]).assert(),
        &["--file", missing, "no such file"],
    );
    check_usage(
        env.cmd(&["bulk", "import", "Account", missing]).assert(),
        &[missing, "no such file"],
    );
    check_usage(
        env.cmd(&["connect", "add", "dev", "--sfdx-url-file", missing])
            .assert(),
        &["--sfdx-url-file", missing, "no such file"],
    );
    check_usage(
        env.connect_add(
            "ci",
            "--jwt",
            DEFAULT_CLIENT_ID,
            &["--username", DEFAULT_USERNAME, "--key-file", missing],
        )
        .assert(),
        &["--key-file", missing, "no such file"],
    );
    check_usage(
        env.cmd(&["emulator", "--config", missing, "--port", "0"])
            .assert(),
        &["--config", missing, "no such file"],
    );
    let saved = stdout_of(&env, &["connect", "list"]);
    assert!(!saved.contains("ci") && !saved.contains("dev"), "{saved}");

    // JSON that does not parse, with where.
    check_usage(
        env.cmd(&[
            "api",
            "POST",
            "sobjects/Account",
            "--data",
            "{\"Name\": \"Acme\",}",
        ])
        .assert(),
        &["--data is not valid JSON", "line 1, column 17"],
    );
    check_usage(
        env.cmd(&["create", "Account", "--data", "-"])
            .write_stdin("{\n  \"Name\": Acme\n}")
            .assert(),
        &["--data (stdin) is not valid JSON", "line 2, column 11"],
    );

    // Text that is not UTF-8 (Latin-1 here), with where.
    let latin1 = b"SELECT Id FROM Account\nWHERE Name = 'Caf\xE9'".to_vec();
    let file = env.file("latin1.soql");
    std::fs::write(&file, &latin1).unwrap();
    check_usage(
        env.cmd(&["query", "--file", file.to_str().unwrap()])
            .assert(),
        &[
            "--file",
            "is not UTF-8 text",
            "byte 0xE9 at line 2, column 18",
        ],
    );
    check_usage(
        env.cmd(&["query", "-"])
            .write_stdin(latin1.clone())
            .assert(),
        &["the query on stdin is not UTF-8 text", "line 2, column 18"],
    );
    check_usage(
        env.cmd(&["soql", "check", "-"])
            .write_stdin(latin1)
            .assert(),
        &["is not UTF-8 text"],
    );
    // A bulk load's CSV is streamed, not held, and checked through before any job opens; the
    // bad byte sits past the first 64 KiB read, after a character cut by that read's end.
    let mut csv = b"Name,Description\n".to_vec();
    while csv.len() < (1 << 16) - 1 {
        csv.extend_from_slice("Caf\u{e9} \u{2013} fine,ok\n".as_bytes());
    }
    let lines_before = csv.iter().filter(|&&b| b == b'\n').count();
    csv.extend_from_slice(b"Bad,Caf\xE9\n");
    let file = env.file("latin1.csv");
    std::fs::write(&file, &csv).unwrap();
    check_usage(
        env.cmd(&["bulk", "import", "Account", file.to_str().unwrap()])
            .assert(),
        &[
            "the CSV file",
            "is not UTF-8 text",
            &format!("byte 0xE9 at line {}, byte 8 of the line", lines_before + 1),
        ],
    );
    let jobs = stdout_of(&env, &["bulk", "list", "--json"]);
    assert!(!jobs.contains("Account"), "no job was opened: {jobs}");
    check_usage(
        env.cmd(&["update", "Account", "001000000000000AAA", "--data", "-"])
            .write_stdin(b"{\"Name\": \"Caf\xE9\"}".to_vec())
            .assert(),
        &[
            "--data JSON on stdin is not UTF-8 text",
            "line 1, column 14",
        ],
    );
}
