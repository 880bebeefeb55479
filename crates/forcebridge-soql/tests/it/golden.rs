//! Golden files: every file in `test_data/ok` parses without errors and round-trips through both
//! printers; every file in `test_data/err` reports at least one error. Trees, printed forms and
//! error frames are snapshots (`cargo insta review` after an intended change).

use std::path::Path;

use forcebridge_soql::{format_pretty, parse, to_soql};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// A valid statement: no errors, and both printed forms parse back to the same tree.
fn check_ok(text: &str) -> String {
    let parsed = parse(text);
    assert!(
        parsed.errors.is_empty(),
        "unexpected errors:\n{}",
        parsed.render_errors(text)
    );
    let canonical = to_soql(&parsed.tree);
    let pretty = format_pretty(&parsed.tree);
    for printed in [&canonical, &pretty] {
        let again = parse(printed);
        assert!(
            again.errors.is_empty(),
            "printed form does not parse:\n{}",
            again.render_errors(printed)
        );
        assert_eq!(
            again.tree.without_spans(),
            parsed.tree.without_spans(),
            "round trip changed the tree:\n{printed}"
        );
    }
    assert_eq!(
        to_soql(&parse(&canonical).tree),
        canonical,
        "canonical form is not stable"
    );
    format!(
        "canonical:\n{canonical}\n\npretty:\n{pretty}\n\ntree:\n{:#?}\n",
        parsed.tree
    )
}

/// An invalid statement: at least one error, every span inside the text, frames rendered.
fn check_err(text: &str) -> String {
    let parsed = parse(text);
    assert!(!parsed.errors.is_empty(), "expected an error for {text:?}");
    for error in &parsed.errors {
        assert!(
            error.span.end as usize <= text.len(),
            "span {:?} outside the text",
            error.span
        );
    }
    parsed.render_errors(text)
}

#[test]
fn ok_files_parse_and_round_trip() {
    insta::glob!("../../test_data/ok", "*.{soql,sosl}", |path| {
        insta::assert_snapshot!(check_ok(&read(path)));
    });
}

#[test]
fn err_files_report_errors_with_frames() {
    insta::glob!("../../test_data/err", "*.{soql,sosl}", |path| {
        insta::assert_snapshot!(check_err(&read(path)));
    });
}
