//! Running a plan over a snapshot: scanning a table, filtering, sorting, grouping and
//! aggregating, LIMIT and OFFSET, and collecting the children of child subqueries.
//!
//! All of a query's work happens here, once; the result is a list of slots (or aggregate rows)
//! in their final order, which pages then only render. Nothing here writes JSON.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use forcebridge_soql::{Function, GroupByKind};

use super::eval::{Env, Subject, Truth};
use super::plan::{
    AggPlan, AggSpec, ChildPlan, CondPlan, ExprPlan, Leaf, Op, OrderKey, OwnerScope, PathPlan,
    QueryPlan, Shape,
};
use crate::dml::is_deleted;
use crate::ids::RecordId;
use crate::schema::{ObjectIdx, Storage};
use crate::store::{Row, slot_of};
use crate::value::{Value, cmp_ignore_case};

/// One row of an aggregate query.
#[derive(Debug, Clone)]
pub(crate) struct AggRow {
    /// The GROUP BY values (null where rolled up).
    pub keys: Vec<Value>,
    /// Which GROUP BY items are rolled up (subtotal rows of ROLLUP and CUBE).
    pub rolled: Vec<bool>,
    /// The aggregate values, in the plan's aggregate order.
    pub aggs: Vec<Value>,
}

/// The children of one child subquery, per parent slot, in their final order.
#[derive(Debug, Default)]
pub(crate) struct ChildRows {
    pub by_parent: HashMap<u32, Vec<u32>>,
    /// The nested subqueries of these children.
    pub nested: Vec<ChildRows>,
}

/// What a query produced.
#[derive(Debug)]
pub(crate) enum RunRows {
    Records {
        slots: Vec<u32>,
        children: Vec<ChildRows>,
    },
    Groups(Vec<AggRow>),
    /// `SELECT COUNT()`: only the number.
    Count(usize),
}

/// Runs a plan.
pub(crate) fn execute(env: &Env<'_>, plan: &QueryPlan) -> RunRows {
    match &plan.shape {
        Shape::Records { children, .. } => {
            let rows = records(env, plan);
            let slots: Vec<u32> = rows.iter().map(|(slot, _)| *slot).collect();
            let children = children
                .iter()
                .map(|child| child_rows(env, child, &slots))
                .collect();
            RunRows::Records { slots, children }
        }
        Shape::Aggregate(agg) => RunRows::Groups(groups(env, plan, agg)),
        Shape::Count(None) => {
            let rows = matching(env, plan, None);
            RunRows::Count(window(rows.len(), plan))
        }
        Shape::Count(Some(agg)) => RunRows::Count(groups(env, plan, agg).len()),
    }
}

/// How many of `n` rows LIMIT and OFFSET leave.
fn window(n: usize, plan: &QueryPlan) -> usize {
    let after_offset = n.saturating_sub(plan.offset);
    plan.limit.map_or(after_offset, |l| after_offset.min(l))
}

/// The ids a semi-join subquery selects.
pub(crate) fn semi_join_ids(
    env: &Env<'_>,
    plan: &QueryPlan,
    field: &PathPlan,
) -> HashSet<RecordId> {
    records(env, plan)
        .into_iter()
        .filter_map(
            |(slot, row)| match env.path_value(plan.object, slot, row, field).as_ref() {
                Value::Ref(id) => Some(*id),
                _ => None,
            },
        )
        .collect()
}

/// The records a plan selects, sorted, with OFFSET and LIMIT applied.
fn records<'a>(env: &Env<'a>, plan: &QueryPlan) -> Vec<(u32, &'a Row)> {
    // Without ORDER BY the table's own order (creation order, so id order) is the result, and
    // the scan can stop as soon as OFFSET + LIMIT rows are found.
    let stop = if plan.order.is_empty() {
        plan.limit.map(|l| l.saturating_add(plan.offset))
    } else {
        None
    };
    let mut rows = matching(env, plan, stop);
    if !plan.order.is_empty() {
        let wanted = plan.limit.map(|l| l.saturating_add(plan.offset));
        sort_rows(env, plan, &mut rows, wanted);
    }
    let skip = plan.offset.min(rows.len());
    rows.drain(..skip);
    if let Some(limit) = plan.limit {
        rows.truncate(limit);
    }
    rows
}

