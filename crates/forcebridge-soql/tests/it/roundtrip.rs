//! Round trips and robustness: printed trees parse back to the same tree, and no input makes
//! the parser panic, hang or report a span outside the text.

use forcebridge_soql::{format_pretty, parse, to_soql};
use proptest::prelude::*;

/// Both printed forms of a valid statement parse back to the same tree, and the canonical form
/// is a fixed point.
fn check_round_trip(text: &str) {
    let parsed = parse(text);
    assert!(
        parsed.errors.is_empty(),
        "{text:?} should parse:\n{}",
        parsed.render_errors(text)
    );
    let tree = parsed.tree.without_spans();
    let canonical = to_soql(&parsed.tree);
    for printed in [canonical.clone(), format_pretty(&parsed.tree)] {
        let again = parse(&printed);
        assert!(
            again.errors.is_empty(),
            "printed form does not parse:\n{printed}\n{}",
            again.render_errors(&printed)
        );
        assert_eq!(
            again.tree.without_spans(),
            tree,
            "round trip changed the tree:\n{text}\n=>\n{printed}"
        );
    }
    assert_eq!(to_soql(&parse(&canonical).tree), canonical);
}

/// Any input: no panic, spans inside the text, frames render.
fn check_robust(text: &str) {
    let parsed = parse(text);
    for error in &parsed.errors {
        assert!(
            error.span.start <= error.span.end && error.span.end as usize <= text.len(),
            "{error:?} in {text:?}"
        );
        let _ = error.render(text);
    }
    // Printing a tree with errors must not panic either, even if it cannot round-trip.
    let _ = to_soql(&parsed.tree);
    let _ = format_pretty(&parsed.tree);
}

#[test]
fn every_valid_corpus_query_round_trips() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/test_data/corpus");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let records: Vec<serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for record in records {
            let text = record["soql"].as_str().unwrap();
            check_robust(text);
            if parse(text).errors.is_empty() {
                check_round_trip(text);
                checked += 1;
            }
        }
    }
    assert!(checked > 350, "only {checked} corpus queries were checked");
}

// ---- Generated queries -------------------------------------------------------------------------

/// Words the SOQL reference reserves: no field or object has these names, so a generated name
/// must not be one.
const RESERVED: &[&str] = &[
    "AND", "ASC", "DESC", "EXCLUDES", "FIRST", "FROM", "GROUP", "HAVING", "IN", "INCLUDES", "LAST",
    "LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OR", "SELECT", "USING", "WHERE", "WITH",
];

/// Names for fields. `format` is a real field on Report that is also a function name.
fn ident() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Id".to_string()),
        Just("Name".to_string()),
        Just("format".to_string()),
        "[A-Z][a-z]{1,6}(__c)?".prop_filter("a reserved word", |name| !RESERVED
            .iter()
            .any(|word| word.eq_ignore_ascii_case(name))),
        "[a-z]{1,3}__[A-Z][a-z]{1,4}__c",
    ]
}

/// Names for objects: `Group` and `Order` are objects whose names are also keywords.
fn object() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Group".to_string()),
        Just("Order".to_string()),
        ident()
    ]
}

fn field() -> impl Strategy<Value = String> {
    prop::collection::vec(ident(), 1..4).prop_map(|parts| parts.join("."))
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("NULL".to_string()),
        Just("true".to_string()),
        Just("FALSE".to_string()),
        Just("TODAY".to_string()),
        (1u32..500).prop_map(|n| format!("LAST_N_DAYS:{n}")),
        (-10_000i64..10_000).prop_map(|n| n.to_string()),
        (0u32..1000, 0u32..100).prop_map(|(a, b)| format!("{a}.{b:02}")),
        Just("2024-02-29".to_string()),
        Just("2024-01-15T10:30:00.000+0000".to_string()),
        Just("1999-12-31T23:59:59-08:00".to_string()),
        Just("USD5000".to_string()),
        Just("EUR10.50".to_string()),
        Just(r"'O\'Brien \\ \n \u00e9'".to_string()),
        "[a-zA-Z0-9 %_]{0,12}".prop_map(|s| format!("'{s}'")),
    ]
}

fn comparison() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            field(),
            prop_oneof![
                Just("="),
                Just("!="),
                Just("<>"),
                Just("<"),
                Just(">="),
                Just("<=")
            ],
            value()
        )
            .prop_map(|(f, op, v)| format!("{f} {op} {v}")),
        (field(), "[a-z%_]{0,8}").prop_map(|(f, p)| format!("{f} LIKE '{p}'")),
        (field(), prop::collection::vec(value(), 1..4), any::<bool>()).prop_map(
            |(f, vs, not)| format!(
                "{f} {}IN ({})",
                if not { "NOT " } else { "" },
                vs.join(", ")
            )
        ),
        (field(), field()).prop_map(|(f, g)| format!("{f} IN (SELECT {g} FROM Contact)")),
        field().prop_map(|f| format!("CALENDAR_YEAR({f}) = 2024")),
    ]
}

