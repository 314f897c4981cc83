//! Key-policy conditions on every condition key an Encrypt carries: a `Deny` whose
//! condition matches the request refuses it, the same statement with a value that does not
//! match leaves the call allowed (condition keys are looked up in any ASCII case).

use serde_json::{Value, json};

use super::Env;
use crate::error::KmsError;

/// A key policy that allows the account everything and denies `kms:Encrypt` when
/// `condition` holds.
fn policy(condition: Value) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Root", "Effect": "Allow",
             "Principal": {"AWS": format!("arn:aws:iam::{}:root", super::ACCOUNT)},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "Guard", "Effect": "Deny", "Principal": "*",
             "Action": "kms:Encrypt", "Resource": "*", "Condition": condition}
        ]
    })
    .to_string()
}

/// Encrypts under `alias/cond` with an encryption context, as the denied/allowed probe.
async fn encrypt(env: &Env) -> Result<Value, KmsError> {
    env.call(
        "Encrypt",
        json!({"KeyId": "alias/cond", "Plaintext": "aGk=",
               "EncryptionContext": {"purpose": "test"}}),
    )
    .await
}

#[tokio::test]
async fn a_condition_on_each_kms_key_denies_only_when_it_matches() {
    let env = Env::new().await;
    let k = env.key().await;
    env.ok(
        "CreateAlias",
        json!({"AliasName": "alias/cond", "TargetKeyId": k}),
    )
    .await;
    env.ok(
        "TagResource",
        json!({"KeyId": k, "Tags": [{"TagKey": "team", "TagValue": "blue"}]}),
    )
    .await;
    let acct = super::ACCOUNT;
    // (operator, key, value that matches the request, value that does not)
    let cases: &[(&str, &str, Value, Value)] = &[
        (
            "StringEquals",
            "kms:CallerAccount",
            json!(acct),
            json!("999999999999"),
        ),
        (
            "StringEquals",
            "kms:KeySpec",
            json!("SYMMETRIC_DEFAULT"),
            json!("RSA_2048"),
        ),
        (
            "StringEquals",
            "kms:KeyUsage",
            json!("ENCRYPT_DECRYPT"),
            json!("SIGN_VERIFY"),
        ),
        (
            "StringEquals",
            "kms:KeyOrigin",
            json!("AWS_KMS"),
            json!("EXTERNAL"),
        ),
        (
            "StringEquals",
            "KMS:keyspec",
            json!("SYMMETRIC_DEFAULT"),
            json!("HMAC_256"),
        ),
        (
            "StringEquals",
            "kms:EncryptionAlgorithm",
            json!("SYMMETRIC_DEFAULT"),
            json!("RSAES_OAEP_SHA_256"),
        ),
        (
            "StringEquals",
            "kms:EncryptionContext:purpose",
            json!("test"),
            json!("prod"),
        ),
        (
            "ForAnyValue:StringEquals",
            "kms:EncryptionContextKeys",
            json!("purpose"),
            json!("tenant"),
        ),
        (
            "StringEquals",
            "kms:RequestAlias",
            json!("alias/cond"),
            json!("alias/other"),
        ),
        (
            "ForAnyValue:StringEquals",
            "kms:ResourceAliases",
            json!("alias/cond"),
            json!("alias/other"),
        ),
        (
            "StringEquals",
            "aws:ResourceTag/team",
            json!("blue"),
            json!("red"),
        ),
        (
            "StringEquals",
            "aws:PrincipalAccount",
            json!(acct),
            json!("999999999999"),
        ),
        (
            "StringEquals",
            "aws:RequestedRegion",
            json!("us-east-1"),
            json!("eu-west-1"),
        ),
        (
            "IpAddress",
            "aws:SourceIp",
            json!("127.0.0.0/8"),
            json!("10.0.0.0/8"),
        ),
        ("Bool", "aws:SecureTransport", json!("true"), json!("false")),
        (
            "DateGreaterThan",
            "aws:CurrentTime",
            json!("2000-01-01T00:00:00Z"),
            json!("2999-01-01T00:00:00Z"),
        ),
        (
            "DateLessThan",
            "aws:currenttime",
            json!("2999-01-01T00:00:00Z"),
            json!("2000-01-01T00:00:00Z"),
        ),
        (
            "NumericGreaterThan",
            "aws:EpochTime",
            json!("946684800"),
            json!("32503680000"),
        ),
    ];
    for (op, key, hit, miss) in cases {
        let put = |v: &Value| {
            json!({"KeyId": k, "PolicyName": "default",
                   "Policy": policy(json!({ *op: { *key: v } }))})
        };
        env.ok("PutKeyPolicy", put(hit)).await;
        assert!(
            matches!(encrypt(&env).await, Err(KmsError::AccessDenied(_))),
            "{op} {key} = {hit} should deny"
        );
        env.ok("PutKeyPolicy", put(miss)).await;
        assert!(
            encrypt(&env).await.is_ok(),
            "{op} {key} = {miss} should not deny"
        );
    }
    // A key the request does not carry: `...IfExists` matches, `Null: true` matches.
    env.ok(
        "PutKeyPolicy",
        json!({"KeyId": k, "PolicyName": "default",
               "Policy": policy(json!({"Null": {"kms:GrantIsForAWSResource": "true"}}))}),
    )
    .await;
    assert!(matches!(
        encrypt(&env).await,
        Err(KmsError::AccessDenied(_))
    ));
}
