//! Property tests: arbitrary requests never panic, and evaluation is a pure function of request and state.

use proptest::prelude::*;
use serde_json::json;

use super::*;

fn broad_acl() -> CompiledAcl {
    let fields = [
        json!({"SingleHeader": {"Name": "x"}}),
        json!({"SingleQueryArgument": {"Name": "a"}}),
        json!({"AllQueryArguments": {}}),
        json!({"UriPath": {}}),
        json!({"QueryString": {}}),
        json!({"Body": {"OversizeHandling": "CONTINUE"}}),
        json!({"Method": {}}),
        json!({"JsonBody": {"MatchPattern": {"IncludedPaths": ["/a", "/b/0"]}, "MatchScope": "ALL"}}),
        json!({"Headers": {"MatchPattern": {"All": {}}, "MatchScope": "ALL", "OversizeHandling": "CONTINUE"}}),
        json!({"Cookies": {"MatchPattern": {"ExcludedCookies": ["s"]}, "MatchScope": "VALUE", "OversizeHandling": "MATCH"}}),
        json!({"HeaderOrder": {"OversizeHandling": "NO_MATCH"}}),
        json!({"UriFragment": {}}),
    ];
    let mut rules = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let t = tt(&[
            "URL_DECODE_UNI",
            "HTML_ENTITY_DECODE",
            "LOWERCASE",
            "CMD_LINE",
        ]);
        let p = (i * 10) as i64;
        rules.push(rule(
            &format!("b{i}"),
            p,
            byte_match("zz", f.clone(), "CONTAINS_WORD", &["LOWERCASE"]),
            "Count",
        ));
        rules.push(rule(
            &format!("r{i}"),
            p + 1,
            json!({"RegexMatchStatement": {"RegexString": "(?i)a.b|^x",
            "FieldToMatch": f, "TextTransformations": t}}),
            "Count",
        ));
        rules.push(rule(
            &format!("s{i}"),
            p + 2,
            json!({"SqliMatchStatement": {"FieldToMatch": f,
            "TextTransformations": t, "SensitivityLevel": "HIGH"}}),
            "Count",
        ));
        rules.push(rule(
            &format!("x{i}"),
            p + 3,
            json!({"XssMatchStatement": {"FieldToMatch": f,
            "TextTransformations": t}}),
            "Count",
        ));
        rules.push(rule(
            &format!("z{i}"),
            p + 4,
            json!({"SizeConstraintStatement": {"FieldToMatch": f,
            "ComparisonOperator": "GT", "Size": 3, "TextTransformations": t}}),
            "Count",
        ));
    }
    rules.push(rule("rate", 1000, json!({"RateBasedStatement": {"Limit": 10, "AggregateKeyType": "CUSTOM_KEYS",
        "CustomKeys": [{"Cookie": {"Name": "s", "TextTransformations": tt(&["NONE"])}},
                       {"QueryArgument": {"Name": "a", "TextTransformations": tt(&["NONE"])}}, {"IP": {}}]}}), "Block"));
    compile(acl_doc(serde_json::Value::Array(rules), "Allow"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn arbitrary_requests_evaluate(
        uri in "/[ -~]{0,40}",
        hdrs in proptest::collection::vec(("[a-zA-Z-]{1,8}", proptest::collection::vec(any::<u8>(), 0..40)), 0..6),
        body in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let acl = broad_acl();
        let mut b = get(&uri).method("POST");
        for (n, v) in &hdrs {
            b = b.header(n, v);
        }
        let req = b.body(&body).build();
        let first = eval(&acl, &req);
        let second = eval(&acl, &req);
        prop_assert_eq!(first, second);
    }
}