fn condition() -> impl Strategy<Value = String> {
    comparison().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            (prop::collection::vec(inner.clone(), 2..4), any::<bool>()).prop_map(|(parts, and)| {
                let joiner = if and { " AND " } else { " OR " };
                format!("({})", parts.join(joiner))
            }),
            inner.prop_map(|c| format!("NOT ({c})")),
        ]
    })
}

fn select_item() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => field(),
        1 => field().prop_map(|f| format!("toLabel({f})")),
        1 => (field(), "[a-z]{1,5}").prop_map(|(f, a)| format!("MAX({f}) m{a}")),
        1 => Just("COUNT()".to_string()),
        1 => Just("FIELDS(STANDARD)".to_string()),
        1 => field().prop_map(|f| format!("(SELECT Id, {f} FROM Contacts WHERE {f} != NULL LIMIT 3)")),
        1 => Just("TYPEOF What WHEN Account THEN Phone, Name ELSE Id END".to_string()),
    ]
}

fn query() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(select_item(), 1..5),
        object(),
        prop::option::of(condition()),
        prop::option::of(prop::collection::vec(field(), 1..3)),
        prop::option::of((
            field(),
            prop_oneof![Just(""), Just(" ASC"), Just(" DESC")],
            prop_oneof![Just(""), Just(" NULLS FIRST"), Just(" NULLS LAST")],
        )),
        prop::option::of(0u64..3000),
        prop::option::of(0u64..2000),
    )
        .prop_map(
            |(select, object, where_clause, group_by, order_by, limit, offset)| {
                let mut q = format!("SELECT {} FROM {object}", select.join(", "));
                if let Some(c) = where_clause {
                    q.push_str(&format!(" WHERE {c}"));
                }
                if let Some(g) = group_by {
                    q.push_str(&format!(" GROUP BY {}", g.join(", ")));
                }
                if let Some((f, dir, nulls)) = order_by {
                    q.push_str(&format!(" ORDER BY {f}{dir}{nulls}"));
                }
                if let Some(l) = limit {
                    q.push_str(&format!(" LIMIT {l}"));
                }
                if let Some(o) = offset {
                    q.push_str(&format!(" OFFSET {o}"));
                }
                q
            },
        )
}

/// Fragments of real SOQL, glued together at random: mostly-wrong input that looks plausible,
/// which is where error recovery gets exercised.
fn token_soup() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("SELECT"),
        Just("FROM"),
        Just("WHERE"),
        Just("AND"),
        Just("OR"),
        Just("NOT"),
        Just("("),
        Just(")"),
        Just(","),
        Just("."),
        Just("="),
        Just("IN"),
        Just("LIKE"),
        Just("Name"),
        Just("Account"),
        Just("'x'"),
        Just("'"),
        Just("5"),
        Just("-"),
        Just(":"),
        Just("LAST_N_DAYS"),
        Just("TYPEOF"),
        Just("WHEN"),
        Just("END"),
        Just("GROUP BY"),
        Just("ORDER BY"),
        Just("LIMIT"),
        Just("FIND"),
        Just("{x}"),
        Just("{"),
        Just("RETURNING"),
        Just("WITH"),
        Just("DATA CATEGORY"),
        Just("FIELDS(ALL)"),
        Just("COUNT("),
        Just("2024-01-01T"),
        Just("\\"),
        Just("USD1."),
        Just("é"),
        Just("\""),
        Just("/*"),
        Just("//"),
    ];
    prop::collection::vec(pieces, 0..40).prop_map(|p| p.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn generated_queries_round_trip(text in query()) {
        check_round_trip(&text);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        check_robust(&text);
    }

    #[test]
    fn token_soup_never_panics(text in token_soup()) {
        check_robust(&text);
    }
}

#[test]
fn very_deep_and_very_long_input_stays_fast_and_bounded() {
    // Deep nesting of every recursive construct: parentheses, subqueries, function calls.
    let deep_parens = format!(
        "SELECT Id FROM A WHERE {}Name = 'x'{}",
        "(".repeat(50_000),
        ")".repeat(50_000)
    );
    let deep_subqueries = "SELECT Id, (".repeat(20_000) + &"SELECT Id FROM B)".repeat(20_000);
    let deep_calls = format!(
        "SELECT {}Id{} FROM A",
        "FORMAT(".repeat(50_000),
        ")".repeat(50_000)
    );
    let deep_not = format!("SELECT Id FROM A WHERE {}Name = 'x'", "NOT ".repeat(50_000));
    let deep_term = format!("FIND {{{}x{}}}", "(".repeat(50_000), ")".repeat(50_000));
    let long_or = format!(
        "SELECT Id FROM A WHERE {}",
        vec!["Name = 'x'"; 50_000].join(" OR ")
    );
    for text in [
        deep_parens,
        deep_subqueries,
        deep_calls,
        deep_not,
        deep_term,
    ] {
        let parsed = parse(&text);
        assert!(
            parsed
                .errors
                .iter()
                .any(|e| e.kind == forcebridge_soql::DiagnosticKind::TooComplex),
            "expected a too-deep error"
        );
        check_robust(&text);
    }
    // Long but flat is fine.
    assert!(parse(&long_or).errors.is_empty());
}
