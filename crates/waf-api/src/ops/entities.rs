//! Create, Get, Update, Delete and List of web ACLs, IP sets, regex pattern sets and rule groups.

use std::collections::{BTreeMap, BTreeSet};

use portcullis_store::{Precondition, WriteOp};
use portcullis_waf_model::ParameterExceptionField as F;
use portcullis_waf_model::capacity::{self, MAX_WEB_ACL_CAPACITY};
use portcullis_waf_model::validate::{
    limits, validate_ip_set, validate_regex_pattern_set, validate_rule_group, validate_web_acl,
};
use portcullis_waf_model::{
    CreateIpSetRequest, CreateRegexPatternSetRequest, CreateRuleGroupRequest, CreateWebAclRequest,
    IpSet, LabelSummary, RegexPatternSet, RuleGroup, Scope, Statement, UpdateIpSetRequest,
    UpdateRegexPatternSetRequest, UpdateRuleGroupRequest, UpdateWebAclRequest, WebAcl,
};
use serde_json::{Value, json};

use super::refs::{self, compile_check, compile_check_group, refuse_if_referenced, resolve};
use super::tags::parse_tags;
use super::{Ctx, Done, new_uuid};
use crate::arn::{Kind, Place, parse_resource_arn, resource_arn};
use crate::error::{Result, WafError};
use crate::input::paginate;
use crate::state::{Entity, Versioned, WafApi, collections as c, name_key};

/// The parameter field of a kind.
pub fn field_of(kind: Kind) -> F {
    match kind {
        Kind::WebAcl => F::WebAcl,
        Kind::IpSet => F::IpSet,
        Kind::RegexPatternSet => F::RegexPatternSet,
        Kind::RuleGroup => F::RuleGroup,
    }
}

/// Resources of a kind an account may have per scope and region \[doc: AWS WAF quotas\].
pub fn quota(kind: Kind) -> usize {
    match kind {
        Kind::RegexPatternSet => 10,
        _ => 100,
    }
}

fn op_name(verb: &str, kind: Kind) -> String {
    format!("{verb}{}", kind.shape())
}

fn list_member(kind: Kind) -> &'static str {
    match kind {
        Kind::WebAcl => "WebACLs",
        Kind::IpSet => "IPSets",
        Kind::RegexPatternSet => "RegexPatternSets",
        Kind::RuleGroup => "RuleGroups",
    }
}

fn not_found(kind: Kind) -> WafError {
    WafError::Nonexistent(format!(
        "WAF couldn't perform the operation because your resource doesn't exist. ({})",
        kind.shape()
    ))
}

/// The labels a rule group's rules add and match.
fn labels(group: &mut RuleGroup) {
    let ns = group.label_namespace.clone().unwrap_or_default();
    let mut available = BTreeSet::new();
    let mut consumed = BTreeSet::new();
    for r in group.rules() {
        for l in r.rule_labels.as_deref().unwrap_or(&[]) {
            available.insert(format!("{ns}{}", l.name));
        }
        r.statement.walk(&mut |s| {
            if let Statement::LabelMatch(m) = s {
                consumed.insert(m.key.clone());
            }
        });
    }
    let summary = |set: BTreeSet<String>| {
        (!set.is_empty()).then(|| {
            set.into_iter()
                .map(|n| LabelSummary { name: Some(n) })
                .collect()
        })
    };
    group.available_labels = summary(available);
    group.consumed_labels = summary(consumed);
}

/// A web ACL's capacity under the 5,000 WCU limit (`WAFLimitsExceededException` above it).
fn web_acl_capacity(acl: &WebAcl, caps: &crate::managed::Capacities) -> Result<i64> {
    let used = capacity::web_acl_capacity(acl, caps)?;
    if used > MAX_WEB_ACL_CAPACITY {
        return Err(WafError::LimitsExceeded(format!(
            "WAF couldn't perform the operation because you exceeded your resource limit: the web ACL needs {used} WCU, the limit is {MAX_WEB_ACL_CAPACITY}."
        )));
    }
    Ok(i64::try_from(used).unwrap_or(i64::MAX))
}

