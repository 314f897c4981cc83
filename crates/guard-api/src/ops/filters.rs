//! Filters: CreateFilter, GetFilter, UpdateFilter, DeleteFilter, ListFilters. An ARCHIVE filter
//! is a suppression rule: it archives the findings it matches when it is saved and as they arrive.

use serde_json::{Value, json};

use super::{Ctx, Done, check_len, paginate, parse_tags, with_token};
use crate::criteria::Criteria;
use crate::error::{GuardApiError, Result};
use crate::ingest::suppress;
use crate::state::{Filter, Versioned, collections as c, cond_of};

/// Saved filters per detector at most \[model doc\].
pub const MAX_FILTERS: usize = 100;

fn filter_arn(ctx: &Ctx<'_>, name: &str) -> String {
    format!("{}/filter/{name}", ctx.detector_arn())
}

fn check_name(name: &str) -> Result<()> {
    check_len("name", name, 3, 64)?;
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(GuardApiError::invalid(
            "name may contain only letters, digits, '-', '_' and '.'",
        ));
    }
    Ok(())
}

fn action(ctx: &Ctx<'_>) -> Result<Option<String>> {
    match ctx.str_opt("action")?.as_deref() {
        None => Ok(None),
        Some(a @ ("NOOP" | "ARCHIVE")) => Ok(Some(a.to_owned())),
        Some(a) => Err(GuardApiError::invalid(format!("action {a}"))),
    }
}

fn criteria(ctx: &Ctx<'_>) -> Result<Option<Value>> {
    let Some(v) = ctx.get("findingCriteria") else {
        return Ok(None);
    };
    if Criteria::parse(Some(v))?.is_empty() {
        return Err(GuardApiError::invalid(
            "findingCriteria must have at least one criterion",
        ));
    }
    Ok(Some(v.clone()))
}

fn description(ctx: &Ctx<'_>) -> Result<Option<String>> {
    let d = ctx.str_opt("description")?;
    if let Some(d) = &d {
        check_len("description", d, 0, 512)?;
    }
    Ok(d)
}

