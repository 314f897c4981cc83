//! STS: GetCallerIdentity, AssumeRole, GetSessionToken.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use portcullis_common::ids;
use portcullis_http::CredentialSource;
use portcullis_iam::policy::{ContextValue, PrincipalKind};
use serde_json::json;
use time::OffsetDateTime;

use super::roles::parse_trust_policy;
use super::users::parse_tags;
use super::{Ctx, Done, parse_identity_policy};
use crate::authz::{Authorizer, ResourcePolicy};
use crate::error::{IamError, Result};
use crate::model::{Session, SessionSubject};
use crate::query::{check_name, date};

/// Runs the STS operation named by `action`.
pub async fn dispatch(ctx: &Ctx<'_>, action: &str) -> Result<Done> {
    match action {
        "GetCallerIdentity" => get_caller_identity(ctx),
        "AssumeRole" => assume_role(ctx).await,
        "GetSessionToken" => get_session_token(ctx).await,
        other => Err(IamError::InvalidAction(format!(
            "Could not find operation {other} for version 2011-06-15"
        ))),
    }
}

/// GetCallerIdentity: always allowed, as in AWS.
fn get_caller_identity(ctx: &Ctx<'_>) -> Result<Done> {
    let p = &ctx.req.caller.principal;
    let mut r = ctx.response("GetCallerIdentity", true);
    r.w().leaf("Arn", &p.arn);
    r.w().leaf("UserId", &p.user_id);
    r.w().leaf("Account", &p.account);
    ctx.done(r, serde_json::Value::Null)
}

/// Fresh temporary credentials: id, secret and session token.
struct Minted {
    access_key_id: String,
    secret: String,
    token: String,
}

fn mint() -> Result<Minted> {
    let mut raw = [0u8; 96];
    SystemRandom::new()
        .fill(&mut raw)
        .map_err(|_| IamError::Internal("random generator failed".into()))?;
    Ok(Minted {
        access_key_id: ids::temporary_access_key_id(),
        secret: ids::secret_access_key(),
        token: base64::engine::general_purpose::STANDARD.encode(raw),
    })
}

fn seal_session(
    ctx: &Ctx<'_>,
    m: &Minted,
    expiration: OffsetDateTime,
    subject: SessionSubject,
) -> Result<Session> {
    let root = &ctx.shared.root;
    let seal = |context: &str, v: &str| {
        root.seal(context, v.as_bytes())
            .map_err(|e| IamError::Internal(e.to_string()))
    };
    Ok(Session {
        access_key_id: m.access_key_id.clone(),
        account: ctx.account().to_owned(),
        sealed_secret: seal(&m.access_key_id, &m.secret)?,
        sealed_token: seal(&format!("{}/token", m.access_key_id), &m.token)?,
        expiration,
        issued: ctx.now(),
        subject,
        session_policy: None,
        tags: Vec::new(),
    })
}

fn write_credentials(r: &mut crate::query::Response, m: &Minted, expiration: OffsetDateTime) {
    let w = r.w();
    w.open("Credentials");
    w.leaf("AccessKeyId", &m.access_key_id);
    w.leaf("SecretAccessKey", &m.secret);
    w.leaf("SessionToken", &m.token);
    w.leaf("Expiration", &date(expiration));
    w.close("Credentials");
}

