//! What a service implements to be served on the API listener, and the registry that
//! maps SigV4 scope names to services.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use serde_json::Value;
use time::OffsetDateTime;

use crate::auth::Caller;
use crate::error::{AwsError, Protocol};

/// An authenticated API request, as a service receives it.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// The id returned to the client and recorded in the audit trail.
    pub request_id: String,
    /// HTTP method.
    pub method: Method,
    /// Path and query as received.
    pub uri: Uri,
    /// Request headers.
    pub headers: HeaderMap,
    /// The whole body (already capped by the listener).
    pub body: Bytes,
    /// Who is calling.
    pub caller: Caller,
    /// Region from the SigV4 scope (or the server's region for mTLS callers).
    pub region: String,
    /// The client's address.
    pub source_ip: IpAddr,
    /// The client's `User-Agent`.
    pub user_agent: String,
    /// When the request arrived.
    pub received_at: OffsetDateTime,
}

impl ApiRequest {
    /// The AWS Query parameters: the query string and, for form-encoded bodies, the body.
    pub fn query_params(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if let Some(q) = self.uri.query() {
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                out.insert(k.into_owned(), v.into_owned());
            }
        }
        let form = self
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if form
            || (self.method == Method::POST
                && !self.body.is_empty()
                && !self.headers.contains_key("x-amz-target"))
        {
            for (k, v) in form_urlencoded::parse(&self.body) {
                out.insert(k.into_owned(), v.into_owned());
            }
        }
        out
    }

    /// The operation named by `X-Amz-Target: <prefix>.<Op>`, if the prefix matches.
    pub fn json_target(&self, prefix: &str) -> Option<String> {
        let t = self.headers.get("x-amz-target")?.to_str().ok()?;
        let (p, op) = t.rsplit_once('.')?;
        (p == prefix).then(|| op.to_owned())
    }
}

/// A reply ready to send.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// Extra headers (Content-Type is set from `content_type`).
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Bytes,
}

impl Reply {
    /// A reply with a status, a content type and a body.
    pub fn new(status: StatusCode, content_type: &'static str, body: Bytes) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(content_type),
        );
        Self {
            status,
            headers,
            body,
        }
    }

    /// A 200 reply.
    pub fn ok(content_type: &'static str, body: impl Into<Bytes>) -> Self {
        Self::new(StatusCode::OK, content_type, body.into())
    }
}

/// What a service says about one call: the reply (or error) and what to audit.
#[derive(Debug, Clone)]
pub struct ApiOutcome {
    /// The operation name (`CreateUser`), for metrics and the audit record; empty when the
    /// request named no operation the service knows.
    pub operation: String,
    /// Whether the operation only reads.
    pub read_only: bool,
    /// The reply, or an error the pipeline renders in the service's protocol.
    pub result: Result<Reply, AwsError>,
    /// Request parameters for the audit record (secrets are redacted again by the pipeline).
    pub request_parameters: Value,
    /// Response elements for the audit record.
    pub response_elements: Value,
}

impl ApiOutcome {
    /// An outcome for a request that failed before its operation was known.
    pub fn failed(operation: impl Into<String>, err: AwsError) -> Self {
        Self {
            operation: operation.into(),
            read_only: false,
            result: Err(err),
            request_parameters: Value::Null,
            response_elements: Value::Null,
        }
    }
}

/// A service served on the API listener.
#[async_trait::async_trait]
pub trait AwsService: Send + Sync + 'static {
    /// The SigV4 signing name that routes to this service (`iam`, `sts`, `kms`, ...).
    fn signing_name(&self) -> &'static str;
    /// The `eventSource` of its audit records (`iam.amazonaws.com`).
    fn event_source(&self) -> &'static str;
    /// The wire protocol, used to render errors.
    fn protocol(&self) -> Protocol;
    /// Handles one authenticated request.
    async fn call(&self, req: ApiRequest) -> ApiOutcome;
}

/// The registration point: services by signing name.
#[derive(Default, Clone)]
pub struct Registry {
    services: BTreeMap<&'static str, Arc<dyn AwsService>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a service under its signing name (a later one with the same name replaces it).
    pub fn register(&mut self, service: Arc<dyn AwsService>) -> &mut Self {
        self.services.insert(service.signing_name(), service);
        self
    }

    /// The service for a signing name.
    pub fn get(&self, signing_name: &str) -> Option<&Arc<dyn AwsService>> {
        self.services.get(signing_name)
    }

    /// The signing names served.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.services.keys().copied()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.services.keys()).finish()
    }
}
