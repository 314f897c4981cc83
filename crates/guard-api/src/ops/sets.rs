//! Trusted IP lists and threat lists: Create/Get/Update/Delete/List for `IPSet` and
//! `ThreatIntelSet`. A local location (`file://...` or an absolute path) is read and parsed with
//! `portcullis-guard-core`'s list parser when the list is activated: status `ACTIVE` when it
//! loads, `ERROR` when it cannot be read or holds no valid entry. Remote locations (S3, HTTPS)
//! are stored as given and not fetched.

use portcullis_guard_core::intel::{ListFormat, ThreatIntel};
use serde_json::{Value, json};

use super::{Ctx, Done, check_len, new_id, paginate, parse_tags, with_token};
use crate::error::{GuardApiError, Result};
use crate::state::{ListSet, SetKind, Versioned, collections as c, cond_of};

/// The largest list file read \[doc: 35 MB\].
pub const MAX_FILE_BYTES: u64 = 35 * 1024 * 1024;

const FORMATS: &[&str] = &[
    "TXT",
    "STIX",
    "OTX_CSV",
    "ALIEN_VAULT",
    "PROOF_POINT",
    "FIRE_EYE",
];

fn id_label(kind: SetKind) -> &'static str {
    match kind {
        SetKind::IpSet => "IpSetId",
        SetKind::ThreatIntelSet => "ThreatIntelSetId",
    }
}

fn op_name(verb: &str, kind: SetKind) -> String {
    match kind {
        SetKind::IpSet => format!("{verb}IPSet"),
        SetKind::ThreatIntelSet => format!("{verb}ThreatIntelSet"),
    }
}

fn set_arn(ctx: &Ctx<'_>, kind: SetKind, id: &str) -> String {
    format!("{}/{}/{id}", ctx.detector_arn(), kind.segment())
}

/// The local file a location names, if it is local.
pub fn local_path(location: &str) -> Option<&str> {
    if let Some(p) = location.strip_prefix("file://") {
        return Some(p);
    }
    location.starts_with('/').then_some(location)
}

fn check_location(location: &str) -> Result<()> {
    check_len("location", location, 1, 300)?;
    let ok = local_path(location).is_some()
        || ["s3://", "https://", "http://"]
            .iter()
            .any(|p| location.starts_with(p));
    if ok {
        Ok(())
    } else {
        Err(GuardApiError::invalid(format!(
            "location {location} is not an S3, HTTPS or local file location"
        )))
    }
}

