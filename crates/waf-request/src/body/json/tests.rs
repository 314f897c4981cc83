//! Tests for the JSON parser and its two consumers.

use super::*;
use proptest::prelude::*;

fn names(body: &str) -> Vec<(String, String)> {
    flatten(body.as_bytes(), 512)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|p| {
            (
                String::from_utf8_lossy(&p.name).into_owned(),
                String::from_utf8_lossy(&p.value).into_owned(),
            )
        })
        .collect()
}

fn pair(n: &str, v: &str) -> (String, String) {
    (n.to_owned(), v.to_owned())
}

#[test]
fn modsecurity_issue_1576_shapes() {
    let got = names(
        r#"{"foo":"bar","mod":"sec","ops":[["um","um e meio"],"dois","tres",{"eins":["zwei","drei"]}],"whee":"lhebs"}"#,
    );
    assert_eq!(
        got,
        vec![
            pair("json.foo", "bar"),
            pair("json.mod", "sec"),
            pair("json.ops.array_0.array_0", "um"),
            pair("json.ops.array_0.array_1", "um e meio"),
            pair("json.ops.array_1", "dois"),
            pair("json.ops.array_2", "tres"),
            pair("json.ops.array_3.eins.array_0", "zwei"),
            pair("json.ops.array_3.eins.array_1", "drei"),
            pair("json.whee", "lhebs"),
        ]
    );
    let got = names(r#"["one","two","three"]"#);
    assert_eq!(got[2], pair("json.array_2", "three"));
    let got = names(r#"{"ops":{"seis":{"dez":"onze","doze":"treze"}}}"#);
    assert_eq!(got[1], pair("json.ops.seis.doze", "treze"));
}

#[test]
fn scalars_and_special_keys() {
    assert_eq!(
        names(r#"{"n":-1.5e3,"t":true,"f":false,"z":null,"":"e","u":"\u00e9\n\ud83d\ude00"}"#),
        vec![
            pair("json.n", "-1.5e3"),
            pair("json.t", "true"),
            pair("json.f", "false"),
            pair("json.z", ""),
            pair("json.empty-key", "e"),
            pair("json.u", "é\n😀"),
        ]
    );
    assert_eq!(names(r#""top""#), vec![pair("json", "top")]);
    assert_eq!(names("42"), vec![pair("json", "42")]);
    assert_eq!(
        names(r#"[{"a":1},{"a":2}]"#),
        vec![pair("json.array_0.a", "1"), pair("json.array_1.a", "2")]
    );
    assert!(names("{}").is_empty());
    assert!(names("[[],{}]").is_empty());
    assert_eq!(names(r#"{"a":"\ud800x"}"#), vec![pair("json.a", "?x")]);
}

#[test]
fn errors() {
    for bad in [
        " ",
        "{",
        "[1,]",
        "{\"a\"}",
        "{\"a\":1,}",
        "01",
        "1.",
        "tru",
        "truex",
        "{} x",
        "\"a\nb\"",
        "\"\\x\"",
        "[1 2]",
        "{1:2}",
        "\"abc",
        "-",
        "1e",
        "nul",
    ] {
        assert!(
            matches!(flatten(bad.as_bytes(), 512), Err(Error::Json { .. })),
            "{bad:?}"
        );
    }
    assert!(matches!(flatten(b"\"\xff\"", 512), Err(Error::Json { .. })));
}

#[test]
fn empty_body_is_not_an_error_for_modsecurity() {
    assert_eq!(flatten(b"", 512), Ok(Vec::new()));
    assert!(walk(b"", 512, |_| {}).is_err());
}

#[test]
fn depth_limit() {
    let deep = format!("{}{}", "[".repeat(3), "]".repeat(3));
    assert!(flatten(deep.as_bytes(), 3).is_ok());
    assert_eq!(
        flatten(deep.as_bytes(), 2),
        Err(Error::JsonDepth { limit: 2 })
    );
    let very_deep = "[".repeat(100_000);
    assert_eq!(
        flatten(very_deep.as_bytes(), 512),
        Err(Error::JsonDepth { limit: 512 })
    );
}

#[test]
fn partial_results_before_error() {
    let (params, err) = flatten_partial(br#"{"a":"x","b":[1,2"#, 512);
    assert_eq!(params.len(), 3);
    assert!(err.is_some());
}

#[test]
fn argument_cap() {
    let (params, err) = flatten_limited(br#"{"a":1,"b":[1,2,3],"c":"x"}"#, 512, 2);
    assert_eq!(params.len(), 2);
    assert!(err.is_none());
    let (params, err) = flatten_limited(br#"[1,2,3,{"#, 512, 1);
    assert_eq!(params.len(), 1);
    assert!(err.is_some());
    let many = format!("[{}1]", "1,".repeat(DEFAULT_MAX_ARGS + 10));
    assert_eq!(
        flatten(many.as_bytes(), 512).map(|p| p.len()),
        Ok(DEFAULT_MAX_ARGS)
    );
}

/// (pointer, is_key, text) of one visited item.
type Walked = (String, bool, String);

fn walked(body: &[u8]) -> (Vec<Walked>, Result<(), Error>) {
    let mut items = Vec::new();
    let res = walk(body, 512, |i| {
        items.push((
            i.pointer.to_owned(),
            i.is_key,
            String::from_utf8_lossy(i.text).into_owned(),
        ));
    });
    (items, res)
}

fn item(p: &str, is_key: bool, t: &str) -> Walked {
    (p.to_owned(), is_key, t.to_owned())
}

#[test]
fn walk_pointers() {
    let (items, res) = walked(br#"{"a":[1,{"b/c":"x"},[true]],"d~":null,"e":{"f":2}}"#);
    assert_eq!(res, Ok(()));
    assert_eq!(
        items,
        vec![
            item("/a", true, "a"),
            item("/a/0", false, "1"),
            item("/a/1/b~1c", true, "b/c"),
            item("/a/1/b~1c", false, "x"),
            item("/a/2/0", false, "true"),
            item("/d~0", true, "d~"),
            item("/d~0", false, "null"),
            item("/e", true, "e"),
            item("/e/f", true, "f"),
            item("/e/f", false, "2"),
        ]
    );
    let (items, res) = walked(b"\"s\"");
    assert_eq!(items, vec![item("", false, "s")]);
    assert_eq!(res, Ok(()));
    let (items, res) = walked(br#"[[1,2],[3]]"#);
    assert_eq!(res, Ok(()));
    assert_eq!(
        items,
        vec![
            item("/0/0", false, "1"),
            item("/0/1", false, "2"),
            item("/1/0", false, "3")
        ]
    );
    let (items, res) = walked(br#"{"a":1,"b":"#);
    assert_eq!(items.len(), 3);
    assert!(res.is_err());
}

#[test]
fn name_budget_bounds_memory() {
    // A long key repeated in every element name: the budget stops collection long before the arg cap.
    let key = "k".repeat(200_000);
    let body = format!("{{\"{key}\":[{}1]}}", "1,".repeat(5_000));
    let params = flatten(body.as_bytes(), 512).unwrap_or_default();
    let total: usize = params.iter().map(|p| p.name.len() + p.value.len()).sum();
    assert!(total <= (body.len() * 16).max(1 << 20), "{total}");
    assert!(!params.is_empty() && params.len() < 5_000);
}

proptest! {
    #[test]
    fn never_panics(body in proptest::collection::vec(any::<u8>(), 0..128)) {
        let _ = flatten(&body, 8);
        let _ = walk(&body, 8, |_| {});
    }

    #[test]
    fn json_like_never_panics(body in "[\\[\\]{}\",:0-9a-z\\\\ .eE+-]{0,64}") {
        let _ = flatten(body.as_bytes(), 4);
    }

    #[test]
    fn agrees_with_serde_json_on_validity(body in "[\\[\\]{}\",:0-9a-c .eE+-]{0,24}") {
        prop_assume!(!body.is_empty());
        let ours = flatten(body.as_bytes(), 1000).is_ok();
        let theirs = serde_json::from_str::<serde_json::Value>(&body).is_ok();
        prop_assert_eq!(ours, theirs, "{}", body);
    }
}
