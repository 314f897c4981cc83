//! The adapter from the web ACL engine ([`portcullis_waf_core::CompiledAcl`]) to the proxy's [`Inspector`].

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use portcullis_waf_core::rate::{InMemoryRateCounter, RateCounter};
use portcullis_waf_core::{CompiledAcl, EvalEnv, FinalAction};
use portcullis_waf_request::Request;

use crate::inspect::{BlockResponse, Decision, InspectError, Inspector};

/// Runs a compiled web ACL on each request.
pub struct AclInspector {
    acl: CompiledAcl,
    rate: Arc<dyn RateCounter>,
}

impl std::fmt::Debug for AclInspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AclInspector")
            .field("acl", &self.acl.name())
            .finish_non_exhaustive()
    }
}

impl AclInspector {
    /// Inspect with `acl`, counting rate-based rules in `rate` (share one counter between ACL versions so that a
    /// hot swap does not reset unrelated counters; Redis-backed counters come later).
    pub fn new(acl: CompiledAcl, rate: Arc<dyn RateCounter>) -> Self {
        Self { acl, rate }
    }

    /// Inspect with `acl` and a fresh node-local rate counter.
    pub fn local(acl: CompiledAcl) -> Self {
        Self::new(acl, Arc::new(InMemoryRateCounter::new()))
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl Inspector for AclInspector {
    fn inspect(&self, req: &Request) -> Result<Decision, InspectError> {
        let verdict = self
            .acl
            .evaluate(req, &EvalEnv::new(now_ms(), self.rate.as_ref()));
        Ok(match verdict.action {
            FinalAction::Allow => Decision::Allow {
                insert_headers: verdict.insert_headers,
            },
            FinalAction::Block(resp) => {
                let mut headers = resp.headers.clone();
                let body = match &resp.body {
                    Some(b) => {
                        headers.push(("content-type".to_owned(), b.content_type.clone()));
                        b.content.clone().into_bytes()
                    }
                    None => Vec::new(),
                };
                Decision::Block(BlockResponse {
                    status: resp.status,
                    headers,
                    body,
                })
            }
            FinalAction::Captcha => Decision::Captcha,
            FinalAction::Challenge => Decision::Challenge,
        })
    }

    fn body_limit(&self) -> Option<usize> {
        Some(self.acl.body_inspection_limit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_waf_core::Resources;
    use portcullis_waf_model::WebAcl;
    use serde_json::json;

    fn acl() -> CompiledAcl {
        let vis = |n: &str| json!({"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": n});
        let doc = json!({
            "Name": "t", "Id": "id", "ARN": "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/t/id",
            "DefaultAction": {"Allow": {"CustomRequestHandling": {"InsertHeaders": [{"Name": "seen", "Value": "1"}]}}},
            "VisibilityConfig": vis("t"),
            "CustomResponseBodies": {"nope": {"ContentType": "TEXT_PLAIN", "Content": "blocked"}},
            "Rules": [{
                "Name": "admin", "Priority": 0, "VisibilityConfig": vis("admin"),
                "Statement": {"ByteMatchStatement": {"SearchString": "L2FkbWlu", "FieldToMatch": {"UriPath": {}},
                    "TextTransformations": [{"Priority": 0, "Type": "NONE"}], "PositionalConstraint": "STARTS_WITH"}},
                "Action": {"Block": {"CustomResponse": {"ResponseCode": 418, "CustomResponseBodyKey": "nope"}}}
            }]
        });
        CompiledAcl::compile(&WebAcl::from_value(doc).unwrap(), &Resources::default()).unwrap()
    }

    #[test]
    fn maps_verdicts() {
        let inspector = AclInspector::local(acl());
        let blocked = inspector
            .inspect(&Request::builder().uri("/admin/x").build())
            .unwrap();
        let Decision::Block(b) = blocked else {
            panic!("expected block, got {blocked:?}")
        };
        assert_eq!(b.status, 418);
        assert_eq!(b.body, b"blocked");
        assert!(
            b.headers
                .iter()
                .any(|(n, v)| n == "content-type" && v.starts_with("text/plain"))
        );
        let allowed = inspector
            .inspect(&Request::builder().uri("/x").build())
            .unwrap();
        assert_eq!(
            allowed,
            Decision::Allow {
                insert_headers: vec![("x-amzn-waf-seen".into(), "1".into())]
            }
        );
        assert!(inspector.body_limit().is_some());
    }
}
