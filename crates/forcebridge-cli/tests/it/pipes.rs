//! Output into a pipe whose reader goes away (`forcebridge ... | head -1`): every command that
//! prints ends at once, with exit code 0 and nothing on stderr, in every format, and stops
//! fetching (and retrying) as soon as nobody reads.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use forcebridge_emulator::{Config, FaultConfig, FaultScope, SeedConfig};

use crate::support::{Env, connected_to, outputs};

/// An org with ten thousand records: some 2,000 contacts, many pages of them.
fn big_org() -> Env {
    let mut config = Config::builtin();
    config.seed = Some(SeedConfig {
        seed: "cli-pipes".into(),
        records: 10000,
    });
    connected_to(Env::with_config(config))
}

/// How a command ended whose reader went away.
struct Closed {
    code: Option<i32>,
    /// The lines the reader took.
    read: Vec<String>,
    stderr: String,
    /// From the reader going away to the command's end.
    after_close: Duration,
}

/// Runs `forcebridge ARGS` into a reader that takes `lines` lines (none: it is gone before the
/// command starts, as with `| true`) and then goes away, as `| head -N` does.
fn read_then_close(env: &Env, args: &[&str], lines: usize) -> Closed {
    let mut child = env
        .std_cmd(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut read = Vec::new();
    for _ in 0..lines {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        read.push(line);
    }
    drop(reader);
    let closed = Instant::now();
    let output = child.wait_with_output().unwrap();
    Closed {
        code: output.status.code(),
        read,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        after_close: closed.elapsed(),
    }
}

/// The command ended as if all had been read: exit 0, nothing on stderr.
fn check_quiet(closed: &Closed, what: &str) {
    assert_eq!(closed.code, Some(0), "{what}: {}", closed.stderr);
    assert_eq!(closed.stderr, "", "{what}");
}

#[test]
fn every_command_and_format_ends_quietly_when_its_reader_goes() {
    let env = big_org();
    let contacts = outputs(
        &env.cmd(&["query", "SELECT COUNT() FROM Contact"])
            .assert()
            .success(),
    )
    .0;
    assert!(contacts.trim().parse::<u64>().unwrap() > 1500, "{contacts}");
    // More output than a pipe holds (64 KiB), in every format: the command is still writing
    // when the reader goes.
    let soql = "SELECT Id, Name, Account.Name, Email, Phone, Title, MailingStreet, MailingCity \
                FROM Contact";
    for format in ["--csv", "--json", "--jsonl", "--table"] {
        let mut args = vec!["query", soql, "--batch-size", "200"];
        if format != "--table" {
            args.push(format);
        }
        for lines in [1, 0] {
            let closed = read_then_close(&env, &args, lines);
            check_quiet(&closed, &format!("query {format}, {lines} lines read"));
            assert_eq!(closed.read.len(), lines);
        }
    }

    let id = outputs(
        &env.cmd(&["query", "SELECT Id FROM Account LIMIT 1", "--csv"])
            .assert()
            .success(),
    )
    .0
    .lines()
    .nth(1)
    .unwrap()
    .to_string();
    let commands: [&[&str]; 9] = [
        &["get", "Account", &id],
        &["get", "Account", &id, "--json"],
        &["describe", "Account"],
        &["describe", "Account", "--csv"],
        &["describe"],
        &["limits"],
        &["api", "GET", "sobjects/Account/describe"],
        &["search", "FIND {Inc} RETURNING Account(Name)", "--csv"],
        &["bulk", "export", soql],
    ];
    for args in commands {
        for lines in [1, 0] {
            let closed = read_then_close(&env, args, lines);
            if args[0] == "bulk" {
                // The job's id, on stderr, when the job was started before the reader went.
                let rest = match closed.stderr.split_once('\n') {
                    Some((started, rest)) if started.starts_with("bulk query job ") => rest,
                    _ => closed.stderr.as_str(),
                };
                assert_eq!(rest, "", "{args:?}");
                assert_eq!(closed.code, Some(0), "{args:?}: {}", closed.stderr);
            } else {
                check_quiet(&closed, &format!("{args:?}, {lines} lines read"));
            }
        }
    }
}

#[test]
fn a_command_stops_fetching_once_its_reader_has_gone() {
    let env = big_org();
    // Every page after the first comes slowly, and then as a 503: a command still fetching
    // once its reader has gone would warn that it retries, and then fail.
    env.emulator.set_faults(FaultConfig {
        error_rate: 1.0,
        latency: Duration::from_millis(1500),
        scope: FaultScope::Path("/query/".into()),
        ..FaultConfig::none()
    });
    for format in ["--csv", "--jsonl"] {
        let closed = read_then_close(
            &env,
            &[
                "query",
                "SELECT Id, Name FROM Contact",
                format,
                "--batch-size",
                "200",
            ],
            1,
        );
        check_quiet(&closed, format);
        assert!(
            closed.after_close < Duration::from_millis(1000),
            "{format}: {:?} after the reader went",
            closed.after_close
        );
    }
}
