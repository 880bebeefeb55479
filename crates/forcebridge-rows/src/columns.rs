//! Which columns a table or CSV has: the query's SELECT list, in its order, or, where the list
//! cannot say (`FIELDS(ALL)`, or no query at all), the fields of the first records.
//!
//! Columns form a tree shaped like the records: a parent relationship (`Account`) holds its
//! fields (`Account.Name`), a child relationship (`Contacts`) the columns of its records. This
//! module knows nothing about writing; it only builds the tree and numbers its columns.

use forcebridge_soql::analysis::{ResultColumn, result_columns};
use serde_json::{Map, Value};

/// The columns of a table or CSV, shaped like the records they come from.
///
/// JSON and JSON lines write records whole and do not use them.
#[derive(Debug, Clone)]
pub struct Columns {
    pub(crate) root: Level,
    /// Where fields found in the records go.
    found: Found,
}

impl Columns {
    /// The columns of a query's result, from its SELECT list and in its order: fields,
    /// parents' fields as `Account.Name`, aggregates by alias or `expr0`, `expr1`...,
    /// the fields of each `TYPEOF` branch, and each child subquery's own columns. Where the
    /// list has `FIELDS(...)`, the fields it stands for are found in the first records.
    pub fn of_query(query: &forcebridge_soql::Query) -> Columns {
        let object = query.from.object.dotted();
        let mut columns = result_columns(query);
        // `SELECT Account.Name FROM Account` reads `Name`: no object has a relationship of its
        // own name (relationships end in `__r`, objects in `__c`).
        for column in &mut columns {
            if let ResultColumn::Value(path) = column
                && path.len() > 1
                && path[0].eq_ignore_ascii_case(&object)
            {
                path.remove(0);
            }
        }
        let (root, found) = Level::of(&columns);
        Columns { root, found }
    }

    /// The columns of a query given as text. Text that is not a valid SOQL query (a SOSL
    /// search, say) gives [`Columns::discover`].
    pub fn of_soql(soql: &str) -> Columns {
        let parsed = forcebridge_soql::parse_query(soql);
        if parsed.is_ok() {
            Columns::of_query(&parsed.tree)
        } else {
            Columns::discover()
        }
    }

    /// Columns found in the records themselves: every field of the first
    /// [`SAMPLE`](crate::SAMPLE) records, in order of first appearance.
    pub fn discover() -> Columns {
        Columns {
            root: Level::open(),
            found: Found::default(),
        }
    }

    /// Whether some columns are still to be found in the records.
    pub(crate) fn is_open(&self) -> bool {
        self.root.is_open()
    }

    /// Adds the fields of `record` that the columns do not have yet, where fields may be found.
    pub(crate) fn discover_in(&mut self, record: &Map<String, Value>) {
        self.root.discover(record, &mut self.found, None);
    }

    /// Numbers the cells in their order and returns their headers (see [`Level::number`]).
    pub(crate) fn number(&mut self, expand_children: bool) -> Vec<String> {
        self.root.number(0, "", expand_children)
    }
}

/// Where a column goes among the columns of its record level: the place in the SELECT list
/// of what it comes from, then, for fields found in records, the order they were found in.
type Rank = (usize, usize);

/// Where fields found in the records of one record level go: at the place of `FIELDS(...)`
/// in the SELECT list, in the order they are found.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Found {
    at: usize,
    n: usize,
}

impl Found {
    fn next(&mut self) -> Rank {
        self.n += 1;
        (self.at, self.n)
    }
}

/// The members of the records (or parents, or child records) at one level of the tree, in
/// the order records have them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Level {
    pub(crate) members: Vec<Member>,
    /// Whether fields found in records become members: `FIELDS(...)` is at this level, or
    /// there is no SELECT list.
    open: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// The record's key, as the query spells it (keys are matched without case).
    pub(crate) key: String,
    pub(crate) node: Node,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// A cell. `found`: it was found in a record, so it may still turn out to be a parent
    /// (a parent that is null in the first records, such as `Account`).
    Value {
        column: usize,
        rank: Rank,
        found: bool,
    },
    /// A parent relationship: its fields are cells of the same row, ranked with the fields of
    /// the record. `rank`: that of every field found in it (for a parent found in records).
    Parent { level: Level, rank: Option<Rank> },
    /// A child relationship: a record level of its own. A table shows how many child
    /// records there are in `column`; a CSV gives each child record a row, with the columns
    /// of `level` in one block from `column` on.
    Children {
        column: usize,
        rank: Rank,
        level: Level,
        found: Found,
    },
}

/// A cell, or a block of child columns, in the order of a walk through a record level.
struct Item {
    rank: Rank,
    width: usize,
}

