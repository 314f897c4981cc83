//! Authorization: may this caller perform this action on this resource?
//!
//! Every service asks [`Authorizer::authorize`] before acting. The identity policies of the
//! caller (inline and attached, of the user or of the assumed role) are combined with an
//! optional resource policy (a role's trust policy, later a KMS key policy) by
//! [`portcullis_iam::policy::authorize`]: explicit deny wins, then allow, else deny.
//! Temporary credentials with a session policy are further limited by it.
//!
//! A principal's parsed identity policies, and a session's policy, are cached like
//! credentials (see [`ReadCache`]): at most [`CACHE_TTL`](crate::repo::CACHE_TTL), and
//! dropped at once by any write through the [`Repo`], so a changed or detached policy
//! decides the next request.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use portcullis_http::{ApiRequest, Caller, CredentialSource};
use portcullis_iam::policy::{
    self, ContextValue, Decision, Policy, PolicyKind, PrincipalKind, RequestContext,
};

use crate::error::{IamError, Result};
use crate::managed;
use crate::repo::{ReadCache, Repo};

/// Decides requests against stored policies.
#[derive(Debug, Clone)]
pub struct Authorizer {
    repo: Repo,
    parsed: Arc<Mutex<HashMap<String, Arc<Policy>>>>,
    /// Identity policies by principal (`user/<account>/<name>`, `role/<account>/<name>`).
    identity: Arc<ReadCache<Arc<[Arc<Policy>]>>>,
    /// Session policies by temporary access key id.
    sessions: Arc<ReadCache<Option<Arc<Policy>>>>,
}

/// Principals (and sessions) whose policies are cached at most.
const POLICY_CACHE_MAX: usize = 4096;

/// Parsed documents kept at most; past this the cache starts over (documents are
/// re-parsed, never wrongly reused: the key is the whole document text).
const PARSED_CACHE_MAX: usize = 4096;

/// What a resource policy check is about.
#[derive(Debug, Clone, Copy)]
pub enum ResourcePolicy<'a> {
    /// The resource has no policy of its own: identity policies decide.
    None,
    /// The resource's policy (a trust policy, a key policy).
    Some(&'a Policy),
}

impl Authorizer {
    /// An authorizer reading from `repo`.
    pub fn new(repo: Repo) -> Self {
        Self {
            repo,
            parsed: Arc::default(),
            identity: Arc::new(ReadCache::new(POLICY_CACHE_MAX)),
            sessions: Arc::new(ReadCache::new(POLICY_CACHE_MAX)),
        }
    }

    /// The request context for a call: caller, action, resource and the global condition
    /// keys Portcullis knows (`aws:SourceIp`, `aws:CurrentTime`, `aws:EpochTime`,
    /// `aws:SecureTransport`, `aws:RequestedRegion`, `aws:UserAgent`; the principal keys are
    /// added by the policy engine).
    pub fn context(req: &ApiRequest, action: &str, resource: impl Into<String>) -> RequestContext {
        let mut ctx = RequestContext::new(req.caller.principal.clone(), action, resource);
        // `aws:CurrentTime` and `aws:EpochTime` are derived from the arrival time only when
        // a condition asks for them.
        ctx = ctx
            .at(req.received_at)
            .with(
                "aws:SourceIp",
                ContextValue::Single(portcullis_common::net::ip_text(req.source_ip)),
            )
            .with("aws:SecureTransport", ContextValue::Single("true".into()))
            .with(
                "aws:RequestedRegion",
                ContextValue::Single(req.region.clone()),
            )
            .with(
                "aws:UserAgent",
                ContextValue::Single(req.user_agent.clone()),
            );
        if req.caller.source == CredentialSource::SessionToken {
            ctx = ctx.with("aws:ViaAWSService", ContextValue::Single("false".into()));
        }
        ctx
    }

