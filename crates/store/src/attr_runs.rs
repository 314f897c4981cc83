//! Lookup-attribute rows for runs of consecutive events.
//!
//! An `event_attrs` row `(stream, name, value, seq, last_seq)` says that every event of the
//! stream whose sequence number lies in `seq..=last_seq` carries the attribute `name = value`
//! (`last_seq` NULL: `seq` alone). A busy API's audit batch is mostly the same caller, key and
//! operation over and over, so one row per run instead of one per event keeps the B-tree
//! inserts per stored record well under one (six before).
//!
//! A run only ever joins events whose sequence numbers are consecutive integers and that the
//! same batch stores, so every number a row covers belongs to an event that carries the
//! attribute (on PostgreSQL another node's events may take numbers between ours: those simply
//! start a new run).

use std::collections::HashMap;

/// One `event_attrs` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AttrRun<'a> {
    /// Sequence number of the run's first event (the row's `seq`).
    pub(crate) first: i64,
    /// Sequence number of the run's last event (the row's `last_seq`).
    pub(crate) last: i64,
    /// Attribute name.
    pub(crate) name: &'a str,
    /// Attribute value.
    pub(crate) value: &'a str,
}

/// The rows that index `events`: each event's sequence number and attributes, in the order
/// the batch stores them. An attribute repeated within one event counts once.
pub(crate) fn attr_runs<'a>(
    events: impl IntoIterator<Item = (i64, &'a [(String, String)])>,
) -> Vec<AttrRun<'a>> {
    let mut runs: Vec<AttrRun<'a>> = Vec::new();
    // The latest run of each attribute, by index into `runs`.
    let mut open: HashMap<(&'a str, &'a str), usize> = HashMap::new();
    for (seq, attrs) in events {
        for (name, value) in attrs {
            let key = (name.as_str(), value.as_str());
            match open.get(&key).and_then(|&i| runs.get_mut(i)) {
                Some(run) if run.last == seq => {}
                Some(run) if run.last.checked_add(1) == Some(seq) => run.last = seq,
                _ => {
                    open.insert(key, runs.len());
                    runs.push(AttrRun {
                        first: seq,
                        last: seq,
                        name: key.0,
                        value: key.1,
                    });
                }
            }
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn rows(runs: &[AttrRun<'_>]) -> Vec<(i64, i64, String)> {
        let mut out: Vec<_> = runs
            .iter()
            .map(|r| (r.first, r.last, format!("{}={}", r.name, r.value)))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn consecutive_events_sharing_an_attribute_make_one_row() {
        let a = attrs(&[("User", "alice"), ("Op", "Encrypt")]);
        let b = attrs(&[("User", "alice"), ("Op", "Decrypt"), ("Op", "Decrypt")]);
        let events: Vec<(i64, &[(String, String)])> =
            vec![(10, &a), (11, &a), (12, &b), (13, &a), (15, &a)];
        let runs = attr_runs(events);
        assert_eq!(
            rows(&runs),
            vec![
                (10, 11, "Op=Encrypt".into()),
                (10, 13, "User=alice".into()),
                (12, 12, "Op=Decrypt".into()),
                (13, 13, "Op=Encrypt".into()),
                (15, 15, "Op=Encrypt".into()),
                (15, 15, "User=alice".into()),
            ]
        );
    }

    #[test]
    fn every_covered_number_carries_the_attribute() {
        // Pseudo-random attributes and gaps: a run covers exactly the events that carry it.
        let mut state = 0x2545_f491_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut events = Vec::new();
        let mut seq = 1;
        for _ in 0..500 {
            seq += 1 + i64::from(next() % 4 == 0);
            let n = next() % 4;
            let pairs: Vec<(String, String)> = (0..n)
                .map(|_| (format!("k{}", next() % 2), format!("v{}", next() % 3)))
                .collect();
            events.push((seq, pairs));
        }
        let runs = attr_runs(events.iter().map(|(s, a)| (*s, a.as_slice())));
        for (seq, pairs) in &events {
            for (n, v) in pairs {
                let covering = runs
                    .iter()
                    .filter(|r| r.name == n && r.value == v && (r.first..=r.last).contains(seq))
                    .count();
                assert_eq!(covering, 1, "{seq} {n}={v}");
            }
        }
        for r in &runs {
            for s in r.first..=r.last {
                let carried = events.iter().any(|(seq, p)| {
                    *seq == s && p.iter().any(|(n, v)| n == r.name && v == r.value)
                });
                assert!(carried, "{r:?} covers {s}");
            }
        }
    }
}
