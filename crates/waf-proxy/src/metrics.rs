//! Prometheus metrics of the WAF proxy, recorded through the `metrics` facade (the binary installs the exporter).
//!
//! - `portcullis_waf_requests_total{web_acl, rule, action}`: requests per web ACL (its metric name) and rule
//!   (the rule's metric name; `ALL` for every request of the web ACL; the web ACL's own metric name for requests
//!   the default action decided), `action` ∈ `allowed`, `blocked`, `counted`, `captcha`, `challenge` — AWS's
//!   CloudWatch `AllowedRequests`, `BlockedRequests`, `CountedRequests`, `CaptchaRequests`,
//!   `ChallengeRequests`. Only for rules (and web ACLs) whose `CloudWatchMetricsEnabled` is true.
//! - `portcullis_waf_upstream_duration_seconds{pool}`: time from sending a request upstream to its response
//!   head.
//! - `portcullis_waf_upstream_errors_total{pool, kind}`: `kind` ∈ `connect`, `timeout`, `unavailable`,
//!   `other`.
//! - `portcullis_waf_rejected_requests_total{listener, reason}`: requests refused by hygiene checks before
//!   inspection, `reason` ∈ `smuggling`, `per_ip_limit`, `body_too_large`, `body_timeout`, `malformed_body`
//!   (per request), `header_timeout`, `head_too_large`, `malformed_head`, `tls_handshake_timeout` (per
//!   connection the HTTP/1 server side, the head watchdog or the TLS handshake gave up on).
//! - `portcullis_waf_log_records_dropped_total{sink}`: log records lost because a sink's queue was full.

use std::sync::Arc;

use metrics::SharedString;

use crate::detail::AclDetail;

fn shared(s: &Arc<str>) -> SharedString {
    SharedString::from(Arc::clone(s))
}

/// Counts one inspected request.
pub(crate) fn waf_request(d: &AclDetail) {
    let acl = &d.acl.visibility;
    if acl.metrics {
        metrics::counter!("portcullis_waf_requests_total", "web_acl" => shared(&acl.metric_name),
            "rule" => "ALL", "action" => d.action.metric_name())
        .increment(1);
    }
    let (rule_vis, action) = match &d.terminating {
        Some(t) => (&t.rule.visibility, t.action),
        None => (acl, d.action),
    };
    if rule_vis.metrics {
        metrics::counter!("portcullis_waf_requests_total", "web_acl" => shared(&acl.metric_name),
            "rule" => shared(&rule_vis.metric_name), "action" => action.metric_name())
        .increment(1);
    }
    for h in &d.non_terminating {
        if h.rule.visibility.metrics {
            metrics::counter!("portcullis_waf_requests_total", "web_acl" => shared(&acl.metric_name),
                "rule" => shared(&h.rule.visibility.metric_name), "action" => h.action.metric_name())
            .increment(1);
        }
    }
}

/// The histogram of the time to an upstream's response head, resolved once per route (the recorder is installed
/// before the proxy starts).
pub(crate) fn upstream_latency(pool: &Arc<str>) -> metrics::Histogram {
    metrics::histogram!("portcullis_waf_upstream_duration_seconds", "pool" => shared(pool))
}

/// Counts one failed upstream request.
pub(crate) fn upstream_error(pool: &Arc<str>, kind: &'static str) {
    metrics::counter!("portcullis_waf_upstream_errors_total", "pool" => shared(pool), "kind" => kind)
        .increment(1);
}

/// Counts one request refused before inspection.
pub(crate) fn rejected(listener: &Arc<str>, reason: &'static str) {
    metrics::counter!("portcullis_waf_rejected_requests_total", "listener" => shared(listener),
        "reason" => reason)
    .increment(1);
}

/// Counts one log record dropped by a full sink.
pub(crate) fn log_dropped(sink: &'static str) {
    metrics::counter!("portcullis_waf_log_records_dropped_total", "sink" => sink).increment(1);
}