    /// Allows or refuses `ctx`, with an optional resource policy.
    pub async fn authorize(
        &self,
        caller: &Caller,
        ctx: &RequestContext,
        resource: ResourcePolicy<'_>,
    ) -> Result<()> {
        let decision = self.decide(caller, ctx, resource).await?;
        match decision {
            Decision::Allow => Ok(()),
            Decision::ExplicitDeny => Err(denied(caller, ctx, "with an explicit deny in a policy")),
            Decision::ImplicitDeny => Err(denied(
                caller,
                ctx,
                &format!(
                    "because no identity-based policy allows the {} action",
                    ctx.action
                ),
            )),
        }
    }

    /// Decides `action` on `resource` from identity policies alone, with the tag condition keys:
    /// `aws:ResourceTag/*` from the resource's tags, `aws:RequestTag/*` and `aws:TagKeys` from the
    /// tags the request sets. `Ok(Err(message))` is a denial with AWS's `AccessDeniedException`
    /// text, for services to wrap in their own error type.
    pub async fn decide_tagged(
        &self,
        req: &ApiRequest,
        action: &str,
        resource: &str,
        resource_tags: Option<&BTreeMap<String, String>>,
        request_tags: Option<&BTreeMap<String, String>>,
    ) -> Result<std::result::Result<(), String>> {
        let mut ctx = Self::context(req, action, resource);
        for (k, v) in resource_tags.into_iter().flatten() {
            ctx = ctx.with(
                format!("aws:ResourceTag/{k}"),
                ContextValue::Single(v.clone()),
            );
        }
        if let Some(tags) = request_tags {
            for (k, v) in tags {
                ctx = ctx.with(
                    format!("aws:RequestTag/{k}"),
                    ContextValue::Single(v.clone()),
                );
            }
            // BTreeMap keys are already sorted and distinct.
            ctx = ctx.with(
                "aws:TagKeys",
                ContextValue::Multi(tags.keys().cloned().collect()),
            );
        }
        let why = match self.decide(&req.caller, &ctx, ResourcePolicy::None).await? {
            Decision::Allow => return Ok(Ok(())),
            Decision::ExplicitDeny => "with an explicit deny in an identity-based policy",
            Decision::ImplicitDeny => "because no identity-based policy allows the action",
        };
        Ok(Err(format!(
            "User: {} is not authorized to perform: {action} on resource: {resource} {why}",
            req.caller.principal.arn
        )))
    }

    /// The decision itself, for services that combine it with their own rules (KMS grants
    /// may allow what policies leave undecided, never what they deny).
    pub async fn decide(
        &self,
        caller: &Caller,
        ctx: &RequestContext,
        resource: ResourcePolicy<'_>,
    ) -> Result<Decision> {
        let identity = self.identity_policies(caller).await?;
        let refs: Vec<&Policy> = identity.iter().map(|p| &**p).collect();
        let res = match resource {
            ResourcePolicy::None => None,
            ResourcePolicy::Some(p) => Some(p),
        };
        let mut decision = policy::authorize(&refs, res, ctx);
        // A session policy can only narrow: it must allow too, and its deny applies.
        if decision == Decision::Allow
            && let Some(session_policy) = self.session_policy(caller).await?
        {
            decision = policy::authorize(&[&*session_policy], None, ctx);
        }
        Ok(decision)
    }

    /// The caller's identity-based policies, parsed.
    pub async fn identity_policies(&self, caller: &Caller) -> Result<Arc<[Arc<Policy>]>> {
        let p = &caller.principal;
        let key = match p.kind {
            PrincipalKind::Root => return Ok(Arc::default()),
            PrincipalKind::User => format!(
                "user/{}/{}",
                p.account,
                p.user_name.as_deref().unwrap_or("")
            ),
            PrincipalKind::AssumedRole => {
                format!("role/{}/{}", p.account, p.role_arn.as_deref().unwrap_or(""))
            }
        };
        // Read before the store: a write that lands meanwhile makes this entry stale.
        let generation = self.repo.generation();
        if let Some(cached) = self.identity.get(&key, generation) {
            return Ok(cached);
        }
        let loaded: Arc<[Arc<Policy>]> = self.load_identity_policies(caller).await?.into();
        self.identity.insert(key, generation, loaded.clone());
        Ok(loaded)
    }

