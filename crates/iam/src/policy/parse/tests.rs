//! Tests of document validation: each `MalformedPolicyDocument` reason, and the accepted
//! shapes of every element.

use super::*;

fn identity(json: &str) -> Result<Policy, PolicyError> {
    Policy::parse(json, PolicyKind::Identity)
}

const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;

#[test]
fn accepts_minimal_identity_policy() {
    let p = identity(ALLOW_ALL).unwrap();
    assert_eq!(p.version(), Version::V2012_10_17);
    assert_eq!(p.statements().len(), 1);
    assert_eq!(p.kind(), PolicyKind::Identity);
}

#[test]
fn accepts_statement_list_id_sids_and_legacy_version() {
    let p = identity(
        r#"{"Version":"2008-10-17","Id":"p1","Statement":[
            {"Sid":"A","Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":["*"]},
            {"Sid":"B","Effect":"Deny","NotAction":"iam:*","NotResource":"arn:aws:iam::*:user/x"}]}"#,
    )
    .unwrap();
    assert_eq!(p.version(), Version::V2008_10_17);
    assert_eq!(p.id(), Some("p1"));
    let sids: Vec<_> = p.statements().iter().map(Statement::sid).collect();
    assert_eq!(sids, [Some("A"), Some("B")]);
    assert_eq!(
        p.statements().get(1).map(Statement::effect),
        Some(Effect::Deny)
    );
}

