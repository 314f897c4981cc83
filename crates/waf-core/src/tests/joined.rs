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
pub(super) fn outcome(v: &Verdict) -> (String, Option<String>, Vec<String>, Vec<String>) {
    (
        format!("{:?}", v.action.kind()),
        v.terminating_rule.as_ref().map(|t| t.name.clone()),
        v.labels.clone(),
        v.non_terminating.iter().map(|m| m.name.clone()).collect(),
    )
}

#[test]
fn managed_groups_give_the_same_verdicts_without_joined_search() {
    let Some(payloads) = payloads() else {
        return;
    };
    let (with, without) = counting_with_and_without(&crate::joined::OFF);
    let (mut checked, mut matched) = (0usize, 0usize);
    for p in &payloads {
        // The path and form-body placements put the payload only in components that yield one value, which have no
        // joined sets: both plans would run the same code on them.
        for req in multi_value_placements(p)
            .into_iter()
            .chain(split_placements(p))
        {
            let a = outcome(&eval(&with, &req));
            assert_eq!(a, outcome(&eval(&without, &req)), "payload {p:?}");
            checked += 1;
            matched += usize::from(a.1.is_some() || !a.3.is_empty());
        }
    }
    eprintln!(
        "joined search: {checked} requests ({} payloads), {matched} with a match, same verdicts",
        payloads.len()
    );
    assert!(
        checked > 10_000 && matched > checked / 5,
        "{checked} checked, {matched} matched"
    );
}
