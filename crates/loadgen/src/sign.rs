//! SigV4 signing as the AWS SDKs do it under load: the signing key (four HMACs over the
//! secret, the date, the region and the service) is derived once per day and service and
//! kept, while every request still gets its own canonical request, string to sign and
//! signature over its own time and body hash.
//!
//! `aws-sigv4`'s `sign` derives the key again for every call and builds its request model
//! each time; on the shared two-core machine that client-side work competed with the server
//! for CPU and depressed the signed operations only (`/health` is unsigned). Nothing is
//! replayed: each request is signed afresh with the current time. A test checks the headers
//! against `aws-sigv4`'s for the same request and time.

use std::fmt::Write as _;
use std::time::SystemTime;

use aws_lc_rs::{digest, hmac};
use time::OffsetDateTime;

/// The region every request is signed for (the server's default).
pub const REGION: &str = "us-east-1";

/// A signer for one access key, with its signing keys cached per (day, service).
#[derive(Debug)]
pub struct Signer {
    access_key_id: String,
    secret: String,
    /// `(yyyymmdd, service, key)` of the keys derived so far (one per service signed for).
    keys: Vec<(String, String, hmac::Key)>,
}

/// The headers a signed request carries besides its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// `x-amz-date`.
    pub amz_date: String,
    /// `authorization`.
    pub authorization: String,
}

impl Signer {
    /// A signer for an access key.
    pub fn new(access_key_id: &str, secret: &str) -> Self {
        Self {
            access_key_id: access_key_id.to_owned(),
            secret: secret.to_owned(),
            keys: Vec::new(),
        }
    }

    fn key(&mut self, day: &str, service: &str) -> &hmac::Key {
        let found = self
            .keys
            .iter()
            .position(|(d, s, _)| d == day && s == service);
        let at = match found {
            Some(i) => i,
            None => {
                // A new day replaces the old days' keys.
                self.keys.retain(|(d, _, _)| d == day);
                let step = |key: &[u8], data: &str| {
                    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
                };
                let k_date = step(format!("AWS4{}", self.secret).as_bytes(), day);
                let k_region = step(k_date.as_ref(), REGION);
                let k_service = step(k_region.as_ref(), service);
                let k_signing = step(k_service.as_ref(), "aws4_request");
                self.keys.push((
                    day.to_owned(),
                    service.to_owned(),
                    hmac::Key::new(hmac::HMAC_SHA256, k_signing.as_ref()),
                ));
                self.keys.len() - 1
            }
        };
        // `at` is always in range: found by `position` or just pushed.
        &self.keys[at].2
    }

    /// Signs `POST /` with these headers (name, value; names lower-case) and body at `now`.
    /// The `host` header must be among them.
    pub fn sign_post(
        &mut self,
        service: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        now: SystemTime,
    ) -> Signed {
        let t = OffsetDateTime::from(now);
        let day = format!("{:04}{:02}{:02}", t.year(), u8::from(t.month()), t.day());
        let amz_date = format!("{day}T{:02}{:02}{:02}Z", t.hour(), t.minute(), t.second());
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        all.push(("x-amz-date", &amz_date));
        all.sort_unstable_by_key(|(name, _)| *name);
        let mut canonical = String::with_capacity(512);
        canonical.push_str("POST\n/\n\n");
        for (name, value) in &all {
            let _ = writeln!(canonical, "{name}:{}", value.trim());
        }
        canonical.push('\n');
        let signed_headers = all.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(";");
        canonical.push_str(&signed_headers);
        canonical.push('\n');
        canonical.push_str(&hex(digest::digest(&digest::SHA256, body).as_ref()));
        let scope = format!("{day}/{REGION}/{service}/aws4_request");
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
        );
        let signature =
            hex(hmac::sign(self.key(&day, service), string_to_sign.as_bytes()).as_ref());
        Signed {
            authorization: format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
                self.access_key_id
            ),
            amz_date,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    use aws_smithy_runtime_api::client::identity::Identity;

    use super::*;

    /// What `aws-sigv4` (the SDK's signer) puts on the same request at the same time.
    fn reference(service: &str, headers: &[(&str, &str)], body: &[u8], now: SystemTime) -> Signed {
        let identity: Identity = Credentials::new("AKIDEXAMPLE", "s3cr3t", None, None, "t").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(REGION)
            .name(service)
            .time(now)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let host = headers.iter().find(|(n, _)| *n == "host").unwrap().1;
        let url = format!("https://{host}/");
        let signable = SignableRequest::new(
            "POST",
            &url,
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let mut req = http::Request::post("/").body(()).unwrap();
        instructions.apply_to_request_http1x(&mut req);
        let get = |n: &str| req.headers().get(n).unwrap().to_str().unwrap().to_owned();
        Signed {
            amz_date: get("x-amz-date"),
            authorization: get("authorization"),
        }
    }

    #[test]
    fn matches_aws_sigv4_for_kms_and_sts_across_days() {
        let mut signer = Signer::new("AKIDEXAMPLE", "s3cr3t");
        let kms = [
            ("host", "127.0.0.1:7443"),
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "TrentService.Encrypt"),
        ];
        let sts = [
            ("host", "127.0.0.1:7443"),
            (
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
        ];
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_040_000);
        // Two services, the same day twice (cached keys), then the next day (a new key).
        for (i, now) in [
            t0,
            t0 + Duration::from_secs(7),
            t0 + Duration::from_secs(86_400),
        ]
        .into_iter()
        .enumerate()
        {
            let body = format!("{{\"KeyId\":\"k\",\"n\":{i}}}");
            assert_eq!(
                signer.sign_post("kms", &kms, body.as_bytes(), now),
                reference("kms", &kms, body.as_bytes(), now)
            );
            let form = b"Action=GetCallerIdentity&Version=2011-06-15";
            assert_eq!(
                signer.sign_post("sts", &sts, form, now),
                reference("sts", &sts, form, now)
            );
        }
        assert_eq!(
            signer.keys.len(),
            2,
            "one key per service, old days dropped"
        );
    }

    #[test]
    fn another_body_or_time_gets_another_signature() {
        let mut signer = Signer::new("AKIDEXAMPLE", "s3cr3t");
        let h = [("host", "h:1"), ("content-type", "x")];
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_040_000);
        let a = signer.sign_post("kms", &h, b"{}", t0);
        assert_ne!(a, signer.sign_post("kms", &h, b"{ }", t0));
        assert_ne!(
            a,
            signer.sign_post("kms", &h, b"{}", t0 + Duration::from_secs(1))
        );
    }
}
