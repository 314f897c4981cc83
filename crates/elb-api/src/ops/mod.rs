//! The operations, one module per resource kind, and the dispatch by `Action`.

pub mod lb;
pub mod listener;
pub mod rule;
pub mod tags;
pub mod tg;

use portcullis_http::{ApiRequest, Reply};
use portcullis_iam_api::query::Response;
use serde_json::Value;

use crate::error::{ElbError, Result};
use crate::input::Params;
use crate::service::XMLNS;
use crate::state::{ElbApi, Versioned};

/// What an operation sees.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// Shared state.
    pub api: &'a ElbApi,
    /// The request.
    pub req: &'a ApiRequest,
    /// Its parameters.
    pub params: Params,
}

/// A finished operation: the reply and the audit record's `responseElements`.
#[derive(Debug)]
pub struct Done {
    /// The XML reply.
    pub reply: Reply,
    /// The response elements for the audit record.
    pub audit: Value,
}

impl Ctx<'_> {
    /// The caller's account.
    pub fn account(&self) -> &str {
        &self.req.caller.principal.account
    }

    /// The request's region.
    pub fn region(&self) -> &str {
        &self.req.region
    }

    /// The caller's world in the request's region.
    pub async fn world(&self) -> Result<Versioned> {
        self.api.world(self.account(), self.region()).await
    }

    /// Writes the world back (conditional on the version it was read at).
    pub async fn save(&self, v: &Versioned) -> Result<()> {
        self.api
            .save(self.account(), self.region(), &v.world, v.version)
            .await
    }

    /// A reply to `op` whose result the closure writes.
    pub fn reply(&self, op: &str, f: impl FnOnce(&mut portcullis_http::xml::XmlWriter)) -> Reply {
        let mut r = Response::new(op, XMLNS, true);
        f(r.w());
        r.finish(&self.req.request_id)
    }

    /// Whether an ARN lives in the caller's account and the request's region.
    pub fn is_local(&self, arn: &str) -> bool {
        crate::arn::place(arn) == Some((self.region(), self.account()))
    }
}

/// Runs `action`.
pub async fn dispatch(ctx: &Ctx<'_>, action: &str) -> Result<Done> {
    match action {
        "CreateLoadBalancer" => lb::create(ctx).await,
        "DescribeLoadBalancers" => lb::describe(ctx).await,
        "DeleteLoadBalancer" => lb::delete(ctx).await,
        "CreateTargetGroup" => tg::create(ctx).await,
        "DescribeTargetGroups" => tg::describe(ctx).await,
        "ModifyTargetGroup" => tg::modify(ctx).await,
        "DeleteTargetGroup" => tg::delete(ctx).await,
        "RegisterTargets" => tg::register(ctx).await,
        "DeregisterTargets" => tg::deregister(ctx).await,
        "DescribeTargetHealth" => tg::describe_health(ctx).await,
        "CreateListener" => listener::create(ctx).await,
        "DescribeListeners" => listener::describe(ctx).await,
        "ModifyListener" => listener::modify(ctx).await,
        "DeleteListener" => listener::delete(ctx).await,
        "CreateRule" => rule::create(ctx).await,
        "DescribeRules" => rule::describe(ctx).await,
        "ModifyRule" => rule::modify(ctx).await,
        "SetRulePriorities" => rule::set_priorities(ctx).await,
        "DeleteRule" => rule::delete(ctx).await,
        "AddTags" => tags::add(ctx).await,
        "RemoveTags" => tags::remove(ctx).await,
        "DescribeTags" => tags::describe(ctx).await,
        other => Err(ElbError::InvalidAction(format!(
            "The action {other} is not valid for this web service."
        ))),
    }
}

/// The resources named by `arns` or else by `names`, in the order asked, from `all`; a name or
/// ARN that matches nothing is `missing(it)`. `None` when neither list names anything.
pub(crate) fn select_named<T: Clone>(
    all: &[T],
    arns: &[String],
    names: &[String],
    arn_of: impl Fn(&T) -> &str,
    name_of: impl Fn(&T) -> &str,
    missing: impl Fn(&str) -> ElbError,
) -> Option<Result<Vec<T>>> {
    let by_arn = !arns.is_empty();
    let wanted = if by_arn { arns } else { names };
    if wanted.is_empty() {
        return None;
    }
    let is = |t: &T, w: &str| {
        if by_arn {
            arn_of(t) == w
        } else {
            name_of(t) == w
        }
    };
    Some(
        wanted
            .iter()
            .map(|w| {
                all.iter()
                    .find(|t| is(t, w))
                    .cloned()
                    .ok_or_else(|| missing(w))
            })
            .collect(),
    )
}