impl Level {
    /// A record level from its part of the SELECT list.
    fn of(columns: &[ResultColumn]) -> (Level, Found) {
        let mut level = Level::default();
        let mut found = Found::default();
        for (place, column) in columns.iter().enumerate() {
            let rank = (place, 0);
            match column {
                ResultColumn::Value(path) => level.insert_path(path, rank),
                ResultColumn::Children {
                    relationship,
                    columns,
                } => {
                    if level.find(relationship).is_none() {
                        let (child, child_found) = Level::of(columns);
                        level.members.push(Member {
                            key: relationship.clone(),
                            node: Node::Children {
                                column: 0,
                                rank,
                                level: child,
                                found: child_found,
                            },
                        });
                    }
                }
                ResultColumn::FieldSet(_) => {
                    if !level.open {
                        level.open = true;
                        found.at = place;
                    }
                }
            }
        }
        (level, found)
    }

    fn open() -> Level {
        Level {
            members: Vec::new(),
            open: true,
        }
    }

    fn is_open(&self) -> bool {
        self.open
            || self.members.iter().any(|m| match &m.node {
                Node::Value { .. } => false,
                Node::Parent { level, .. } | Node::Children { level, .. } => level.is_open(),
            })
    }

    /// The member with this key (without regard to case).
    pub(crate) fn find(&self, key: &str) -> Option<usize> {
        self.members
            .iter()
            .position(|m| m.key.eq_ignore_ascii_case(key))
    }