/// Archives the detector's current findings an ARCHIVE filter matches.
async fn apply_archive(ctx: &Ctx<'_>, detector_id: &str, f: &Filter) -> Result<()> {
    if f.action != "ARCHIVE" {
        return Ok(());
    }
    let crit = Criteria::parse(Some(&f.finding_criteria))?;
    let filters = vec![(f.name.clone(), crit)];
    for (mut doc, version) in ctx.api.findings_of(detector_id).await? {
        if suppress(&mut doc, &filters) {
            let key = format!("{detector_id}/{}", crate::criteria::id_of(&doc));
            match ctx
                .api
                .store
                .put(c::FINDINGS, &key, &doc, cond_of(version))
                .await
            {
                Ok(_) => {}
                // A concurrent ingest rewrote it and applied the filters itself.
                Err(e) if e.is_condition_failed() => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

async fn load(ctx: &Ctx<'_>, op: &str) -> Result<(String, Versioned<Filter>)> {
    let name = ctx.label("FilterName").to_owned();
    let d = ctx.detector_for(op, &filter_arn(ctx, &name)).await?;
    let f = ctx
        .api
        .get::<Filter>(c::FILTERS, &format!("{}/{name}", d.value.id))
        .await?
        .ok_or_else(|| {
            GuardApiError::BadRequest(
                "The request is rejected since no such resource found.".into(),
            )
        })?;
    Ok((d.value.id, f))
}

fn put(detector_id: &str, f: &Versioned<Filter>) -> Result<(String, Value)> {
    let v = serde_json::to_value(&f.value).map_err(|e| GuardApiError::Internal(e.to_string()))?;
    Ok((format!("{detector_id}/{}", f.value.name), v))
}

/// CreateFilter.
pub async fn create(ctx: &Ctx<'_>) -> Result<Done> {
    let name = ctx.str_req("name", 0, usize::MAX)?;
    let tags = parse_tags(ctx.get("tags"))?;
    let d = ctx
        .detector_for("CreateFilter", &filter_arn(ctx, &name))
        .await?;
    check_name(&name)?;
    let crit =
        criteria(ctx)?.ok_or_else(|| GuardApiError::invalid("findingCriteria is required"))?;
    let existing = ctx
        .api
        .list::<Filter>(c::FILTERS, &format!("{}/", d.value.id))
        .await?;
    if existing.iter().any(|f| f.value.name == name) {
        return Err(GuardApiError::BadRequest(
            "The request is rejected because a filter with the same name already exists.".into(),
        ));
    }
    if existing.len() >= MAX_FILTERS {
        return Err(GuardApiError::BadRequest(format!(
            "The request is rejected because the number of filters exceeds the limit of {MAX_FILTERS}."
        )));
    }
    let rank = ctx
        .int_opt("rank", 1, 100)?
        .unwrap_or_else(|| i64::try_from(existing.len() + 1).unwrap_or(100).min(100));
    let now = ctx.now().unix_timestamp();
    let f = Versioned {
        value: Filter {
            name: name.clone(),
            description: description(ctx)?,
            action: action(ctx)?.unwrap_or_else(|| "NOOP".into()),
            rank,
            finding_criteria: crit,
            tags: tags.unwrap_or_default(),
            created_at: now,
            updated_at: now,
            version: 1,
        },
        version: 0,
    };
    let (key, v) = put(&d.value.id, &f)?;
    match ctx.api.store.put(c::FILTERS, &key, &v, cond_of(0)).await {
        Ok(_) => {}
        Err(e) if e.is_condition_failed() => {
            return Err(GuardApiError::BadRequest(
                "The request is rejected because a filter with the same name already exists."
                    .into(),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    apply_archive(ctx, &d.value.id, &f.value).await?;
    Ok(Done::ok(json!({"name": name})))
}

/// GetFilter.
pub async fn get(ctx: &Ctx<'_>) -> Result<Done> {
    let (_, f) = load(ctx, "GetFilter").await?;
    let f = f.value;
    let mut body = json!({"name": f.name, "action": f.action, "rank": f.rank, "findingCriteria": f.finding_criteria,
        "tags": f.tags, "createdAt": f.created_at, "updatedAt": f.updated_at, "version": f.version});
    if let (Some(d), Some(o)) = (f.description, body.as_object_mut()) {
        o.insert("description".into(), json!(d));
    }
    Ok(Done::read(body))
}

/// UpdateFilter.
pub async fn update(ctx: &Ctx<'_>) -> Result<Done> {
    let (det, mut f) = load(ctx, "UpdateFilter").await?;
    if let Some(d) = description(ctx)? {
        f.value.description = Some(d);
    }
    if let Some(a) = action(ctx)? {
        f.value.action = a;
    }
    if let Some(r) = ctx.int_opt("rank", 1, 100)? {
        f.value.rank = r;
    }
    if let Some(c) = criteria(ctx)? {
        f.value.finding_criteria = c;
    }
    f.value.updated_at = ctx.now().unix_timestamp();
    f.value.version += 1;
    let (key, v) = put(&det, &f)?;
    ctx.api
        .store
        .put(c::FILTERS, &key, &v, cond_of(f.version))
        .await?;
    apply_archive(ctx, &det, &f.value).await?;
    Ok(Done::ok(json!({"name": f.value.name})))
}

/// DeleteFilter (findings it archived stay archived, as in GuardDuty).
pub async fn delete(ctx: &Ctx<'_>) -> Result<Done> {
    let (det, f) = load(ctx, "DeleteFilter").await?;
    ctx.api
        .store
        .delete(
            c::FILTERS,
            &format!("{det}/{}", f.value.name),
            cond_of(f.version),
        )
        .await?;
    Ok(Done::ok(json!({})))
}

/// ListFilters: names in name order.
pub async fn list(ctx: &Ctx<'_>) -> Result<Done> {
    let d = ctx.detector("ListFilters").await?;
    let (limit, offset) = ctx.page_params(50, 50)?;
    let names: Vec<String> = ctx
        .api
        .list::<Filter>(c::FILTERS, &format!("{}/", d.value.id))
        .await?
        .into_iter()
        .map(|f| f.value.name)
        .collect();
    let (page, next) = paginate(names, limit, offset);
    Ok(Done::read(with_token(json!({"filterNames": page}), next)))
}
