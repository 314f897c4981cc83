//! The operations, one module per group, the routing table (method + path, as the model's
//! `requestUri`s say) and what operations share.

pub mod detectors;
pub mod filters;
pub mod findings;
pub mod sets;
pub mod tags;

use std::collections::BTreeMap;

use http::Method;
use portcullis_http::ApiRequest;
use serde_json::{Map, Value};

use crate::error::{GuardApiError, Result};
use crate::state::{Detector, GuardApi, SetKind, Versioned, detector_arn};
use crate::wire::{decode_label, query_pairs};

/// What an operation sees.
pub struct Ctx<'a> {
    /// Shared state.
    pub api: &'a GuardApi,
    /// The request.
    pub req: &'a ApiRequest,
    /// The JSON body (an empty object for none).
    pub body: Map<String, Value>,
    /// URI labels by the model's member name (`DetectorId`, `FilterName`, ...).
    pub labels: BTreeMap<&'static str, String>,
    /// Query-string pairs.
    pub query: Vec<(String, String)>,
}

/// A finished operation: the reply body, its status and what the audit record keeps of it.
#[derive(Debug)]
pub struct Done {
    /// The JSON reply.
    pub body: Value,
    /// 200, or 204 for the tag writes.
    pub no_content: bool,
    /// Response elements for the audit record.
    pub audit: Value,
}

impl Done {
    /// A 200 reply whose audit elements are the body.
    pub fn ok(body: Value) -> Done {
        Done {
            audit: body.clone(),
            body,
            no_content: false,
        }
    }

    /// A 200 reply whose audit elements are empty (reads).
    pub fn read(body: Value) -> Done {
        Done {
            body,
            no_content: false,
            audit: Value::Null,
        }
    }
}

/// A fresh 32-hex identifier (detector, set and sample-finding IDs).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
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

    /// A URI label.
    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).map(String::as_str).unwrap_or("")
    }

    /// The ARN of the detector named in the path.
    pub fn detector_arn(&self) -> String {
        detector_arn(self.region(), self.account(), self.label("DetectorId"))
    }

    /// Authorizes `op` on `resource`, then loads the detector named in the path; a detector of
    /// another account or region is "not owned".
    pub async fn detector_for(&self, op: &str, resource: &str) -> Result<Versioned<Detector>> {
        let id = self.label("DetectorId");
        let d = self.api.detector_in(self.account(), self.region()).await?;
        let tags = d
            .as_ref()
            .filter(|d| d.value.id == id)
            .map(|d| &d.value.tags);
        self.api
            .authorize(self.req, op, resource, tags, None)
            .await?;
        d.filter(|d| d.value.id == id).ok_or_else(|| {
            GuardApiError::BadRequest(
                "The request is rejected because the input detectorId is not owned by the current account.".into(),
            )
        })
    }

    /// Authorizes `op` on the detector and loads it.
    pub async fn detector(&self, op: &str) -> Result<Versioned<Detector>> {
        self.detector_for(op, &self.detector_arn()).await
    }

    /// A body member.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.body.get(name).filter(|v| !v.is_null())
    }

    /// An optional string member.
    pub fn str_opt(&self, name: &str) -> Result<Option<String>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(GuardApiError::invalid(format!("{name} must be a string"))),
        }
    }

    /// A required string member of `min..=max` characters.
    pub fn str_req(&self, name: &str, min: usize, max: usize) -> Result<String> {
        let s = self
            .str_opt(name)?
            .ok_or_else(|| GuardApiError::invalid(format!("{name} is required")))?;
        check_len(name, &s, min, max)?;
        Ok(s)
    }

    /// An optional boolean member.
    pub fn bool_opt(&self, name: &str) -> Result<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(GuardApiError::invalid(format!("{name} must be a boolean"))),
        }
    }

    /// An optional integer member within `min..=max`.
    pub fn int_opt(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => match v.as_i64() {
                Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
                _ => Err(GuardApiError::invalid(format!(
                    "{name} must be an integer from {min} to {max}"
                ))),
            },
        }
    }

    /// A query-string parameter (the first, if repeated).
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `maxResults` and `nextToken` from the query string (GET lists) or the body.
    pub fn page_params(&self, max: i64, default: i64) -> Result<(usize, usize)> {
        let limit = match self.query("maxResults") {
            Some(q) => Some(
                q.parse::<i64>()
                    .map_err(|_| GuardApiError::invalid("maxResults must be an integer"))?,
            ),
            None => self.int_opt("maxResults", i64::MIN, i64::MAX)?,
        }
        .unwrap_or(default);
        if !(1..=max).contains(&limit) {
            return Err(GuardApiError::invalid(format!(
                "maxResults must be from 1 to {max}"
            )));
        }
        let token = match self.query("nextToken") {
            Some(t) => Some(t.to_owned()),
            None => self.str_opt("nextToken")?,
        };
        let offset = match token.as_deref() {
            None | Some("") => 0,
            Some(t) => parse_token(t)?,
        };
        Ok((usize::try_from(limit).unwrap_or(50), offset))
    }

    /// The current time.
    pub fn now(&self) -> time::OffsetDateTime {
        self.req.received_at
    }
}

