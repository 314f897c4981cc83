//! GetSampledRequests: samples from the [`SampleSource`](crate::read::SampleSource) the proxy nodes
//! feed; without one, an empty sample of population 0 over the (clamped) window asked for.

use portcullis_waf_model::ParameterExceptionField as F;
use portcullis_waf_model::validate::check::{REASON_INVALID_FORMAT, REASON_MISSING};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::{Ctx, Done};
use crate::arn::{Kind, parse_resource_arn};
use crate::error::{Result, WafError};

/// How far back samples reach \[model: "within the previous three hours"\].
pub const SAMPLE_HORIZON: Duration = Duration::hours(3);

fn timestamp(v: Option<&Value>, name: &str) -> Result<OffsetDateTime> {
    let v = v
        .filter(|v| !v.is_null())
        .ok_or_else(|| WafError::invalid(F::ExpireTimestamp, name, REASON_MISSING))?;
    let parsed = match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(|f| OffsetDateTime::from_unix_timestamp_nanos((f * 1e9) as i128).ok()),
        Value::String(s) => {
            OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
        }
        _ => None,
    };
    parsed.ok_or_else(|| WafError::invalid(F::ExpireTimestamp, name, REASON_INVALID_FORMAT))
}

fn epoch(t: OffsetDateTime) -> Value {
    json!(t.unix_timestamp())
}

/// GetSampledRequests.
pub async fn get_sampled_requests(ctx: &Ctx<'_>) -> Result<Done> {
    let acl_arn = ctx.input.arn("WebAclArn")?;
    let metric = ctx
        .input
        .str_req("RuleMetricName", F::MetricName)?
        .to_owned();
    if metric.is_empty() || metric.len() > 255 {
        return Err(WafError::invalid(
            F::MetricName,
            metric,
            REASON_INVALID_FORMAT,
        ));
    }
    ctx.input.scope()?;
    let max = ctx
        .input
        .int_opt("MaxItems", 1..=500, F::EntityLimit)?
        .ok_or_else(|| WafError::invalid(F::EntityLimit, "MaxItems", REASON_MISSING))?;
    let window = ctx
        .input
        .get("TimeWindow")
        .ok_or_else(|| WafError::invalid(F::ExpireTimestamp, "TimeWindow", REASON_MISSING))?;
    let start = timestamp(window.get("StartTime"), "StartTime")?;
    let end = timestamp(window.get("EndTime"), "EndTime")?;
    if end < start {
        return Err(WafError::invalid(
            F::ExpireTimestamp,
            "TimeWindow",
            REASON_INVALID_FORMAT,
        ));
    }
    let acl = ctx.waf.entity_by_arn(&acl_arn).await?;
    ctx.waf
        .authorize(
            ctx.req,
            "GetSampledRequests",
            &acl_arn,
            acl.as_ref().map(|e| &e.value.tags),
            None,
        )
        .await?;
    if parse_resource_arn(&acl_arn).is_none_or(|p| p.kind != Kind::WebAcl) || acl.is_none() {
        return Err(WafError::Nonexistent(format!(
            "WAF couldn't perform the operation because your resource doesn't exist: {acl_arn}."
        )));
    }
    let start = start.max(ctx.now() - SAMPLE_HORIZON);
    let end = end.max(start);
    let (samples, population) = match ctx.waf.sample_source() {
        Some(src) => src.sampled(
            &acl_arn,
            &metric,
            start,
            end,
            u32::try_from(max).unwrap_or(500),
        ),
        None => (Vec::new(), 0),
    };
    Ok(Done::plain(json!({
        "SampledRequests": samples,
        "PopulationSize": population,
        "TimeWindow": {"StartTime": epoch(start), "EndTime": epoch(end)},
    })))
}
