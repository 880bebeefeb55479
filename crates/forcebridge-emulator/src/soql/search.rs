//! SOSL: `GET /search?q=FIND {...}` and `parameterizedSearch` (GET and POST).
//!
//! A search term is matched word by word, without case, against the text of a record's
//! searchable fields: IN ALL FIELDS (the default) reads every text-like field, NAME FIELDS the
//! name field plus FirstName, LastName and Company, EMAIL FIELDS the email fields, PHONE FIELDS
//! the phone fields (digits only). A word may use `*` and `?`; a quoted phrase must appear as
//! consecutive words of one field; AND, OR and NOT combine across the record's fields.
//! Each RETURNING object is then filtered, ordered and limited like a SOQL query (this module
//! builds that query's tree and reuses the planner), and the records of all objects are
//! returned in RETURNING order. There is no relevance ranking: matches come in id order unless
//! ORDER BY says otherwise.

use forcebridge_soql::{
    Count, Expr, FieldPath, From, Ident, LikePart, LikePattern, Query, Returning, Search,
    SearchExpr, SearchScope, SelectItem,
};

use super::eval::{Env, field_value};
use super::exec::{self, RunRows};
use super::frame;
use super::page::RecordWriter;
use super::plan::{Planner, Shape};
use crate::api_error::ApiFailure;
use crate::dml::is_deleted;
use crate::ids::RecordId;
use crate::org::Org;
use crate::render::RenderContext;
use crate::schema::{FieldType, ObjectDef};
use crate::store::Snapshot;
use crate::value::{self, Value};
use crate::versions::ApiVersion;

/// The most records one search returns, and the default overall LIMIT.
const MAX_SEARCH_RECORDS: usize = 2000;
/// The largest OFFSET of a RETURNING object.
const MAX_SEARCH_OFFSET: u64 = 2000;

/// Runs a SOSL search and returns the body: `{"searchRecords":[...]}`.
pub(crate) fn search(
    org: &Org,
    snapshot: &Snapshot,
    user: RecordId,
    version: ApiVersion,
    sosl: &str,
) -> Result<Vec<u8>, ApiFailure> {
    let parse = forcebridge_soql::parse_search(sosl);
    if let Some(first) = parse.errors.first() {
        return Err(frame::parse_failure("MALFORMED_SEARCH", sosl, first));
    }
    run_search(org, snapshot, user, version, sosl, &parse.tree)
}