/// The checked document, its description and the references to rewrite.
struct Built {
    doc: Value,
    description: Option<String>,
    touch: Vec<WriteOp>,
}

async fn build_web_acl(ctx: &Ctx<'_>, place: &Place, mut acl: WebAcl) -> Result<Built> {
    validate_web_acl(&acl, place.scope).map_err(WafError::InvalidParameter)?;
    limits::web_acl_limits(&acl)?;
    let resolved = resolve(ctx.waf, place, acl.rules()).await?;
    acl.capacity = Some(web_acl_capacity(&acl, &resolved.capacities)?);
    compile_check(&acl, &resolved.resources)?;
    Ok(Built {
        description: acl.description.clone(),
        doc: acl.to_json(),
        touch: resolved.touch,
    })
}

async fn build_rule_group(ctx: &Ctx<'_>, place: &Place, mut g: RuleGroup) -> Result<Built> {
    validate_rule_group(&g, place.scope).map_err(WafError::InvalidParameter)?;
    limits::rule_group_limits(&g)?;
    let resolved = resolve(ctx.waf, place, g.rules()).await?;
    capacity::check_rule_group_capacity(&g, &resolved.capacities)?;
    compile_check_group(&g, &resolved.resources)?;
    labels(&mut g);
    Ok(Built {
        description: g.description.clone(),
        doc: g.to_json(),
        touch: resolved.touch,
    })
}

fn build_ip_set(s: IpSet) -> Result<Built> {
    validate_ip_set(&s).map_err(WafError::InvalidParameter)?;
    limits::ip_set_limits(&s)?;
    Ok(Built {
        description: s.description.clone(),
        doc: s.to_json(),
        touch: Vec::new(),
    })
}

fn build_regex_set(s: RegexPatternSet) -> Result<Built> {
    validate_regex_pattern_set(&s).map_err(WafError::InvalidParameter)?;
    limits::regex_pattern_set_limits(&s)?;
    Ok(Built {
        description: s.description.clone(),
        doc: s.to_json(),
        touch: Vec::new(),
    })
}

/// Create*: validates, resolves references, checks capacity and compiles, then stores the resource
/// under a fresh id and lock token.
pub async fn create(ctx: &Ctx<'_>, kind: Kind) -> Result<Done> {
    let field = field_of(kind);
    let name = ctx.input.name("Name", field)?;
    let scope = ctx.input.scope()?;
    let place = ctx.place(scope);
    let id = new_uuid();
    let arn = resource_arn(&place, kind, &name, &id);
    let tags = match ctx.input.get("Tags") {
        Some(v) => parse_tags(v)?,
        None => BTreeMap::new(),
    };
    ctx.waf
        .authorize(ctx.req, &op_name("Create", kind), &arn, None, Some(&tags))
        .await?;
    let body = ctx.input.value();
    let account = ctx.account();
    let built = match kind {
        Kind::WebAcl => {
            let ns = format!("awswaf:{account}:webacl:{name}:");
            let acl =
                CreateWebAclRequest::from_value(body)?.into_web_acl(id.clone(), arn.clone(), ns, 0);
            build_web_acl(ctx, &place, acl).await?
        }
        Kind::RuleGroup => {
            let ns = format!("awswaf:{account}:rulegroup:{name}:");
            let g = CreateRuleGroupRequest::from_value(body)?.into_rule_group(
                id.clone(),
                arn.clone(),
                ns,
            );
            build_rule_group(ctx, &place, g).await?
        }
        Kind::IpSet => build_ip_set(
            CreateIpSetRequest::from_value(body)?.into_ip_set(id.clone(), arn.clone()),
        )?,
        Kind::RegexPatternSet => build_regex_set(
            CreateRegexPatternSetRequest::from_value(body)?
                .into_regex_pattern_set(id.clone(), arn.clone()),
        )?,
    };
    let nkey = name_key(&place, kind, &name);
    if ctx.waf.store.get(c::NAMES, &nkey).await?.is_some() {
        return Err(WafError::Duplicate(format!(
            "WAF couldn't perform the operation because some resource in your request is a duplicate of an existing one: {} {name}.",
            kind.shape()
        )));
    }
    if ctx.waf.entities(&place, kind).await?.len() >= quota(kind) {
        return Err(WafError::LimitsExceeded(format!(
            "WAF couldn't perform the operation because you exceeded your resource limit: at most {} {} per scope and region.",
            quota(kind),
            kind.shape()
        )));
    }
    let entity = Versioned {
        value: Entity {
            kind,
            account: place.account.clone(),
            scope: scope.as_str().to_owned(),
            region: place.region.clone(),
            id: id.clone(),
            name: name.clone(),
            arn,
            lock_token: new_uuid(),
            description: built.description,
            doc: built.doc,
            tags,
        },
        version: 0,
    };
    let mut ops = vec![
        WafApi::entity_op(&place, &entity)?,
        WriteOp::put(c::NAMES, &nkey, json!({ "Id": id }), Precondition::Absent),
    ];
    ops.extend(built.touch);
    ctx.waf.commit(ops).await?;
    let summary = entity.value.summary();
    Ok(Done {
        body: json!({ "Summary": summary }),
        audit: json!({ "summary": summary }),
    })
}

