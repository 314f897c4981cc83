//! The proxy's single entry point: token state for a request, the two interstitial pages, and the two
//! verification endpoints.

use std::net::IpAddr;
use std::sync::Arc;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Response, StatusCode};
use portcullis_waf_core::{TokenRejection, TokenState};

use crate::keys::{Entropy, SystemEntropy, TokenKeys};
use crate::pow::MAX_DIFFICULTY_BITS;
use crate::redirect::safe_return_url;
use crate::token::{ClientBinding, TOKEN_COOKIE, TOKEN_HEADER, Token, normalize_host};
use crate::{ChallengeError, captcha, page, pow};

/// Every path this crate answers starts with this.
pub const PATH_PREFIX: &str = "/.well-known/portcullis-waf/";
/// Where the challenge page's script POSTs `puzzle` and `counter` (form-encoded).
pub const VERIFY_PATH: &str = "/.well-known/portcullis-waf/verify";
/// Where the CAPTCHA form POSTs `puzzle` and `answer` (form-encoded).
pub const CAPTCHA_PATH: &str = "/.well-known/portcullis-waf/captcha";
/// Largest verification body read.
pub const MAX_BODY: usize = 16 * 1024;
/// At most this many token candidates (header + cookies) are checked per request.
const MAX_CANDIDATES: usize = 4;

/// Tunables; `Default` gives the values in each field's doc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterstitialConfig {
    /// Leading zero bits the challenge's proof of work needs (1–28; default 16, about 65,000 hashes, well
    /// under a second with WebCrypto).
    pub difficulty_bits: u8,
    /// How long a challenge puzzle stays valid, seconds (default 300).
    pub challenge_ttl_s: u64,
    /// How long a CAPTCHA puzzle stays valid, seconds (default 600: people are slower than scripts).
    pub captcha_ttl_s: u64,
    /// Characters per CAPTCHA (4–8; default 6).
    pub captcha_len: usize,
    /// The cookie's `Max-Age`, seconds (default 259,200: AWS's longest immunity time).
    pub cookie_max_age_s: u64,
}

impl Default for InterstitialConfig {
    fn default() -> Self {
        InterstitialConfig {
            difficulty_bits: 16,
            challenge_ttl_s: 300,
            captcha_ttl_s: 600,
            captcha_len: 6,
            cookie_max_age_s: 259_200,
        }
    }
}

impl InterstitialConfig {
    /// Checks every range.
    pub fn validate(&self) -> Result<(), ChallengeError> {
        if !(1..=MAX_DIFFICULTY_BITS).contains(&self.difficulty_bits) {
            return Err(ChallengeError::Config("difficulty_bits must be 1..=28"));
        }
        if !(10..=86_400).contains(&self.challenge_ttl_s)
            || !(10..=86_400).contains(&self.captcha_ttl_s)
        {
            return Err(ChallengeError::Config(
                "puzzle lifetimes must be 10..=86400 seconds",
            ));
        }
        if !(4..=8).contains(&self.captcha_len) {
            return Err(ChallengeError::Config("captcha_len must be 4..=8"));
        }
        if !(60..=31_536_000).contains(&self.cookie_max_age_s) {
            return Err(ChallengeError::Config(
                "cookie_max_age_s must be 60..=31536000",
            ));
        }
        Ok(())
    }
}

/// What the interstitials need to know about one request, besides its headers.
#[derive(Clone, Copy, Debug)]
pub struct ClientRequest<'a> {
    /// The request's host (`Host` or `:authority`; port and case are ignored).
    pub host: &'a str,
    /// Whether the client connected over TLS (adds `Secure` to the cookie).
    pub https: bool,
    /// Who the client is (IP prefix + User-Agent).
    pub client: ClientBinding,
    /// The current time, epoch ms.
    pub now_ms: u64,
}

impl<'a> ClientRequest<'a> {
    /// Builds it from the client address (after trusted-proxy resolution) and the request headers (for
    /// `User-Agent`).
    pub fn new(
        host: &'a str,
        https: bool,
        client_ip: IpAddr,
        headers: &HeaderMap,
        now_ms: u64,
    ) -> Self {
        let ua = headers
            .get(header::USER_AGENT)
            .map(HeaderValue::as_bytes)
            .unwrap_or_default();
        ClientRequest {
            host,
            https,
            client: ClientBinding::new(client_ip, ua),
            now_ms,
        }
    }
}

