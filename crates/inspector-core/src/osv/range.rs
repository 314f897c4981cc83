//! The OSV range evaluation algorithm, exactly as the schema defines it.
//!
//! ```text
//! affected(v) = v ∈ versions (exact string) or ∃ range: BeforeLimits(v, range) and
//!               fold over sorted(events): introduced ≤ v → true; fixed ≤ v → false;
//!               last_affected < v → false
//! ```
//!
//! * `SEMVER` ranges are ordered by SemVer precedence, `ECOSYSTEM` ranges by the ecosystem's own
//!   ordering ([`crate::version`]); `introduced: "0"` is below every version and a `limit`
//!   containing `*` is infinity. Events are sorted with a stable sort, so events at equal versions
//!   keep their input order (`fixed: X` then `introduced: X` re-opens the range at `X`).
//! * `GIT` ranges are **ignored** for package versions: they order commits, which needs the
//!   repository's commit graph, and package versions are not commits. The schema requires GIT
//!   ranges to come with an enumerated `versions` list (PyPA always adds an ECOSYSTEM range too),
//!   so evaluation falls back on those.
//! * Unknown range types are ignored for the same reason (no defined ordering).

use std::cmp::Ordering;

use super::{Affected, EventKind, Range};
use crate::version::{Ecosystem, VersionScheme};

/// How an `affected[]` entry matched a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchReason {
    /// The version is listed verbatim in `versions`.
    ListedVersion,
    /// The version falls into the range with this index in `ranges`.
    Range(usize),
}

/// The ordering a range's events use, or `None` for GIT/unknown ranges.
pub fn range_scheme(range: &Range, ecosystem: &Ecosystem) -> Option<VersionScheme> {
    match range.kind.as_str() {
        "SEMVER" => Some(VersionScheme::Semver),
        "ECOSYSTEM" => Some(ecosystem.scheme()),
        _ => None,
    }
}

fn cmp_event_version(scheme: VersionScheme, a: &str, b: &str) -> Ordering {
    match (a == "0", b == "0") {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => scheme.compare(a, b),
    }
}

fn event_version<'a>(k: &EventKind<'a>) -> &'a str {
    match *k {
        EventKind::Introduced(v)
        | EventKind::Fixed(v)
        | EventKind::LastAffected(v)
        | EventKind::Limit(v) => v,
    }
}

/// Largest number of events of one range that is evaluated (bounds the quadratic sort below).
pub const MAX_EVENTS: usize = 4096;

/// Stable insertion sort of events by version. Used instead of `slice::sort_by`, which may panic
/// when a comparator is not a total order: ecosystem orderings on garbage input (Maven's model in
/// particular) are not guaranteed transitive, and evaluation must never panic.
fn stable_sort(events: &mut Vec<EventKind<'_>>, scheme: VersionScheme) {
    events.truncate(MAX_EVENTS);
    for i in 1..events.len() {
        let mut j = i;
        while j > 0 {
            let (Some(prev), Some(cur)) = (events.get(j - 1), events.get(j)) else {
                break;
            };
            if cmp_event_version(scheme, event_version(prev), event_version(cur))
                == Ordering::Greater
            {
                events.swap(j - 1, j);
                j -= 1;
            } else {
                break;
            }
        }
    }
}

/// `version ≥ event version`, with `"0"` below everything.
fn at_or_after(scheme: VersionScheme, version: &str, ev: &str) -> bool {
    ev == "0" || scheme.compare(version, ev) != Ordering::Less
}

/// Whether `version` lies in `range` (ordered by `scheme`).
pub fn in_range(range: &Range, scheme: VersionScheme, version: &str) -> bool {
    let mut events: Vec<EventKind<'_>> = range.events.iter().filter_map(|e| e.kind()).collect();
    let limits: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            EventKind::Limit(v) => Some(*v),
            _ => None,
        })
        .collect();
    let before_limits = limits.is_empty()
        || limits
            .iter()
            .any(|l| l.contains('*') || scheme.compare(version, l) == Ordering::Less);
    if !before_limits {
        return false;
    }
    events.retain(|e| !matches!(e, EventKind::Limit(_)));
    stable_sort(&mut events, scheme);
    let mut vulnerable = false;
    for ev in &events {
        match *ev {
            EventKind::Introduced(v) if at_or_after(scheme, version, v) => vulnerable = true,
            EventKind::Fixed(v) if v != "0" && at_or_after(scheme, version, v) => {
                vulnerable = false
            }
            EventKind::LastAffected(v)
                if v != "0" && scheme.compare(version, v) == Ordering::Greater =>
            {
                vulnerable = false
            }
            _ => {}
        }
    }
    vulnerable
}

/// Evaluates one `affected[]` entry for `version` of a package in `ecosystem`.
pub fn affected_matches(
    affected: &Affected,
    ecosystem: &Ecosystem,
    version: &str,
) -> Option<MatchReason> {
    if affected.versions.iter().any(|v| v == version) {
        return Some(MatchReason::ListedVersion);
    }
    affected.ranges.iter().enumerate().find_map(|(i, r)| {
        let scheme = range_scheme(r, ecosystem)?;
        in_range(r, scheme, version).then_some(MatchReason::Range(i))
    })
}

