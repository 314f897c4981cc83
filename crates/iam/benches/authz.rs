//! Per-request cost of the two IAM steps every API call pays: SigV4 verification and policy
//! evaluation, plus the one-off cost of parsing a policy document.
//!
//! Run with `cargo bench -p portcullis-iam --bench authz`; `docs/benchmarks.md` explains the
//! cases and records the latest figures.
//!
//! Requests are signed once, up front, by `aws-sigv4` acting as a client (the same crate and
//! default settings the AWS SDK for Rust uses); the measured loop is only what the server does.

// A benchmark is a test harness: fixed inputs that cannot fail, so unwrap is the clear form.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use criterion::{Criterion, criterion_group, criterion_main};
use portcullis_iam::policy::{Decision, Policy, PolicyKind, Principal, RequestContext, authorize};
use portcullis_iam::sigv4::{self, SignedRequest};
use time::OffsetDateTime;
use time::macros::datetime;

const ACCOUNT: &str = "111122223333";
const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SIGNED_AT: OffsetDateTime = datetime!(2026-03-02 09:30:00 UTC);

// ---------------------------------------------------------------------------------------------
// SigV4

/// A request as the server receives it, owned so the benchmark can borrow it repeatedly.
struct Received {
    method: http::Method,
    uri: http::Uri,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

impl Received {
    fn as_signed(&self) -> SignedRequest<'_> {
        SignedRequest {
            method: &self.method,
            uri: &self.uri,
            headers: &self.headers,
            body: &self.body,
        }
    }
}

