//! The request pipeline: health and metrics, then authenticate → dispatch → render → audit.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use portcullis_common::audit::{AuditSink, CloudTrailRecord, TlsDetails, UserIdentity, redact};
use portcullis_common::{Clock, ids};
use portcullis_iam::sigv4::{self, SignedRequest};
use serde_json::Value;

use crate::auth::{AuthFailure, Authenticator, authenticate_sigv4};
use crate::error::{AwsError, Protocol};
use crate::server::ConnInfo;
use crate::service::{ApiOutcome, ApiRequest, AwsService, Registry, Reply};

/// Settings the pipeline needs.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// The server's region (for mTLS callers, which name none).
    pub region: String,
    /// Largest accepted body (enforced by the server while reading).
    pub max_body_bytes: usize,
    /// Allowed SigV4 clock skew.
    pub max_skew: Duration,
}

/// Audit records queued but not stored above which new API calls wait.
pub const AUDIT_HIGH_WATER: usize = 50_000;

/// A callback that reports component health for `/health`.
pub type HealthCheck = Arc<dyn Fn() -> Value + Send + Sync>;

/// Everything needed to answer API requests.
pub struct Pipeline {
    registry: Registry,
    authn: Arc<dyn Authenticator>,
    audit: Arc<dyn AuditSink>,
    clock: Arc<dyn Clock>,
    cfg: PipelineConfig,
    health: HealthCheck,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("registry", &self.registry)
            .field("cfg", &self.cfg)
            .finish()
    }
}

/// Who made a request, before or after authentication, and what it asked for.
struct Attempt {
    event_source: std::borrow::Cow<'static, str>,
    /// The caller's `userIdentity`, or `Unknown` with the access key id it named.
    user_identity: UserIdentity,
    /// The caller's account; empty when unauthenticated.
    recipient: String,
    region: String,
}

/// What the audit record keeps of the request's headers, taken before they move on to the
/// service.
struct Seen {
    user_agent: String,
    host: String,
}

impl Seen {
    fn of(parts: &http::request::Parts) -> Self {
        Self {
            user_agent: header_str(&parts.headers, "user-agent"),
            host: header_str(&parts.headers, "host").if_empty(
                parts
                    .uri
                    .authority()
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
            ),
        }
    }
}