/// A successful verification: the new token, its cookie and where to send the client.
#[derive(Clone, Debug)]
pub struct Solved {
    /// The whole `Set-Cookie` header value.
    pub set_cookie: String,
    /// The original URL (a same-host path).
    pub location: String,
    /// What the new token holds.
    pub token: Token,
}

/// The interstitial engine. Cheap to share (`Arc`) between requests; it keeps no per-client state.
pub struct Interstitials {
    keys: TokenKeys,
    config: InterstitialConfig,
    entropy: Arc<dyn Entropy>,
}

impl std::fmt::Debug for Interstitials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interstitials")
            .field("keys", &self.keys)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

type Resp = Response<Vec<u8>>;

impl Interstitials {
    /// An engine with the OS random generator.
    pub fn new(
        keys: TokenKeys,
        config: InterstitialConfig,
    ) -> Result<Interstitials, ChallengeError> {
        config.validate()?;
        Ok(Interstitials {
            keys,
            config,
            entropy: Arc::new(SystemEntropy),
        })
    }

    /// Replaces the random source (tests).
    pub fn with_entropy(mut self, entropy: Arc<dyn Entropy>) -> Interstitials {
        self.entropy = entropy;
        self
    }

    /// The key list (to verify tokens directly).
    pub fn keys(&self) -> &TokenKeys {
        &self.keys
    }

    /// Whether `path_and_query` is one of the verification endpoints [`Self::intercept`] answers.
    pub fn is_endpoint(path_and_query: &str) -> bool {
        let path = path_and_query.split('?').next().unwrap_or_default();
        path == VERIFY_PATH || path == CAPTCHA_PATH
    }

    /// Whether the request carries a token (an `aws-waf-token` cookie or `x-aws-waf-token` header):
    /// [`Self::token_state`] is `None` without one, so a caller can skip building the [`ClientRequest`] (a hash
    /// of the client) for the many requests that carry none.
    pub fn carries_token(headers: &HeaderMap) -> bool {
        // Most requests carry cookies but no token: a byte search of the cookie values (and one look-up of the
        // header) rules them out without splitting and checking every cookie pair.
        let header = headers.contains_key(TOKEN_HEADER_NAME);
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .any(|v| memchr::memmem::find(v.as_bytes(), TOKEN_COOKIE.as_bytes()).is_some());
        (header || cookie) && token_values(headers).next().is_some()
    }

    /// The token state of a request for waf-core's `EvalEnv::with_token`: `None` when the client sent no
    /// `aws-waf-token` cookie or `x-aws-waf-token` header. `token_domains` is the web ACL's `TokenDomains`.
    pub fn token_state<S: AsRef<str>>(
        &self,
        req: &ClientRequest<'_>,
        headers: &HeaderMap,
        token_domains: &[S],
    ) -> Option<TokenState> {
        let mut first: Option<TokenState> = None;
        let mut best: Option<Token> = None;
        for value in token_candidates(headers) {
            match self
                .keys
                .open_token(value, req.host, &req.client, token_domains, req.now_ms)
            {
                Ok(t) => {
                    let newer = best.as_ref().is_none_or(|b| latest(&t) > latest(b));
                    if newer {
                        best = Some(t);
                    }
                }
                // a well-signed token for another domain says more than a garbled one
                Err(r) => {
                    if first.is_none() || r == TokenRejection::DomainMismatch {
                        first = Some(TokenState {
                            rejection: Some(r),
                            ..TokenState::default()
                        });
                    }
                }
            }
        }
        best.map(|t| t.state()).or(first)
    }

