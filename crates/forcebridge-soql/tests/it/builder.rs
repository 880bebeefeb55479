//! The builder against hostile input: whatever a user passes as a value stays a value, and
//! whatever they pass as a name is either a valid name or an error.

use forcebridge_soql::builder::{Filter, QueryBuilder, SearchBuilder, field};
use forcebridge_soql::{
    Condition, Date, DateTime, Direction, ErrorKind, LikePattern, Nulls, Operand, Operator, Query,
    SearchExpr, Statement, Value, parse, parse_query,
};
use proptest::prelude::*;

/// Builds `SELECT Id FROM Account WHERE <filter>`, parses the text back, and returns the tree.
fn built(filter: Filter) -> Query {
    let text = QueryBuilder::select(["Id"])
        .from("Account")
        .filter(filter)
        .build()
        .unwrap();
    let parsed = parse_query(&text);
    assert!(
        parsed.errors.is_empty(),
        "builder output does not parse: {text}"
    );
    parsed.tree
}

/// The single comparison in a query's WHERE clause.
fn only_comparison(query: &Query) -> (&str, Operator, &Operand) {
    match &query.where_clause {
        Some(Condition::Comparison(c)) => {
            let forcebridge_soql::Expr::Field(path) = &c.lhs else {
                panic!("lhs is not a field")
            };
            (path.segments[0].name.as_str(), c.op, &c.rhs)
        }
        other => panic!("expected exactly one comparison, got {other:?}"),
    }
}

const HOSTILE: &[&str] = &[
    "' OR Name != '",
    "\\' OR Id != null OR Name = \\'",
    "x') OR (Name LIKE '%",
    "'; DELETE FROM Account; --",
    "\\",
    "\\\\'",
    "%_%",
    "line\nbreak\rcarriage\ttab",
    "\u{8}\u{c}\u{0}\u{1b}\u{7f}",
    "é’😀 unicode",
    "') OR Id IN (SELECT Id FROM User",
    "\\u0027 OR 1=1",
    ":bind",
    "{FIND}",
];

#[test]
fn hostile_strings_stay_one_value() {
    for input in HOSTILE {
        let query = built(field("Name").eq(*input));
        let (name, op, rhs) = only_comparison(&query);
        assert_eq!((name, op), ("Name", Operator::Eq));
        assert_eq!(
            rhs,
            &Operand::Value(forcebridge_soql::Literal {
                value: Value::String(input.to_string()),
                span: rhs.span()
            })
        );
    }
}

#[test]
fn hostile_like_input_is_literal_text() {
    for input in HOSTILE {
        for (filter, expected) in [
            (
                field("Name").starts_with(input),
                LikePattern::starts_with(input),
            ),
            (field("Name").contains(input), LikePattern::contains(input)),
            (
                field("Name").ends_with(input),
                LikePattern::ends_with(input),
            ),
        ] {
            let query = built(filter);
            let (_, op, rhs) = only_comparison(&query);
            assert_eq!(op, Operator::Like);
            let Operand::Pattern { pattern, .. } = rhs else {
                panic!("not a pattern")
            };
            assert_eq!(pattern, &expected);
            // The user's text matches its own pattern.
            assert!(pattern.matches(input), "{input:?} should match {pattern:?}");
        }
        let exact = built(field("Name").like(LikePattern::exact(input)));
        let (_, _, rhs) = only_comparison(&exact);
        let Operand::Pattern { pattern, .. } = rhs else {
            panic!("not a pattern")
        };
        assert!(
            pattern.matches(input),
            "{input:?} should match its own exact pattern"
        );
        assert!(!pattern.matches(&format!("{input}x")));
    }
}

#[test]
fn wildcards_in_user_text_do_not_widen_the_match() {
    let query = built(field("Name").starts_with("50%_"));
    let (_, _, rhs) = only_comparison(&query);
    let Operand::Pattern { pattern, .. } = rhs else {
        panic!()
    };
    assert!(pattern.matches("50%_ off"));
    assert!(
        !pattern.matches("50xy off"),
        "`%` and `_` from the user must not be wildcards"
    );
}