/// Loads the resource a request names by `Name`, `Scope` and `Id` (or, for web ACLs and rule groups
/// on Get, `ARN`), authorizing `op` on it.
async fn load_named(
    ctx: &Ctx<'_>,
    kind: Kind,
    op: &str,
    arn_allowed: bool,
) -> Result<(Place, Versioned<Entity>)> {
    let field = field_of(kind);
    if arn_allowed && let Some(arn) = ctx.input.str_opt("ARN")? {
        let p = parse_resource_arn(arn)
            .filter(|p| p.kind == kind)
            .ok_or_else(|| {
                WafError::invalid(
                    F::ResourceArn,
                    arn,
                    portcullis_waf_model::validate::check::REASON_INVALID_ARN,
                )
            })?;
        let e = ctx.waf.entity_by_arn(arn).await?;
        ctx.waf
            .authorize(ctx.req, op, arn, e.as_ref().map(|e| &e.value.tags), None)
            .await?;
        return Ok((p.place, e.ok_or_else(|| not_found(kind))?));
    }
    let name = ctx.input.name("Name", field)?;
    let scope: Scope = ctx.input.scope()?;
    let id = ctx.input.id(field)?;
    let place = ctx.place(scope);
    let arn = resource_arn(&place, kind, &name, &id);
    let e = ctx
        .waf
        .entity(&place, kind, &id)
        .await?
        .filter(|e| e.value.name == name);
    ctx.waf
        .authorize(ctx.req, op, &arn, e.as_ref().map(|e| &e.value.tags), None)
        .await?;
    Ok((place, e.ok_or_else(|| not_found(kind))?))
}

fn check_lock(e: &Entity, token: &str) -> Result<()> {
    if e.lock_token != token {
        return Err(WafError::OptimisticLock(
            "WAF couldn't save your changes because you tried to update or delete a resource that has changed since you last retrieved it. Get the resource again, make any changes you need to make to the new copy, and retry your operation.".into(),
        ));
    }
    Ok(())
}

/// Get*: the document and its lock token.
pub async fn get(ctx: &Ctx<'_>, kind: Kind) -> Result<Done> {
    let arn_allowed = matches!(kind, Kind::WebAcl | Kind::RuleGroup);
    let (_, e) = load_named(ctx, kind, &op_name("Get", kind), arn_allowed).await?;
    let member = match kind {
        Kind::WebAcl => "WebACL",
        Kind::IpSet => "IPSet",
        Kind::RegexPatternSet => "RegexPatternSet",
        Kind::RuleGroup => "RuleGroup",
    };
    Ok(Done::plain(
        json!({ member: e.value.doc, "LockToken": e.value.lock_token }),
    ))
}

