//! Filters: CreateFilter, UpdateFilter, DeleteFilter, ListFilters. A filter with action
//! `SUPPRESS` is a suppression rule: open findings it matches are `SUPPRESSED`, and return to
//! `ACTIVE` when the filter changes or is deleted. `NONE` only saves the criteria.

use serde_json::{Value, json};

use super::{Ctx, Done, check_len, paginate, parse_tags, with_token};
use crate::criteria::{Criteria, Scope};
use crate::error::{InspectorApiError, Result};
use crate::state::{
    FilterRecord, Versioned, collections as c, cond_of, filter_arn, parse_filter_arn,
};

/// Filters an account may have.
pub const MAX_FILTERS: usize = 500;

fn render(f: &FilterRecord) -> Value {
    let mut v = json!({"arn": f.arn, "ownerId": f.owner_id, "name": f.name, "criteria": f.criteria,
        "action": f.action, "createdAt": f.created_at, "updatedAt": f.updated_at, "tags": f.tags});
    if let Some(o) = v.as_object_mut() {
        if let Some(d) = &f.description {
            o.insert("description".into(), json!(d));
        }
        if let Some(r) = &f.reason {
            o.insert("reason".into(), json!(r));
        }
    }
    v
}

fn criteria(ctx: &Ctx<'_>) -> Result<Option<Value>> {
    let Some(v) = ctx.get("filterCriteria") else {
        return Ok(None);
    };
    let parsed = Criteria::parse(Some(v), Scope::Findings)?;
    if parsed.is_empty() {
        return Err(InspectorApiError::field(
            "filterCriteria",
            "must set at least one criterion",
        ));
    }
    Ok(Some(v.clone()))
}

fn action(ctx: &Ctx<'_>) -> Result<Option<String>> {
    ctx.enum_opt("action", &["NONE", "SUPPRESS"])
}

/// The filter named by an ARN in the caller's account, authorized for `op`.
pub async fn load(ctx: &Ctx<'_>, op: &str, arn: &str) -> Result<Versioned<FilterRecord>> {
    let not_found = || InspectorApiError::ResourceNotFound(format!("Filter {arn} does not exist."));
    let parsed = parse_filter_arn(arn);
    let stored = match &parsed {
        Some((_, account, id)) if account == ctx.account() => {
            ctx.api
                .get::<FilterRecord>(c::FILTERS, &format!("{account}/{id}"))
                .await?
        }
        _ => None,
    };
    ctx.api
        .authorize(
            ctx.req,
            op,
            arn,
            stored.as_ref().map(|f| &f.value.tags),
            None,
        )
        .await?;
    if parsed.is_none() {
        return Err(InspectorApiError::field("arn", "is not a filter ARN"));
    }
    stored.ok_or_else(not_found)
}

async fn save(ctx: &Ctx<'_>, f: &FilterRecord, version: u64) -> Result<()> {
    let doc = serde_json::to_value(f)
        .map_err(|e| InspectorApiError::Internal(format!("filter does not encode: {e}")))?;
    ctx.api
        .store
        .put(
            c::FILTERS,
            &format!("{}/{}", f.owner_id, f.id),
            &doc,
            cond_of(version),
        )
        .await?;
    Ok(())
}