#[test]
fn hostile_lists_keep_their_length() {
    let query = built(field("Name").is_in(HOSTILE.iter().copied()));
    let (_, op, rhs) = only_comparison(&query);
    assert_eq!(op, Operator::In);
    let Operand::List { values, .. } = rhs else {
        panic!()
    };
    let got: Vec<&Value> = values.iter().map(|l| &l.value).collect();
    let want: Vec<Value> = HOSTILE
        .iter()
        .map(|s| Value::String(s.to_string()))
        .collect();
    assert_eq!(got, want.iter().collect::<Vec<_>>());
}

#[test]
fn names_must_be_api_names() {
    for bad in [
        "Name = 'x' OR Id",
        "Name)",
        "1Name",
        "",
        "Na me",
        "Name--",
        "Name'",
        "Account..Name",
        "_Name",
        "Näme",
    ] {
        let err = QueryBuilder::select([bad])
            .from("Account")
            .build()
            .unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::InvalidIdentifier,
            "{bad:?} should be rejected"
        );
        let err = QueryBuilder::select(["Id"]).from(bad).build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidIdentifier);
        let err = QueryBuilder::select(["Id"])
            .from("Account")
            .filter(field(bad).eq(1))
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidIdentifier);
        let err = QueryBuilder::select(["Id"])
            .from("Account")
            .order_by(bad, Direction::Asc)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidIdentifier);
    }
    // Names that look odd but are real: namespaces, custom suffixes, objects named like keywords.
    let ok = QueryBuilder::select(["ns__Field__c", "Parent__r.Name", "Owner.Profile.Name"])
        .from("Group")
        .build();
    assert_eq!(
        ok.unwrap(),
        "SELECT ns__Field__c, Parent__r.Name, Owner.Profile.Name FROM Group"
    );
}

#[test]
fn values_of_every_type_are_written_correctly() {
    let date = Date::new(2024, 2, 29).unwrap();
    let moment = DateTime::utc(2024, 1, 15, 10, 30, 0).unwrap();
    let soql = QueryBuilder::select(["Id"])
        .from("Opportunity")
        .filter(field("CloseDate").eq(date))
        .filter(field("CreatedDate").gt(moment))
        .filter(field("Amount").ge(1234.5f64))
        .filter(field("Probability").lt(0.1f32))
        .filter(field("NumberOfEmployees").ne(-3i32))
        .filter(field("IsWon").eq(true))
        .filter(field("Description").is_null())
        .filter(field("NextStep").eq(None::<&str>))
        .build()
        .unwrap();
    assert_eq!(
        soql,
        "SELECT Id FROM Opportunity WHERE CloseDate = 2024-02-29 AND CreatedDate > 2024-01-15T10:30:00Z \
         AND Amount >= 1234.5 AND Probability < 0.1 AND NumberOfEmployees != -3 AND IsWon = TRUE \
         AND Description = NULL AND NextStep = NULL"
    );
    assert!(Date::new(2023, 2, 29).is_none());
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err = QueryBuilder::select(["Id"])
            .from("X")
            .filter(field("Amount").eq(bad))
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidValue);
    }
    let err = QueryBuilder::select(["Id"])
        .from("X")
        .filter(field("Name").is_in(Vec::<String>::new()))
        .build();
    assert_eq!(err.unwrap_err().kind(), ErrorKind::InvalidValue);
}

#[test]
fn combinators_parenthesise_mixed_logic() {
    let filter = field("Name")
        .eq("a")
        .or(field("Name").eq("b"))
        .and(field("Type").eq("c").not());
    let soql = QueryBuilder::select(["Id"])
        .from("Account")
        .filter(filter)
        .build()
        .unwrap();
    assert_eq!(
        soql,
        "SELECT Id FROM Account WHERE (Name = 'a' OR Name = 'b') AND (NOT Type = 'c')"
    );
    let trusted = Filter::parse("Amount > 1000 OR StageName = 'Closed Won'");
    let soql = QueryBuilder::select(["Id"])
        .from("Opportunity")
        .filter(trusted)
        .filter(field("IsDeleted").eq(false))
        .build()
        .unwrap();
    assert_eq!(
        soql,
        "SELECT Id FROM Opportunity WHERE (Amount > 1000 OR StageName = 'Closed Won') AND IsDeleted = FALSE"
    );
    let err = QueryBuilder::select(["Id"])
        .from("X")
        .filter(Filter::parse("Name = "))
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Syntax);
}

