//! The operations, one module per group, the routing table (method + path, as the model's
//! `requestUri`s say, plus Portcullis's `POST /agent/report`, `/network/import` and `/network/get`) and what operations share.

pub mod agent;
pub mod coverage;
pub mod filters;
pub mod findings;
pub mod network;
pub mod reports;
pub mod sbom;
pub mod tags;

use std::collections::BTreeMap;

use http::Method;
use portcullis_http::ApiRequest;
use serde_json::{Map, Value};

use crate::error::{InspectorApiError, Result};
use crate::state::{InspectorApi, secs};

/// What an operation sees.
pub struct Ctx<'a> {
    /// Shared state.
    pub api: &'a InspectorApi,
    /// The request.
    pub req: &'a ApiRequest,
    /// The JSON body (an empty object for none).
    pub body: Map<String, Value>,
    /// The `resourceArn` URI label of the tag operations.
    pub resource_arn: Option<String>,
    /// Query-string pairs.
    pub query: Vec<(String, String)>,
}

/// A finished operation: the reply body and what the audit record keeps of it.
#[derive(Debug)]
pub struct Done {
    /// The JSON reply.
    pub body: Value,
    /// Response elements for the audit record.
    pub audit: Value,
}

impl Done {
    /// A reply whose audit elements are the body (writes).
    pub fn ok(body: Value) -> Done {
        Done {
            audit: body.clone(),
            body,
        }
    }

    /// A reply whose audit elements are empty (reads).
    pub fn read(body: Value) -> Done {
        Done {
            body,
            audit: Value::Null,
        }
    }
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

    /// The current time, Unix seconds.
    pub fn now(&self) -> f64 {
        secs(self.req.received_at)
    }

    /// A body member (absent when `null`).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.body.get(name).filter(|v| !v.is_null())
    }

    /// An optional string member of `min..=max` characters.
    pub fn str_opt(&self, name: &str, min: usize, max: usize) -> Result<Option<String>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => {
                check_len(name, s, min, max)?;
                Ok(Some(s.clone()))
            }
            Some(_) => Err(InspectorApiError::field(name, "must be a string")),
        }
    }

    /// A required string member of `min..=max` characters.
    pub fn str_req(&self, name: &str, min: usize, max: usize) -> Result<String> {
        self.str_opt(name, min, max)?
            .ok_or_else(|| InspectorApiError::field(name, "is required"))
    }

    /// An optional enum member.
    pub fn enum_opt(&self, name: &str, allowed: &[&str]) -> Result<Option<String>> {
        match self.str_opt(name, 1, 64)? {
            Some(s) if allowed.contains(&s.as_str()) => Ok(Some(s)),
            Some(_) => Err(InspectorApiError::field(
                name,
                format!("must be one of {}", allowed.join(", ")),
            )),
            None => Ok(None),
        }
    }

    /// `maxResults` (1..=`max`, default `default`) and the offset in `nextToken`.
    pub fn page_params(&self, max: i64, default: i64) -> Result<(usize, usize)> {
        let limit = match self.get("maxResults") {
            None => default,
            Some(v) => v
                .as_i64()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    InspectorApiError::field("maxResults", format!("must be from 1 to {max}"))
                })?,
        };
        let offset = match self.str_opt("nextToken", 0, 1_000_000)?.as_deref() {
            None | Some("") => 0,
            Some(t) => parse_token(t)?,
        };
        Ok((usize::try_from(limit).unwrap_or(1), offset))
    }

    /// Authorizes `op` on `*` (list and aggregate operations).
    pub async fn authorize_any(&self, op: &str) -> Result<()> {
        self.api.authorize(self.req, op, "*", None, None).await
    }
}

/// Checks a string's length in characters.
pub fn check_len(name: &str, s: &str, min: usize, max: usize) -> Result<()> {
    let n = s.chars().count();
    if n < min || n > max {
        return Err(InspectorApiError::field(
            name,
            format!("must be {min} to {max} characters long"),
        ));
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
        .ok_or_else(|| InspectorApiError::field("nextToken", "is not a token this server issued"))
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

/// Decodes `%XX` escapes (invalid escapes are kept literally).
pub fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The query string as decoded `(name, value)` pairs, in order.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    let Some(q) = query else {
        return Vec::new();
    };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(&k.replace('+', " ")), decode(&v.replace('+', " ")))
        })
        .collect()
}