/// Builds a POST to `https://<host>/` with `headers` and `body`, signed for `service` the way
/// an SDK client signs it (header form, default settings).
fn client_signed_post(
    host: &str,
    service: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Received {
    let identity: Identity = Credentials::new(AKID, SECRET, None, None, "bench").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name(service)
        .time(SystemTime::from(SIGNED_AT))
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let url = format!("https://{host}/");
    let mut all: Vec<(&str, &str)> = vec![("host", host)];
    all.extend_from_slice(headers);
    let signable =
        SignableRequest::new("POST", &url, all.iter().copied(), SignableBody::Bytes(body)).unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();

    let mut req = http::Request::builder().method("POST").uri("/");
    for (name, value) in &all {
        req = req.header(*name, *value);
    }
    let mut req = req.body(()).unwrap();
    instructions.apply_to_request_http1x(&mut req);
    let (parts, ()) = req.into_parts();
    Received {
        method: parts.method,
        uri: parts.uri,
        headers: parts.headers,
        body: body.to_vec(),
    }
}

/// What botocore / the AWS CLI sends for `aws sts get-caller-identity`.
fn sts_query_post() -> Received {
    let body = b"Action=GetCallerIdentity&Version=2011-06-15";
    let len = body.len().to_string();
    client_signed_post(
        "127.0.0.1:7443",
        "sts",
        &[
            (
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
            ("content-length", &len),
            (
                "user-agent",
                "aws-cli/2.17.0 md/awscrt#0.20.11 ua/2.0 os/linux#6.8 md/arch#x86_64 lang/python#3.11.8 cfg/retry-mode#standard md/command#sts.get-caller-identity",
            ),
        ],
        body,
    )
}

/// What the AWS SDK for Rust sends for a KMS `Encrypt` of a short plaintext.
fn kms_json_post() -> Received {
    let body = br#"{"KeyId":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab","Plaintext":"c2VjcmV0IGRhdGEgdG8gcHJvdGVjdA==","EncryptionContext":{"purpose":"bench","tenant":"acme"}}"#;
    let len = body.len().to_string();
    client_signed_post(
        "127.0.0.1:7443",
        "kms",
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("content-length", &len),
            ("x-amz-target", "TrentService.Encrypt"),
            (
                "amz-sdk-invocation-id",
                "6f0e1c3a-6a0a-4c8e-9d55-0b3a1c2e4f60",
            ),
            ("amz-sdk-request", "attempt=1; max=3"),
            (
                "x-amz-user-agent",
                "aws-sdk-rust/1.3.9 ua/2.1 api/kms/1.60.0 os/linux lang/rust/1.95.0",
            ),
            ("user-agent", "aws-sdk-rust/1.3.9 os/linux lang/rust/1.95.0"),
        ],
        body,
    )
}

/// The server's whole SigV4 step: parse, clock check, re-sign and compare.
fn verify_request(req: &Received, now: OffsetDateTime) {
    let signed = req.as_signed();
    let auth = sigv4::parse(&signed).unwrap().unwrap();
    sigv4::check_time(&auth, now).unwrap();
    sigv4::verify(&signed, &auth, SECRET).unwrap();
}

fn bench_sigv4(c: &mut Criterion) {
    let now = SIGNED_AT + time::Duration::seconds(2);
    let sts = sts_query_post();
    let kms = kms_json_post();
    // Fail loudly here rather than benchmark an error path.
    verify_request(&sts, now);
    verify_request(&kms, now);

    let mut g = c.benchmark_group("sigv4");
    g.bench_function("verify/sts_query_post", |b| {
        b.iter(|| verify_request(black_box(&sts), black_box(now)));
    });
    g.bench_function("verify/kms_json_post", |b| {
        b.iter(|| verify_request(black_box(&kms), black_box(now)));
    });
    // The parse step alone, to show how the total splits.
    g.bench_function("parse_only/kms_json_post", |b| {
        b.iter(|| sigv4::parse(&black_box(&kms).as_signed()).unwrap());
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// Policies

const ADMINISTRATOR_ACCESS: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// A developer's policy as people write them: ten statements, wildcards, policy variables,
/// conditions of several operator families, and one explicit deny.
const TEN_STATEMENTS: &str = r#"{
  "Version": "2012-10-17",
  "Id": "developer-access",
  "Statement": [
    {
      "Sid": "ReadOwnIamUser",
      "Effect": "Allow",
      "Action": ["iam:Get*", "iam:List*"],
      "Resource": "arn:aws:iam::111122223333:user/${aws:username}"
    },
    {
      "Sid": "ManageOwnAccessKeys",
      "Effect": "Allow",
      "Action": ["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:UpdateAccessKey"],
      "Resource": "arn:aws:iam::111122223333:user/${aws:username}",
      "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    },
    {
      "Sid": "StsIdentity",
      "Effect": "Allow",
      "Action": ["sts:GetCallerIdentity", "sts:GetSessionToken"],
      "Resource": "*"
    },
    {
      "Sid": "AssumeTeamRoles",
      "Effect": "Allow",
      "Action": "sts:AssumeRole",
      "Resource": "arn:aws:iam::111122223333:role/team-*",
      "Condition": {"StringEquals": {"aws:PrincipalTag/team": ["payments", "ledger"]}}
    },
    {
      "Sid": "KmsReadOnly",
      "Effect": "Allow",
      "Action": ["kms:Describe*", "kms:List*", "kms:Get*"],
      "Resource": "*"
    },
    {
      "Sid": "KmsUseTeamKeys",
      "Effect": "Allow",
      "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
      "Resource": "arn:aws:kms:us-east-1:111122223333:key/*",
      "Condition": {
        "StringLike": {"kms:EncryptionContext:tenant": ["acme*", "globex*"]},
        "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]},
        "Bool": {"aws:SecureTransport": "true"}
      }
    },
    {
      "Sid": "WafReadOnly",
      "Effect": "Allow",
      "Action": ["wafv2:Get*", "wafv2:List*", "wafv2:Describe*", "wafv2:CheckCapacity"],
      "Resource": "arn:aws:wafv2:us-east-1:111122223333:regional/*"
    },
    {
      "Sid": "GuardFindings",
      "Effect": "Allow",
      "Action": ["guardduty:Get*", "guardduty:List*", "guardduty:ArchiveFindings"],
      "Resource": "arn:aws:guardduty:us-east-1:111122223333:detector/*",
      "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}
    },
    {
      "Sid": "InspectorWithinBusinessNetwork",
      "Effect": "Allow",
      "NotAction": ["inspector2:Disable*", "inspector2:Delete*"],
      "Resource": "*",
      "Condition": {
        "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:user/*"},
        "StringEqualsIfExists": {"aws:RequestedRegion": "us-east-1"},
        "NumericLessThanEquals": {"aws:MultiFactorAuthAge": "3600"}
      }
    },
    {
      "Sid": "DenyKeyDestructionOutsideTheOffice",
      "Effect": "Deny",
      "Action": ["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy", "iam:Delete*"],
      "Resource": "*",
      "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
    }
  ]
}"#;

/// A KMS key policy (a resource policy), shaped like the console's default one for a key with
/// administrators and users.
const KEY_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Id": "key-consolepolicy-3",
  "Statement": [
    {
      "Sid": "Enable IAM User Permissions",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
      "Action": "kms:*",
      "Resource": "*"
    },
    {
      "Sid": "Allow access for Key Administrators",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::111122223333:role/KeyAdmins"},
      "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*",
                 "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*",
                 "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
                 "kms:CancelKeyDeletion"],
      "Resource": "*"
    },
    {
      "Sid": "Allow use of the key",
      "Effect": "Allow",
      "Principal": {"AWS": ["arn:aws:iam::111122223333:user/alice",
                            "arn:aws:iam::111122223333:role/app-server"]},
      "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                 "kms:DescribeKey"],
      "Resource": "*",
      "Condition": {"StringEquals": {"kms:CallerAccount": "111122223333"}}
    },
    {
      "Sid": "Deny use without TLS",
      "Effect": "Deny",
      "Principal": "*",
      "Action": "kms:*",
      "Resource": "*",
      "Condition": {"Bool": {"aws:SecureTransport": "false"}}
    }
  ]
}"#;

const KEY_ARN: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn alice() -> Principal {
    Principal::user(ACCOUNT, "alice", "AIDAALICEEXAMPLE").with_tag("team", "payments")
}

/// A KMS `Encrypt` from alice, with the condition keys the server sets for it.
fn kms_encrypt_ctx() -> RequestContext {
    RequestContext::new(alice(), "kms:Encrypt", KEY_ARN)
        .with("aws:SourceIp", "10.1.2.3")
        .with("aws:SecureTransport", true)
        .with("aws:RequestedRegion", "us-east-1")
        .with("aws:CurrentTime", "2026-03-02T09:30:00Z")
        .with("kms:CallerAccount", ACCOUNT)
        .with("kms:EncryptionContext:tenant", "acme-prod")
}

fn bench_authorize(c: &mut Criterion) {
    let admin = Policy::parse(ADMINISTRATOR_ACCESS, PolicyKind::Identity).unwrap();
    let dev = Policy::parse(TEN_STATEMENTS, PolicyKind::Identity).unwrap();
    let key_policy = Policy::parse(KEY_POLICY, PolicyKind::Resource).unwrap();

    let sts_ctx = RequestContext::new(alice(), "sts:GetCallerIdentity", "*")
        .with("aws:SourceIp", "10.1.2.3")
        .with("aws:SecureTransport", true);
    let encrypt = kms_encrypt_ctx();
    // Matches only the deny statement (the last one) and the NotAction allow before it.
    let delete_key = RequestContext::new(alice(), "kms:ScheduleKeyDeletion", KEY_ARN)
        .with("aws:SourceIp", "10.1.2.3")
        .with("aws:SecureTransport", true);
    // Matches nothing: every statement is examined and the answer is an implicit deny.
    let nothing = RequestContext::new(alice(), "inspector2:DisableDelegatedAdminAccount", "*")
        .with("aws:SourceIp", "10.1.2.3");

    // Check the expected decisions once, so the benchmark measures the intended path.
    assert_eq!(authorize(&[&admin], None, &sts_ctx), Decision::Allow);
    assert_eq!(authorize(&[&dev], None, &sts_ctx), Decision::Allow);
    assert_eq!(authorize(&[&dev], None, &encrypt), Decision::Allow);
    assert_eq!(
        authorize(&[&dev], None, &delete_key),
        Decision::ExplicitDeny
    );
    assert_eq!(authorize(&[&dev], None, &nothing), Decision::ImplicitDeny);
    assert_eq!(
        authorize(&[&dev], Some(&key_policy), &encrypt),
        Decision::Allow
    );
    assert_eq!(
        authorize(&[&admin, &dev], Some(&key_policy), &encrypt),
        Decision::Allow
    );

    let mut g = c.benchmark_group("authorize");
    g.bench_function("admin_access/sts_get_caller_identity", |b| {
        b.iter(|| authorize(black_box(&[&admin]), None, black_box(&sts_ctx)));
    });
    g.bench_function("ten_statements/sts_get_caller_identity", |b| {
        b.iter(|| authorize(black_box(&[&dev]), None, black_box(&sts_ctx)));
    });
    g.bench_function("ten_statements/kms_encrypt_conditions", |b| {
        b.iter(|| authorize(black_box(&[&dev]), None, black_box(&encrypt)));
    });
    g.bench_function("ten_statements/explicit_deny", |b| {
        b.iter(|| authorize(black_box(&[&dev]), None, black_box(&delete_key)));
    });
    g.bench_function("ten_statements/implicit_deny", |b| {
        b.iter(|| authorize(black_box(&[&dev]), None, black_box(&nothing)));
    });
    g.bench_function("with_key_policy/kms_encrypt", |b| {
        b.iter(|| {
            authorize(
                black_box(&[&dev]),
                Some(black_box(&key_policy)),
                black_box(&encrypt),
            )
        });
    });
    g.bench_function("admin_and_ten_with_key_policy/kms_encrypt", |b| {
        b.iter(|| {
            authorize(
                black_box(&[&admin, &dev]),
                Some(black_box(&key_policy)),
                black_box(&encrypt),
            )
        });
    });
    // Building the context is part of every request too (owned strings, a BTreeMap).
    g.bench_function("build_context/kms_encrypt", |b| b.iter(kms_encrypt_ctx));
    g.finish();
}

fn bench_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("policy_parse");
    g.bench_function("admin_access", |b| {
        b.iter(|| Policy::parse(black_box(ADMINISTRATOR_ACCESS), PolicyKind::Identity).unwrap());
    });
    g.bench_function("ten_statements", |b| {
        b.iter(|| Policy::parse(black_box(TEN_STATEMENTS), PolicyKind::Identity).unwrap());
    });
    g.bench_function("key_policy", |b| {
        b.iter(|| Policy::parse(black_box(KEY_POLICY), PolicyKind::Resource).unwrap());
    });
    g.finish();
}

fn config() -> Criterion {
    // A shared 2-core machine: shorter runs, enough samples to see the noise.
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_sigv4, bench_authorize, bench_parse
}
criterion_main!(benches);
