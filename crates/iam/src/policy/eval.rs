//! Evaluation: whether a statement applies to a request, one policy's effect, and the
//! combined decision over identity and resource policies.

use super::context::{PrincipalKind, RequestContext};
use super::pattern::glob;
use super::principal::PrincipalMatch;
use super::{Decision, Effect, Policy, PolicyEffect, Statement};

/// One policy's effect on a request.
pub(super) fn policy(policy: &Policy, ctx: &RequestContext) -> PolicyEffect {
    let mut allow: Option<bool> = None;
    for st in &policy.statements {
        let Some(named) = applies(st, ctx) else {
            continue;
        };
        match st.effect {
            Effect::Deny => return PolicyEffect::ExplicitDeny,
            Effect::Allow => {
                let via_account = named == PrincipalMatch::ViaAccount;
                allow = Some(allow.unwrap_or(true) && via_account);
            }
        }
    }
    match allow {
        Some(via_account) => PolicyEffect::Allow { via_account },
        None => PolicyEffect::NotApplicable,
    }
}

/// `Some(how the caller was named)` when the statement applies to the request. Statements
/// without a principal element (identity policies) name the caller directly; a
/// `NotPrincipal` that does not exclude the caller names it only via its account.
fn applies(st: &Statement, ctx: &RequestContext) -> Option<PrincipalMatch> {
    let action_hit = st.actions.value.iter().any(|p| glob(p, &ctx.action, true));
    if action_hit == st.actions.not {
        return None;
    }
    if let Some(resources) = &st.resources {
        let hit = resources.value.iter().any(|t| {
            t.resolve(ctx)
                .is_some_and(|p| glob(&p, &ctx.resource, false))
        });
        if hit == resources.not {
            return None;
        }
    }
    let named = match &st.principals {
        None => PrincipalMatch::Direct,
        Some(p) => match (p.value.matches(&ctx.principal), p.not) {
            (Some(m), false) => m,
            (None, true) => PrincipalMatch::ViaAccount,
            _ => return None,
        },
    };
    st.conditions.iter().all(|c| c.holds(ctx)).then_some(named)
}

/// The combined decision over a caller's identity policies and the resource's policy.
///
/// An explicit deny in any policy wins. With a resource policy, that policy must allow:
/// an `Allow` naming the caller directly suffices on its own, while an `Allow` via the
/// caller's account additionally needs an identity-policy `Allow` (or the caller being the
/// account root). Without a resource policy an identity-policy `Allow` is needed, except
/// that an account's root is allowed on its own account's resources.
///
/// The principal-derived global condition keys (`aws:PrincipalArn`, `aws:PrincipalAccount`,
/// `aws:username`, `aws:userid`, `aws:PrincipalType`, `aws:PrincipalTag/<key>`) are taken
/// from `ctx.principal` whenever `ctx.values` does not set them.
pub fn authorize(
    identity: &[&Policy],
    resource: Option<&Policy>,
    ctx: &RequestContext,
) -> Decision {
    let mut identity_allows = false;
    for p in identity {
        match p.evaluate(ctx) {
            PolicyEffect::ExplicitDeny => return Decision::ExplicitDeny,
            PolicyEffect::Allow { .. } => identity_allows = true,
            PolicyEffect::NotApplicable => {}
        }
    }
    let is_root = ctx.principal.kind == PrincipalKind::Root;
    match resource.map(|p| p.evaluate(ctx)) {
        Some(PolicyEffect::ExplicitDeny) => Decision::ExplicitDeny,
        Some(PolicyEffect::Allow { via_account: false }) => Decision::Allow,
        Some(PolicyEffect::Allow { via_account: true }) if identity_allows || is_root => {
            Decision::Allow
        }
        Some(_) => Decision::ImplicitDeny,
        None if identity_allows || (is_root && own_resource(ctx)) => Decision::Allow,
        None => Decision::ImplicitDeny,
    }
}

/// Whether the requested resource belongs to the caller's account: its ARN's account
/// field is the caller's, or it has none (`*`, or an ARN with an empty account).
fn own_resource(ctx: &RequestContext) -> bool {
    match ctx.resource.split(':').nth(4) {
        None | Some("") => true,
        Some(account) => account == ctx.principal.account,
    }
}

#[cfg(test)]
mod tests;