fn run_search(
    org: &Org,
    snapshot: &Snapshot,
    user: RecordId,
    version: ApiVersion,
    sosl: &str,
    search: &Search,
) -> Result<Vec<u8>, ApiFailure> {
    if literal_characters(&search.term.expr) < 2 {
        return Err(ApiFailure::bad_request(
            "MALFORMED_SEARCH",
            "search term must be longer than one character",
        ));
    }
    let schema = snapshot.schema();
    let scope = search.scope.unwrap_or(SearchScope::All);
    let overall = search
        .limit
        .map_or(MAX_SEARCH_RECORDS, |l| {
            usize::try_from(l.value).unwrap_or(MAX_SEARCH_RECORDS)
        })
        .min(MAX_SEARCH_RECORDS);
    let returning: Vec<Returning> = if search.returning.is_empty() {
        schema
            .objects()
            .iter()
            .filter(|o| o.flags.searchable && o.flags.queryable)
            .map(|o| Returning::object(Ident::new(o.name.clone(), search.span)))
            .collect()
    } else {
        search.returning.clone()
    };
    let now = org.now();
    let env = Env {
        schema,
        data: snapshot,
        now,
    };
    let planner = Planner {
        schema,
        text: sosl,
        today: value::date_of_millis(now),
        user,
        all_rows: false,
    };
    let version_text = version.number();
    let writer = RecordWriter {
        env,
        context: RenderContext {
            version: &version_text,
        },
    };
    let mut out = Vec::with_capacity(4096);
    out.extend_from_slice(b"{\"searchRecords\":[");
    let mut written = 0usize;
    for target in &returning {
        if written >= overall {
            break;
        }
        let Some((object, def)) = schema.find(&target.object.name) else {
            return Err(frame::failure(
                "INVALID_TYPE",
                sosl,
                target.object.span,
                &format!(
                    "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
                    target.object.name
                ),
            ));
        };
        if !def.flags.searchable {
            return Err(frame::failure(
                "INVALID_TYPE",
                sosl,
                target.object.span,
                &format!("entity type {} does not support search", def.name),
            ));
        }
        if let Some(offset) = target.offset
            && offset.value > MAX_SEARCH_OFFSET
        {
            return Err(frame::failure(
                "NUMBER_OUTSIDE_VALID_RANGE",
                sosl,
                offset.span,
                "SOSL offset should be between 0 to 2000",
            ));
        }
        let mut plan = planner.plan(&returning_query(target, def))?;
        let (offset, limit) = (plan.offset, plan.limit);
        plan.offset = 0;
        plan.limit = None;
        let RunRows::Records { slots, .. } = exec::execute(&env, &plan) else {
            continue;
        };
        let fields = searched_fields(def, scope);
        let table = snapshot.table(object);
        let matched: Vec<u32> = slots
            .into_iter()
            .filter(|&slot| {
                table.get(slot).is_some_and(|row| {
                    !is_deleted(def, row)
                        && record_matches(def, slot, row, &fields, &search.term.expr)
                })
            })
            .skip(offset)
            .take(limit.unwrap_or(usize::MAX))
            .take(overall - written)
            .collect();
        if matched.is_empty() {
            continue;
        }
        let Shape::Records { nodes, .. } = &plan.shape else {
            continue;
        };
        if written > 0 {
            out.push(b',');
        }
        writer.write_records(&mut out, object, &matched, nodes, &[], &[]);
        written += matched.len();
    }
    out.extend_from_slice(b"]}");
    tracing::debug!(n_records = written, "search ran");
    Ok(out)
}

/// A SOQL query tree for one RETURNING object: its fields (Id when none are listed), WHERE,
/// ORDER BY, LIMIT and OFFSET.
fn returning_query(target: &Returning, def: &ObjectDef) -> Query {
    let span = target.span;
    let select = if target.fields.is_empty() {
        vec![SelectItem::Expr {
            expr: Expr::Field(FieldPath {
                segments: vec![Ident::new("Id", span)],
                span,
            }),
            alias: None,
            span,
        }]
    } else {
        target.fields.clone()
    };
    Query {
        select,
        from: From {
            object: FieldPath {
                segments: vec![Ident::new(def.name.clone(), target.object.span)],
                span: target.object.span,
            },
            alias: None,
            relationship_aliases: Vec::new(),
            span: target.object.span,
        },
        using: target.using.clone(),
        where_clause: target.where_clause.clone(),
        with: Vec::new(),
        group_by: None,
        having: None,
        order_by: target.order_by.clone(),
        limit: target.limit,
        offset: target.offset.map(|o| Count {
            value: o.value.min(MAX_SEARCH_OFFSET),
            span: o.span,
        }),
        bind: target.bind.clone(),
        for_clauses: Vec::new(),
        update: Vec::new(),
        span,
    }
}

/// How many characters of a term are not wildcards.
fn literal_characters(expr: &SearchExpr) -> usize {
    match expr {
        SearchExpr::Word { pattern } => pattern
            .parts()
            .filter(|p| matches!(p, LikePart::Char(_)))
            .count(),
        SearchExpr::Phrase { text } => text.chars().filter(|c| !c.is_whitespace()).count(),
        SearchExpr::And { operands } | SearchExpr::Or { operands } => {
            operands.iter().map(literal_characters).sum()
        }
        SearchExpr::Not { operand } => literal_characters(operand),
        SearchExpr::Empty => 0,
    }
}

