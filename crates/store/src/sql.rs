//! SQL text shared by both backends.
//!
//! SQLite (3.35+) and PostgreSQL accept the same dialect for everything the store does:
//! `$n` placeholders, `INSERT .. ON CONFLICT .. DO UPDATE/NOTHING`, `RETURNING`. Every value
//! travels as a bound parameter; only the *shape* of a query (which optional filters are
//! present) is assembled here, from fixed fragments.
//!
//! Each conditional write is a single statement whose `WHERE` / `ON CONFLICT` clause *is* the
//! precondition, and success is read from whether a row came back. The check and the write
//! are therefore one atomic step on both backends: there is no read-then-write window.

use crate::Precondition;
use crate::codec::{limit_param, prefix_successor, to_micros};
use crate::types::EventQuery;

/// Reads one item: binds collection, key.
pub(crate) const GET_ITEM: &str =
    "SELECT value, version FROM items WHERE collection = $1 AND key = $2";

/// Reads one event by id: binds stream, id. Row: seq, time_us, body (the `UNIQUE (stream,
/// id)` index answers it).
pub(crate) const GET_EVENT: &str =
    "SELECT seq, time_us, body FROM events WHERE stream = $1 AND id = $2";

/// Whether an item exists: binds collection, key.
pub(crate) const ITEM_EXISTS: &str = "SELECT version FROM items WHERE collection = $1 AND key = $2";

/// The statement that writes an item under `cond`. Binds collection, key, value,
/// updated_us, then (for [`Precondition::Version`] only) the expected version. Returns the
/// new version, or no row when the precondition does not hold.
pub(crate) fn put_item(cond: Precondition) -> &'static str {
    match cond {
        Precondition::None => {
            "INSERT INTO items (collection, key, value, version, updated_us) VALUES ($1, $2, $3, 1, $4) \
             ON CONFLICT (collection, key) DO UPDATE \
             SET value = excluded.value, version = items.version + 1, updated_us = excluded.updated_us \
             RETURNING version"
        }
        Precondition::Absent => {
            "INSERT INTO items (collection, key, value, version, updated_us) VALUES ($1, $2, $3, 1, $4) \
             ON CONFLICT (collection, key) DO NOTHING RETURNING version"
        }
        Precondition::Exists => {
            "UPDATE items SET value = $3, version = version + 1, updated_us = $4 \
             WHERE collection = $1 AND key = $2 RETURNING version"
        }
        Precondition::Version(_) => {
            "UPDATE items SET value = $3, version = version + 1, updated_us = $4 \
             WHERE collection = $1 AND key = $2 AND version = $5 RETURNING version"
        }
    }
}

/// The statement that deletes an item under `cond`, or `None` for [`Precondition::Absent`]
/// (which deletes nothing: check [`ITEM_EXISTS`] instead). Binds collection, key, then (for
/// [`Precondition::Version`] only) the expected version. Returns the deleted row's version.
pub(crate) fn delete_item(cond: Precondition) -> Option<&'static str> {
    match cond {
        Precondition::None | Precondition::Exists => {
            Some("DELETE FROM items WHERE collection = $1 AND key = $2 RETURNING version")
        }
        Precondition::Version(_) => Some(
            "DELETE FROM items WHERE collection = $1 AND key = $2 AND version = $3 RETURNING version",
        ),
        Precondition::Absent => None,
    }
}

/// PostgreSQL only: takes a transaction-scoped advisory lock: binds the lock id.
pub(crate) const PG_ITEM_LOCK: &str = "SELECT pg_advisory_xact_lock($1)";

/// A bound parameter of a [`Plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Param<'a> {
    /// A text value borrowed from the caller.
    Text(&'a str),
    /// A text value computed by the store.
    Owned(String),
    /// An integer.
    Int(i64),
}

/// A query whose shape depends on optional filters: SQL with `$n` placeholders, and the
/// values to bind to them, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan<'a> {
    /// The statement.
    pub(crate) sql: String,
    /// Values for `$1`, `$2`, ...
    pub(crate) params: Vec<Param<'a>>,
}

impl<'a> Plan<'a> {
    fn new(sql: &str) -> Self {
        Self {
            sql: sql.to_owned(),
            params: Vec::new(),
        }
    }

    /// Appends `fragment` followed by the placeholder of a new parameter.
    fn bind(&mut self, fragment: &str, param: Param<'a>) {
        self.params.push(param);
        self.sql.push_str(fragment);
        self.sql.push('$');
        self.sql.push_str(&self.params.len().to_string());
    }

    /// Appends a fixed fragment.
    fn push(&mut self, fragment: &str) {
        self.sql.push_str(fragment);
    }
}

