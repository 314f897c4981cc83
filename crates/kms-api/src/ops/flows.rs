//! Operation flows through [`dispatch`](super::dispatch) against a real SQLite store, as
//! the account's root user (whom the default key policy and IAM allow everything).

use std::sync::Arc;

use portcullis_http::ApiRequest;
use portcullis_http::auth::{Caller, CredentialSource};
use portcullis_iam::policy::Principal;
use portcullis_iam_api::Authorizer;
use portcullis_iam_api::repo::Repo;
use portcullis_keyring::FileRootKey;
use serde_json::{Value, json};

use super::{Ctx, dispatch};
use crate::error::KmsError;
use crate::input::Input;
use crate::state::Kms;

const ACCOUNT: &str = "111122223333";

struct Env {
    kms: Kms,
    _dir: tempfile::TempDir,
}

impl Env {
    async fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let store = portcullis_store::open(&url).await.unwrap();
        let (root, _) = FileRootKey::generate().unwrap();
        Env {
            kms: Kms::new(
                store.clone(),
                Authorizer::new(Repo::new(store)),
                Arc::new(root),
            ),
            _dir: dir,
        }
    }

    async fn call(&self, op: &str, body: Value) -> Result<Value, KmsError> {
        let req = ApiRequest {
            request_id: "req-1".into(),
            method: http::Method::POST,
            uri: http::Uri::from_static("/"),
            headers: http::HeaderMap::new(),
            body: body.to_string().into(),
            caller: Caller {
                principal: Principal::root(ACCOUNT),
                access_key_id: None,
                source: CredentialSource::AccessKey,
                session_context: None,
            },
            region: "us-east-1".into(),
            source_ip: "127.0.0.1".parse().unwrap(),
            user_agent: "test".into(),
            received_at: time::OffsetDateTime::now_utc(),
        };
        let ctx = Ctx {
            kms: &self.kms,
            req: &req,
            input: Input::parse(&req.body).unwrap(),
        };
        dispatch(&ctx, op).await.map(|d| d.body)
    }

    async fn ok(&self, op: &str, body: Value) -> Value {
        match self.call(op, body).await {
            Ok(v) => v,
            Err(e) => panic!("{op} failed: {e:?}"),
        }
    }

    async fn key(&self) -> String {
        self.ok("CreateKey", json!({})).await["KeyMetadata"]["KeyId"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

#[tokio::test]
async fn aliases_follow_their_key() {
    let env = Env::new().await;
    let (a, b) = (env.key().await, env.key().await);
    env.ok(
        "CreateAlias",
        json!({"AliasName": "alias/app", "TargetKeyId": a}),
    )
    .await;
    assert!(matches!(
        env.call(
            "CreateAlias",
            json!({"AliasName": "alias/app", "TargetKeyId": b})
        )
        .await,
        Err(KmsError::AlreadyExists(_))
    ));
    assert!(matches!(
        env.call(
            "CreateAlias",
            json!({"AliasName": "alias/aws/s3", "TargetKeyId": b})
        )
        .await,
        Err(KmsError::InvalidAliasName(_))
    ));
    let ct = env
        .ok(
            "Encrypt",
            json!({"KeyId": "alias/app", "Plaintext": "aGk="}),
        )
        .await;
    assert_eq!(
        ct["KeyId"].as_str().unwrap(),
        format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{a}")
    );

    env.ok(
        "UpdateAlias",
        json!({"AliasName": "alias/app", "TargetKeyId": b}),
    )
    .await;
    let listed = env.ok("ListAliases", json!({"KeyId": b})).await;
    assert_eq!(listed["Aliases"][0]["AliasName"], "alias/app");
    assert_eq!(
        env.ok("ListAliases", json!({"KeyId": a})).await["Aliases"],
        json!([])
    );
    let kb = env
        .kms
        .key_by_id(ACCOUNT, "us-east-1", &b)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kb.value.aliases, vec!["alias/app".to_string()]);
    let ka = env
        .kms
        .key_by_id(ACCOUNT, "us-east-1", &a)
        .await
        .unwrap()
        .unwrap();
    assert!(ka.value.aliases.is_empty());

    let hmac = env
        .ok(
            "CreateKey",
            json!({"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"}),
        )
        .await;
    let hmac = hmac["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    assert!(matches!(
        env.call(
            "UpdateAlias",
            json!({"AliasName": "alias/app", "TargetKeyId": hmac})
        )
        .await,
        Err(KmsError::Validation(_))
    ));

    env.ok("DeleteAlias", json!({"AliasName": "alias/app"}))
        .await;
    assert!(matches!(
        env.call("DescribeKey", json!({"KeyId": "alias/app"})).await,
        Err(KmsError::NotFound(_))
    ));
    let kb = env
        .kms
        .key_by_id(ACCOUNT, "us-east-1", &b)
        .await
        .unwrap()
        .unwrap();
    assert!(kb.value.aliases.is_empty());
}

