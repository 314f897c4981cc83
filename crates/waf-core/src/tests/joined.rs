//! Searching a field's values joined into one text (`crate::joined`) finds what searching them one by one finds:
//! every Portcullis managed rule group gives the same verdict with and without joined sets, on corpus payloads
//! placed in one value, split across two values of the same field (a match must not span them) and placed after
//! other values (anchors must hold at each value's start).

use super::needs::{counting_with_and_without, enc, multi_value_placements, payloads};
use super::*;

/// The payload split across two query arguments, headers and cookies, and whole at the start and end of the
/// second of several headers, arguments and cookies.
fn split_placements(p: &str) -> Vec<Request> {
    let header_safe: String = p.chars().filter(|c| (' '..='~').contains(c)).collect();
    let mid = header_safe.len() / 2;
    let (h1, h2) = header_safe.split_at(mid);
    let mid = p
        .char_indices()
        .nth(p.chars().count() / 2)
        .map_or(0, |(i, _)| i);
    let (a, b) = p.split_at(mid);
    let (ea, eb, e) = (enc(a), enc(b), enc(p));
    vec![
        Request::builder()
            .method("GET")
            .uri(&format!("/a?x={ea}&y={eb}"))
            .build(),
        Request::builder()
            .method("GET")
            .uri(&format!("/a?x=1&{e}=2&z={e}"))
            .build(),
        Request::builder()
            .method("GET")
            .uri("/")
            .header("X-A", h1)
            .header("X-B", h2)
            .build(),
        Request::builder()
            .method("GET")
            .uri("/")
            .header("X-A", "v")
            .header("X-B", &header_safe)
            .header("X-C", format!("{header_safe} x"))
            .build(),
        Request::builder()
            .method("GET")
            .uri("/")
            .header("Cookie", format!("s={ea}; t={eb}; u=1"))
            .build(),
        Request::builder()
            .method("GET")
            .uri("/")
            .header("Cookie", format!("a=1; s={e}; t=x{e}"))
            .build(),
    ]
}

/// What a verdict says about the rules that matched: action, terminating rule, labels and counted rules.
pub(super) type Outcome = (String, Option<String>, Vec<String>, Vec<String>);

/// The [`Outcome`] of a verdict.
pub(super) fn outcome(v: &Verdict) -> Outcome {
    (
        format!("{:?}", v.action.kind()),
        v.terminating_rule.as_ref().map(|t| t.name.clone()),
        v.labels.clone(),
        v.non_terminating.iter().map(|m| m.name.clone()).collect(),
    )
}

/// True when an outcome shows any rule matching (a terminating rule or a counted one).
pub(super) fn any_match(o: &Outcome) -> bool {
    o.1.is_some() || !o.3.is_empty()
}

/// The differential test of an optimisation: every request `requests` builds from each payload gets the same
/// [`Outcome`] from `with` and `without` (see `counting_with_and_without`). `matched(i, outcome)` says whether the
/// payload's `i`th request matched something; more than `min_checked` requests must be checked and more than a
/// fifth of them match, so that the comparison covers the rules at all. `what` names the optimisation in the
/// printed counts.
pub(super) fn assert_same_outcomes(
    what: &str,
    (with, without): &(CompiledAcl, CompiledAcl),
    payloads: &[String],
    requests: impl Fn(&str) -> Vec<Request>,
    matched: impl Fn(usize, &Outcome) -> bool,
    min_checked: usize,
) {
    let (mut checked, mut matching) = (0usize, 0usize);
    for p in payloads {
        for (i, req) in requests(p).iter().enumerate() {
            let a = outcome(&eval(with, req));
            assert_eq!(a, outcome(&eval(without, req)), "{what}: payload {p:?}");
            checked += 1;
            matching += usize::from(matched(i, &a));
        }
    }
    eprintln!(
        "{what}: {checked} requests ({} payloads), {matching} with a match, same verdicts",
        payloads.len()
    );
    assert!(
        checked > min_checked && matching > checked / 5,
        "{what}: {checked} checked, {matching} matched"
    );
}

#[test]
fn managed_groups_give_the_same_verdicts_without_joined_search() {
    let Some(payloads) = payloads() else {
        return;
    };
    let acls = counting_with_and_without(&crate::joined::OFF);
    // The path and form-body placements put the payload only in components that yield one value, which have no
    // joined sets: both plans would run the same code on them.
    let requests = |p: &str| {
        let mut reqs = multi_value_placements(p);
        reqs.extend(split_placements(p));
        reqs
    };
    assert_same_outcomes(
        "joined search",
        &acls,
        &payloads,
        requests,
        |_, o| any_match(o),
        10_000,
    );
}
