//! Test helpers: signing requests the way a client does, with `aws-sigv4` on the client side.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use time::OffsetDateTime;
use time::macros::datetime;

use super::SignedRequest;

pub(crate) const AKID: &str = "AKIDEXAMPLE";
pub(crate) const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
pub(crate) const T0: OffsetDateTime = datetime!(2026-11-29 12:00:00 UTC);

/// An owned request, so tests can tamper with it and then borrow it as a [`SignedRequest`].
#[derive(Debug, Clone)]
pub(crate) struct OwnedRequest {
    pub(crate) method: http::Method,
    pub(crate) uri: http::Uri,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl OwnedRequest {
    pub(crate) fn new(method: &str, uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Self {
        let mut map = http::HeaderMap::new();
        for (name, value) in headers {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_str(value).unwrap(),
            );
        }
        Self {
            method: method.parse().unwrap(),
            uri: uri.parse().unwrap(),
            headers: map,
            body: body.to_vec(),
        }
    }

    pub(crate) fn as_signed(&self) -> SignedRequest<'_> {
        SignedRequest {
            method: &self.method,
            uri: &self.uri,
            headers: &self.headers,
            body: &self.body,
        }
    }
}

/// How the test client signs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientOptions<'a> {
    pub(crate) region: &'a str,
    pub(crate) service: &'a str,
    pub(crate) time: OffsetDateTime,
    pub(crate) session_token: Option<&'a str>,
    /// `Some(seconds)` presigns into the query instead of the `Authorization` header.
    pub(crate) presign_secs: Option<u64>,
    /// Sign `UNSIGNED-PAYLOAD` instead of the body hash (what botocore does when presigning).
    pub(crate) unsigned_payload: bool,
    /// Exclude no header from signing (the default list leaves out `user-agent`).
    pub(crate) sign_every_header: bool,
    /// Add and sign `x-amz-content-sha256`, as S3-style clients do.
    pub(crate) content_sha256: bool,
}

impl Default for ClientOptions<'_> {
    fn default() -> Self {
        Self {
            region: "us-east-1",
            service: "kms",
            time: T0,
            session_token: None,
            presign_secs: None,
            unsigned_payload: false,
            sign_every_header: false,
            content_sha256: false,
        }
    }
}

/// Signs `req` in place as the AWS SDK for Rust would (default settings), with `url` the full
/// URL the client targets (its authority becomes the signed `host`).
pub(crate) fn client_sign(url: &str, req: &mut OwnedRequest, opts: ClientOptions<'_>) {
    let identity: Identity = Credentials::new(
        AKID,
        SECRET,
        opts.session_token.map(str::to_owned),
        None,
        "test",
    )
    .into();
    let mut settings = SigningSettings::default();
    if let Some(secs) = opts.presign_secs {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(std::time::Duration::from_secs(secs));
    }
    if opts.sign_every_header {
        settings.excluded_headers = Some(Vec::new());
    }
    if opts.content_sha256 {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(opts.region)
        .name(opts.service)
        .time(SystemTime::from(opts.time))
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    let body = if opts.unsigned_payload {
        SignableBody::UnsignedPayload
    } else {
        SignableBody::Bytes(&req.body)
    };
    let signable = SignableRequest::new(
        req.method.as_str(),
        url,
        headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        body,
    )
    .unwrap();
    let (instructions, _signature) = sign(signable, &params).unwrap().into_parts();
    let mut http_req = http::Request::builder()
        .method(req.method.clone())
        .uri(req.uri.clone())
        .body(())
        .unwrap();
    *http_req.headers_mut() = req.headers.clone();
    instructions.apply_to_request_http1x(&mut http_req);
    let (parts, ()) = http_req.into_parts();
    req.uri = parts.uri;
    req.headers = parts.headers;
}

/// A KMS-style JSON 1.1 POST, signed in the header form over HTTP/1.1.
pub(crate) fn signed_kms_request(opts: ClientOptions<'_>) -> OwnedRequest {
    let mut req = OwnedRequest::new(
        "POST",
        "/",
        &[
            ("host", "kms.example.test:7443"),
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "TrentService.Encrypt"),
            ("user-agent", "test-client/1.0"),
        ],
        br#"{"KeyId":"alias/test","Plaintext":"aGVsbG8="}"#,
    );
    client_sign("https://kms.example.test:7443/", &mut req, opts);
    req
}
