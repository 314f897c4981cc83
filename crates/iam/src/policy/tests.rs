//! Property tests over whole documents: parsing never panics, error messages stay
//! user-facing, and generated valid policies parse and evaluate as written.

use proptest::prelude::*;

use super::*;

/// A plausible action name such as `iam:GetUser`.
fn action() -> impl Strategy<Value = String> {
    ("[a-z]{2,5}", "[A-Z][a-zA-Z]{1,10}").prop_map(|(s, a)| format!("{s}:{a}"))
}

proptest! {
    #[test]
    fn parse_never_panics_on_arbitrary_text(doc in ".{0,200}") {
        let _ = Policy::parse(&doc, PolicyKind::Identity);
        let _ = Policy::parse(&doc, PolicyKind::Resource);
    }

    #[test]
    fn parse_never_panics_on_policy_shaped_json(
        effect in "Allow|Deny|allow|",
        action in "[a-z:*?]{0,8}",
        resource in "arn:[a-z:*/${}?]{0,20}|\\*|[a-z]{0,4}",
        op in "(ForAllValues:|ForAnyValue:|)(String|Numeric|Date|Arn|Ip|Bool|Null)[A-Za-z]{0,12}",
        value in "[0-9a-z:./${}*-]{0,12}",
    ) {
        let doc = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": {"Effect": effect, "Action": action, "Resource": resource,
                          "Condition": {op: {"aws:key": value}}}
        });
        if let Err(e) = Policy::parse(&doc.to_string(), PolicyKind::Identity) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn generated_allow_matches_exactly_its_actions(actions in proptest::collection::vec(action(), 1..5), probe in action()) {
        let doc = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": {"Effect": "Allow", "Action": actions, "Resource": "*"}
        });
        let policy = Policy::parse(&doc.to_string(), PolicyKind::Identity).unwrap();
        let alice = Principal::user("111122223333", "alice", "AIDAALICE");
        let listed = actions.iter().any(|a| a.eq_ignore_ascii_case(&probe));
        let effect = policy.evaluate(&RequestContext::new(alice, probe, "*"));
        prop_assert_eq!(effect == PolicyEffect::Allow { via_account: false }, listed);
    }
}