impl Pipeline {
    /// Builds a pipeline.
    pub fn new(
        registry: Registry,
        authn: Arc<dyn Authenticator>,
        audit: Arc<dyn AuditSink>,
        clock: Arc<dyn Clock>,
        cfg: PipelineConfig,
        health: HealthCheck,
    ) -> Self {
        crate::metrics::handle();
        Self {
            registry,
            authn,
            audit,
            clock,
            cfg,
            health,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PipelineConfig {
        &self.cfg
    }

    /// Answers one request whose body has been read.
    pub async fn handle(&self, req: Request<Bytes>, conn: &ConnInfo) -> Response<Full<Bytes>> {
        let request_id = ids::request_id();
        let started = Instant::now();
        if req.method() == Method::GET && req.uri().query().is_none() {
            match req.uri().path() {
                "/health" => return self.health_reply(&request_id),
                "/metrics" => {
                    return to_response(
                        Reply::ok("text/plain; version=0.0.4", crate::metrics::render()),
                        &request_id,
                    );
                }
                _ => {}
            }
        }
        // Back-pressure: while the audit trail is far behind, new calls wait for it rather
        // than queueing records without bound (every call must be recorded).
        while self.audit.backlog() > AUDIT_HIGH_WATER {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let (reply, service, operation) = self.dispatch(req, conn, &request_id).await;
        crate::metrics::request(
            service,
            &operation,
            reply.status.as_u16(),
            started.elapsed(),
        );
        to_response(reply, &request_id)
    }

    /// An over-limit body, answered without reading the rest.
    pub fn too_large(&self, headers: &http::HeaderMap) -> Response<Full<Bytes>> {
        let request_id = ids::request_id();
        let err = AwsError::client(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!(
                "Request body is larger than the {} bytes this server accepts.",
                self.cfg.max_body_bytes
            ),
        );
        to_response(
            err.render(Protocol::guess(headers), &request_id),
            &request_id,
        )
    }

    async fn dispatch(
        &self,
        req: Request<Bytes>,
        conn: &ConnInfo,
        request_id: &str,
    ) -> (Reply, &'static str, String) {
        let now = self.clock.now();
        let (parts, body) = req.into_parts();
        let signed = SignedRequest {
            method: &parts.method,
            uri: &parts.uri,
            headers: &parts.headers,
            body: &body,
        };
        let guessed = Protocol::guess(&parts.headers);
        // Only refused requests need it; successful ones name their operation.
        let op_hint = || operation_hint(&parts.headers, parts.uri.query(), &body);

        let parsed = match sigv4::parse(&signed) {
            Ok(p) => p,
            Err(e) => {
                let f = AuthFailure::Incomplete(e.to_string());
                return self.refuse(
                    f,
                    guessed,
                    "unknown",
                    &op_hint(),
                    conn,
                    &parts,
                    request_id,
                    None,
                );
            }
        };
        let (service, caller) = match parsed {
            Some(parsed) => {
                let Some(service) = self.registry.get(&parsed.scope.service).cloned() else {
                    let err = unknown_service(&parsed.scope.service, guessed);
                    return (err.render(guessed, request_id), "unknown", op_hint());
                };
                match authenticate_sigv4(
                    &*self.authn,
                    &signed,
                    &parsed,
                    now,
                    to_time(self.cfg.max_skew),
                )
                .await
                {
                    Ok(caller) => {
                        self.authn
                            .key_used(
                                &parsed.access_key_id,
                                service.signing_name(),
                                &parsed.scope.region,
                                now,
                            )
                            .await;
                        (service, (caller, parsed.scope.region.clone()))
                    }
                    Err(f) => {
                        let akid = Some(parsed.access_key_id.clone());
                        return self.refuse(
                            f,
                            service.protocol(),
                            service.signing_name(),
                            &op_hint(),
                            conn,
                            &parts,
                            request_id,
                            akid,
                        );
                    }
                }
            }
            None => {
                let Some(arn) = conn.client_principal.as_deref() else {
                    return self.refuse(
                        AuthFailure::Missing,
                        guessed,
                        "unknown",
                        &op_hint(),
                        conn,
                        &parts,
                        request_id,
                        None,
                    );
                };
                let Some(service) = self.service_for_unsigned(&parts.headers) else {
                    let err = unknown_service("(none)", guessed);
                    return (err.render(guessed, request_id), "unknown", op_hint());
                };
                match self.authn.caller_for_principal(arn).await {
                    Ok(Some(caller)) => (service, (caller, self.cfg.region.clone())),
                    _ => {
                        return self.refuse(
                            AuthFailure::InvalidKey,
                            service.protocol(),
                            service.signing_name(),
                            &op_hint(),
                            conn,
                            &parts,
                            request_id,
                            None,
                        );
                    }
                }
            }
        };
        let (caller, region) = caller;
        // What the audit record needs is taken now, so the request's parts and the caller
        // move into the `ApiRequest` instead of being cloned.
        let seen = Seen::of(&parts);
        let attempt = Attempt {
            event_source: service.event_source().into(),
            user_identity: caller.user_identity(),
            recipient: caller.principal.account.clone(),
            region: region.clone(),
        };
        let api_req = ApiRequest {
            request_id: request_id.to_owned(),
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            body,
            caller,
            region,
            source_ip: conn.remote.ip(),
            user_agent: seen.user_agent.clone(),
            received_at: now,
        };
        let mut outcome = service.call(api_req).await;
        let protocol = service.protocol();
        if let Err(e) = &outcome.result
            && e.status.is_server_error()
        {
            tracing::warn!(request_id, code = %e.code, "request failed on the server side");
        }
        self.audit_record(attempt, &mut outcome, conn, seen, request_id);
        let reply = match outcome.result {
            Ok(r) => r,
            Err(e) => e.render(protocol, request_id),
        };
        (reply, service.signing_name(), outcome.operation)
    }

    /// For callers authenticated by client certificate alone: the service named by the
    /// JSON target prefix, or by `x-portcullis-service`.
    fn service_for_unsigned(&self, headers: &http::HeaderMap) -> Option<Arc<dyn AwsService>> {
        if let Some(name) = headers
            .get("x-portcullis-service")
            .and_then(|v| v.to_str().ok())
        {
            return self.registry.get(name).cloned();
        }
        let target = headers.get("x-amz-target")?.to_str().ok()?;
        let prefix = target.rsplit_once('.')?.0;
        self.registry
            .names()
            .filter_map(|n| self.registry.get(n))
            .find_map(|s| match s.protocol() {
                Protocol::Json { target_prefix, .. } if target_prefix == prefix => Some(s.clone()),
                _ => None,
            })
    }

    #[allow(clippy::too_many_arguments)]
    fn refuse(
        &self,
        failure: AuthFailure,
        protocol: Protocol,
        service_name: &'static str,
        op_hint: &str,
        conn: &ConnInfo,
        parts: &http::request::Parts,
        request_id: &str,
        access_key_id: Option<String>,
    ) -> (Reply, &'static str, String) {
        crate::metrics::auth_failure(failure.reason());
        let err = failure.to_error(protocol);
        tracing::info!(request_id, reason = failure.reason(), remote = %conn.remote, "request not authenticated");
        let mut outcome = ApiOutcome::failed(op_hint, err.clone());
        let attempt = Attempt {
            event_source: format!("{service_name}.amazonaws.com").into(),
            user_identity: UserIdentity {
                identity_type: "Unknown".into(),
                access_key_id,
                ..Default::default()
            },
            recipient: String::new(),
            region: self.cfg.region.clone(),
        };
        self.audit_record(attempt, &mut outcome, conn, Seen::of(parts), request_id);
        (
            err.render(protocol, request_id),
            service_name,
            op_hint.to_owned(),
        )
    }

    /// Queues the audit record; takes the outcome's audit parameters (they are not needed
    /// afterwards) rather than copying them.
    fn audit_record(
        &self,
        attempt: Attempt,
        outcome: &mut ApiOutcome,
        conn: &ConnInfo,
        seen: Seen,
        request_id: &str,
    ) {
        let now = self.clock.now();
        let (error_code, error_message) = match &outcome.result {
            Ok(_) => (None, None),
            Err(e) => (Some(e.code.clone()), Some(e.message.clone())),
        };
        let record = CloudTrailRecord {
            event_version: "1.08".into(),
            user_identity: attempt.user_identity,
            event_time: portcullis_common::audit::event_time(now),
            event_source: attempt.event_source,
            event_name: if outcome.operation.is_empty() {
                "Unknown".into()
            } else {
                outcome.operation.clone()
            },
            aws_region: attempt.region,
            source_ip_address: portcullis_common::net::ip_text(conn.remote.ip()),
            user_agent: seen.user_agent,
            error_code,
            error_message,
            request_parameters: redact(std::mem::take(&mut outcome.request_parameters)),
            response_elements: redact(std::mem::take(&mut outcome.response_elements)),
            request_id: request_id.to_owned(),
            event_id: ids::event_id(),
            read_only: outcome.read_only,
            event_type: "AwsApiCall".into(),
            management_event: true,
            recipient_account_id: attempt.recipient,
            event_category: "Management".into(),
            tls_details: Some(TlsDetails {
                tls_version: conn.tls_version.clone(),
                cipher_suite: conn.cipher_suite.clone(),
                client_provided_host_header: seen.host,
            }),
        };
        self.audit.record(record);
    }

    fn health_reply(&self, request_id: &str) -> Response<Full<Bytes>> {
        let mut v = (self.health)();
        if let Value::Object(m) = &mut v {
            m.insert(
                "services".into(),
                self.registry.names().collect::<Vec<_>>().into(),
            );
        }
        let ok = v.get("status").and_then(Value::as_str) == Some("ok");
        let status = if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        to_response(
            Reply::new(status, "application/json", Bytes::from(v.to_string())),
            request_id,
        )
    }
}

trait IfEmpty {
    fn if_empty(self, other: String) -> String;
}

impl IfEmpty for String {
    fn if_empty(self, other: String) -> String {
        if self.is_empty() { other } else { self }
    }
}

fn unknown_service(name: &str, protocol: Protocol) -> AwsError {
    let code = if protocol.is_json() {
        "UnknownOperationException"
    } else {
        "InvalidAction"
    };
    AwsError::bad_request(
        code,
        format!(
            "This endpoint does not serve the service '{name}' named in the request's credential scope."
        ),
    )
}

/// The operation a request names, read without authenticating it (for audit records of
/// refused requests).
fn operation_hint(headers: &http::HeaderMap, query: Option<&str>, body: &[u8]) -> String {
    if let Some(t) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return t.rsplit('.').next().unwrap_or("").to_owned();
    }
    let from = |bytes: &[u8]| {
        form_urlencoded::parse(bytes)
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.into_owned())
    };
    query
        .and_then(|q| from(q.as_bytes()))
        .or_else(|| from(body))
        .unwrap_or_default()
}

fn header_str(h: &http::HeaderMap, name: &str) -> String {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

fn to_time(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::minutes(15))
}

fn to_response(reply: Reply, request_id: &str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(reply.body));
    *resp.status_mut() = reply.status;
    *resp.headers_mut() = reply.headers;
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}