/// AssumeRole: the trust policy must allow the caller (and, when it trusts the caller
/// only through its account, the caller's identity policies must allow `sts:AssumeRole`).
async fn assume_role(ctx: &Ctx<'_>) -> Result<Done> {
    let role_arn = ctx.params.required("RoleArn")?;
    let session_name = ctx.params.required("RoleSessionName")?;
    if session_name.len() < 2 {
        return Err(IamError::Validation(format!(
            "1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"
        )));
    }
    check_name("roleSessionName", session_name, 64)?;
    let duration = ctx
        .params
        .int("DurationSeconds", 900..=43_200)?
        .unwrap_or(3600);
    let session_policy = match ctx.params.optional("Policy") {
        Some(doc) => {
            parse_identity_policy(doc)?;
            Some(doc.to_owned())
        }
        None => None,
    };
    let tags = parse_tags(ctx)?;

    let mut ctx_req = Authorizer::context(ctx.req, "sts:AssumeRole", role_arn);
    ctx_req = ctx_req.with(
        "sts:RoleSessionName",
        ContextValue::Single(session_name.to_owned()),
    );
    if let Some(ext) = ctx.params.optional("ExternalId") {
        ctx_req = ctx_req.with("sts:ExternalId", ContextValue::Single(ext.to_owned()));
    }
    let denied = || {
        IamError::AccessDenied(format!(
            "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            ctx.req.caller.principal.arn
        ))
    };
    let role = match parse_role_arn(role_arn) {
        Some((account, name)) if account == ctx.account() => {
            ctx.shared.repo.role(account, name).await?
        }
        Some(_) => None,
        None => {
            return Err(IamError::Validation(format!(
                "1 validation error detected: Value '{role_arn}' at 'roleArn' failed to satisfy constraint: Member must be a role ARN"
            )));
        }
    };
    // An unknown role and a refused one look the same to the caller.
    let role = role
        .filter(|r| r.value.arn() == role_arn)
        .ok_or_else(denied)?
        .value;
    let trust = parse_trust_policy(&role.assume_role_policy_document)?;
    ctx.shared
        .authz
        .authorize(&ctx.req.caller, &ctx_req, ResourcePolicy::Some(&trust))
        .await
        .map_err(|_| denied())?;

    let chained = ctx.req.caller.principal.kind == PrincipalKind::AssumedRole;
    let max = if chained {
        3600
    } else {
        i64::from(role.max_session_duration)
    };
    if duration > max {
        return Err(IamError::Validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .into(),
        ));
    }
    let expiration = ctx.now() + time::Duration::seconds(duration);
    let minted = mint()?;
    let subject = SessionSubject::Role {
        role_name: role.role_name.clone(),
        role_id: role.role_id.clone(),
        role_arn: role.arn(),
        session_name: session_name.to_owned(),
        source_arn: ctx.req.caller.principal.arn.clone(),
    };
    let mut session = seal_session(ctx, &minted, expiration, subject)?;
    session.session_policy = session_policy;
    session.tags = tags;
    ctx.shared.repo.put_session(&session).await?;

    let assumed_arn = format!(
        "arn:aws:sts::{}:assumed-role/{}/{session_name}",
        role.account, role.role_name
    );
    let assumed_id = format!("{}:{session_name}", role.role_id);
    let mut r = ctx.response("AssumeRole", true);
    write_credentials(&mut r, &minted, expiration);
    r.w().open("AssumedRoleUser");
    r.w().leaf("AssumedRoleId", &assumed_id);
    r.w().leaf("Arn", &assumed_arn);
    r.w().close("AssumedRoleUser");
    r.w().leaf("PackedPolicySize", "0");
    ctx.done(
        r,
        json!({"credentials": {"accessKeyId": minted.access_key_id, "expiration": date(expiration)},
        "assumedRoleUser": {"assumedRoleId": assumed_id, "arn": assumed_arn}}),
    )
}

/// GetSessionToken: temporary credentials for an IAM user signing with a long-term key.
async fn get_session_token(ctx: &Ctx<'_>) -> Result<Done> {
    let caller = &ctx.req.caller;
    let Some(user_name) = caller
        .principal
        .user_name
        .clone()
        .filter(|_| caller.source == CredentialSource::AccessKey)
    else {
        return Err(IamError::AccessDenied(
            "Cannot call GetSessionToken with session credentials".into(),
        ));
    };
    let duration = ctx
        .params
        .int("DurationSeconds", 900..=129_600)?
        .unwrap_or(43_200);
    let expiration = ctx.now() + time::Duration::seconds(duration);
    let minted = mint()?;
    let user_id = caller.principal.user_id.clone();
    let session = seal_session(
        ctx,
        &minted,
        expiration,
        SessionSubject::User { user_name, user_id },
    )?;
    ctx.shared.repo.put_session(&session).await?;
    let mut r = ctx.response("GetSessionToken", true);
    write_credentials(&mut r, &minted, expiration);
    ctx.done(r, json!({"credentials": {"accessKeyId": minted.access_key_id, "expiration": date(expiration)}}))
}

/// `(account, role name)` of `arn:aws:iam::<account>:role/<path/>name`.
fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path_and_name = resource.strip_prefix("role/")?;
    Some((account, path_and_name.rsplit('/').next()?))
}