#[test]
fn missing_version_defaults_to_legacy() {
    let p = identity(r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#).unwrap();
    assert_eq!(p.version(), Version::V2008_10_17);
}

#[test]
fn not_json_is_a_syntax_error() {
    for doc in ["{", "", "[]", "\"policy\"", "{\"Statement\": }"] {
        let err = identity(doc).unwrap_err();
        assert!(
            matches!(err, PolicyError::NotJson { .. }),
            "{doc:?}: {err:?}"
        );
        assert_eq!(err.to_string(), "Syntax errors in policy.");
    }
}

#[test]
fn duplicate_elements_are_rejected() {
    let err =
        identity(r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Effect":"Deny"}}"#)
            .unwrap_err();
    assert!(
        matches!(err, PolicyError::DuplicateElement { .. }),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("Syntax errors in policy."));
}

#[test]
fn unknown_elements_are_rejected() {
    let err = identity(r#"{"Version":"2012-10-17","Foo":1,"Statement":[]}"#).unwrap_err();
    assert_eq!(
        err,
        PolicyError::UnknownElement {
            element: "Foo".into()
        }
    );
    let err =
        identity(r#"{"Statement":{"Effect":"Allow","Actions":"*","Resource":"*"}}"#).unwrap_err();
    assert_eq!(
        err,
        PolicyError::UnknownElement {
            element: "Actions".into()
        }
    );
    assert!(err.to_string().starts_with("Syntax errors in policy."));
}

#[test]
fn bad_versions_are_rejected() {
    let err = identity(
        r#"{"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
    )
    .unwrap_err();
    assert_eq!(
        err,
        PolicyError::InvalidVersion {
            version: "2012-10-18".into()
        }
    );
    let err =
        identity(r#"{"Version":2012,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#)
            .unwrap_err();
    assert!(matches!(err, PolicyError::WrongType { .. }));
}

#[test]
fn statements_must_exist() {
    let err = identity(r#"{"Version":"2012-10-17"}"#).unwrap_err();
    assert_eq!(err, PolicyError::MissingField { field: "Statement" });
    let err = identity(r#"{"Version":"2012-10-17","Statement":[]}"#).unwrap_err();
    assert_eq!(err, PolicyError::NoStatements);
    let err = identity(r#"{"Version":"2012-10-17","Statement":["x"]}"#).unwrap_err();
    assert!(matches!(err, PolicyError::WrongType { .. }));
}

#[test]
fn effect_is_required_and_case_sensitive() {
    let err = identity(r#"{"Statement":{"Action":"*","Resource":"*"}}"#).unwrap_err();
    assert_eq!(err.to_string(), "Missing required field Effect");
    let err =
        identity(r#"{"Statement":{"Effect":"allow","Action":"*","Resource":"*"}}"#).unwrap_err();
    assert_eq!(
        err,
        PolicyError::InvalidEffect {
            effect: "allow".into()
        }
    );
}

#[test]
fn action_is_required_exclusive_and_well_formed() {
    let err = identity(r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#).unwrap_err();
    assert_eq!(err, PolicyError::MissingField { field: "Action" });
    let err =
        identity(r#"{"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}"#).unwrap_err();
    assert_eq!(err, PolicyError::MissingField { field: "Action" });
    let err = identity(
        r#"{"Statement":{"Effect":"Allow","Action":"*","NotAction":"iam:*","Resource":"*"}}"#,
    )
    .unwrap_err();
    assert_eq!(err, PolicyError::Conflicting { element: "Action" });
    for bad in [
        "CreateUser",
        ":CreateUser",
        "iam:",
        "i am:x",
        "iam:Create User",
    ] {
        let doc =
            format!(r#"{{"Statement":{{"Effect":"Allow","Action":"{bad}","Resource":"*"}}}}"#);
        assert_eq!(
            identity(&doc).unwrap_err(),
            PolicyError::InvalidAction { action: bad.into() },
            "{bad}"
        );
    }
    let err =
        identity(r#"{"Statement":{"Effect":"Allow","Action":5,"Resource":"*"}}"#).unwrap_err();
    assert!(matches!(err, PolicyError::WrongType { .. }));
}

#[test]
fn resource_is_required_for_identity_and_resource_policies_only() {
    let doc = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}}"#;
    assert!(Policy::parse(doc, PolicyKind::Trust).is_ok());
    let err = Policy::parse(doc, PolicyKind::Resource).unwrap_err();
    assert_eq!(err, PolicyError::MissingField { field: "Resource" });
    let err = identity(r#"{"Statement":{"Effect":"Allow","Action":"*"}}"#).unwrap_err();
    assert_eq!(err.to_string(), "Missing required field Resource");
    let err = identity(
        r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}}"#,
    )
    .unwrap_err();
    assert_eq!(
        err,
        PolicyError::Conflicting {
            element: "Resource"
        }
    );
}

#[test]
fn resources_must_be_arns() {
    let err = identity(r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"my-bucket"}}"#)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Resource my-bucket must be in ARN format or \"*\"."
    );
}

#[test]
fn identity_policy_must_not_name_a_principal() {
    for element in ["Principal", "NotPrincipal"] {
        let doc = format!(
            r#"{{"Statement":{{"Effect":"Allow","{element}":"*","Action":"*","Resource":"*"}}}}"#
        );
        let err = identity(&doc).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Policy document should not specify a principal."
        );
    }
}

#[test]
fn resource_and_trust_policies_need_exactly_one_principal_element() {
    let doc = r#"{"Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}"#;
    for kind in [PolicyKind::Resource, PolicyKind::Trust] {
        let err = Policy::parse(doc, kind).unwrap_err();
        assert_eq!(err.to_string(), "Missing required field Principal");
    }
    let both = r#"{"Statement":{"Effect":"Allow","Principal":"*","NotPrincipal":"*","Action":"kms:*","Resource":"*"}}"#;
    let err = Policy::parse(both, PolicyKind::Resource).unwrap_err();
    assert_eq!(
        err,
        PolicyError::Conflicting {
            element: "Principal"
        }
    );
}

#[test]
fn invalid_principal_value_is_reported() {
    let doc = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"kms:*","Resource":"*"}}"#;
    let err = Policy::parse(doc, PolicyKind::Resource).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"Invalid principal in policy: "AWS":"bob""#
    );
}

#[test]
fn unknown_condition_operator_is_reported() {
    let doc = r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*",
        "Condition":{"Foo":{"aws:username":"a"}}}}"#;
    assert_eq!(
        identity(doc).unwrap_err().to_string(),
        "Invalid Condition type : Foo"
    );
}

#[test]
fn duplicate_sids_are_rejected() {
    let doc = r#"{"Statement":[{"Sid":"S","Effect":"Allow","Action":"*","Resource":"*"},
        {"Sid":"S","Effect":"Deny","Action":"*","Resource":"*"}]}"#;
    assert_eq!(
        identity(doc).unwrap_err(),
        PolicyError::DuplicateSid { sid: "S".into() }
    );
}

#[test]
fn string_elements_must_be_strings() {
    let err = identity(r#"{"Id":1,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#)
        .unwrap_err();
    assert_eq!(err, PolicyError::wrong_type("Id", "a string"));
    let err = identity(r#"{"Statement":{"Sid":[],"Effect":"Allow","Action":"*","Resource":"*"}}"#)
        .unwrap_err();
    assert_eq!(err, PolicyError::wrong_type("Sid", "a string"));
}
