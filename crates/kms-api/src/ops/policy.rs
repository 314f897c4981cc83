//! Key policies: GetKeyPolicy, PutKeyPolicy (with the lockout safety check),
//! ListKeyPolicies, and the default policy of a new key.

use portcullis_iam::policy::{Decision, Policy, PolicyKind};
use portcullis_iam_api::authz::ResourcePolicy;
use serde_json::{Value, json};

use super::keys::load_authorized;
use super::{Ctx, Done};
use crate::checks;
use crate::error::{KmsError, Result};
use crate::model::Key;
use crate::state::{Kms, Naming};

/// The policy a key gets when CreateKey names none: the account root may do everything,
/// which lets IAM policies grant access to the key.
pub fn default_policy(account: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "kms:*",
            "Resource": "*"
        }]
    })
    .to_string()
}

/// Parses a key policy, or `MalformedPolicyDocumentException`.
pub fn parse_key_policy(text: &str) -> Result<Policy> {
    Policy::parse(text, PolicyKind::Resource)
        .map_err(|e| KmsError::MalformedPolicyDocument(e.to_string()))
}

/// The lockout safety check: the new policy must still let the caller change it.
pub async fn check_lockout(ctx: &Ctx<'_>, key: &Key, policy: &Policy) -> Result<()> {
    let actx = Kms::context(ctx.req, "kms:PutKeyPolicy", Some(key));
    let decision = ctx
        .kms
        .authz
        .decide(&ctx.req.caller, &actx, ResourcePolicy::Some(policy))
        .await
        .map_err(|e| KmsError::Internal(e.to_string()))?;
    if decision != Decision::Allow {
        return Err(KmsError::MalformedPolicyDocument(
            "The new key policy will not allow you to update the key policy in the future.".into(),
        ));
    }
    Ok(())
}

fn policy_name(ctx: &Ctx<'_>) -> Result<String> {
    let name = ctx
        .input
        .str_opt("PolicyName", 1..=128)?
        .unwrap_or("default");
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{name}' at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w]+"
        )));
    }
    Ok(name.to_owned())
}

/// GetKeyPolicy.
pub async fn get_key_policy(ctx: &Ctx<'_>) -> Result<Done> {
    let name = policy_name(ctx)?;
    let key = load_authorized(ctx, Naming::KeyOnly, "kms:GetKeyPolicy", None).await?;
    if name != "default" {
        return Err(KmsError::NotFound(format!("No such policy exists: {name}")));
    }
    Ok(Done {
        body: json!({"Policy": key.value.policy, "PolicyName": "default"}),
        audit: Value::Null,
    })
}

/// PutKeyPolicy.
pub async fn put_key_policy(ctx: &Ctx<'_>) -> Result<Done> {
    let name = policy_name(ctx)?;
    let text = ctx.input.str_req("Policy", 1..=131_072)?.to_owned();
    let bypass = ctx
        .input
        .bool_opt("BypassPolicyLockoutSafetyCheck")?
        .unwrap_or(false);
    let mut key = load_authorized(ctx, Naming::KeyOnly, "kms:PutKeyPolicy", None).await?;
    checks::require_not_pending_deletion(&key.value)?;
    if name != "default" {
        return Err(KmsError::NotFound(format!("No such policy exists: {name}")));
    }
    let parsed = parse_key_policy(&text)?;
    if !bypass {
        check_lockout(ctx, &key.value, &parsed).await?;
    }
    key.value.policy = text;
    ctx.kms.commit(&[Kms::key_op(&key)?]).await?;
    Ok(Done {
        body: json!({}),
        audit: Value::Null,
    })
}

/// ListKeyPolicies: always `default`.
pub async fn list_key_policies(ctx: &Ctx<'_>) -> Result<Done> {
    ctx.input.int_opt("Limit", 1..=1000)?;
    load_authorized(ctx, Naming::KeyOnly, "kms:ListKeyPolicies", None).await?;
    Ok(Done {
        body: json!({"PolicyNames": ["default"], "Truncated": false}),
        audit: Value::Null,
    })
}