/// Lists items of `collection` whose key starts with `prefix`, strictly after `start_after`,
/// ascending by key. Rows: key, value, version.
pub(crate) fn list_items<'a>(
    collection: &'a str,
    prefix: &'a str,
    start_after: Option<&'a str>,
    limit: usize,
) -> Plan<'a> {
    let mut plan = Plan::new("SELECT key, value, version FROM items WHERE");
    plan.bind(" collection = ", Param::Text(collection));
    plan.bind(" AND key >= ", Param::Text(prefix));
    if let Some(succ) = prefix_successor(prefix) {
        plan.bind(" AND key < ", Param::Owned(succ));
    }
    if let Some(after) = start_after {
        plan.bind(" AND key > ", Param::Text(after));
    }
    plan.bind(" ORDER BY key LIMIT ", Param::Int(limit_param(limit)));
    plan
}

/// Selects the events of `stream` that match `query`, newest (highest seq) first. Rows: seq,
/// id, time_us, body.
///
/// With an attribute filter the attribute's rows drive the query: each covers a run of
/// events (`seq..=last_seq`, see [`attr_runs`](crate::attr_runs)), runs of one attribute never
/// overlap, and they are read newest first (`CROSS JOIN` keeps SQLite from reordering the
/// loops), so `ORDER BY a.seq DESC, e.seq DESC` is the events' own order: SQLite sorts only
/// the events of one run at a time (at most one stored batch), never every match.
pub(crate) fn query_events<'a>(stream: &'a str, query: &'a EventQuery) -> Plan<'a> {
    let before = query
        .before_seq
        // A cursor beyond i64 excludes nothing.
        .map(|b| i64::try_from(b).unwrap_or(i64::MAX));
    let mut plan = match &query.attr {
        None => {
            let mut plan = Plan::new("SELECT e.seq, e.id, e.time_us, e.body FROM events e WHERE");
            plan.bind(" e.stream = ", Param::Text(stream));
            plan
        }
        Some((name, value)) => {
            let mut plan = Plan::new(
                "SELECT e.seq, e.id, e.time_us, e.body FROM event_attrs a CROSS JOIN events e WHERE",
            );
            plan.bind(" a.stream = ", Param::Text(stream));
            plan.bind(" AND a.name = ", Param::Text(name));
            plan.bind(" AND a.value = ", Param::Text(value));
            if let Some(before) = before {
                plan.bind(" AND a.seq < ", Param::Int(before));
            }
            // Every number a run covers is an event of the stream (see `attr_runs`), so the
            // events are found by sequence number alone, in the table's own order.
            plan.push(" AND e.seq >= a.seq AND e.seq <= COALESCE(a.last_seq, a.seq)");
            plan
        }
    };
    if let Some(start) = query.start {
        plan.bind(" AND e.time_us >= ", Param::Int(to_micros(start)));
    }
    if let Some(end) = query.end {
        plan.bind(" AND e.time_us <= ", Param::Int(to_micros(end)));
    }
    if let Some(before) = before {
        plan.bind(" AND e.seq < ", Param::Int(before));
    }
    let order = if query.attr.is_some() {
        " ORDER BY a.seq DESC, e.seq DESC LIMIT "
    } else {
        " ORDER BY e.seq DESC LIMIT "
    };
    plan.bind(order, Param::Int(limit_param(query.limit)));
    plan
}

/// Events inserted by one statement at most.
pub(crate) const EVENTS_PER_STATEMENT: usize = 128;
/// Lookup-attribute rows inserted by one statement at most.
pub(crate) const ATTRS_PER_STATEMENT: usize = 128;

/// Splits `n` rows into statement sizes: `max` (a power of two) as often as it fits, then
/// the binary digits of the rest. A batch of any size thus uses at most a handful of
/// statement shapes, which each connection prepares once and then finds in sqlx's statement
/// cache (one multi-row statement per batch size was prepared anew for nearly every batch).
pub(crate) fn chunk_sizes(n: usize, max: usize) -> impl Iterator<Item = usize> {
    let max = max.max(1);
    let full = n / max;
    let rest = n % max;
    std::iter::repeat_n(max, full).chain(
        (0..usize::BITS)
            .rev()
            .map(|bit| 1usize << bit)
            .filter(move |size| *size < max && rest & size != 0),
    )
}

/// SQLite only: the next event sequence number, inside the writer's `BEGIN IMMEDIATE`
/// transaction. Above both the table's newest row and AUTOINCREMENT's high-water mark, so a
/// number is never reused.
pub(crate) const SQLITE_NEXT_SEQ: &str = "SELECT max(\
     COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0), \
     COALESCE((SELECT max(seq) FROM events), 0)) + 1";

/// How a backend spells bound parameters in generated statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placeholders {
    /// `$1, $2, ...` (PostgreSQL).
    Numbered,
    /// `?` (SQLite: numbered names make sqlx look each one up by name, quadratic in the
    /// number of parameters, which dominated large batch inserts).
    Positional,
}