/// Checks a string's length in characters.
pub fn check_len(name: &str, s: &str, min: usize, max: usize) -> Result<()> {
    let n = s.chars().count();
    if n < min || n > max {
        return Err(GuardApiError::invalid(format!(
            "{name} must be {min} to {max} characters long"
        )));
    }
    Ok(())
}

/// A page token: the offset of the next item.
pub fn make_token(offset: usize) -> String {
    format!("p{offset}")
}

fn parse_token(t: &str) -> Result<usize> {
    t.strip_prefix('p')
        .and_then(|n| n.parse::<usize>().ok())
        .ok_or_else(|| GuardApiError::invalid("nextToken is not a token this server issued"))
}

/// One page of `items` from `offset`, with the token of the next page.
pub fn paginate<T>(items: Vec<T>, limit: usize, offset: usize) -> (Vec<T>, Option<String>) {
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(offset).take(limit).collect();
    let end = offset.saturating_add(page.len());
    let next = (end < total).then(|| make_token(end));
    (page, next)
}

/// Adds `nextToken` to a reply object when there is one.
pub fn with_token(mut body: Value, next: Option<String>) -> Value {
    if let (Some(t), Some(o)) = (next, body.as_object_mut()) {
        o.insert("nextToken".into(), Value::String(t));
    }
    body
}