/// Update*: replaces the mutable specification; the lock token must be the current one.
pub async fn update(ctx: &Ctx<'_>, kind: Kind) -> Result<Done> {
    let field = field_of(kind);
    let token = ctx.input.lock_token(field)?;
    let (place, mut e) = load_named(ctx, kind, &op_name("Update", kind), false).await?;
    check_lock(&e.value, &token)?;
    let body = ctx.input.value();
    let built = match kind {
        Kind::WebAcl => {
            let mut acl: WebAcl = e.value.parse()?;
            UpdateWebAclRequest::from_value(body)?.apply_to(&mut acl, 0);
            build_web_acl(ctx, &place, acl).await?
        }
        Kind::RuleGroup => {
            let mut g: RuleGroup = e.value.parse()?;
            UpdateRuleGroupRequest::from_value(body)?.apply_to(&mut g);
            refs::check_referencing_acls(ctx.waf, &place, &g).await?;
            build_rule_group(ctx, &place, g).await?
        }
        Kind::IpSet => {
            let mut s: IpSet = e.value.parse()?;
            UpdateIpSetRequest::from_value(body)?.apply_to(&mut s);
            build_ip_set(s)?
        }
        Kind::RegexPatternSet => {
            let mut s: RegexPatternSet = e.value.parse()?;
            UpdateRegexPatternSetRequest::from_value(body)?.apply_to(&mut s);
            build_regex_set(s)?
        }
    };
    let next = new_uuid();
    e.value.lock_token = next.clone();
    e.value.doc = built.doc;
    e.value.description = built.description;
    let mut ops = vec![WafApi::entity_op(&place, &e)?];
    ops.extend(
        built
            .touch
            .into_iter()
            .filter(|op| op.key() != ops_key(&place, &e)),
    );
    ctx.waf.commit(ops).await?;
    Ok(Done::plain(json!({ "NextLockToken": next })))
}

fn ops_key(place: &Place, e: &Versioned<Entity>) -> String {
    crate::state::entity_key(place, e.value.kind, &e.value.id)
}

/// Delete*: refused while a web ACL is associated or a set or group is referenced.
pub async fn delete(ctx: &Ctx<'_>, kind: Kind) -> Result<Done> {
    let field = field_of(kind);
    let token = ctx.input.lock_token(field)?;
    let (place, e) = load_named(ctx, kind, &op_name("Delete", kind), false).await?;
    check_lock(&e.value, &token)?;
    let arn = e.value.arn.clone();
    let mut ops = vec![
        WriteOp::delete(
            c::ENTITIES,
            &ops_key(&place, &e),
            Precondition::Version(e.version),
        ),
        WriteOp::delete(
            c::NAMES,
            &name_key(&place, kind, &e.value.name),
            Precondition::None,
        ),
    ];
    if kind == Kind::WebAcl {
        let assoc = ctx
            .waf
            .store
            .list(c::ASSOC_BY_ACL, &format!("{arn}|"), None, 1)
            .await?;
        if !assoc.is_empty() {
            return Err(WafError::Associated(format!(
                "WAF couldn't perform the operation because your resource is associated with another resource: {arn}. Disassociate it first."
            )));
        }
        ops.push(WriteOp::delete(c::LOGGING, &arn, Precondition::None));
    } else {
        refuse_if_referenced(ctx.waf, &place, kind, &arn).await?;
    }
    ctx.waf.commit(ops).await?;
    Ok(Done::plain(json!({})))
}

/// List*: summaries sorted by name, `Limit`/`NextMarker` pagination.
pub async fn list(ctx: &Ctx<'_>, kind: Kind) -> Result<Done> {
    let scope = ctx.input.scope()?;
    let (limit, marker) = ctx.input.page()?;
    ctx.waf
        .authorize(ctx.req, &format!("List{}s", kind.shape()), "*", None, None)
        .await?;
    let place = ctx.place(scope);
    let mut all: Vec<Entity> = ctx
        .waf
        .entities(&place, kind)
        .await?
        .into_iter()
        .map(|v| v.value)
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    let (page, next) = paginate(all, |e| e.name.clone(), limit, marker.as_deref());
    let mut body =
        json!({ list_member(kind): page.iter().map(Entity::summary).collect::<Vec<_>>() });
    if let (Some(m), Some(o)) = (next, body.as_object_mut()) {
        o.insert("NextMarker".into(), json!(m));
    }
    Ok(Done::plain(body))
}