/// Human-readable patched (`>= fixed`) and unaffected (`< first introduced`) requirements of an
/// `affected[]` entry, from its SEMVER/ECOSYSTEM ranges.
pub fn patched_and_unaffected(
    affected: &Affected,
    ecosystem: &Ecosystem,
) -> (Vec<String>, Vec<String>) {
    let mut patched = Vec::new();
    let mut unaffected = Vec::new();
    for r in &affected.ranges {
        let Some(scheme) = range_scheme(r, ecosystem) else {
            continue;
        };
        let mut events: Vec<EventKind<'_>> = r.events.iter().filter_map(|e| e.kind()).collect();
        stable_sort(&mut events, scheme);
        if let Some(EventKind::Introduced(v)) = events.first()
            && *v != "0"
            && *v != "0.0.0-0"
        {
            unaffected.push(format!("< {v}"));
        }
        for ev in &events {
            match ev {
                EventKind::Fixed(v) => patched.push(format!(">= {v}")),
                EventKind::LastAffected(v) => patched.push(format!("> {v}")),
                _ => {}
            }
        }
    }
    (patched, unaffected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osv::Event;

    fn ev(kind: &str, v: &str) -> Event {
        let mut e = Event::default();
        let s = Some(v.to_string());
        match kind {
            "i" => e.introduced = s,
            "f" => e.fixed = s,
            "l" => e.last_affected = s,
            _ => e.limit = s,
        }
        e
    }

    fn range(kind: &str, events: Vec<Event>) -> Range {
        Range {
            kind: kind.into(),
            repo: None,
            events,
            database_specific: None,
        }
    }

    #[test]
    fn semver_intervals_unsorted_events() {
        let r = range(
            "SEMVER",
            vec![
                ev("f", "1.2.0"),
                ev("i", "2.0.0"),
                ev("i", "0"),
                ev("f", "2.1.3"),
            ],
        );
        let s = VersionScheme::Semver;
        for (v, want) in [
            ("0.1.0", true),
            ("1.1.9", true),
            ("1.2.0", false),
            ("1.9.0", false),
            ("2.0.0", true),
            ("2.1.2", true),
            ("2.1.3", false),
            ("3.0.0", false),
            ("2.0.0-rc1", false),
        ] {
            assert_eq!(in_range(&r, s, v), want, "{v}");
        }
    }

    #[test]
    fn rustsec_floor_and_last_affected_and_limit() {
        let s = VersionScheme::Semver;
        let r = range("SEMVER", vec![ev("i", "0.0.0-0"), ev("f", "0.5.0")]);
        assert!(in_range(&r, s, "0.0.0"));
        assert!(!in_range(&r, s, "0.5.0"));
        let r = range("ECOSYSTEM", vec![ev("i", "1.0"), ev("l", "1.4")]);
        let p = VersionScheme::Pep440;
        assert!(in_range(&r, p, "1.4"));
        assert!(!in_range(&r, p, "1.4.post1"));
        assert!(!in_range(&r, p, "0.9"));
        let r = range("SEMVER", vec![ev("i", "0"), ev("x", "2.0.0")]);
        assert!(in_range(&r, s, "1.0.0"));
        assert!(!in_range(&r, s, "2.0.0"));
        let r = range("SEMVER", vec![ev("i", "0"), ev("x", "*")]);
        assert!(in_range(&r, s, "9.0.0"));
    }

    #[test]
    fn git_ranges_ignored_versions_list_used() {
        let aff = Affected {
            package: None,
            severity: vec![],
            ranges: vec![range("GIT", vec![ev("i", "0")])],
            versions: vec!["1.0".into()],
            ecosystem_specific: None,
            database_specific: None,
        };
        let eco = Ecosystem::PyPI;
        assert_eq!(
            affected_matches(&aff, &eco, "1.0"),
            Some(MatchReason::ListedVersion)
        );
        assert_eq!(affected_matches(&aff, &eco, "2.0"), None);
    }

    #[test]
    fn patched_strings() {
        let aff = Affected {
            package: None,
            severity: vec![],
            ranges: vec![range("SEMVER", vec![ev("i", "0.3.0"), ev("f", "0.4.1")])],
            versions: vec![],
            ecosystem_specific: None,
            database_specific: None,
        };
        let (p, u) = patched_and_unaffected(&aff, &Ecosystem::CratesIo);
        assert_eq!(p, vec![">= 0.4.1"]);
        assert_eq!(u, vec!["< 0.3.0"]);
    }

    use proptest::prelude::*;

    fn arb_event() -> impl Strategy<Value = Event> {
        ("[ifxl]", "[0-9a-z.~*+-]{0,6}").prop_map(|(k, v)| ev(&k, &v))
    }

    proptest! {
        #[test]
        fn evaluation_never_panics(
            events in proptest::collection::vec(arb_event(), 0..12),
            versions in proptest::collection::vec("[0-9a-z.-]{0,5}", 0..3),
            kind in "(SEMVER|ECOSYSTEM|GIT|XX)",
            eco in "(crates.io|PyPI|Debian:12|Alpine:v3.18|Red Hat|Maven|npm|Echo)",
            v in "[0-9a-z.~+-]{0,8}",
        ) {
            let aff = Affected {
                package: None,
                severity: vec![],
                ranges: vec![range(&kind, events)],
                versions,
                ecosystem_specific: None,
                database_specific: None,
            };
            let (e, _) = Ecosystem::parse_osv(&eco);
            let _ = affected_matches(&aff, &e, &v);
            let _ = patched_and_unaffected(&aff, &e);
        }
    }
}