/// The operation for a method and path, and its URI labels.
pub fn route(
    method: &Method,
    path: &str,
) -> Option<(&'static str, BTreeMap<&'static str, String>)> {
    let mut labels = BTreeMap::new();
    if let Some(rest) = path.strip_prefix("/tags/") {
        labels.insert("ResourceArn", decode_label(rest));
        let op = match *method {
            Method::POST => "TagResource",
            Method::DELETE => "UntagResource",
            Method::GET => "ListTagsForResource",
            _ => return None,
        };
        return Some((op, labels));
    }
    let segs: Vec<String> = path
        .trim_start_matches('/')
        .trim_end_matches('/')
        .split('/')
        .map(decode_label)
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = method.as_str();
    let op = match (m, segs.as_slice()) {
        ("POST", ["detector"]) => "CreateDetector",
        ("GET", ["detector"]) => "ListDetectors",
        (_, ["detector", id, rest @ ..]) => {
            labels.insert("DetectorId", (*id).to_owned());
            match (m, rest) {
                ("GET", []) => "GetDetector",
                ("POST", []) => "UpdateDetector",
                ("DELETE", []) => "DeleteDetector",
                ("POST", ["findings"]) => "ListFindings",
                ("POST", ["findings", "get"]) => "GetFindings",
                ("POST", ["findings", "statistics"]) => "GetFindingsStatistics",
                ("POST", ["findings", "archive"]) => "ArchiveFindings",
                ("POST", ["findings", "unarchive"]) => "UnarchiveFindings",
                ("POST", ["findings", "feedback"]) => "UpdateFindingsFeedback",
                ("POST", ["findings", "create"]) => "CreateSampleFindings",
                ("POST", ["events"]) => "PutEvents",
                ("POST", ["filter"]) => "CreateFilter",
                ("GET", ["filter"]) => "ListFilters",
                (_, ["filter", name]) => {
                    labels.insert("FilterName", (*name).to_owned());
                    match m {
                        "GET" => "GetFilter",
                        "POST" => "UpdateFilter",
                        "DELETE" => "DeleteFilter",
                        _ => return None,
                    }
                }
                ("POST", ["ipset"]) => "CreateIPSet",
                ("GET", ["ipset"]) => "ListIPSets",
                (_, ["ipset", sid]) => {
                    labels.insert("IpSetId", (*sid).to_owned());
                    match m {
                        "GET" => "GetIPSet",
                        "POST" => "UpdateIPSet",
                        "DELETE" => "DeleteIPSet",
                        _ => return None,
                    }
                }
                ("POST", ["threatintelset"]) => "CreateThreatIntelSet",
                ("GET", ["threatintelset"]) => "ListThreatIntelSets",
                (_, ["threatintelset", sid]) => {
                    labels.insert("ThreatIntelSetId", (*sid).to_owned());
                    match m {
                        "GET" => "GetThreatIntelSet",
                        "POST" => "UpdateThreatIntelSet",
                        "DELETE" => "DeleteThreatIntelSet",
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    Some((op, labels))
}

/// Runs the operation named by `op`.
pub async fn dispatch(ctx: &Ctx<'_>, op: &str) -> Result<Done> {
    match op {
        "CreateDetector" => detectors::create(ctx).await,
        "GetDetector" => detectors::get(ctx).await,
        "ListDetectors" => detectors::list(ctx).await,
        "UpdateDetector" => detectors::update(ctx).await,
        "DeleteDetector" => detectors::delete(ctx).await,
        "ListFindings" => findings::list(ctx).await,
        "GetFindings" => findings::get(ctx).await,
        "GetFindingsStatistics" => findings::statistics(ctx).await,
        "ArchiveFindings" => findings::archive(ctx, true).await,
        "UnarchiveFindings" => findings::archive(ctx, false).await,
        "UpdateFindingsFeedback" => findings::feedback(ctx).await,
        "CreateSampleFindings" => findings::create_samples(ctx).await,
        "PutEvents" => crate::events::put(ctx).await,
        "CreateFilter" => filters::create(ctx).await,
        "GetFilter" => filters::get(ctx).await,
        "UpdateFilter" => filters::update(ctx).await,
        "DeleteFilter" => filters::delete(ctx).await,
        "ListFilters" => filters::list(ctx).await,
        "CreateIPSet" => sets::create(ctx, SetKind::IpSet).await,
        "GetIPSet" => sets::get(ctx, SetKind::IpSet).await,
        "UpdateIPSet" => sets::update(ctx, SetKind::IpSet).await,
        "DeleteIPSet" => sets::delete(ctx, SetKind::IpSet).await,
        "ListIPSets" => sets::list(ctx, SetKind::IpSet).await,
        "CreateThreatIntelSet" => sets::create(ctx, SetKind::ThreatIntelSet).await,
        "GetThreatIntelSet" => sets::get(ctx, SetKind::ThreatIntelSet).await,
        "UpdateThreatIntelSet" => sets::update(ctx, SetKind::ThreatIntelSet).await,
        "DeleteThreatIntelSet" => sets::delete(ctx, SetKind::ThreatIntelSet).await,
        "ListThreatIntelSets" => sets::list(ctx, SetKind::ThreatIntelSet).await,
        "TagResource" => tags::tag_resource(ctx).await,
        "UntagResource" => tags::untag_resource(ctx).await,
        "ListTagsForResource" => tags::list_tags(ctx).await,
        other => Err(GuardApiError::UnknownOperation(format!(
            "Operation {other} is not supported by this server."
        ))),
    }
}

/// Parses an optional `tags` map (1–200 entries; keys 1–128 characters, not `aws:`; values ≤ 256).
pub fn parse_tags(v: Option<&Value>) -> Result<Option<BTreeMap<String, String>>> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let m = v
        .as_object()
        .ok_or_else(|| GuardApiError::invalid("tags must be a map"))?;
    if m.is_empty() || m.len() > 200 {
        return Err(GuardApiError::invalid("tags must have 1 to 200 entries"));
    }
    let mut out = BTreeMap::new();
    for (k, v) in m {
        let Some(v) = v.as_str() else {
            return Err(GuardApiError::invalid("tag values must be strings"));
        };
        check_len("tag key", k, 1, 128)?;
        check_len("tag value", v, 0, 256)?;
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(GuardApiError::invalid("tag keys may not start with aws:"));
        }
        out.insert(k.clone(), v.to_owned());
    }
    Ok(Some(out))
}

/// Tags per resource at most \[doc: GuardDuty quotas\].
pub const MAX_TAGS: usize = 50;

/// Parses the request parts into a [`Ctx`] body and query.
pub fn parse_body(body: &[u8]) -> Result<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(GuardApiError::invalid("the body must be a JSON object")),
        Err(e) => Err(GuardApiError::invalid(format!("the body is not JSON: {e}"))),
    }
}

/// Query pairs of a request.
pub fn parse_query(req: &ApiRequest) -> Vec<(String, String)> {
    query_pairs(req.uri.query())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let (op, l) = route(&Method::POST, "/detector/abc/findings/get").unwrap();
        assert_eq!(op, "GetFindings");
        assert_eq!(l["DetectorId"], "abc");
        let (op, l) = route(&Method::GET, "/detector/abc/filter/my%20f").unwrap();
        assert_eq!(op, "GetFilter");
        assert_eq!(l["FilterName"], "my f");
        let (op, l) = route(
            &Method::DELETE,
            "/tags/arn%3Aaws%3Aguardduty%3Aus-east-1%3A1%3Adetector%2Fabc",
        )
        .unwrap();
        assert_eq!(op, "UntagResource");
        assert_eq!(
            l["ResourceArn"],
            "arn:aws:guardduty:us-east-1:1:detector/abc"
        );
        assert_eq!(route(&Method::GET, "/detector").unwrap().0, "ListDetectors");
        assert!(route(&Method::PUT, "/detector").is_none());
        assert!(route(&Method::GET, "/nothing").is_none());
        assert_eq!(
            route(&Method::DELETE, "/detector/a/threatintelset/b")
                .unwrap()
                .0,
            "DeleteThreatIntelSet"
        );
    }

    #[test]
    fn pages() {
        let (p, n) = paginate((0..5).collect::<Vec<_>>(), 2, 0);
        assert_eq!(p, vec![0, 1]);
        assert_eq!(n.as_deref(), Some("p2"));
        let (p, n) = paginate((0..5).collect::<Vec<_>>(), 2, 4);
        assert_eq!(p, vec![4]);
        assert!(n.is_none());
        assert!(parse_token("zz").is_err());
    }
}
