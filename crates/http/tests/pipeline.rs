//! In-process tests of the request pipeline: `Pipeline::handle` with a fake authenticator,
//! fake services, a fixed clock and a collecting audit sink. No sockets.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use aws_credential_types::Credentials as ClientCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use portcullis_common::audit::{AuditSink, CloudTrailRecord};
use portcullis_common::{FixedClock, Secret};
use portcullis_http::{
    ApiOutcome, ApiRequest, Authenticator, AwsError, AwsService, Caller, ConnInfo,
    CredentialSource, Credentials, Pipeline, PipelineConfig, Protocol, Registry, Reply,
};
use portcullis_iam::policy::{Principal, PrincipalKind};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2026-11-29 12:00:00 UTC);
const HOST: &str = "portcullis.test";
const ACCOUNT: &str = "111122223333";

const ACTIVE: &str = "AKIAACTIVEKEY0000001";
const INACTIVE: &str = "AKIAINACTIVEKEY00001";
const TEMP: &str = "ASIATEMPORARYKEY0001";
const TEMP_EXPIRED: &str = "ASIAEXPIREDKEY000001";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TOKEN: &str = "the-session-token";
const AGENT_ARN: &str = "arn:aws:iam::111122223333:user/agent";

// ---------------------------------------------------------------- fakes

fn alice() -> Caller {
    Caller {
        principal: Principal::user(ACCOUNT, "alice", "AIDAALICE"),
        access_key_id: Some(ACTIVE.into()),
        source: CredentialSource::AccessKey,
        session_context: None,
    }
}

fn role_session() -> Caller {
    let mut principal = Principal::user(ACCOUNT, "ignored", "AROAROLE:sess");
    principal.arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/deployer/sess");
    principal.kind = PrincipalKind::AssumedRole;
    principal.user_name = None;
    principal.role_arn = Some(format!("arn:aws:iam::{ACCOUNT}:role/deployer"));
    Caller {
        principal,
        access_key_id: Some(TEMP.into()),
        source: CredentialSource::SessionToken,
        session_context: Some(json!({"sessionIssuer": {"userName": "deployer"}})),
    }
}

#[derive(Default)]
struct FakeAuthn {
    keys: HashMap<&'static str, Credentials>,
    principals: HashMap<&'static str, Caller>,
    used: Mutex<Vec<(String, String, String, OffsetDateTime)>>,
}

impl FakeAuthn {
    fn new() -> Self {
        let long_term = |active| Credentials {
            secret: Secret::new(SECRET.to_owned()),
            session_token: None,
            expires_at: None,
            active,
            caller: alice(),
        };
        let temporary = |expires_at| Credentials {
            secret: Secret::new(SECRET.to_owned()),
            session_token: Some(Secret::new(TOKEN.to_owned())),
            expires_at: Some(expires_at),
            active: true,
            caller: role_session(),
        };
        let mut keys = HashMap::new();
        keys.insert(ACTIVE, long_term(true));
        keys.insert(INACTIVE, long_term(false));
        keys.insert(TEMP, temporary(T0 + time::Duration::hours(1)));
        keys.insert(TEMP_EXPIRED, temporary(T0 - time::Duration::minutes(1)));
        let mut principals = HashMap::new();
        principals.insert(
            AGENT_ARN,
            Caller {
                principal: Principal::user(ACCOUNT, "agent", "AIDAAGENT"),
                access_key_id: None,
                source: CredentialSource::ClientCertificate,
                session_context: None,
            },
        );
        Self {
            keys,
            principals,
            used: Mutex::default(),
        }
    }
}

#[async_trait::async_trait]
impl Authenticator for FakeAuthn {
    async fn credentials(&self, access_key_id: &str) -> Result<Option<Credentials>, AwsError> {
        Ok(self.keys.get(access_key_id).cloned())
    }

    async fn caller_for_principal(&self, arn: &str) -> Result<Option<Caller>, AwsError> {
        Ok(self.principals.get(arn).cloned())
    }