/// A searched field: its index and whether it compares as digits (phones).
type SearchedField = (usize, bool);

/// The fields a search group reads on an object.
fn searched_fields(def: &ObjectDef, scope: SearchScope) -> Vec<SearchedField> {
    def.fields
        .iter()
        .enumerate()
        .filter(|(_, f)| match scope {
            SearchScope::All => {
                (f.field_type.is_text() && f.field_type != FieldType::Base64)
                    || f.field_type == FieldType::Combobox
            }
            SearchScope::Name | SearchScope::Sidebar => {
                f.name_field || ["FirstName", "LastName", "Company"].contains(&f.name.as_str())
            }
            SearchScope::Email => f.field_type == FieldType::Email,
            SearchScope::Phone => f.field_type == FieldType::Phone,
        })
        .map(|(i, f)| {
            (
                i,
                scope == SearchScope::Phone && f.field_type == FieldType::Phone,
            )
        })
        .collect()
}

/// The text of one field of a record, as searched.
struct FieldText {
    text: String,
    words: Vec<String>,
    digits: Option<String>,
}

fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn record_matches(
    def: &ObjectDef,
    slot: u32,
    row: &[Value],
    fields: &[SearchedField],
    expr: &SearchExpr,
) -> bool {
    let texts: Vec<FieldText> = fields
        .iter()
        .filter_map(|&(index, phone)| {
            let value = field_value(def, slot, row, &def.fields[index]);
            let text = value.as_text()?.to_string();
            Some(FieldText {
                words: words_of(&text),
                digits: phone.then(|| text.chars().filter(char::is_ascii_digit).collect()),
                text,
            })
        })
        .collect();
    term_matches(&texts, expr)
}

fn term_matches(texts: &[FieldText], expr: &SearchExpr) -> bool {
    match expr {
        SearchExpr::Word { pattern } => texts.iter().any(|t| word_matches(t, pattern)),
        SearchExpr::Phrase { text } => {
            let wanted = words_of(text);
            !wanted.is_empty()
                && texts.iter().any(|t| {
                    t.words
                        .windows(wanted.len())
                        .any(|w| w == wanted.as_slice())
                })
        }
        SearchExpr::And { operands } => operands.iter().all(|o| term_matches(texts, o)),
        SearchExpr::Or { operands } => operands.iter().any(|o| term_matches(texts, o)),
        SearchExpr::Not { operand } => !term_matches(texts, operand),
        SearchExpr::Empty => false,
    }
}

fn word_matches(field: &FieldText, pattern: &LikePattern) -> bool {
    if let Some(digits) = &field.digits {
        // Phones compare digits only: `4155551212` finds `(415) 555-1212`, and a local number
        // finds the full one.
        let wanted: Vec<LikePart> = pattern
            .parts()
            .filter(|p| !matches!(p, LikePart::Char(c) if !c.is_ascii_digit()))
            .collect();
        let wanted_text: String = wanted
            .iter()
            .map(|p| match p {
                LikePart::Char(c) => c.to_string(),
                LikePart::AnyRun => "%".to_string(),
                LikePart::AnyChar => "_".to_string(),
            })
            .collect();
        let Some(digit_pattern) = LikePattern::from_escaped(&wanted_text) else {
            return false;
        };
        let literal: String = wanted
            .iter()
            .filter_map(|p| match p {
                LikePart::Char(c) => Some(*c),
                _ => None,
            })
            .collect();
        return !literal.is_empty()
            && (digit_pattern.matches(digits)
                || (literal.len() == wanted.len()
                    && literal.len() >= 4
                    && digits.ends_with(&literal)));
    }
    pattern.matches(&field.text) || field.words.iter().any(|w| pattern.matches(w))
}

