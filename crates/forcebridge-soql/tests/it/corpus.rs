//! The public corpus in `test_data/corpus` (447 queries from three other parsers' test suites).
//! Every record whose context is `api` must agree with its `valid` flag, unless its id is listed
//! in `test_data/corpus-disagreements.txt` with the reason we differ. Records from Apex that use
//! Apex-only syntax (bind variables, ALL ROWS, `FIND 'x'`) must be rejected as Apex-only; the
//! plain SOQL that some Apex records hold is simply parsed. The pass rate is kept in a snapshot.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use forcebridge_soql::DiagnosticKind;

#[derive(serde::Deserialize)]
struct Record {
    id: String,
    soql: String,
    valid: bool,
    context: String,
}

fn corpus_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/test_data"))
}

fn records() -> Vec<(String, Record)> {
    let mut files: Vec<_> = std::fs::read_dir(corpus_dir().join("corpus"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let records: Vec<Record> =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        out.extend(records.into_iter().map(|r| (name.clone(), r)));
    }
    out
}

/// Whether the text uses syntax only Apex accepts: a `:bind` outside strings (a colon followed
/// by something other than a digit, which would be `LAST_N_DAYS:30` or a time), `ALL ROWS`, or
/// the quoted Apex form of FIND.
fn has_apex_syntax(text: &str) -> bool {
    let mut in_string = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_string => {
                chars.next();
            }
            '\'' => in_string = !in_string,
            ':' if !in_string => {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if chars.peek().is_some_and(|c| !c.is_ascii_digit()) {
                    return true;
                }
            }
            _ => {}
        }
    }
    let upper = text.to_ascii_uppercase();
    upper.contains("ALL ROWS")
        || upper
            .trim_start()
            .strip_prefix("FIND")
            .is_some_and(|r| r.trim_start().starts_with('\''))
}

fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `file :: id => reason` lines; `#` starts a comment.
fn documented_disagreements() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(corpus_dir().join("corpus-disagreements.txt")).unwrap();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (key, reason) = l
                .split_once(" => ")
                .unwrap_or_else(|| panic!("malformed line: {l}"));
            (key.trim().to_string(), reason.trim().to_string())
        })
        .collect()
}

#[test]
fn corpus_agrees_or_documents_why_not() {
    let documented = documented_disagreements();
    let mut report = String::new();
    let mut per_file: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut undocumented = Vec::new();
    let mut seen_documented = Vec::new();
    let mut apex_wrong = Vec::new();
    let (mut apex_total, mut apex_only) = (0, 0);

    for (file, record) in records() {
        let parse = forcebridge_soql::parse(&record.soql);
        let accepted = parse.errors.is_empty();
        match record.context.as_str() {
            // Editor tooling strips comments before sending; we reject them (the API does too)
            // and check the rest as an API query.
            "tooling" => {
                let comment_rejected = parse
                    .errors
                    .iter()
                    .any(|e| e.message.starts_with("comments are not part of SOQL"));
                assert!(comment_rejected, "{}: comments must be reported", record.id);
                let stripped = strip_comments(&record.soql);
                let key = format!("{file} :: {}", record.id);
                let agrees = forcebridge_soql::parse(&stripped).errors.is_empty() == record.valid;
                let entry = per_file.entry(file.clone()).or_default();
                entry.0 += 1;
                if agrees {
                    entry.1 += 1;
                } else if let Some(reason) = documented.get(&key) {
                    seen_documented.push((key, record.valid, reason.clone()));
                } else {
                    undocumented.push(format!(
                        "{key} (comments stripped): source says valid={}\n    {stripped:?}",
                        record.valid
                    ));
                }
            }
            "api" => {
                let entry = per_file.entry(file.clone()).or_default();
                entry.0 += 1;
                let key = format!("{file} :: {}", record.id);
                if accepted == record.valid {
                    entry.1 += 1;
                    if documented.contains_key(&key) {
                        undocumented.push(format!(
                            "{key}: documented as a disagreement but now agrees"
                        ));
                    }
                } else if let Some(reason) = documented.get(&key) {
                    seen_documented.push((key, record.valid, reason.clone()));
                } else {
                    let ours = parse
                        .errors
                        .first()
                        .map_or("accepted".to_string(), |e| e.message.clone());
                    undocumented.push(format!(
                        "{key}: source says valid={}, we say: {ours}\n    {:?}",
                        record.valid, record.soql
                    ));
                }
            }
            "apex" => {
                apex_total += 1;
                if has_apex_syntax(&record.soql) {
                    apex_only += 1;
                    let flagged = parse
                        .errors
                        .iter()
                        .any(|e| e.kind == DiagnosticKind::ApexOnly);
                    if !flagged {
                        apex_wrong.push(format!(
                            "{file} :: {}: not reported as Apex-only: {:?}",
                            record.id, parse.errors
                        ));
                    }
                } else if !accepted {
                    apex_wrong.push(format!(
                        "{file} :: {}: plain SOQL rejected: {:?}",
                        record.id, parse.errors
                    ));
                }
            }
            _ => {}
        }
    }

    assert!(
        undocumented.is_empty(),
        "undocumented corpus disagreements:\n{}",
        undocumented.join("\n")
    );
    assert!(
        apex_wrong.is_empty(),
        "Apex records handled wrongly:\n{}",
        apex_wrong.join("\n")
    );

    let (total, agree) = per_file
        .values()
        .fold((0, 0), |(t, a), (ft, fa)| (t + ft, a + fa));
    writeln!(report, "api and tooling records (comments stripped) agreeing with their source: {agree}/{total} ({:.1}%)", 100.0 * agree as f64 / total as f64).unwrap();
    for (file, (t, a)) in &per_file {
        writeln!(report, "  {file}: {a}/{t}").unwrap();
    }
    writeln!(report, "apex records: {apex_total}, of which {apex_only} use Apex-only syntax and are all rejected as such").unwrap();
    writeln!(report, "documented disagreements:").unwrap();
    for (key, valid, reason) in &seen_documented {
        let side = if *valid {
            "source accepts, we reject"
        } else {
            "source rejects, we accept"
        };
        writeln!(report, "  {key} ({side}): {reason}").unwrap();
    }
    insta::assert_snapshot!(report);
}