    async fn key_used(&self, access_key_id: &str, service: &str, region: &str, at: OffsetDateTime) {
        self.used
            .lock()
            .unwrap()
            .push((access_key_id.into(), service.into(), region.into(), at));
    }
}

/// A service that records what reached it. `Action=Fail` / `<prefix>.Fail` makes it answer
/// with a service error.
struct FakeService {
    name: &'static str,
    source: &'static str,
    protocol: Protocol,
    calls: Mutex<Vec<ApiRequest>>,
}

impl FakeService {
    fn query() -> Arc<Self> {
        Arc::new(Self {
            name: "sts",
            source: "sts.amazonaws.com",
            protocol: Protocol::Query {
                xmlns: "https://sts.amazonaws.com/doc/2011-06-15/",
            },
            calls: Mutex::default(),
        })
    }

    fn json() -> Arc<Self> {
        Arc::new(Self {
            name: "kms",
            source: "kms.amazonaws.com",
            protocol: Protocol::Json {
                target_prefix: "TrentService",
                content_type: "application/x-amz-json-1.1",
            },
            calls: Mutex::default(),
        })
    }

    fn calls(&self) -> Vec<ApiRequest> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl AwsService for FakeService {
    fn signing_name(&self) -> &'static str {
        self.name
    }

    fn event_source(&self) -> &'static str {
        self.source
    }

    fn protocol(&self) -> Protocol {
        self.protocol
    }

    async fn call(&self, req: ApiRequest) -> ApiOutcome {
        let operation = if self.protocol.is_json() {
            req.json_target("TrentService").unwrap_or_default()
        } else {
            req.query_params()
                .get("Action")
                .cloned()
                .unwrap_or_default()
        };
        self.calls.lock().unwrap().push(req);
        let result = if operation == "Fail" {
            Err(AwsError::bad_request("NoSuchEntity", "nothing here"))
        } else {
            Ok(Reply::ok("text/plain", "done"))
        };
        ApiOutcome {
            operation,
            read_only: true,
            result,
            request_parameters: json!({"userName": "bob", "password": "hunter2hunter2"}),
            response_elements: json!({"accessKey": {"accessKeyId": "AKIANEW", "secretAccessKey": "n3w-s3cr3t"}}),
        }
    }
}

#[derive(Default)]
struct CollectingSink(Mutex<Vec<CloudTrailRecord>>);

impl AuditSink for CollectingSink {
    fn record(&self, record: CloudTrailRecord) {
        self.0.lock().unwrap().push(record);
    }
}

struct World {
    pipeline: Pipeline,
    query: Arc<FakeService>,
    json: Arc<FakeService>,
    authn: Arc<FakeAuthn>,
    audit: Arc<CollectingSink>,
}

fn world_with_health(status: &'static str) -> World {
    let query = FakeService::query();
    let json = FakeService::json();
    let authn = Arc::new(FakeAuthn::new());
    let audit = Arc::new(CollectingSink::default());
    let mut registry = Registry::new();
    registry.register(query.clone()).register(json.clone());
    let pipeline = Pipeline::new(
        registry,
        authn.clone(),
        audit.clone(),
        Arc::new(FixedClock::new(T0)),
        PipelineConfig {
            region: "eu-west-1".into(),
            max_body_bytes: 1024 * 1024,
            max_skew: std::time::Duration::from_secs(900),
        },
        Arc::new(move || json!({"status": status})),
    );
    World {
        pipeline,
        query,
        json,
        authn,
        audit,
    }
}

fn world() -> World {
    world_with_health("ok")
}

fn conn(principal: Option<&str>) -> ConnInfo {
    ConnInfo {
        remote: SocketAddr::from(([192, 0, 2, 10], 50000)),
        tls_version: "TLSv1.3".into(),
        cipher_suite: "TLS13_AES_128_GCM_SHA256".into(),
        client_principal: principal.map(str::to_owned),
    }
}

// ---------------------------------------------------------------- requests

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    Query,
    Json,
}

const BOTH: [Proto; 2] = [Proto::Query, Proto::Json];