/// Parameter tuples of `width` parameters, `rows` times.
fn tuples(rows: usize, width: usize, style: Placeholders) -> String {
    let mut out = String::new();
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..width {
            if c > 0 {
                out.push_str(", ");
            }
            match style {
                Placeholders::Numbered => {
                    out.push('$');
                    out.push_str(&(r * width + c + 1).to_string());
                }
                Placeholders::Positional => out.push('?'),
            }
        }
        out.push(')');
    }
    out
}

/// Inserts `n` events in one statement: binds (stream, id, time_us, body) per event; returns
/// `seq, id` per row (matched by id: RETURNING order is not promised).
pub(crate) fn insert_events(n: usize, style: Placeholders) -> String {
    format!(
        "INSERT INTO events (stream, id, time_us, body) VALUES {} RETURNING seq, id",
        tuples(n, 4, style)
    )
}

/// SQLite only: inserts `n` events with the sequence numbers the writer chose
/// ([`SQLITE_NEXT_SEQ`]): binds (seq, stream, id, time_us, body) per event.
pub(crate) fn insert_events_numbered(n: usize) -> String {
    format!(
        "INSERT INTO events (seq, stream, id, time_us, body) VALUES {}",
        tuples(n, 5, Placeholders::Positional)
    )
}

/// Inserts `n` lookup-attribute rows in one statement: binds (seq, last_seq, stream, name,
/// value) per row, one row per run of events ([`attr_runs`](crate::attr_runs)).
pub(crate) fn insert_event_attrs(n: usize, style: Placeholders) -> String {
    format!(
        "INSERT INTO event_attrs (seq, last_seq, stream, name, value) VALUES {} \
         ON CONFLICT (stream, name, value, seq) DO NOTHING",
        tuples(n, 5, style)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn list_plan_binds_prefix_bounds_and_cursor() {
        let plan = list_items("users", "a%_", Some("a%_x"), 10);
        assert_eq!(
            plan.sql,
            "SELECT key, value, version FROM items WHERE collection = $1 AND key >= $2 \
             AND key < $3 AND key > $4 ORDER BY key LIMIT $5"
        );
        assert_eq!(
            plan.params,
            vec![
                Param::Text("users"),
                Param::Text("a%_"),
                Param::Owned("a%`".into()),
                Param::Text("a%_x"),
                Param::Int(10)
            ]
        );
    }

    #[test]
    fn empty_prefix_has_no_upper_bound() {
        let plan = list_items("users", "", None, 3);
        assert!(!plan.sql.contains("key <"), "{}", plan.sql);
        assert_eq!(plan.params.len(), 3);
    }

    #[test]
    fn event_plan_numbers_only_present_filters() {
        let query = EventQuery {
            start: Some(datetime!(2024-01-01 0:00 UTC)),
            end: None,
            attr: Some(("EventName".into(), "CreateUser".into())),
            before_seq: Some(u64::MAX),
            limit: 5,
        };
        let plan = query_events("audit", &query);
        assert_eq!(
            plan.sql,
            "SELECT e.seq, e.id, e.time_us, e.body FROM event_attrs a CROSS JOIN events e WHERE \
             a.stream = $1 AND a.name = $2 AND a.value = $3 AND a.seq < $4 \
             AND e.seq >= a.seq AND e.seq <= COALESCE(a.last_seq, a.seq) \
             AND e.time_us >= $5 AND e.seq < $6 ORDER BY a.seq DESC, e.seq DESC LIMIT $7"
        );
        assert_eq!(plan.params.get(3), Some(&Param::Int(i64::MAX)));
        assert_eq!(plan.params.len(), 7);
        let latest = EventQuery::latest(3);
        let plain = query_events("audit", &latest);
        assert_eq!(
            plain.sql,
            "SELECT e.seq, e.id, e.time_us, e.body FROM events e WHERE e.stream = $1 \
             ORDER BY e.seq DESC LIMIT $2"
        );
    }

    #[test]
    fn chunk_sizes_cover_the_batch_in_few_shapes() {
        for n in 0..600 {
            let sizes: Vec<usize> = chunk_sizes(n, 128).collect();
            assert_eq!(sizes.iter().sum::<usize>(), n, "{n}: {sizes:?}");
            assert!(
                sizes.iter().all(|s| s.is_power_of_two() && *s <= 128),
                "{sizes:?}"
            );
            assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
        }
        assert_eq!(
            chunk_sizes(300, 128).collect::<Vec<_>>(),
            [128, 128, 32, 8, 4]
        );
    }

    #[test]
    fn every_precondition_has_a_statement() {
        assert!(put_item(Precondition::Version(2)).contains("version = $5"));
        assert!(put_item(Precondition::Absent).contains("DO NOTHING"));
        assert!(delete_item(Precondition::Absent).is_none());
        assert!(delete_item(Precondition::Version(1)).is_some_and(|s| s.contains("version = $3")));
    }
}