    /// The caller's identity-based policies, read from the store and parsed.
    async fn load_identity_policies(&self, caller: &Caller) -> Result<Vec<Arc<Policy>>> {
        let p = &caller.principal;
        let (inline, attached): (Vec<String>, Vec<String>) = match p.kind {
            PrincipalKind::Root => return Ok(Vec::new()),
            PrincipalKind::User => {
                let Some(name) = p.user_name.as_deref() else {
                    return Ok(Vec::new());
                };
                match self.repo.user(&p.account, name).await? {
                    Some(u) => (
                        u.value.inline_policies.into_values().collect(),
                        u.value.attached_policies,
                    ),
                    None => return Ok(Vec::new()),
                }
            }
            PrincipalKind::AssumedRole => {
                let Some(role_arn) = p.role_arn.as_deref() else {
                    return Ok(Vec::new());
                };
                let name = role_arn.rsplit('/').next().unwrap_or("");
                match self.repo.role(&p.account, name).await? {
                    Some(r) => (
                        r.value.inline_policies.into_values().collect(),
                        r.value.attached_policies,
                    ),
                    None => return Ok(Vec::new()),
                }
            }
        };
        let mut docs = inline;
        for arn in attached {
            if let Some(doc) = self.managed_document(&arn).await? {
                docs.push(doc);
            }
        }
        // Documents were validated when stored; one that no longer parses grants nothing.
        Ok(docs
            .into_iter()
            .filter_map(|d| self.parse_cached(d))
            .collect())
    }

    /// Parses an identity policy, reusing the result for the same document text.
    fn parse_cached(&self, doc: String) -> Option<Arc<Policy>> {
        let mut cache = self.parsed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = cache.get(&doc) {
            return Some(p.clone());
        }
        let policy = Arc::new(Policy::parse(&doc, PolicyKind::Identity).ok()?);
        if cache.len() >= PARSED_CACHE_MAX {
            cache.clear();
        }
        cache.insert(doc, policy.clone());
        Some(policy)
    }

    /// The default-version document of a managed policy (built-in or customer).
    pub async fn managed_document(&self, arn: &str) -> Result<Option<String>> {
        if let Some(b) = managed::find(arn) {
            return Ok(Some(b.document.to_owned()));
        }
        let Some((account, name)) = parse_policy_arn(arn) else {
            return Ok(None);
        };
        Ok(self
            .repo
            .policy(account, name)
            .await?
            .and_then(|p| p.value.default_document().map(str::to_owned)))
    }

    async fn session_policy(&self, caller: &Caller) -> Result<Option<Arc<Policy>>> {
        if caller.source != CredentialSource::SessionToken {
            return Ok(None);
        }
        let Some(akid) = caller.access_key_id.as_deref() else {
            return Ok(None);
        };
        let generation = self.repo.generation();
        if let Some(cached) = self.sessions.get(akid, generation) {
            return Ok(cached);
        }
        let Some(session) = self.repo.session(akid).await? else {
            return Ok(None);
        };
        // A session policy that no longer parses must not be ignored (that would widen the
        // session): the request fails instead.
        let parsed = match session.session_policy {
            None => None,
            Some(d) => Some(Arc::new(Policy::parse(&d, PolicyKind::Identity).map_err(
                |e| {
                    IamError::Internal(format!(
                        "stored session policy of {akid} does not parse: {e}"
                    ))
                },
            )?)),
        };
        self.sessions
            .insert(akid.to_owned(), generation, parsed.clone());
        Ok(parsed)
    }
}

/// `(account, name)` of `arn:aws:iam::<account>:policy/<path/>name`.
pub fn parse_policy_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path_and_name = resource.strip_prefix("policy/")?;
    Some((account, path_and_name.rsplit('/').next()?))
}

fn denied(caller: &Caller, ctx: &RequestContext, why: &str) -> IamError {
    IamError::AccessDenied(format!(
        "User: {} is not authorized to perform: {} on resource: {} {why}",
        caller.principal.arn, ctx.action, ctx.resource
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_arns() {
        assert_eq!(
            parse_policy_arn("arn:aws:iam::000000000000:policy/a/b/Name"),
            Some(("000000000000", "Name"))
        );
        assert_eq!(parse_policy_arn("arn:aws:iam::000000000000:role/x"), None);
    }
}