impl Proto {
    fn service(self) -> &'static str {
        match self {
            Proto::Query => "sts",
            Proto::Json => "kms",
        }
    }

    /// An unsigned request for operation `op`.
    fn request(self, op: &str) -> Request<Bytes> {
        let b = Request::builder()
            .method(Method::POST)
            .uri("/")
            .header("host", HOST)
            .header("user-agent", "pipeline-test/1.0");
        match self {
            Proto::Query => b
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Bytes::from(format!("Action={op}&Version=2011-06-15")))
                .unwrap(),
            Proto::Json => b
                .header("content-type", "application/x-amz-json-1.1")
                .header("x-amz-target", format!("TrentService.{op}"))
                .body(Bytes::from_static(b"{}"))
                .unwrap(),
        }
    }
}

struct Signer<'a> {
    id: &'a str,
    secret: &'a str,
    token: Option<&'a str>,
    service: &'a str,
    at: OffsetDateTime,
}

impl<'a> Signer<'a> {
    fn key(id: &'a str) -> Self {
        Self {
            id,
            secret: SECRET,
            token: None,
            service: "",
            at: T0,
        }
    }

    fn sign(&self, mut req: Request<Bytes>, default_service: &str) -> Request<Bytes> {
        let identity: Identity = ClientCredentials::new(
            self.id,
            self.secret,
            self.token.map(str::to_owned),
            None,
            "pipeline-test",
        )
        .into();
        let service = if self.service.is_empty() {
            default_service
        } else {
            self.service
        };
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name(service)
            .time(SystemTime::from(self.at))
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let url = format!("https://{HOST}{}", req.uri());
        let headers: Vec<(String, String)> = req
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        let signable = SignableRequest::new(
            req.method().as_str(),
            &url,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(req.body()),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        instructions.apply_to_request_http1x(&mut req);
        req
    }
}

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
}

impl Answer {
    fn xml(&self, tag: &str) -> Option<String> {
        let open = format!("<{tag}>");
        let start = self.body.find(&open)? + open.len();
        let end = start + self.body[start..].find(&format!("</{tag}>"))?;
        Some(self.body[start..end].to_owned())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// Asserts an AWS error in the protocol's shape.
    fn assert_error(&self, proto: Proto, status: u16, code: &str) {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{proto:?} {code}: {}",
            self.body
        );
        let request_id = self.header("x-amzn-requestid").expect("a request id");
        match proto {
            Proto::Query => {
                assert_eq!(self.header("content-type"), Some("text/xml"));
                assert!(self.body.contains("<ErrorResponse"), "{}", self.body);
                assert_eq!(self.xml("Code").as_deref(), Some(code), "{}", self.body);
                assert_eq!(self.xml("Type").as_deref(), Some("Sender"));
                assert!(!self.xml("Message").unwrap_or_default().is_empty());
                assert_eq!(self.xml("RequestId").as_deref(), Some(request_id));
            }
            Proto::Json => {
                assert_eq!(
                    self.header("content-type"),
                    Some("application/x-amz-json-1.1")
                );
                let v = self.json();
                assert_eq!(v["__type"], code, "{v}");
                assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
                assert_eq!(self.header("x-amzn-errortype"), Some(code));
            }
        }
    }
}