/// A `parameterizedSearch` request (GET parameters or POST JSON), turned into SOSL.
#[derive(Debug, Clone)]
pub(crate) struct ParameterizedSearch {
    q: String,
    scope: String,
    default_fields: Option<Vec<String>>,
    objects: Vec<SearchObject>,
    overall_limit: Option<u64>,
    default_limit: Option<u64>,
}

#[derive(Debug, Clone)]
struct SearchObject {
    name: String,
    fields: Option<Vec<String>>,
    limit: Option<u64>,
}

fn bad_search(message: impl Into<String>) -> ApiFailure {
    ApiFailure::bad_request("MALFORMED_SEARCH", message)
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn number(text: &str, name: &str) -> Result<u64, ApiFailure> {
    text.trim()
        .parse()
        .map_err(|_| bad_search(format!("{name} must be a whole number, not '{text}'")))
}

impl ParameterizedSearch {
    /// From `?q=Acme&sobject=Account&Account.fields=Id,Name&Account.limit=10&in=ALL`.
    pub(crate) fn from_query(
        params: &[(String, String)],
    ) -> Result<ParameterizedSearch, ApiFailure> {
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let q =
            get("q").ok_or_else(|| bad_search("the q parameter (the search text) is required"))?;
        let mut objects = Vec::new();
        for (key, value) in params {
            if !key.eq_ignore_ascii_case("sobject") {
                continue;
            }
            for name in list(value) {
                let fields = get(&format!("{name}.fields")).map(list);
                let limit = get(&format!("{name}.limit"))
                    .map(|l| number(l, "limit"))
                    .transpose()?;
                objects.push(SearchObject {
                    name,
                    fields,
                    limit,
                });
            }
        }
        Ok(ParameterizedSearch {
            q: q.to_string(),
            scope: get("in").unwrap_or("ALL").to_string(),
            default_fields: get("fields").map(list),
            objects,
            overall_limit: get("overallLimit")
                .map(|l| number(l, "overallLimit"))
                .transpose()?,
            default_limit: get("defaultLimit")
                .map(|l| number(l, "defaultLimit"))
                .transpose()?,
        })
    }

    /// From `{"q","fields","sobjects":[{"name","fields","limit"}],"in","overallLimit","defaultLimit"}`.
    pub(crate) fn from_json(body: &serde_json::Value) -> Result<ParameterizedSearch, ApiFailure> {
        let strings = |value: Option<&serde_json::Value>| -> Option<Vec<String>> {
            value?.as_array().map(|items| {
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
        };
        let q = body
            .get("q")
            .and_then(|v| v.as_str())
            .ok_or_else(|| bad_search("the q member (the search text) is required"))?;
        let mut objects = Vec::new();
        if let Some(items) = body.get("sobjects").and_then(|v| v.as_array()) {
            for item in items {
                let name = item
                    .get("name")
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| bad_search("every member of sobjects needs a name"))?;
                objects.push(SearchObject {
                    name: name.to_string(),
                    fields: strings(item.get("fields")),
                    limit: item.get("limit").and_then(serde_json::Value::as_u64),
                });
            }
        }
        Ok(ParameterizedSearch {
            q: q.to_string(),
            scope: body
                .get("in")
                .and_then(|v| v.as_str())
                .unwrap_or("ALL")
                .to_string(),
            default_fields: strings(body.get("fields")),
            objects,
            overall_limit: body.get("overallLimit").and_then(serde_json::Value::as_u64),
            default_limit: body.get("defaultLimit").and_then(serde_json::Value::as_u64),
        })
    }

    /// The equivalent SOSL. Names are checked to be plain API names, so nothing a client sends
    /// can change the statement's structure; braces in the text are escaped.
    fn to_sosl(&self) -> Result<String, ApiFailure> {
        let scope = ["ALL", "NAME", "EMAIL", "PHONE", "SIDEBAR"]
            .into_iter()
            .find(|s| s.eq_ignore_ascii_case(self.scope.trim()))
            .ok_or_else(|| {
                bad_search(format!(
                    "in must be ALL, NAME, EMAIL, PHONE or SIDEBAR, not '{}'",
                    self.scope
                ))
            })?;
        let mut term = String::with_capacity(self.q.len());
        for c in self.q.chars() {
            if matches!(c, '{' | '}') {
                term.push('\\');
            }
            term.push(c);
        }
        let mut sosl = format!("FIND {{{term}}} IN {scope} FIELDS");
        if !self.objects.is_empty() {
            sosl.push_str(" RETURNING ");
            for (i, object) in self.objects.iter().enumerate() {
                if i > 0 {
                    sosl.push_str(", ");
                }
                check_name(&object.name)?;
                sosl.push_str(&object.name);
                let fields = object.fields.as_ref().or(self.default_fields.as_ref());
                let limit = object.limit.or(self.default_limit);
                if fields.is_some() || limit.is_some() {
                    sosl.push('(');
                    let fields = fields.cloned().unwrap_or_else(|| vec!["Id".to_string()]);
                    for (j, field) in fields.iter().enumerate() {
                        check_name(field)?;
                        if j > 0 {
                            sosl.push_str(", ");
                        }
                        sosl.push_str(field);
                    }
                    if let Some(limit) = limit {
                        sosl.push_str(&format!(" LIMIT {limit}"));
                    }
                    sosl.push(')');
                }
            }
        }
        let overall = self
            .overall_limit
            .unwrap_or(MAX_SEARCH_RECORDS as u64)
            .min(MAX_SEARCH_RECORDS as u64);
        sosl.push_str(&format!(" LIMIT {overall}"));
        Ok(sosl)
    }

    pub(crate) fn run(
        &self,
        org: &Org,
        snapshot: &Snapshot,
        user: RecordId,
        version: ApiVersion,
    ) -> Result<Vec<u8>, ApiFailure> {
        let sosl = self.to_sosl()?;
        search(org, snapshot, user, version, &sosl)
    }
}

/// A plain API name, optionally dotted (`Account.Name`).
fn check_name(name: &str) -> Result<(), ApiFailure> {
    let ok = !name.is_empty()
        && name.split('.').all(|part| {
            part.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    if ok {
        Ok(())
    } else {
        Err(bad_search(format!("'{name}' is not a valid API name")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str, phone: bool) -> FieldText {
        FieldText {
            text: t.to_string(),
            words: words_of(t),
            digits: phone.then(|| t.chars().filter(char::is_ascii_digit).collect()),
        }
    }

    fn term(raw: &str) -> SearchExpr {
        let sosl = format!("FIND {{{raw}}}");
        let parse = forcebridge_soql::parse_search(&sosl);
        assert!(parse.errors.is_empty(), "{:?}", parse.errors);
        parse.tree.term.expr
    }

    #[test]
    fn words_phrases_and_wildcards_match_without_case() {
        let fields = [
            text("Acme Corporation", false),
            text("Big plans for widgets", false),
        ];
        assert!(term_matches(&fields, &term("acme")));
        assert!(term_matches(&fields, &term("Corp*")));
        assert!(!term_matches(&fields, &term("Corp")));
        assert!(term_matches(&fields, &term("\"plans for\"")));
        assert!(!term_matches(&fields, &term("\"for plans\"")));
        assert!(term_matches(&fields, &term("acme AND widgets")));
        assert!(!term_matches(&fields, &term("acme AND NOT widgets")));
        assert!(term_matches(&fields, &term("nothing OR wid?ets")));
    }

    #[test]
    fn phones_compare_digits() {
        let fields = [text("(415) 555-1212", true)];
        assert!(term_matches(&fields, &term("4155551212")));
        assert!(term_matches(&fields, &term("5551212")));
        assert!(!term_matches(&fields, &term("4155550000")));
    }

    #[test]
    fn a_one_character_term_is_too_short() {
        assert_eq!(literal_characters(&term("a*")), 1);
        assert_eq!(literal_characters(&term("ab")), 2);
    }
}