/// Reads a local list file (at most [`MAX_FILE_BYTES`]) as text.
pub async fn read_local(path: &str) -> std::result::Result<String, String> {
    let path = path.to_owned();
    let bytes = tokio::task::spawn_blocking(move || -> std::result::Result<Vec<u8>, String> {
        let meta = std::fs::metadata(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
        if meta.len() > MAX_FILE_BYTES {
            return Err(format!("{path} is larger than {MAX_FILE_BYTES} bytes"));
        }
        std::fs::read(&path).map_err(|e| format!("cannot read {path}: {e}"))
    })
    .await
    .map_err(|e| format!("reader failed: {e}"))??;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Parses a list's text into `intel` under the list's name; the entries loaded, or why the list
/// is unusable (unknown or unsupported format, no valid entry, too many entries).
pub fn load_text(
    intel: &mut ThreatIntel,
    text: &str,
    format: &str,
    name: &str,
    max_entries: usize,
) -> std::result::Result<usize, String> {
    let Some(fmt) = ListFormat::from_api_name(format) else {
        return Err(format!("unknown format {format}"));
    };
    let report = intel
        .load(text, fmt, name, "custom")
        .map_err(|e| e.to_string())?;
    if report.loaded == 0 && !report.errors.is_empty() {
        return Err(format!("no valid entry ({} invalid)", report.errors.len()));
    }
    if report.loaded > max_entries {
        return Err(format!(
            "{} entries exceed the limit of {max_entries}",
            report.loaded
        ));
    }
    Ok(report.loaded)
}

/// Reads and parses a local list: the entries loaded, or why it cannot be used.
pub async fn load_local(
    path: &str,
    format: &str,
    name: &str,
    max_entries: usize,
) -> std::result::Result<usize, String> {
    let text = read_local(path).await?;
    load_text(&mut ThreatIntel::new(), &text, format, name, max_entries)
}

async fn activate(set: &mut ListSet, on: bool) {
    set.entries = None;
    set.error = None;
    if !on {
        set.status = "INACTIVE".into();
        return;
    }
    match local_path(&set.location) {
        Some(p) => match load_local(p, &set.format, &set.name, set.kind.max_entries()).await {
            Ok(n) => {
                set.status = "ACTIVE".into();
                set.entries = Some(n);
            }
            Err(e) => {
                set.status = "ERROR".into();
                set.error = Some(e);
            }
        },
        None => set.status = "ACTIVE".into(),
    }
}

fn store_value(s: &ListSet) -> Result<Value> {
    serde_json::to_value(s).map_err(|e| GuardApiError::Internal(e.to_string()))
}

/// CreateIPSet / CreateThreatIntelSet.
pub async fn create(ctx: &Ctx<'_>, kind: SetKind) -> Result<Done> {
    let tags = parse_tags(ctx.get("tags"))?;
    let id = new_id();
    let d = ctx
        .detector_for(&op_name("Create", kind), &set_arn(ctx, kind, &id))
        .await?;
    let name = ctx.str_req("name", 1, 300)?;
    let format = ctx.str_req("format", 1, 300)?;
    if !FORMATS.contains(&format.as_str()) {
        return Err(GuardApiError::invalid(format!("format {format}")));
    }
    let location = ctx.str_req("location", 1, 300)?;
    check_location(&location)?;
    let on = ctx
        .bool_opt("activate")?
        .ok_or_else(|| GuardApiError::invalid("activate is required"))?;
    let owner = ctx.str_opt("expectedBucketOwner")?;
    if let Some(o) = &owner {
        check_len("expectedBucketOwner", o, 12, 12)?;
    }
    let prefix = format!("{}/{}/", d.value.id, kind.segment());
    let existing = ctx.api.list::<ListSet>(c::SETS, &prefix).await?;
    if existing.len() >= kind.quota() {
        return Err(GuardApiError::BadRequest(format!(
            "The request is rejected because the current account cannot create more than {} {}.",
            kind.quota(),
            match kind {
                SetKind::IpSet => "IPSet(s)",
                SetKind::ThreatIntelSet => "ThreatIntelSets",
            }
        )));
    }
    if existing.iter().any(|s| s.value.name == name) {
        return Err(GuardApiError::BadRequest(
            "The request is rejected because a list with the same name already exists.".into(),
        ));
    }
    let now = ctx.now().unix_timestamp();
    let mut set = ListSet {
        id: id.clone(),
        kind,
        name,
        format,
        location,
        status: "INACTIVE".into(),
        expected_bucket_owner: owner,
        tags: tags.unwrap_or_default(),
        entries: None,
        error: None,
        created_at: now,
        updated_at: now,
    };
    activate(&mut set, on).await;
    ctx.api
        .store
        .put(
            c::SETS,
            &format!("{prefix}{id}"),
            &store_value(&set)?,
            cond_of(0),
        )
        .await?;
    ctx.api.lists_changed();
    let member = match kind {
        SetKind::IpSet => "ipSetId",
        SetKind::ThreatIntelSet => "threatIntelSetId",
    };
    Ok(Done::ok(json!({ member: id })))
}

async fn load(ctx: &Ctx<'_>, kind: SetKind, verb: &str) -> Result<(String, Versioned<ListSet>)> {
    let id = ctx.label(id_label(kind)).to_owned();
    let d = ctx
        .detector_for(&op_name(verb, kind), &set_arn(ctx, kind, &id))
        .await?;
    let key = format!("{}/{}/{id}", d.value.id, kind.segment());
    let s = ctx
        .api
        .get::<ListSet>(c::SETS, &key)
        .await?
        .ok_or_else(|| {
            GuardApiError::BadRequest(
                "The request is rejected since no such resource found.".into(),
            )
        })?;
    Ok((key, s))
}

/// GetIPSet / GetThreatIntelSet.
pub async fn get(ctx: &Ctx<'_>, kind: SetKind) -> Result<Done> {
    let (_, s) = load(ctx, kind, "Get").await?;
    let s = s.value;
    let mut body = json!({"name": s.name, "format": s.format, "location": s.location, "status": s.status, "tags": s.tags});
    if let (Some(o), Some(b)) = (s.expected_bucket_owner, body.as_object_mut()) {
        b.insert("expectedBucketOwner".into(), json!(o));
    }
    Ok(Done::read(body))
}

/// UpdateIPSet / UpdateThreatIntelSet: a changed location or `activate` reloads the list.
pub async fn update(ctx: &Ctx<'_>, kind: SetKind) -> Result<Done> {
    let (key, mut s) = load(ctx, kind, "Update").await?;
    if let Some(n) = ctx.str_opt("name")? {
        check_len("name", &n, 1, 300)?;
        s.value.name = n;
    }
    let mut reload = false;
    if let Some(l) = ctx.str_opt("location")? {
        check_location(&l)?;
        reload |= l != s.value.location;
        s.value.location = l;
    }
    if let Some(o) = ctx.str_opt("expectedBucketOwner")? {
        check_len("expectedBucketOwner", &o, 12, 12)?;
        s.value.expected_bucket_owner = Some(o);
    }
    let on = match ctx.bool_opt("activate")? {
        Some(a) => {
            reload = true;
            a
        }
        None => s.value.status != "INACTIVE",
    };
    if reload {
        activate(&mut s.value, on).await;
    }
    s.value.updated_at = ctx.now().unix_timestamp();
    ctx.api
        .store
        .put(c::SETS, &key, &store_value(&s.value)?, cond_of(s.version))
        .await?;
    ctx.api.lists_changed();
    Ok(Done::ok(json!({})))
}

/// DeleteIPSet / DeleteThreatIntelSet.
pub async fn delete(ctx: &Ctx<'_>, kind: SetKind) -> Result<Done> {
    let (key, s) = load(ctx, kind, "Delete").await?;
    ctx.api
        .store
        .delete(c::SETS, &key, cond_of(s.version))
        .await?;
    ctx.api.lists_changed();
    Ok(Done::ok(json!({})))
}

/// ListIPSets / ListThreatIntelSets.
pub async fn list(ctx: &Ctx<'_>, kind: SetKind) -> Result<Done> {
    let d = ctx
        .detector(&op_name("List", kind).replace("Set", "Sets"))
        .await?;
    let (limit, offset) = ctx.page_params(50, 50)?;
    let ids: Vec<String> = ctx
        .api
        .list::<ListSet>(c::SETS, &format!("{}/{}/", d.value.id, kind.segment()))
        .await?
        .into_iter()
        .map(|s| s.value.id)
        .collect();
    let (page, next) = paginate(ids, limit, offset);
    let member = match kind {
        SetKind::IpSet => "ipSetIds",
        SetKind::ThreatIntelSet => "threatIntelSetIds",
    };
    Ok(Done::read(with_token(json!({ member: page }), next)))
}