async fn answer(resp: Response<Full<Bytes>>) -> Answer {
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

impl World {
    async fn send(&self, req: Request<Bytes>) -> Answer {
        answer(self.pipeline.handle(req, &conn(None)).await).await
    }

    async fn send_over(&self, req: Request<Bytes>, principal: &str) -> Answer {
        answer(self.pipeline.handle(req, &conn(Some(principal))).await).await
    }

    fn no_calls(&self) {
        assert!(
            self.query.calls().is_empty(),
            "the query service was called"
        );
        assert!(self.json.calls().is_empty(), "the JSON service was called");
    }

    fn records(&self) -> Vec<CloudTrailRecord> {
        self.audit.0.lock().unwrap().clone()
    }
}

// ---------------------------------------------------------------- auth failures

/// One way of getting authentication wrong, and what each protocol's client is told.
struct Case {
    name: &'static str,
    build: fn(Proto) -> Request<Bytes>,
    query: (u16, &'static str),
    json: (u16, &'static str),
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "no credentials",
            build: |p| p.request("ListThings"),
            query: (403, "MissingAuthenticationToken"),
            json: (400, "MissingAuthenticationTokenException"),
        },
        Case {
            name: "garbage Authorization header",
            build: |p| {
                let mut r = p.request("ListThings");
                r.headers_mut().insert(
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=nonsense".parse().unwrap(),
                );
                r
            },
            query: (400, "IncompleteSignature"),
            json: (400, "IncompleteSignatureException"),
        },
        Case {
            name: "presigned query missing its signature",
            build: |p| {
                let mut r = p.request("ListThings");
                *r.uri_mut() = "/?X-Amz-Algorithm=AWS4-HMAC-SHA256".parse().unwrap();
                r
            },
            query: (400, "IncompleteSignature"),
            json: (400, "IncompleteSignatureException"),
        },
        Case {
            name: "wrong secret",
            build: |p| {
                let s = Signer {
                    secret: "not-the-right-secret-at-all",
                    ..Signer::key(ACTIVE)
                };
                s.sign(p.request("ListThings"), p.service())
            },
            query: (403, "SignatureDoesNotMatch"),
            json: (400, "InvalidSignatureException"),
        },
        Case {
            name: "body changed after signing",
            build: |p| {
                let signed = Signer::key(ACTIVE).sign(p.request("ListThings"), p.service());
                let (parts, body) = signed.into_parts();
                let mut tampered = body.to_vec();
                tampered.push(b' ');
                Request::from_parts(parts, Bytes::from(tampered))
            },
            query: (403, "SignatureDoesNotMatch"),
            json: (400, "InvalidSignatureException"),
        },
        Case {
            name: "signed 20 minutes before the server's clock",
            build: |p| {
                let s = Signer {
                    at: T0 - time::Duration::minutes(20),
                    ..Signer::key(ACTIVE)
                };
                s.sign(p.request("ListThings"), p.service())
            },
            query: (400, "RequestExpired"),
            json: (400, "InvalidSignatureException"),
        },
        Case {
            name: "signed 20 minutes after the server's clock",
            build: |p| {
                let s = Signer {
                    at: T0 + time::Duration::minutes(20),
                    ..Signer::key(ACTIVE)
                };
                s.sign(p.request("ListThings"), p.service())
            },
            query: (400, "RequestExpired"),
            json: (400, "InvalidSignatureException"),
        },
        Case {
            name: "unknown access key",
            build: |p| {
                Signer::key("AKIANOSUCHKEY0000001").sign(p.request("ListThings"), p.service())
            },
            query: (403, "InvalidClientTokenId"),
            json: (400, "UnrecognizedClientException"),
        },
        Case {
            name: "deactivated access key",
            build: |p| Signer::key(INACTIVE).sign(p.request("ListThings"), p.service()),
            query: (403, "InvalidClientTokenId"),
            json: (400, "UnrecognizedClientException"),
        },
        Case {
            name: "expired session credentials",
            build: |p| {
                let s = Signer {
                    token: Some(TOKEN),
                    ..Signer::key(TEMP_EXPIRED)
                };
                s.sign(p.request("ListThings"), p.service())
            },
            query: (403, "ExpiredToken"),
            json: (400, "ExpiredTokenException"),
        },
        Case {
            name: "session credentials with a wrong token",
            build: |p| {
                let s = Signer {
                    token: Some("some-other-token"),
                    ..Signer::key(TEMP)
                };
                s.sign(p.request("ListThings"), p.service())
            },
            query: (403, "InvalidClientTokenId"),
            json: (400, "UnrecognizedClientException"),
        },
        Case {
            name: "session credentials without their token",
            build: |p| Signer::key(TEMP).sign(p.request("ListThings"), p.service()),
            query: (403, "InvalidClientTokenId"),
            json: (400, "UnrecognizedClientException"),
        },
        Case {
            name: "a session token on a long-term key",
            build: |p| {
                let s = Signer {
                    token: Some(TOKEN),
                    ..Signer::key(ACTIVE)
                };
                s.sign(p.request("ListThings"), p.service())
            },
            query: (403, "InvalidClientTokenId"),
            json: (400, "UnrecognizedClientException"),
        },
        Case {
            name: "expired session credentials signed with the wrong secret",
            build: |p| {
                let s = Signer {
                    token: Some(TOKEN),
                    secret: "not-the-right-secret-at-all",
                    ..Signer::key(TEMP_EXPIRED)
                };
                s.sign(p.request("ListThings"), p.service())
            },
            // Without the secret nothing is revealed about the key's state.
            query: (403, "SignatureDoesNotMatch"),
            json: (400, "InvalidSignatureException"),
        },
    ]
}

#[tokio::test]
async fn every_authentication_failure_renders_in_both_protocols() {
    for case in cases() {
        for proto in BOTH {
            let w = world();
            let a = w.send((case.build)(proto)).await;
            let (status, code) = match proto {
                Proto::Query => case.query,
                Proto::Json => case.json,
            };
            eprintln!("case: {} ({proto:?})", case.name);
            a.assert_error(proto, status, code);
            w.no_calls();
            assert!(w.authn.used.lock().unwrap().is_empty(), "{}", case.name);

            // Each refusal is audited with the error code.
            let records = w.records();
            assert_eq!(records.len(), 1, "{}: {records:?}", case.name);
            let r = &records[0];
            assert_eq!(r.error_code.as_deref(), Some(code), "{}", case.name);
            assert_eq!(r.event_name, "ListThings", "{}", case.name);
            assert_eq!(r.source_ip_address, "192.0.2.10");
            assert_eq!(r.user_identity.identity_type, "Unknown");
            assert_eq!(r.user_identity.arn, None);
            assert_eq!(
                Some(r.request_id.as_str()),
                a.header("x-amzn-requestid"),
                "{}",
                case.name
            );
        }
    }
}

#[tokio::test]
async fn refusals_name_the_service_and_key_in_the_audit_record() {
    let w = world();
    let wrong = Signer {
        secret: "not-the-right-secret-at-all",
        ..Signer::key(ACTIVE)
    };
    w.send(wrong.sign(Proto::Query.request("GetCallerIdentity"), "sts"))
        .await
        .assert_error(Proto::Query, 403, "SignatureDoesNotMatch");
    w.send(wrong.sign(Proto::Json.request("Decrypt"), "kms"))
        .await
        .assert_error(Proto::Json, 400, "InvalidSignatureException");
    let records = w.records();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].event_source, "sts.amazonaws.com");
    assert_eq!(records[0].event_name, "GetCallerIdentity");
    assert_eq!(
        records[0].user_identity.access_key_id.as_deref(),
        Some(ACTIVE)
    );
    assert_eq!(records[1].event_source, "kms.amazonaws.com");
    assert_eq!(records[1].event_name, "Decrypt");
    assert_eq!(records[1].user_agent, "pipeline-test/1.0");
}