/// Every visible record that passes USING SCOPE and WHERE, in slot order (at most `stop`).
fn matching<'a>(env: &Env<'a>, plan: &QueryPlan, stop: Option<usize>) -> Vec<(u32, &'a Row)> {
    let def = env.schema.object(plan.object);
    let table = env.data.table(plan.object);
    let owner = match plan.owner_scope {
        OwnerScope::Nothing => return Vec::new(),
        OwnerScope::Everything => None,
        OwnerScope::OwnedBy(user) => def.system.owner.map(|column| (column, user)),
    };
    let mut out = Vec::new();
    if stop == Some(0) {
        return out;
    }
    // `Id = x`, `Id IN (...)` or an equality on a unique field: visit just those records, as an
    // index would. The whole filter is still checked on each of them below.
    let candidates: Box<dyn Iterator<Item = (u32, &'a Row)> + '_> = match plan
        .filter
        .as_ref()
        .and_then(|f| indexed_slots(env, plan.object, f))
    {
        Some(slots) => Box::new(
            slots
                .into_iter()
                .filter_map(|slot| table.get(slot).map(|row| (slot, row))),
        ),
        None => Box::new(table.rows()),
    };
    for (slot, row) in candidates {
        if !plan.all_rows && is_deleted(def, row) {
            continue;
        }
        if let Some((column, user)) = owner
            && row.get(column) != Some(&Value::Ref(user))
        {
            continue;
        }
        if let Some(filter) = &plan.filter {
            let subject = Subject::Record {
                object: plan.object,
                slot,
                values: row,
            };
            if env.holds(subject, filter) != Truth::True {
                continue;
            }
        }
        out.push((slot, row));
        if stop.is_some_and(|s| out.len() >= s) {
            break;
        }
    }
    out
}

/// The slots a filter can only match, when it pins the record down through its id or a unique
/// field: sorted, without duplicates. `None` when every record has to be looked at.
fn indexed_slots(env: &Env<'_>, object: ObjectIdx, filter: &CondPlan) -> Option<Vec<u32>> {
    let def = env.schema.object(object);
    let table = env.data.table(object);
    // The slot of the one record whose (own, unrelated) field equals `value`, if any.
    let lookup = |expr: &ExprPlan, value: &Value| -> Option<Option<u32>> {
        let ExprPlan::Path(path) = expr else {
            return None;
        };
        if !path.hops.is_empty() {
            return None;
        }
        let Leaf::Field(list) = &path.leaf else {
            return None;
        };
        let [(target, field)] = list.as_slice() else {
            return None;
        };
        if *target != object {
            return None;
        }
        let field = &def.fields[*field];
        match field.storage {
            Storage::Id => Some(match value {
                Value::Ref(id) if id.prefix() == def.key_prefix => slot_of(*id),
                _ => None,
            }),
            // A case-sensitive index is keyed exactly, but `=` compares text without case.
            Storage::Column(column) if table.is_indexed(column) && !field.case_sensitive => {
                Some(table.find_unique(column, value))
            }
            _ => None,
        }
    };
    let mut slots: Vec<u32> = match filter {
        CondPlan::Compare {
            expr,
            op: Op::Eq,
            value,
        } => lookup(expr, value)?.into_iter().collect(),
        CondPlan::In {
            expr,
            values,
            negate: false,
            ..
        } => {
            let mut found = Vec::new();
            for value in values {
                found.extend(lookup(expr, value)?);
            }
            found
        }
        CondPlan::And(operands) => {
            return operands.iter().find_map(|o| indexed_slots(env, object, o));
        }
        _ => return None,
    };
    slots.sort_unstable();
    slots.dedup();
    Some(slots)
}

/// Sorts rows by the ORDER BY keys (ties keep slot order). When only the first `wanted` rows
/// matter they are selected first and only they are sorted.
fn sort_rows<'a>(
    env: &Env<'a>,
    plan: &QueryPlan,
    rows: &mut Vec<(u32, &'a Row)>,
    wanted: Option<usize>,
) {
    let width = plan.order.len();
    let mut keys: Vec<Cow<'a, Value>> = Vec::with_capacity(rows.len() * width);
    for &(slot, row) in rows.iter() {
        let subject = Subject::Record {
            object: plan.object,
            slot,
            values: row,
        };
        for key in &plan.order {
            keys.push(env.eval(subject, &key.expr));
        }
    }
    let mut order: Vec<u32> = (0..rows.len() as u32).collect();
    let compare = |a: &u32, b: &u32| {
        let (a, b) = (*a as usize, *b as usize);
        compare_keys(
            &keys[a * width..(a + 1) * width],
            &keys[b * width..(b + 1) * width],
            &plan.order,
        )
        .then(a.cmp(&b))
    };
    match wanted {
        Some(k) if k > 0 && k < order.len() => {
            order.select_nth_unstable_by(k - 1, compare);
            order.truncate(k);
            order.sort_unstable_by(compare);
        }
        Some(0) => order.clear(),
        _ => order.sort_unstable_by(compare),
    }
    let sorted: Vec<(u32, &'a Row)> = order.iter().map(|&i| rows[i as usize]).collect();
    *rows = sorted;
}

/// Compares two rows' sort keys: nulls first or last as asked, then values (text without
/// case), each key ascending or descending.
fn compare_keys(a: &[Cow<'_, Value>], b: &[Cow<'_, Value>], order: &[OrderKey]) -> Ordering {
    for (i, key) in order.iter().enumerate() {
        let (x, y) = (a[i].as_ref(), b[i].as_ref());
        let ordering = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) if key.nulls_first => Ordering::Less,
            (true, false) => Ordering::Greater,
            (false, true) if key.nulls_first => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => {
                let o = sort_compare(x, y);
                if key.descending { o.reverse() } else { o }
            }
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

/// A total order over non-null values: SOQL's comparison, with values of different kinds
/// (which a well-typed query never mixes) ordered by kind.
fn sort_compare(x: &Value, y: &Value) -> Ordering {
    match x.compare(y) {
        Some(o) => o,
        None => match (x, y) {
            (Value::Text(a), Value::Text(b)) => cmp_ignore_case(a, b),
            _ => kind_rank(x).cmp(&kind_rank(y)),
        },
    }
}

fn kind_rank(value: &Value) -> u8 {
    match value {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Int(_) | Value::Double(_) => 2,
        Value::Text(_) => 3,
        Value::Date(_) => 4,
        Value::DateTime(_) => 5,
        Value::Time(_) => 6,
        Value::Ref(_) => 7,
    }
}

/// The children of `parents` for one child subquery, each parent's children filtered,
/// sorted and limited by the subquery.
fn child_rows(env: &Env<'_>, child: &ChildPlan, parents: &[u32]) -> ChildRows {
    let parent_def = env.schema.object(child.parent);
    let parent_count = env.data.table(child.parent).slot_count() as usize;
    let mut is_parent = vec![false; parent_count];
    for &slot in parents {
        if let Some(flag) = is_parent.get_mut(slot as usize) {
            *flag = true;
        }
    }
    let plan = &child.plan;
    let prefix = parent_def.key_prefix.as_bytes();
    let mut grouped: HashMap<u32, Vec<(u32, &Row)>> = HashMap::new();
    for (slot, row) in matching(env, plan, None) {
        let Some(Value::Ref(id)) = row.get(child.column) else {
            continue;
        };
        if id.prefix().as_bytes() != prefix {
            continue;
        }
        let Some(parent) = crate::store::slot_of(*id) else {
            continue;
        };
        if is_parent.get(parent as usize).copied().unwrap_or(false) {
            grouped.entry(parent).or_default().push((slot, row));
        }
    }
    let mut by_parent = HashMap::with_capacity(grouped.len());
    let mut all_children = Vec::new();
    for (parent, mut rows) in grouped {
        if !plan.order.is_empty() {
            let wanted = plan.limit.map(|l| l.saturating_add(plan.offset));
            sort_rows(env, plan, &mut rows, wanted);
        }
        let slots: Vec<u32> = rows
            .iter()
            .skip(plan.offset)
            .take(plan.limit.unwrap_or(usize::MAX))
            .map(|(slot, _)| *slot)
            .collect();
        if !slots.is_empty() {
            all_children.extend_from_slice(&slots);
            by_parent.insert(parent, slots);
        }
    }
    let nested = match &plan.shape {
        Shape::Records { children, .. } => children
            .iter()
            .map(|grandchild| child_rows(env, grandchild, &all_children))
            .collect(),
        _ => Vec::new(),
    };
    ChildRows { by_parent, nested }
}

// ---- Aggregates ---------------------------------------------------------------------------------

/// A value as a hash key: text without case (as SOQL groups it), numbers by value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Null,
    Bool(bool),
    Int(i64),
    Number(u64),
    Text(String),
    Date(i32),
    DateTime(i64),
    Time(u32),
    Ref(RecordId),
}

impl Key {
    fn of(value: &Value) -> Key {
        match value {
            Value::Null => Key::Null,
            Value::Bool(b) => Key::Bool(*b),
            Value::Int(i) => Key::Int(*i),
            Value::Double(d) if d.fract() == 0.0 && d.abs() < 9e15 => Key::Int(*d as i64),
            Value::Double(d) => Key::Number(d.to_bits()),
            Value::Text(t) => Key::Text(t.to_lowercase()),
            Value::Date(d) => Key::Date(*d),
            Value::DateTime(ms) => Key::DateTime(*ms),
            Value::Time(t) => Key::Time(*t),
            Value::Ref(id) => Key::Ref(*id),
        }
    }
}

/// One aggregate being computed.
#[derive(Debug)]
enum Acc {
    Count(i64),
    Distinct(HashSet<Key>),
    Sum {
        total: f64,
        integer: i64,
        all_integer: bool,
        any: bool,
    },
    Avg {
        total: f64,
        n: u64,
    },
    Min(Option<Value>),
    Max(Option<Value>),
}

impl Acc {
    fn new(function: Function) -> Acc {
        match function {
            Function::CountDistinct => Acc::Distinct(HashSet::new()),
            Function::Sum => Acc::Sum {
                total: 0.0,
                integer: 0,
                all_integer: true,
                any: false,
            },
            Function::Avg => Acc::Avg { total: 0.0, n: 0 },
            Function::Min => Acc::Min(None),
            Function::Max => Acc::Max(None),
            _ => Acc::Count(0),
        }
    }

    /// Adds one row's value (`None` for `COUNT()`, which counts rows). Nulls are ignored, as
    /// Salesforce's aggregate functions ignore them.
    fn add(&mut self, value: Option<&Value>) {
        if let Acc::Count(n) = self {
            if value.is_none_or(|v| !v.is_null()) {
                *n += 1;
            }
            return;
        }
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return;
        };
        match self {
            Acc::Count(_) => {}
            Acc::Distinct(seen) => {
                seen.insert(Key::of(value));
            }
            Acc::Sum {
                total,
                integer,
                all_integer,
                any,
            } => {
                *any = true;
                match value {
                    Value::Int(i) => {
                        *integer = integer.saturating_add(*i);
                        *total += *i as f64;
                    }
                    other => {
                        *all_integer = false;
                        *total += other.as_f64().unwrap_or(0.0);
                    }
                }
            }
            Acc::Avg { total, n } => {
                if let Some(x) = value.as_f64() {
                    *total += x;
                    *n += 1;
                }
            }
            Acc::Min(best) => {
                if best
                    .as_ref()
                    .is_none_or(|b| sort_compare(value, b) == Ordering::Less)
                {
                    *best = Some(value.clone());
                }
            }
            Acc::Max(best) => {
                if best
                    .as_ref()
                    .is_none_or(|b| sort_compare(value, b) == Ordering::Greater)
                {
                    *best = Some(value.clone());
                }
            }
        }
    }

    fn finish(self) -> Value {
        match self {
            Acc::Count(n) => Value::Int(n),
            Acc::Distinct(seen) => Value::Int(seen.len() as i64),
            Acc::Sum {
                total,
                integer,
                all_integer,
                any,
            } => match (any, all_integer) {
                (false, _) => Value::Null,
                (true, true) => Value::Int(integer),
                (true, false) => Value::Double(total),
            },
            Acc::Avg { total, n } => {
                if n == 0 {
                    Value::Null
                } else {
                    Value::Double(total / n as f64)
                }
            }
            Acc::Min(v) | Acc::Max(v) => v.unwrap_or(Value::Null),
        }
    }
}

/// The grouping sets of a GROUP BY: which items each set groups by. Plain grouping has one set
/// (all items); ROLLUP adds each prefix down to the grand total; CUBE every combination.
fn grouping_sets(kind: GroupByKind, n: usize) -> Vec<Vec<bool>> {
    match kind {
        GroupByKind::Plain => vec![vec![true; n]],
        GroupByKind::Rollup => (0..=n)
            .rev()
            .map(|k| (0..n).map(|i| i < k).collect())
            .collect(),
        GroupByKind::Cube => {
            let n = n.min(12);
            let mut sets: Vec<Vec<bool>> = (0..(1u32 << n))
                .map(|mask| (0..n).map(|i| mask & (1 << i) != 0).collect())
                .collect();
            // Most specific sets first, the grand total last.
            sets.sort_by_key(|set| std::cmp::Reverse(set.iter().filter(|g| **g).count()));
            sets
        }
    }
}

struct Group {
    keys: Vec<Value>,
    rolled: Vec<bool>,
    accs: Vec<Acc>,
}

/// The rows of an aggregate query, after HAVING, ORDER BY, OFFSET and LIMIT.
fn groups(env: &Env<'_>, plan: &QueryPlan, agg: &AggPlan) -> Vec<AggRow> {
    let rows = matching(env, plan, None);
    let sets = grouping_sets(agg.kind, agg.keys.len());
    let mut index: HashMap<(usize, Vec<Key>), usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    let new_group = |keys: Vec<Value>, set: &[bool], specs: &[AggSpec]| Group {
        keys,
        rolled: set.iter().map(|g| !g).collect(),
        accs: specs.iter().map(|s| Acc::new(s.function)).collect(),
    };
    if agg.keys.is_empty() {
        // Without GROUP BY there is exactly one row, even over no records.
        index.insert((0, Vec::new()), 0);
        groups.push(new_group(Vec::new(), &[], &agg.aggregates));
    }
    for (slot, row) in rows {
        let subject = Subject::Record {
            object: plan.object,
            slot,
            values: row,
        };
        let key_values: Vec<Cow<'_, Value>> =
            agg.keys.iter().map(|k| env.eval(subject, k)).collect();
        let arg_values: Vec<Option<Cow<'_, Value>>> = agg
            .aggregates
            .iter()
            .map(|spec| spec.arg.as_ref().map(|a| env.eval(subject, a)))
            .collect();
        for (set_index, set) in sets.iter().enumerate() {
            let key: Vec<Key> = key_values
                .iter()
                .zip(set)
                .map(|(v, grouped)| if *grouped { Key::of(v) } else { Key::Null })
                .collect();
            let group = match index.get(&(set_index, key.clone())) {
                Some(&g) => g,
                None => {
                    let values = key_values
                        .iter()
                        .zip(set)
                        .map(|(v, grouped)| {
                            if *grouped {
                                v.as_ref().clone()
                            } else {
                                Value::Null
                            }
                        })
                        .collect();
                    groups.push(new_group(values, set, &agg.aggregates));
                    index.insert((set_index, key), groups.len() - 1);
                    groups.len() - 1
                }
            };
            for (acc, value) in groups[group].accs.iter_mut().zip(&arg_values) {
                acc.add(value.as_deref());
            }
        }
    }
    let mut out: Vec<AggRow> = groups
        .into_iter()
        .map(|g| AggRow {
            keys: g.keys,
            rolled: g.rolled,
            aggs: g.accs.into_iter().map(Acc::finish).collect(),
        })
        .collect();
    // Groups come in key order, each subtotal after the rows it sums up.
    out.sort_by(|a, b| {
        for i in 0..a.keys.len() {
            let ordering = match (a.rolled[i], b.rolled[i]) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => match (a.keys[i].is_null(), b.keys[i].is_null()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => sort_compare(&a.keys[i], &b.keys[i]),
                },
            };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        Ordering::Equal
    });
    if let Some(having) = &agg.having {
        out.retain(|row| env.holds(Subject::Group(row), having) == Truth::True);
    }
    if !plan.order.is_empty() {
        let mut keyed: Vec<(Vec<Value>, AggRow)> = out
            .into_iter()
            .map(|row| {
                let keys = plan
                    .order
                    .iter()
                    .map(|k| env.eval(Subject::Group(&row), &k.expr).into_owned())
                    .collect();
                (keys, row)
            })
            .collect();
        keyed.sort_by(|(a, _), (b, _)| {
            let a: Vec<Cow<'_, Value>> = a.iter().map(Cow::Borrowed).collect();
            let b: Vec<Cow<'_, Value>> = b.iter().map(Cow::Borrowed).collect();
            compare_keys(&a, &b, &plan.order)
        });
        out = keyed.into_iter().map(|(_, row)| row).collect();
    }
    let skip = plan.offset.min(out.len());
    out.drain(..skip);
    if let Some(limit) = plan.limit {
        out.truncate(limit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollup_sets_go_from_detail_to_grand_total() {
        assert_eq!(
            grouping_sets(GroupByKind::Rollup, 2),
            vec![vec![true, true], vec![true, false], vec![false, false]]
        );
        let cube = grouping_sets(GroupByKind::Cube, 2);
        assert_eq!(cube.len(), 4);
        assert_eq!(cube[0], vec![true, true]);
        assert_eq!(cube[3], vec![false, false]);
    }

    #[test]
    fn aggregates_ignore_nulls_and_keep_integer_sums_integral() {
        let mut sum = Acc::new(Function::Sum);
        for v in [Value::Int(2), Value::Null, Value::Int(3)] {
            sum.add(Some(&v));
        }
        assert_eq!(sum.finish(), Value::Int(5));
        let mut avg = Acc::new(Function::Avg);
        for v in [Value::Double(1.0), Value::Null, Value::Double(2.0)] {
            avg.add(Some(&v));
        }
        assert_eq!(avg.finish(), Value::Double(1.5));
        let mut count = Acc::new(Function::Count);
        count.add(None);
        count.add(Some(&Value::Null));
        assert_eq!(count.finish(), Value::Int(1));
        let mut distinct = Acc::new(Function::CountDistinct);
        for v in [Value::text("A"), Value::text("a"), Value::text("b")] {
            distinct.add(Some(&v));
        }
        assert_eq!(distinct.finish(), Value::Int(2));
        assert_eq!(Acc::new(Function::Max).finish(), Value::Null);
    }
}