    /// Answers the verification endpoints; `None` for every other path (the proxy then inspects the request as
    /// usual). Call it before web ACL evaluation, with at most [`MAX_BODY`] bytes of body.
    pub fn intercept(
        &self,
        req: &ClientRequest<'_>,
        method: &Method,
        path_and_query: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<Resp> {
        if !Self::is_endpoint(path_and_query) {
            return None;
        }
        if method != Method::POST {
            let mut r = respond(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain; charset=utf-8",
                b"POST only\n".to_vec(),
            );
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return Some(r);
        }
        let path = path_and_query.split('?').next().unwrap_or_default();
        Some(if path == VERIFY_PATH {
            match self.verify_challenge(req, headers, body) {
                Ok(s) => {
                    let body = format!("{{\"location\":\"{}\"}}", json_escape(&s.location));
                    let mut r = respond(StatusCode::OK, "application/json", body.into_bytes());
                    set_cookie(&mut r, &s.set_cookie);
                    r
                }
                Err(e) => {
                    let status = match e {
                        ChallengeError::Malformed(_) => StatusCode::BAD_REQUEST,
                        _ => StatusCode::FORBIDDEN,
                    };
                    respond(
                        status,
                        "application/json",
                        format!("{{\"error\":\"{}\"}}", json_escape(&e.to_string())).into_bytes(),
                    )
                }
            }
        } else {
            match self.verify_captcha(req, headers, body) {
                Ok(s) => {
                    let mut r = respond(
                        StatusCode::SEE_OTHER,
                        "text/plain; charset=utf-8",
                        Vec::new(),
                    );
                    if let Ok(v) = HeaderValue::try_from(s.location.as_str()) {
                        r.headers_mut().insert(header::LOCATION, v);
                    }
                    set_cookie(&mut r, &s.set_cookie);
                    r
                }
                Err(e) => {
                    let url = form(body)
                        .ok()
                        .and_then(|f| {
                            field(&f, "puzzle").and_then(|p| captcha::signed_url(&self.keys, p))
                        })
                        .unwrap_or_else(|| "/".to_owned());
                    let msg = match e {
                        ChallengeError::WrongAnswer => {
                            "That was not right. Please try again with this new picture."
                        }
                        ChallengeError::Expired => {
                            "The picture expired. Please try again with this new one."
                        }
                        _ => "Verification failed. Please try again.",
                    };
                    self.captcha_response(req, &url, Some(msg))
                }
            }
        })
    }

    /// The 202 challenge interstitial for a request to `path_and_query` (AWS: `x-amzn-waf-action: challenge`).
    pub fn challenge_page(&self, req: &ClientRequest<'_>, path_and_query: &str) -> Resp {
        let p = pow::issue(
            &self.keys,
            self.entropy.as_ref(),
            &normalize_host(req.host),
            &req.client,
            safe_return_url(path_and_query),
            self.config.difficulty_bits,
            req.now_ms,
        );
        let html = page::challenge(&p.signed, &p.nonce, p.bits, VERIFY_PATH);
        let mut r = respond(
            StatusCode::ACCEPTED,
            "text/html; charset=utf-8",
            html.into_bytes(),
        );
        let h = r.headers_mut();
        h.insert(
            HeaderName::from_static("x-amzn-waf-action"),
            HeaderValue::from_static("challenge"),
        );
        if let Ok(v) = HeaderValue::try_from(page::CHALLENGE_CSP.as_str()) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
        r
    }

    /// The 405 CAPTCHA interstitial for a request to `path_and_query` (AWS: `x-amzn-waf-action: captcha`).
    pub fn captcha_page(&self, req: &ClientRequest<'_>, path_and_query: &str) -> Resp {
        self.captcha_response(req, path_and_query, None)
    }

    fn captcha_response(&self, req: &ClientRequest<'_>, url: &str, error: Option<&str>) -> Resp {
        let c = self.new_captcha(req, url);
        let html = page::captcha(&c.svg, &c.signed, CAPTCHA_PATH, error);
        let mut r = respond(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/html; charset=utf-8",
            html.into_bytes(),
        );
        let h = r.headers_mut();
        h.insert(
            HeaderName::from_static("x-amzn-waf-action"),
            HeaderValue::from_static("captcha"),
        );
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(page::CAPTCHA_CSP),
        );
        r
    }

    pub(crate) fn new_captcha(&self, req: &ClientRequest<'_>, url: &str) -> captcha::Issued {
        captcha::issue(
            &self.keys,
            self.entropy.as_ref(),
            &normalize_host(req.host),
            &req.client,
            safe_return_url(url),
            self.config.captcha_len,
            req.now_ms,
        )
    }