// ---------------------------------------------------------------- success

#[tokio::test]
async fn a_signed_request_reaches_its_service_with_the_caller() {
    for proto in BOTH {
        let w = world();
        let a = w
            .send(Signer::key(ACTIVE).sign(proto.request("DescribeThing"), proto.service()))
            .await;
        assert_eq!(a.status, 200, "{proto:?}: {}", a.body);
        assert_eq!(a.body, "done");
        let (hit, missed) = match proto {
            Proto::Query => (&w.query, &w.json),
            Proto::Json => (&w.json, &w.query),
        };
        assert!(missed.calls().is_empty(), "dispatched by scope");
        let calls = hit.calls();
        assert_eq!(calls.len(), 1);
        let req = &calls[0];
        assert_eq!(
            req.caller.principal.arn,
            format!("arn:aws:iam::{ACCOUNT}:user/alice")
        );
        assert_eq!(req.caller.access_key_id.as_deref(), Some(ACTIVE));
        assert_eq!(req.caller.source, CredentialSource::AccessKey);
        assert_eq!(req.region, "us-east-1", "the region of the scope");
        assert_eq!(req.received_at, T0);
        assert_eq!(req.source_ip.to_string(), "192.0.2.10");
        assert_eq!(req.user_agent, "pipeline-test/1.0");
        assert_eq!(
            a.header("x-amzn-requestid"),
            Some(req.request_id.as_str()),
            "the service sees the request id the client gets"
        );
        let used = w.authn.used.lock().unwrap().clone();
        assert_eq!(
            used,
            vec![(
                ACTIVE.into(),
                proto.service().into(),
                "us-east-1".into(),
                T0
            )]
        );

        let records = w.records();
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!(r.event_name, "DescribeThing");
        assert_eq!(r.event_source, format!("{}.amazonaws.com", proto.service()));
        assert_eq!(r.error_code, None);
        assert_eq!(r.event_time, "2026-11-29T12:00:00Z");
        assert_eq!(r.aws_region, "us-east-1");
        assert_eq!(r.recipient_account_id, ACCOUNT);
        assert_eq!(r.user_identity.identity_type, "IAMUser");
        assert_eq!(r.user_identity.user_name.as_deref(), Some("alice"));
        assert_eq!(r.user_identity.access_key_id.as_deref(), Some(ACTIVE));
        let tls = r.tls_details.as_ref().expect("tls details");
        assert_eq!(tls.tls_version, "TLSv1.3");
        assert_eq!(tls.client_provided_host_header, HOST);
        let text = serde_json::to_string(r).unwrap();
        assert!(
            !text.contains("hunter2"),
            "a password reached the audit trail"
        );
        assert!(
            !text.contains("n3w-s3cr3t"),
            "a secret key reached the audit trail"
        );
        assert!(
            text.contains("AKIANEW"),
            "non-secret response elements are kept"
        );
    }
}