    fn insert_path(&mut self, path: &[String], rank: Rank) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let index = match self.find(first) {
            Some(index) => index,
            None => {
                self.members.push(Member {
                    key: first.clone(),
                    node: Node::Value {
                        column: 0,
                        rank,
                        found: false,
                    },
                });
                self.members.len() - 1
            }
        };
        if rest.is_empty() {
            return;
        }
        let node = &mut self.members[index].node;
        if matches!(node, Node::Value { .. }) {
            *node = Node::Parent {
                level: Level::default(),
                rank: None,
            };
        }
        if let Node::Parent { level, .. } | Node::Children { level, .. } = node {
            level.insert_path(rest, rank);
        }
    }

    /// Adds the fields of `record` that open levels do not know yet, ranked by `found` (or
    /// with `parent_rank`, inside a parent found in records).
    fn discover(
        &mut self,
        record: &Map<String, Value>,
        found: &mut Found,
        parent_rank: Option<Rank>,
    ) {
        for (key, value) in record {
            if key == "attributes" {
                continue;
            }
            let index = match self.find(key) {
                Some(index) => index,
                None if self.open => {
                    let rank = parent_rank.unwrap_or_else(|| found.next());
                    self.members.push(Member {
                        key: key.clone(),
                        node: Node::Value {
                            column: 0,
                            rank,
                            found: true,
                        },
                    });
                    self.members.len() - 1
                }
                None => continue,
            };
            let node = &mut self.members[index].node;
            let Value::Object(object) = value else {
                continue;
            };
            if let Node::Value {
                rank, found: true, ..
            } = *node
            {
                if object.contains_key("attributes") {
                    *node = Node::Parent {
                        level: Level::open(),
                        rank: Some(rank),
                    };
                } else if object.contains_key("records") && object.contains_key("totalSize") {
                    *node = Node::Children {
                        column: 0,
                        rank,
                        level: Level::open(),
                        found: Found::default(),
                    };
                }
            }
            match node {
                Node::Parent { level, rank } => {
                    level.discover(object, found, rank.or(parent_rank));
                }
                Node::Children {
                    level,
                    found: child_found,
                    ..
                } => {
                    let records = object.get("records").and_then(Value::as_array);
                    for child in records.into_iter().flatten() {
                        if let Value::Object(child) = child {
                            level.discover(child, child_found, None);
                        }
                    }
                }
                Node::Value { .. } => {}
            }
        }
    }

    /// Numbers the cells of this record level from `base` on, in the order of their ranks,
    /// and returns their headers. A CSV gives a child relationship's columns
    /// (`Contacts.LastName`) in one block, a table one count column (`Contacts`). Levels
    /// are closed: what is not a column now never will be.
    fn number(&mut self, base: usize, prefix: &str, expand_children: bool) -> Vec<String> {
        let mut items = Vec::new();
        self.items(expand_children, &mut items);
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by_key(|&i| items[i].rank);
        let mut starts = vec![0; items.len()];
        let mut next = base;
        for &i in &order {
            starts[i] = next;
            next += items[i].width;
        }
        let mut headers = vec![String::new(); next - base];
        let mut walked = 0;
        self.assign(
            prefix,
            expand_children,
            &starts,
            &mut walked,
            base,
            &mut headers,
        );
        headers
    }

    /// The cells and child blocks of this record level, walking parents in place.
    fn items(&self, expand_children: bool, items: &mut Vec<Item>) {
        for member in &self.members {
            match &member.node {
                Node::Value { rank, .. } => items.push(Item {
                    rank: *rank,
                    width: 1,
                }),
                Node::Parent { level, .. } => level.items(expand_children, items),
                Node::Children { rank, level, .. } => items.push(Item {
                    rank: *rank,
                    width: if expand_children {
                        level.width(expand_children)
                    } else {
                        1
                    },
                }),
            }
        }
    }

    /// How many columns this record level has.
    fn width(&self, expand_children: bool) -> usize {
        let mut items = Vec::new();
        self.items(expand_children, &mut items);
        items.iter().map(|item| item.width).sum()
    }

    /// Gives each cell and child block its column, walking as [`Level::items`] does.
    fn assign(
        &mut self,
        prefix: &str,
        expand_children: bool,
        starts: &[usize],
        walked: &mut usize,
        base: usize,
        headers: &mut [String],
    ) {
        self.open = false;
        for member in &mut self.members {
            let name = format!("{prefix}{}", member.key);
            match &mut member.node {
                Node::Value { column, .. } => {
                    *column = starts[*walked];
                    *walked += 1;
                    headers[*column - base] = name;
                }
                Node::Parent { level, .. } => level.assign(
                    &format!("{name}."),
                    expand_children,
                    starts,
                    walked,
                    base,
                    headers,
                ),
                Node::Children { column, level, .. } => {
                    *column = starts[*walked];
                    *walked += 1;
                    if expand_children {
                        let child = level.number(*column, &format!("{name}."), expand_children);
                        let at = *column - base;
                        headers[at..at + child.len()].clone_from_slice(&child);
                    } else {
                        headers[*column - base] = name;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(mut columns: Columns, expand_children: bool) -> Vec<String> {
        columns.number(expand_children)
    }

    #[test]
    fn columns_follow_the_select_list() {
        let columns = Columns::of_soql(
            "SELECT Id, Account.Name, (SELECT LastName, Owner.Name FROM Contacts), \
             Account.Owner.Name, account.industry, Name FROM Opportunity",
        );
        assert!(!columns.is_open());
        assert_eq!(
            headers(columns.clone(), true),
            [
                "Id",
                "Account.Name",
                "Contacts.LastName",
                "Contacts.Owner.Name",
                "Account.Owner.Name",
                "Account.industry",
                "Name"
            ]
        );
        assert_eq!(
            headers(columns, false),
            [
                "Id",
                "Account.Name",
                "Contacts",
                "Account.Owner.Name",
                "Account.industry",
                "Name"
            ]
        );
    }

    #[test]
    fn a_leading_object_name_is_dropped() {
        assert_eq!(
            headers(
                Columns::of_soql("SELECT Account.Name, Id FROM Account"),
                true
            ),
            ["Name", "Id"]
        );
    }

    #[test]
    fn field_sets_and_text_that_is_not_a_query_are_discovered() {
        assert!(Columns::of_soql("SELECT FIELDS(STANDARD) FROM Account LIMIT 5").is_open());
        assert!(Columns::of_soql("FIND {Acme} RETURNING Account").is_open());
        assert!(
            Columns::of_soql("SELECT Id, (SELECT FIELDS(ALL) FROM Contacts LIMIT 5) FROM Account")
                .is_open()
        );
    }

    #[test]
    fn discovered_fields_go_where_fields_of_the_set_stand() {
        let mut columns = Columns::of_soql("SELECT Id, FIELDS(CUSTOM), Account.Name FROM Contact");
        let record = serde_json::json!({
            "attributes": {"type": "Contact"},
            "Id": "003", "Score__c": 1, "Tier__c": "A", "Account": null
        });
        columns.discover_in(record.as_object().unwrap());
        assert_eq!(
            headers(columns, true),
            ["Id", "Score__c", "Tier__c", "Account.Name"]
        );
    }

    #[test]
    fn a_parent_first_seen_null_becomes_its_fields() {
        let mut columns = Columns::discover();
        for record in [
            serde_json::json!({"Id": "003a", "Account": null, "MailingAddress": {"city": "Oslo"}}),
            serde_json::json!({"Id": "003b", "Account": {"attributes": {"type": "Account"}, "Name": "Acme"},
                "Cases": {"totalSize": 1, "done": true, "records": [{"attributes": {"type": "Case"}, "Subject": "Help"}]}}),
        ] {
            columns.discover_in(record.as_object().unwrap());
        }
        assert_eq!(
            headers(columns, true),
            ["Id", "Account.Name", "MailingAddress", "Cases.Subject"]
        );
    }
}
