//! Tests of statement matching, one policy's effect, and the combined decision.

use super::*;
use crate::policy::context::Principal;
use crate::policy::{Decision, PolicyKind};

const ACCT: &str = "111122223333";
const OTHER: &str = "444455556666";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/k1";

fn parse(kind: PolicyKind, statements: &str) -> Policy {
    Policy::parse(
        &format!(r#"{{"Version":"2012-10-17","Statement":{statements}}}"#),
        kind,
    )
    .unwrap()
}

fn identity(statements: &str) -> Policy {
    parse(PolicyKind::Identity, statements)
}

fn resource(statements: &str) -> Policy {
    parse(PolicyKind::Resource, statements)
}

fn alice() -> Principal {
    Principal::user(ACCT, "alice", "AIDAALICE")
}

fn req(p: Principal, action: &str, res: &str) -> RequestContext {
    RequestContext::new(p, action, res)
}

#[test]
fn action_wildcards_are_case_insensitive() {
    let p = identity(r#"{"Effect":"Allow","Action":["iam:get*","kms:?ncrypt"],"Resource":"*"}"#);
    let allow = PolicyEffect::Allow { via_account: false };
    assert_eq!(p.evaluate(&req(alice(), "iam:GetUser", "*")), allow);
    assert_eq!(p.evaluate(&req(alice(), "IAM:GETROLE", "*")), allow);
    assert_eq!(p.evaluate(&req(alice(), "kms:Encrypt", "*")), allow);
    assert_eq!(
        p.evaluate(&req(alice(), "iam:CreateUser", "*")),
        PolicyEffect::NotApplicable
    );
    assert_eq!(
        p.evaluate(&req(alice(), "kms:ReEncrypt", "*")),
        PolicyEffect::NotApplicable
    );
}

#[test]
fn resource_wildcards_are_case_sensitive() {
    let p =
        identity(r#"{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::*:user/dev-*"}"#);
    let ok = p.evaluate(&req(
        alice(),
        "iam:GetUser",
        "arn:aws:iam::111122223333:user/dev-bob",
    ));
    assert!(matches!(ok, PolicyEffect::Allow { .. }));
    let no = p.evaluate(&req(
        alice(),
        "iam:GetUser",
        "arn:aws:iam::111122223333:user/Dev-bob",
    ));
    assert_eq!(no, PolicyEffect::NotApplicable);
    let star = p.evaluate(&req(alice(), "iam:ListUsers", "*"));
    assert_eq!(star, PolicyEffect::NotApplicable);
}

#[test]
fn not_action_applies_to_every_other_action() {
    let p = identity(r#"{"Effect":"Deny","NotAction":["iam:Get*","iam:List*"],"Resource":"*"}"#);
    assert_eq!(
        p.evaluate(&req(alice(), "iam:DeleteUser", "*")),
        PolicyEffect::ExplicitDeny
    );
    assert_eq!(
        p.evaluate(&req(alice(), "iam:GetUser", "*")),
        PolicyEffect::NotApplicable
    );
}

#[test]
fn not_resource_applies_to_every_other_resource() {
    let p = identity(
        r#"{"Effect":"Allow","Action":"kms:*","NotResource":"arn:aws:kms:*:*:key/secret-*"}"#,
    );
    assert!(matches!(
        p.evaluate(&req(alice(), "kms:Encrypt", KEY)),
        PolicyEffect::Allow { .. }
    ));
    let secret = "arn:aws:kms:us-east-1:111122223333:key/secret-1";
    assert_eq!(
        p.evaluate(&req(alice(), "kms:Encrypt", secret)),
        PolicyEffect::NotApplicable
    );
}

#[test]
fn resource_variables_scope_to_the_caller() {
    let p = identity(
        r#"{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::111122223333:user/${aws:username}"}"#,
    );
    let own = "arn:aws:iam::111122223333:user/alice";
    let other = "arn:aws:iam::111122223333:user/bob";
    assert_eq!(
        authorize(&[&p], None, &req(alice(), "iam:CreateAccessKey", own)),
        Decision::Allow
    );
    assert_eq!(
        authorize(&[&p], None, &req(alice(), "iam:CreateAccessKey", other)),
        Decision::ImplicitDeny
    );
    // A role session has no aws:username, so the resource matches nothing.
    let role = Principal::assumed_role(ACCT, "alice", "alice", "AROA1");
    assert_eq!(
        authorize(&[&p], None, &req(role, "iam:CreateAccessKey", own)),
        Decision::ImplicitDeny
    );
}

#[test]
fn tag_variables_and_conditions_use_principal_globals() {
    let p = identity(
        r#"{"Effect":"Allow","Action":"kms:*","Resource":"*",
            "Condition":{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}","aws:PrincipalType":"User"}}}"#,
    );
    let blue = alice().with_tag("team", "blue");
    let ctx = req(blue.clone(), "kms:Decrypt", KEY).with("aws:ResourceTag/team", "blue");
    assert_eq!(authorize(&[&p], None, &ctx), Decision::Allow);
    let ctx = req(blue, "kms:Decrypt", KEY).with("aws:ResourceTag/team", "red");
    assert_eq!(authorize(&[&p], None, &ctx), Decision::ImplicitDeny);
}

#[test]
fn deny_statement_beats_allow_statement_in_one_policy() {
    let p = identity(
        r#"[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"iam:Delete*","Resource":"*"}]"#,
    );
    assert_eq!(
        p.evaluate(&req(alice(), "iam:DeleteUser", "*")),
        PolicyEffect::ExplicitDeny
    );
    assert_eq!(
        p.evaluate(&req(alice(), "iam:CreateUser", "*")),
        PolicyEffect::Allow { via_account: false }
    );
}

#[test]
fn explicit_deny_in_identity_beats_direct_resource_allow() {
    let deny = identity(r#"{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}"#);
    let key = resource(
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:*","Resource":"*"}"#,
    );
    let ctx = req(alice(), "kms:Decrypt", KEY);
    assert_eq!(authorize(&[], Some(&key), &ctx), Decision::Allow);
    assert_eq!(
        authorize(&[&deny], Some(&key), &ctx),
        Decision::ExplicitDeny
    );
}

#[test]
fn explicit_deny_in_resource_beats_identity_allow() {
    let allow = identity(r#"{"Effect":"Allow","Action":"kms:*","Resource":"*"}"#);
    let key = resource(
        r#"[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"},
           {"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*",
            "Condition":{"Bool":{"aws:SecureTransport":"false"}}}]"#,
    );
    let ctx = req(alice(), "kms:Decrypt", KEY);
    assert_eq!(
        authorize(
            &[&allow],
            Some(&key),
            &ctx.clone().with("aws:SecureTransport", "true")
        ),
        Decision::Allow
    );
    assert_eq!(
        authorize(
            &[&allow],
            Some(&key),
            &ctx.with("aws:SecureTransport", "false")
        ),
        Decision::ExplicitDeny
    );
}

#[test]
fn account_allow_in_resource_policy_needs_identity_allow() {
    let key = resource(
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}"#,
    );
    let ctx = req(alice(), "kms:Encrypt", KEY);
    assert_eq!(
        key.evaluate(&ctx),
        PolicyEffect::Allow { via_account: true }
    );
    assert_eq!(authorize(&[], Some(&key), &ctx), Decision::ImplicitDeny);
    let allow = identity(r#"{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}"#);
    assert_eq!(authorize(&[&allow], Some(&key), &ctx), Decision::Allow);
    // The account root itself needs no identity policy.
    assert_eq!(
        authorize(
            &[],
            Some(&key),
            &req(Principal::root(ACCT), "kms:Encrypt", KEY)
        ),
        Decision::Allow
    );
}

#[test]
fn resource_policy_must_allow_even_with_identity_allow() {
    let key = resource(
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"kms:*","Resource":"*"}"#,
    );
    let allow = identity(r#"{"Effect":"Allow","Action":"kms:*","Resource":"*"}"#);
    assert_eq!(
        authorize(&[&allow], Some(&key), &req(alice(), "kms:Encrypt", KEY)),
        Decision::ImplicitDeny
    );
    assert_eq!(
        authorize(
            &[],
            Some(&key),
            &req(Principal::root(ACCT), "kms:Encrypt", KEY)
        ),
        Decision::ImplicitDeny
    );
}

#[test]
fn cross_account_principals_need_their_account_named() {
    let key = resource(
        r#"{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"kms:Decrypt","Resource":"*"}"#,
    );
    let allow = identity(r#"{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}"#);
    let carol = Principal::user(OTHER, "carol", "AIDACAROL");
    assert_eq!(
        authorize(
            &[&allow],
            Some(&key),
            &req(carol.clone(), "kms:Decrypt", KEY)
        ),
        Decision::Allow
    );
    assert_eq!(
        authorize(&[], Some(&key), &req(carol, "kms:Decrypt", KEY)),
        Decision::ImplicitDeny
    );
    assert_eq!(
        authorize(&[&allow], Some(&key), &req(alice(), "kms:Decrypt", KEY)),
        Decision::ImplicitDeny
    );
}

#[test]
fn direct_and_account_allows_combine_to_direct() {
    let key = resource(
        r#"[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"},
           {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:Decrypt","Resource":"*"}]"#,
    );
    assert_eq!(
        key.evaluate(&req(alice(), "kms:Decrypt", KEY)),
        PolicyEffect::Allow { via_account: false }
    );
    assert_eq!(
        key.evaluate(&req(alice(), "kms:Encrypt", KEY)),
        PolicyEffect::Allow { via_account: true }
    );
}

#[test]
fn trust_policy_role_arn_trusts_its_sessions() {
    let trust = parse(
        PolicyKind::Trust,
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:role/ci/Deployer"},"Action":"sts:AssumeRole"}"#,
    );
    let session = Principal::assumed_role(OTHER, "ci/Deployer", "build-7", "AROADEP");
    let target = "arn:aws:iam::111122223333:role/Target";
    assert_eq!(
        authorize(&[], Some(&trust), &req(session, "sts:AssumeRole", target)),
        Decision::Allow
    );
    let other = Principal::assumed_role(OTHER, "ci/Tester", "build-7", "AROATEST");
    assert_eq!(
        authorize(&[], Some(&trust), &req(other, "sts:AssumeRole", target)),
        Decision::ImplicitDeny
    );
}

#[test]
fn not_principal_excludes_named_callers_only() {
    let key = resource(
        r#"{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:user/admin"]},"Action":"kms:ScheduleKeyDeletion","Resource":"*"}"#,
    );
    let admin = Principal::user(ACCT, "admin", "AIDAADMIN");
    assert_eq!(
        key.evaluate(&req(alice(), "kms:ScheduleKeyDeletion", KEY)),
        PolicyEffect::ExplicitDeny
    );
    assert_eq!(
        key.evaluate(&req(admin, "kms:ScheduleKeyDeletion", KEY)),
        PolicyEffect::NotApplicable
    );
}

#[test]
fn not_principal_allow_counts_as_via_account() {
    let key = resource(
        r#"{"Effect":"Allow","NotPrincipal":{"AWS":"444455556666"},"Action":"kms:*","Resource":"*"}"#,
    );
    assert_eq!(
        key.evaluate(&req(alice(), "kms:Encrypt", KEY)),
        PolicyEffect::Allow { via_account: true }
    );
    let carol = Principal::user(OTHER, "carol", "AIDACAROL");
    assert_eq!(
        key.evaluate(&req(carol, "kms:Encrypt", KEY)),
        PolicyEffect::NotApplicable
    );
}

#[test]
fn root_is_allowed_in_its_own_account_without_policies() {
    let root = Principal::root(ACCT);
    assert_eq!(
        authorize(&[], None, &req(root.clone(), "iam:CreateUser", "*")),
        Decision::Allow
    );
    assert_eq!(
        authorize(&[], None, &req(root.clone(), "kms:Encrypt", KEY)),
        Decision::Allow
    );
    let foreign = "arn:aws:kms:us-east-1:444455556666:key/k2";
    assert_eq!(
        authorize(&[], None, &req(root, "kms:Encrypt", foreign)),
        Decision::ImplicitDeny
    );
}

#[test]
fn root_can_still_be_explicitly_denied() {
    let deny = identity(r#"{"Effect":"Deny","Action":"iam:DeleteAccountAlias","Resource":"*"}"#);
    let ctx = req(Principal::root(ACCT), "iam:DeleteAccountAlias", "*");
    assert_eq!(authorize(&[&deny], None, &ctx), Decision::ExplicitDeny);
}

#[test]
fn users_need_an_identity_allow() {
    assert_eq!(
        authorize(&[], None, &req(alice(), "iam:GetUser", "*")),
        Decision::ImplicitDeny
    );
    let other = identity(r#"{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}"#);
    let get = identity(r#"{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}"#);
    let ctx = req(alice(), "iam:GetUser", "*");
    assert_eq!(authorize(&[&other], None, &ctx), Decision::ImplicitDeny);
    assert_eq!(authorize(&[&other, &get], None, &ctx), Decision::Allow);
}

#[test]
fn failing_condition_makes_statement_not_apply() {
    let p = identity(
        r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}"#,
    );
    let inside = req(alice(), "kms:Encrypt", KEY).with("aws:SourceIp", "10.1.1.1");
    let outside = req(alice(), "kms:Encrypt", KEY).with("aws:SourceIp", "192.0.2.1");
    assert_eq!(authorize(&[&p], None, &inside), Decision::Allow);
    assert_eq!(authorize(&[&p], None, &outside), Decision::ImplicitDeny);
}

#[test]
fn principal_arn_condition_is_the_role_for_sessions() {
    let p = identity(
        r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/admin/*"}}}"#,
    );
    let admin = Principal::assumed_role(ACCT, "admin/Ops", "s", "AROA1");
    let dev = Principal::assumed_role(ACCT, "dev/Ops", "s", "AROA2");
    assert_eq!(
        p.evaluate(&req(admin, "iam:GetUser", "*")),
        PolicyEffect::NotApplicable
    );
    assert_eq!(
        p.evaluate(&req(dev, "iam:GetUser", "*")),
        PolicyEffect::ExplicitDeny
    );
}