#[tokio::test]
async fn valid_session_credentials_authenticate_as_the_role_session() {
    let w = world();
    let s = Signer {
        token: Some(TOKEN),
        ..Signer::key(TEMP)
    };
    let a = w
        .send(s.sign(Proto::Query.request("GetCallerIdentity"), "sts"))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let calls = w.query.calls();
    assert_eq!(calls[0].caller.source, CredentialSource::SessionToken);
    assert_eq!(calls[0].caller.principal.kind, PrincipalKind::AssumedRole);
    let r = &w.records()[0];
    assert_eq!(r.user_identity.identity_type, "AssumedRole");
    assert!(r.user_identity.session_context.is_some());
}

#[tokio::test]
async fn a_service_error_is_rendered_in_its_protocol_and_audited() {
    for proto in BOTH {
        let w = world();
        let a = w
            .send(Signer::key(ACTIVE).sign(proto.request("Fail"), proto.service()))
            .await;
        a.assert_error(proto, 400, "NoSuchEntity");
        let r = &w.records()[0];
        assert_eq!(r.error_code.as_deref(), Some("NoSuchEntity"));
        assert_eq!(r.error_message.as_deref(), Some("nothing here"));
        assert_eq!(
            r.user_identity.arn.as_deref(),
            Some("arn:aws:iam::111122223333:user/alice")
        );
    }
}

// ---------------------------------------------------------------- mTLS callers

#[tokio::test]
async fn a_client_certificate_authenticates_an_unsigned_request() {
    let w = world();
    let mut req = Proto::Query.request("GetCallerIdentity");
    req.headers_mut()
        .insert("x-portcullis-service", "sts".parse().unwrap());
    let a = w.send_over(req, AGENT_ARN).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let calls = w.query.calls();
    assert_eq!(calls[0].caller.principal.arn, AGENT_ARN);
    assert_eq!(calls[0].caller.source, CredentialSource::ClientCertificate);
    assert_eq!(calls[0].region, "eu-west-1", "the server's region");
    assert_eq!(w.records()[0].aws_region, "eu-west-1");

    // A JSON request is routed by its target prefix.
    let a = w
        .send_over(Proto::Json.request("ListKeys"), AGENT_ARN)
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(w.json.calls()[0].caller.principal.arn, AGENT_ARN);
}