/// The operation for a method and path, and the `resourceArn` label of the tag operations.
pub fn route(method: &Method, path: &str) -> Option<(&'static str, Option<String>)> {
    if let Some(rest) = path.strip_prefix("/tags/") {
        let op = match *method {
            Method::POST => "TagResource",
            Method::DELETE => "UntagResource",
            Method::GET => "ListTagsForResource",
            _ => return None,
        };
        return Some((op, Some(decode(rest))));
    }
    if *method != Method::POST {
        return None;
    }
    let op = match path.trim_end_matches('/') {
        "/agent/report" => "PutInventory",
        "/findings/list" => "ListFindings",
        "/findings/details/batch/get" => "BatchGetFindingDetails",
        "/findings/aggregation/list" => "ListFindingAggregations",
        "/coverage/list" => "ListCoverage",
        "/coverage/statistics/list" => "ListCoverageStatistics",
        "/filters/create" => "CreateFilter",
        "/filters/update" => "UpdateFilter",
        "/filters/delete" => "DeleteFilter",
        "/filters/list" => "ListFilters",
        "/sbomexport/create" => "CreateSbomExport",
        "/sbomexport/get" => "GetSbomExport",
        "/network/import" => "PutNetworkConfiguration",
        "/network/get" => "GetNetworkConfiguration",
        "/reporting/create" => "CreateFindingsReport",
        "/reporting/status/get" => "GetFindingsReportStatus",
        "/reporting/cancel" => "CancelFindingsReport",
        _ => return None,
    };
    Some((op, None))
}

/// Runs the operation named by `op`.
pub async fn dispatch(ctx: &Ctx<'_>, op: &str) -> Result<Done> {
    match op {
        "PutInventory" => agent::put_inventory(ctx).await,
        "ListFindings" => findings::list(ctx).await,
        "BatchGetFindingDetails" => findings::details(ctx).await,
        "ListFindingAggregations" => findings::aggregations(ctx).await,
        "ListCoverage" => coverage::list(ctx).await,
        "ListCoverageStatistics" => coverage::statistics(ctx).await,
        "CreateFilter" => filters::create(ctx).await,
        "UpdateFilter" => filters::update(ctx).await,
        "DeleteFilter" => filters::delete(ctx).await,
        "ListFilters" => filters::list(ctx).await,
        "CreateSbomExport" => sbom::create(ctx).await,
        "GetSbomExport" => sbom::get(ctx).await,
        "PutNetworkConfiguration" => network::put(ctx).await,
        "GetNetworkConfiguration" => network::get(ctx).await,
        "CreateFindingsReport" => reports::create(ctx).await,
        "GetFindingsReportStatus" => reports::status(ctx).await,
        "CancelFindingsReport" => reports::cancel(ctx).await,
        "TagResource" => tags::tag_resource(ctx).await,
        "UntagResource" => tags::untag_resource(ctx).await,
        "ListTagsForResource" => tags::list_tags(ctx).await,
        other => Err(InspectorApiError::UnknownOperation(format!(
            "Operation {other} is not supported by this server."
        ))),
    }
}

/// Parses an optional `tags` map (keys 1–128 characters, not `aws:`; values ≤ 256).
pub fn parse_tags(v: Option<&Value>) -> Result<Option<BTreeMap<String, String>>> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let m = v
        .as_object()
        .ok_or_else(|| InspectorApiError::field("tags", "must be a map"))?;
    if m.len() > MAX_TAGS {
        return Err(InspectorApiError::field(
            "tags",
            format!("at most {MAX_TAGS} tags"),
        ));
    }
    let mut out = BTreeMap::new();
    for (k, v) in m {
        let Some(v) = v.as_str() else {
            return Err(InspectorApiError::field("tags", "values must be strings"));
        };
        check_len("tags key", k, 1, 128)?;
        check_len("tags value", v, 0, 256)?;
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(InspectorApiError::field(
                "tags",
                "keys may not start with aws:",
            ));
        }
        out.insert(k.clone(), v.to_owned());
    }
    Ok(Some(out))
}

/// Tags per resource at most.
pub const MAX_TAGS: usize = 50;

/// Parses a JSON object body (empty: `{}`).
pub fn parse_body(body: &[u8]) -> Result<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(InspectorApiError::cannot_parse(
            "The body must be a JSON object.",
        )),
        Err(e) => Err(InspectorApiError::cannot_parse(format!(
            "The body is not JSON: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            route(&Method::POST, "/findings/list").map(|r| r.0),
            Some("ListFindings")
        );
        assert_eq!(
            route(&Method::POST, "/agent/report").map(|r| r.0),
            Some("PutInventory")
        );
        assert_eq!(route(&Method::GET, "/findings/list"), None);
        let (op, arn) = route(&Method::DELETE, "/tags/arn%3Aaws%3Ax").unwrap();
        assert_eq!((op, arn.as_deref()), ("UntagResource", Some("arn:aws:x")));
        assert_eq!(route(&Method::POST, "/nothing"), None);
    }

    #[test]
    fn pages_and_queries() {
        let (p, next) = paginate((0..5).collect(), 2, 0);
        assert_eq!((p, next.as_deref()), (vec![0, 1], Some("p2")));
        let (p, next) = paginate((0..5).collect(), 2, 4);
        assert_eq!((p, next), (vec![4], None));
        assert_eq!(parse_token("p7").unwrap(), 7);
        assert!(parse_token("x").is_err());
        let q = query_pairs(Some("tagKeys=a&tagKeys=b%20c"));
        assert_eq!(q[1], ("tagKeys".into(), "b c".into()));
        assert!(parse_body(b"[1]").is_err());
        assert!(parse_body(b"  ").unwrap().is_empty());
        assert!(parse_tags(Some(&serde_json::json!({"aws:x": "v"}))).is_err());
    }
}