    /// Checks a challenge answer (form body `puzzle=…&counter=…`) and issues a token with a new challenge solve
    /// time (keeping the CAPTCHA time of a valid token the client already holds).
    pub fn verify_challenge(
        &self,
        req: &ClientRequest<'_>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Solved, ChallengeError> {
        let f = form(body)?;
        let puzzle = field(&f, "puzzle").ok_or(ChallengeError::Malformed("missing puzzle"))?;
        let counter = field(&f, "counter")
            .filter(|c| c.len() <= 20)
            .and_then(|c| c.parse::<u64>().ok())
            .ok_or(ChallengeError::Malformed("missing or invalid counter"))?;
        let host = normalize_host(req.host);
        let claims = pow::check(
            &self.keys,
            puzzle,
            counter,
            &host,
            &req.client,
            req.now_ms,
            self.config.challenge_ttl_s.saturating_mul(1000),
        )?;
        Ok(self.solved(req, headers, &claims.url, false))
    }

    /// Checks a CAPTCHA answer (form body `puzzle=…&answer=…`; trimmed, case-insensitive) and issues a token
    /// with new CAPTCHA and challenge solve times.
    pub fn verify_captcha(
        &self,
        req: &ClientRequest<'_>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Solved, ChallengeError> {
        let f = form(body)?;
        let puzzle = field(&f, "puzzle").ok_or(ChallengeError::Malformed("missing puzzle"))?;
        let answer = field(&f, "answer").ok_or(ChallengeError::Malformed("missing answer"))?;
        let host = normalize_host(req.host);
        let claims = captcha::check(
            &self.keys,
            puzzle,
            answer,
            &host,
            &req.client,
            req.now_ms,
            self.config.captcha_ttl_s.saturating_mul(1000),
        )?;
        Ok(self.solved(req, headers, &claims.url, true))
    }

    fn solved(
        &self,
        req: &ClientRequest<'_>,
        headers: &HeaderMap,
        url: &str,
        captcha: bool,
    ) -> Solved {
        let none: &[&str] = &[];
        let previous = token_candidates(headers).into_iter().find_map(|v| {
            self.keys
                .open_token(v, req.host, &req.client, none, req.now_ms)
                .ok()
        });
        let id = previous.as_ref().map(|t| t.id).unwrap_or_else(|| {
            let mut id = [0u8; 16];
            self.entropy.fill(&mut id);
            id
        });
        let token = Token {
            id,
            domain: normalize_host(req.host),
            issued_ms: req.now_ms,
            challenge_ms: Some(req.now_ms),
            captcha_ms: if captcha {
                Some(req.now_ms)
            } else {
                previous.and_then(|t| t.captcha_ms)
            },
            binding: req.client,
        };
        let value = self.keys.issue(&token);
        let secure = if req.https { "; Secure" } else { "" };
        Solved {
            set_cookie: format!(
                "{TOKEN_COOKIE}={value}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
                self.config.cookie_max_age_s
            ),
            location: safe_return_url(url).to_owned(),
            token,
        }
    }
}

/// The newest solve time of a token.
fn latest(t: &Token) -> u64 {
    t.challenge_ms.max(t.captcha_ms).unwrap_or(0)
}

/// Token values a request carries: the `x-aws-waf-token` header first, then `aws-waf-token` cookies.
/// [`TOKEN_HEADER`] as a header name, made at compile time.
const TOKEN_HEADER_NAME: http::HeaderName = http::HeaderName::from_static(TOKEN_HEADER);

fn token_candidates(headers: &HeaderMap) -> Vec<&str> {
    token_values(headers).take(MAX_CANDIDATES).collect()
}

/// The non-empty token values of a request: `x-aws-waf-token` headers first, then `aws-waf-token` cookies.
fn token_values(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    let from_header = headers
        .get_all(TOKEN_HEADER_NAME)
        .iter()
        .filter_map(|v| v.to_str().ok());
    let from_cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k.trim() == TOKEN_COOKIE).then(|| v.trim().trim_matches('"'))
        });
    from_header
        .map(str::trim)
        .chain(from_cookie)
        .filter(|v| !v.is_empty())
}

fn form(body: &[u8]) -> Result<Vec<(String, String)>, ChallengeError> {
    if body.len() > MAX_BODY {
        return Err(ChallengeError::Malformed("body too large"));
    }
    serde_urlencoded::from_bytes(body).map_err(|_| ChallengeError::Malformed("not a form"))
}

fn field<'a>(f: &'a [(String, String)], name: &str) -> Option<&'a str> {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '<' => out.push_str("\\u003c"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn respond(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Resp {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

fn set_cookie(r: &mut Resp, cookie: &str) {
    if let Ok(v) = HeaderValue::try_from(cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}