#[tokio::test]
async fn grants_are_created_listed_and_retired_by_token() {
    let env = Env::new().await;
    let k = env.key().await;
    let body = json!({
        "KeyId": k,
        "GranteePrincipal": "arn:aws:iam::111122223333:role/app",
        "Operations": ["Decrypt", "Encrypt"],
        "Constraints": {"EncryptionContextSubset": {"purpose": "test"}},
        "Name": "app-grant",
    });
    let g = env.ok("CreateGrant", body.clone()).await;
    let again = env.ok("CreateGrant", body).await;
    assert_eq!(
        g["GrantId"], again["GrantId"],
        "same name and parameters: same grant"
    );
    let listed = env.ok("ListGrants", json!({"KeyId": k})).await;
    assert_eq!(listed["Grants"].as_array().unwrap().len(), 1);
    assert_eq!(
        listed["Grants"][0]["Constraints"]["EncryptionContextSubset"]["purpose"],
        "test"
    );
    assert!(matches!(
        env.call(
            "CreateGrant",
            json!({"KeyId": k, "GranteePrincipal": "x", "Operations": ["Fly"]})
        )
        .await,
        Err(KmsError::Validation(_))
    ));
    assert!(matches!(
        env.call("RetireGrant", json!({"GrantToken": "nope"})).await,
        Err(KmsError::InvalidGrantToken(_))
    ));
    env.ok("RetireGrant", json!({"GrantToken": g["GrantToken"]}))
        .await;
    assert_eq!(
        env.ok("ListGrants", json!({"KeyId": k})).await["Grants"],
        json!([])
    );
    assert!(matches!(
        env.call("RevokeGrant", json!({"KeyId": k, "GrantId": g["GrantId"]}))
            .await,
        Err(KmsError::NotFound(_))
    ));
}

#[tokio::test]
async fn rotation_keeps_old_ciphertext_readable() {
    let env = Env::new().await;
    let k = env.key().await;
    let ct = env
        .ok("Encrypt", json!({"KeyId": k, "Plaintext": "aGk="}))
        .await["CiphertextBlob"]
        .clone();
    env.ok(
        "EnableKeyRotation",
        json!({"KeyId": k, "RotationPeriodInDays": 90}),
    )
    .await;
    let status = env.ok("GetKeyRotationStatus", json!({"KeyId": k})).await;
    assert_eq!(status["KeyRotationEnabled"], true);
    assert_eq!(status["RotationPeriodInDays"], 90);
    env.ok("RotateKeyOnDemand", json!({"KeyId": k})).await;
    let rotations = env.ok("ListKeyRotations", json!({"KeyId": k})).await;
    assert_eq!(rotations["Rotations"].as_array().unwrap().len(), 1);
    assert_eq!(rotations["Rotations"][0]["RotationType"], "ON_DEMAND");
    assert_eq!(rotations["Rotations"][0]["KeyMaterialState"], "CURRENT");
    let all = env
        .ok(
            "ListKeyRotations",
            json!({"KeyId": k, "IncludeKeyMaterial": "ALL_KEY_MATERIAL", "Limit": 1}),
        )
        .await;
    assert_eq!(all["Truncated"], true);
    assert_eq!(all["Rotations"][0]["KeyMaterialState"], "NON_CURRENT");
    let pt = env.ok("Decrypt", json!({"CiphertextBlob": ct})).await;
    assert_eq!(pt["Plaintext"], "aGk=");
    let rsa = env
        .ok(
            "CreateKey",
            json!({"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"}),
        )
        .await;
    let rsa = rsa["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    assert!(matches!(
        env.call("EnableKeyRotation", json!({"KeyId": rsa})).await,
        Err(KmsError::UnsupportedOperation(_))
    ));
    env.ok("DisableKey", json!({"KeyId": k})).await;
    assert!(matches!(
        env.call("RotateKeyOnDemand", json!({"KeyId": k})).await,
        Err(KmsError::Disabled(_))
    ));
}

#[tokio::test]
async fn tags_merge_page_and_refuse_pending_deletion() {
    let env = Env::new().await;
    let k = env.key().await;
    env.ok("TagResource", json!({"KeyId": k, "Tags": [{"TagKey": "a", "TagValue": "1"}, {"TagKey": "b", "TagValue": ""}]}))
        .await;
    env.ok(
        "TagResource",
        json!({"KeyId": k, "Tags": [{"TagKey": "a", "TagValue": "2"}]}),
    )
    .await;
    env.ok(
        "UntagResource",
        json!({"KeyId": k, "TagKeys": ["b", "absent"]}),
    )
    .await;
    let tags = env.ok("ListResourceTags", json!({"KeyId": k})).await;
    assert_eq!(tags["Tags"], json!([{"TagKey": "a", "TagValue": "2"}]));
    assert_eq!(tags["Truncated"], false);
    env.ok(
        "ScheduleKeyDeletion",
        json!({"KeyId": k, "PendingWindowInDays": 7}),
    )
    .await;
    assert!(matches!(
        env.call(
            "TagResource",
            json!({"KeyId": k, "Tags": [{"TagKey": "c", "TagValue": "3"}]})
        )
        .await,
        Err(KmsError::InvalidState(_))
    ));
}

#[tokio::test]
async fn import_is_only_for_external_keys() {
    let env = Env::new().await;
    let k = env.key().await;
    let params = json!({"KeyId": k, "WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"});
    assert!(matches!(
        env.call("GetParametersForImport", params).await,
        Err(KmsError::UnsupportedOperation(_))
    ));
    let ext = env.ok("CreateKey", json!({"Origin": "EXTERNAL"})).await;
    let ext = ext["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let params = json!({"KeyId": ext, "WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"});
    let p = env.ok("GetParametersForImport", params).await;
    assert!(p["PublicKey"].as_str().is_some_and(|s| !s.is_empty()));
    let bad_token = json!({"KeyId": ext, "ImportToken": "AAAA", "EncryptedKeyMaterial": "AAAA", "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"});
    assert!(matches!(
        env.call("ImportKeyMaterial", bad_token).await,
        Err(KmsError::InvalidImportToken(_))
    ));
    let garbage = json!({"KeyId": ext, "ImportToken": p["ImportToken"], "EncryptedKeyMaterial": "AAAA", "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"});
    assert!(matches!(
        env.call("ImportKeyMaterial", garbage).await,
        Err(KmsError::InvalidCiphertext)
    ));
    let last = env.ok("GetKeyLastUsage", json!({"KeyId": ext})).await;
    assert!(last.get("KeyLastUsage").is_none());
}

#[path = "flows_conditions.rs"]
mod conditions;