/// CreateFilter.
pub async fn create(ctx: &Ctx<'_>) -> Result<Done> {
    let name = ctx.str_req("name", 1, 128)?;
    let action = action(ctx)?.ok_or_else(|| InspectorApiError::field("action", "is required"))?;
    let crit =
        criteria(ctx)?.ok_or_else(|| InspectorApiError::field("filterCriteria", "is required"))?;
    let description = ctx.str_opt("description", 1, 512)?;
    let reason = ctx.str_opt("reason", 1, 512)?;
    let tags = parse_tags(ctx.get("tags"))?.unwrap_or_default();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let arn = filter_arn(ctx.region(), ctx.account(), &id);
    ctx.api
        .authorize(ctx.req, "CreateFilter", &arn, None, Some(&tags))
        .await?;
    let existing = ctx.api.filters_of(ctx.account()).await?;
    if existing.iter().any(|f| f.name == name) {
        return Err(InspectorApiError::BadRequest(format!(
            "A filter named {name} already exists."
        )));
    }
    if existing.len() >= MAX_FILTERS {
        return Err(InspectorApiError::QuotaExceeded {
            message: format!("An account can have at most {MAX_FILTERS} filters."),
            resource_id: ctx.account().to_owned(),
        });
    }
    let now = ctx.now();
    let f = FilterRecord {
        id,
        arn: arn.clone(),
        owner_id: ctx.account().to_owned(),
        name,
        action,
        criteria: crit,
        description,
        reason,
        tags,
        created_at: now,
        updated_at: now,
    };
    save(ctx, &f, 0).await?;
    if f.action == "SUPPRESS" {
        ctx.api.apply_filters(ctx.account()).await?;
    }
    Ok(Done::ok(json!({"arn": arn})))
}

/// UpdateFilter.
pub async fn update(ctx: &Ctx<'_>) -> Result<Done> {
    let arn = ctx.str_req("filterArn", 1, 128)?;
    let mut f = load(ctx, "UpdateFilter", &arn).await?;
    if let Some(n) = ctx.str_opt("name", 1, 128)? {
        f.value.name = n;
    }
    if let Some(a) = action(ctx)? {
        f.value.action = a;
    }
    if let Some(cr) = criteria(ctx)? {
        f.value.criteria = cr;
    }
    if let Some(d) = ctx.str_opt("description", 0, 512)? {
        f.value.description = Some(d).filter(|d| !d.is_empty());
    }
    if let Some(r) = ctx.str_opt("reason", 0, 512)? {
        f.value.reason = Some(r).filter(|r| !r.is_empty());
    }
    f.value.updated_at = ctx.now();
    save(ctx, &f.value, f.version).await?;
    ctx.api.apply_filters(ctx.account()).await?;
    Ok(Done::ok(json!({"arn": arn})))
}

/// DeleteFilter (findings it suppressed become `ACTIVE` again).
pub async fn delete(ctx: &Ctx<'_>) -> Result<Done> {
    let arn = ctx.str_req("arn", 1, 128)?;
    let f = load(ctx, "DeleteFilter", &arn).await?;
    ctx.api
        .store
        .delete(
            c::FILTERS,
            &format!("{}/{}", f.value.owner_id, f.value.id),
            cond_of(f.version),
        )
        .await?;
    ctx.api.apply_filters(ctx.account()).await?;
    Ok(Done::ok(json!({"arn": arn})))
}

/// ListFilters, in creation order.
pub async fn list(ctx: &Ctx<'_>) -> Result<Done> {
    ctx.authorize_any("ListFilters").await?;
    let action = action(ctx)?;
    let arns: Option<Vec<String>> = match ctx.get("arns") {
        None => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| InspectorApiError::field("arns", "must be strings"))
                })
                .collect::<Result<_>>()?,
        ),
        Some(_) => return Err(InspectorApiError::field("arns", "must be a list")),
    };
    for a in arns.iter().flatten() {
        check_len("arns", a, 1, 128)?;
    }
    let (limit, offset) = ctx.page_params(100, 100)?;
    let mut all = ctx.api.filters_of(ctx.account()).await?;
    all.sort_by(|a, b| {
        a.created_at
            .total_cmp(&b.created_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    let found: Vec<Value> = all
        .iter()
        .filter(|f| action.as_deref().is_none_or(|a| a == f.action))
        .filter(|f| arns.as_ref().is_none_or(|l| l.contains(&f.arn)))
        .map(render)
        .collect();
    let (page, next) = paginate(found, limit, offset);
    Ok(Done::read(with_token(json!({"filters": page}), next)))
}