#[tokio::test]
async fn client_certificate_refusals() {
    // A principal the authenticator does not know.
    for proto in BOTH {
        let w = world();
        let mut req = proto.request("ListThings");
        req.headers_mut()
            .insert("x-portcullis-service", proto.service().parse().unwrap());
        let a = w
            .send_over(req, "arn:aws:iam::111122223333:user/nobody")
            .await;
        let expected = match proto {
            Proto::Query => (403, "InvalidClientTokenId"),
            Proto::Json => (400, "UnrecognizedClientException"),
        };
        a.assert_error(proto, expected.0, expected.1);
        w.no_calls();
        assert_eq!(w.records()[0].error_code.as_deref(), Some(expected.1));
    }
    // A known principal naming no service, or one that is not served.
    let w = world();
    let a = w
        .send_over(Proto::Query.request("GetCallerIdentity"), AGENT_ARN)
        .await;
    a.assert_error(Proto::Query, 400, "InvalidAction");
    let mut req = Proto::Query.request("GetCallerIdentity");
    req.headers_mut()
        .insert("x-portcullis-service", "s3".parse().unwrap());
    w.send_over(req, AGENT_ARN)
        .await
        .assert_error(Proto::Query, 400, "InvalidAction");
    let mut req = Proto::Json.request("ListKeys");
    req.headers_mut().insert(
        "x-amz-target",
        "AWSWAF_20190729.ListWebACLs".parse().unwrap(),
    );
    w.send_over(req, AGENT_ARN)
        .await
        .assert_error(Proto::Json, 400, "UnknownOperationException");
    w.no_calls();
}

// ---------------------------------------------------------------- routing, health

#[tokio::test]
async fn a_scope_naming_an_unserved_service_is_a_clean_400() {
    for proto in BOTH {
        let w = world();
        let s = Signer {
            service: "s3",
            ..Signer::key(ACTIVE)
        };
        let a = w.send(s.sign(proto.request("ListBuckets"), "s3")).await;
        let code = match proto {
            Proto::Query => "InvalidAction",
            Proto::Json => "UnknownOperationException",
        };
        a.assert_error(proto, 400, code);
        let message = match proto {
            Proto::Query => a.xml("Message").unwrap(),
            Proto::Json => a.json()["message"].as_str().unwrap().to_owned(),
        };
        assert!(message.contains("s3"), "{message}");
        w.no_calls();
    }
}

#[tokio::test]
async fn health_reports_status_and_services_without_credentials() {
    let w = world();
    let get = |path: &str| {
        Request::builder()
            .uri(path)
            .header("host", HOST)
            .body(Bytes::new())
            .unwrap()
    };
    let a = w.send(get("/health")).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some("application/json"));
    let v = a.json();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["services"], json!(["kms", "sts"]));

    let down = world_with_health("degraded");
    let a = down.send(get("/health")).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.json()["status"], "degraded");

    let a = w.send(get("/metrics")).await;
    assert_eq!(a.status, 200);
    assert!(a.header("content-type").unwrap().starts_with("text/plain"));

    // Anything else unauthenticated is refused, and POST /health is not health.
    let mut post = get("/health");
    *post.method_mut() = Method::POST;
    w.send(post)
        .await
        .assert_error(Proto::Query, 403, "MissingAuthenticationToken");
    w.send(get("/anything"))
        .await
        .assert_error(Proto::Query, 403, "MissingAuthenticationToken");
    w.no_calls();
}

#[tokio::test]
async fn too_large_is_rendered_for_the_guessed_protocol() {
    let w = world();
    let query = w.pipeline.too_large(Proto::Query.request("X").headers());
    let a = answer(query).await;
    a.assert_error(Proto::Query, 413, "RequestEntityTooLarge");
    assert!(a.xml("Message").unwrap().contains("1048576"), "{}", a.body);
    let a = answer(w.pipeline.too_large(Proto::Json.request("X").headers())).await;
    a.assert_error(Proto::Json, 413, "RequestEntityTooLarge");
}