#[test]
fn subqueries_aggregates_and_paging() {
    let soql = QueryBuilder::select(["Id", "Name"])
        .subquery(
            "Contacts",
            QueryBuilder::select(["Id", "Email"])
                .filter(field("Email").ends_with("@acme.com"))
                .limit(5),
        )
        .from("Account")
        .filter(
            field("Id").in_subquery(
                QueryBuilder::select(["AccountId"])
                    .from("Opportunity")
                    .filter(field("IsWon").eq(true)),
            ),
        )
        .order_by_nulls("Name", Direction::Desc, Nulls::Last)
        .limit(10)
        .offset(20)
        .build()
        .unwrap();
    assert_eq!(
        soql,
        "SELECT Id, Name, (SELECT Id, Email FROM Contacts WHERE Email LIKE '%@acme.com' LIMIT 5) FROM Account \
         WHERE Id IN (SELECT AccountId FROM Opportunity WHERE IsWon = TRUE) ORDER BY Name DESC NULLS LAST LIMIT 10 OFFSET 20"
    );
    let count = QueryBuilder::count()
        .from("Lead")
        .filter(field("IsConverted").eq(false))
        .build()
        .unwrap();
    assert_eq!(count, "SELECT COUNT() FROM Lead WHERE IsConverted = FALSE");
    let agg = QueryBuilder::select(["StageName"])
        .aggregate(forcebridge_soql::Function::Sum, "Amount", "total")
        .from("Opportunity")
        .build()
        .unwrap();
    assert_eq!(agg, "SELECT StageName, SUM(Amount) total FROM Opportunity");
}

#[test]
fn search_text_is_words_never_syntax() {
    for input in HOSTILE.iter().chain(&[
        "a OR b",
        "NOT this",
        "x AND (y",
        "\"quoted phrase\"",
        "*wild?",
    ]) {
        let Ok(sosl) = SearchBuilder::find(input)
            .returning("Account", ["Id", "Name"])
            .limit(5)
            .build()
        else {
            // Input with nothing to search for (only whitespace and control characters) is refused.
            assert!(
                input.chars().all(|c| c.is_whitespace() || c.is_control()),
                "{input:?} was refused"
            );
            continue;
        };
        let Statement::Search(search) = parse(&sosl).tree else {
            panic!("not a search: {sosl}")
        };
        assert_eq!(search.returning.len(), 1, "{sosl}");
        assert_eq!(search.limit.map(|l| l.value), Some(5));
        fn only_words(e: &SearchExpr) -> bool {
            match e {
                SearchExpr::Word { .. } | SearchExpr::Phrase { .. } => true,
                SearchExpr::And { operands } => operands.iter().all(only_words),
                _ => false,
            }
        }
        assert!(
            only_words(&search.term.expr),
            "{input:?} became syntax: {:?}",
            search.term.expr
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn any_string_value_round_trips_exactly(input in "\\PC*|[\\\\'%_\"\\n\\r\\t\\u{0}-\\u{1f}]{0,20}") {
        let query = built(field("Name").eq(input.as_str()));
        let (_, _, rhs) = only_comparison(&query);
        prop_assert_eq!(rhs, &Operand::Value(forcebridge_soql::Literal { value: Value::String(input.clone()), span: rhs.span() }));
        let like = built(field("Name").contains(&input));
        let (_, _, rhs) = only_comparison(&like);
        let Operand::Pattern { pattern, .. } = rhs else { panic!() };
        let haystack = format!("xx{input}yy");
        prop_assert!(pattern.matches(&haystack));
    }

    #[test]
    fn any_number_round_trips(n in any::<f64>().prop_filter("finite", |f| f.is_finite()), i in any::<i64>()) {
        let query = built(field("Amount").eq(n));
        let (_, _, rhs) = only_comparison(&query);
        let Operand::Value(lit) = rhs else { panic!() };
        let Value::Number(num) = &lit.value else { panic!() };
        prop_assert_eq!(num.as_f64(), if n == 0.0 { 0.0 } else { n });
        let query = built(field("Amount").eq(i));
        let (_, _, rhs) = only_comparison(&query);
        let Operand::Value(lit) = rhs else { panic!() };
        let Value::Number(num) = &lit.value else { panic!() };
        prop_assert_eq!(num.as_i64(), Some(i));
    }
}
