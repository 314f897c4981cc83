//! The `aws-waf-token` cookie: what it carries, how it is signed, and how a request's token becomes the
//! [`TokenState`] that waf-core decides Captcha and Challenge rules with.
//!
//! Layout (inside the [`crate::wire`] envelope, purpose "token"): token id (16 random bytes), issued-at,
//! challenge solve time and CAPTCHA solve time (epoch ms, 0 = never), the [`ClientBinding`] (16 bytes) and the
//! domain it was issued for. The token does not expire by itself: waf-core compares the solve times with the
//! rule's or web ACL's immunity time (AWS: 60–259,200 s), which reports an old token as `expired`.

use std::net::IpAddr;

use aws_lc_rs::digest;
use portcullis_waf_core::{TokenRejection, TokenState};

use crate::keys::{Purpose, TokenKeys};
use crate::wire::{Reader, Writer, open, seal};

/// Cookie (and `x-aws-waf-token` header) name, as AWS WAF uses it.
pub const TOKEN_COOKIE: &str = "aws-waf-token";
/// Header some AWS SDK integrations send the token in instead of the cookie.
pub const TOKEN_HEADER: &str = "x-aws-waf-token";
/// How far a solve time may lie in the future (clock skew between proxy instances).
const FUTURE_SKEW_MS: u64 = 60_000;

/// What ties a token or puzzle to one client: the first 16 bytes of SHA-256 over the client's IPv4 /24 or IPv6
/// /64 network and its `User-Agent`.
///
/// AWS binds tokens to a browser fingerprint gathered by its script; a network prefix plus User-Agent is the
/// stateless, script-free approximation. The prefix (not the address) tolerates carrier NAT pools and IPv6
/// privacy addresses; a client that changes network or browser must solve again. A token copied to another
/// network or replayed with another User-Agent is rejected as `Invalid`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ClientBinding([u8; 16]);

impl ClientBinding {
    /// The binding of a client address and User-Agent header value (empty when absent).
    pub fn new(ip: IpAddr, user_agent: &[u8]) -> ClientBinding {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(b"portcullis-waf-client\0");
        match ip.to_canonical() {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                ctx.update(&[4, o[0], o[1], o[2]]);
            }
            IpAddr::V6(v6) => {
                let o = v6.octets();
                ctx.update(&[6]);
                ctx.update(o.get(..8).unwrap_or_default());
            }
        }
        ctx.update(user_agent);
        let d = ctx.finish();
        let mut out = [0u8; 16];
        out.copy_from_slice(d.as_ref().get(..16).unwrap_or(&[0u8; 16]));
        ClientBinding(out)
    }

    pub(crate) fn from_bytes(b: [u8; 16]) -> ClientBinding {
        ClientBinding(b)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

/// Lower-cases a `Host` value and strips the port and a trailing dot (`Example.COM.:443` → `example.com`).
pub fn normalize_host(host: &str) -> String {
    let h = host.trim();
    let h = if let Some(rest) = h.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else if h.matches(':').count() == 1 {
        h.split(':').next().unwrap_or_default()
    } else {
        h
    };
    h.trim_end_matches('.').to_ascii_lowercase()
}

/// Whether a token issued for `token_domain` is accepted on `host`: the same host, or a domain in the web ACL's
/// `TokenDomains` or a subdomain of one (AWS: "the resource's host domain plus all domains in the token domain
/// list, including their prefixed subdomains").
pub fn domain_accepted<S: AsRef<str>>(token_domain: &str, host: &str, token_domains: &[S]) -> bool {
    if token_domain == normalize_host(host) {
        return true;
    }
    token_domains.iter().any(|d| {
        let d = normalize_host(d.as_ref());
        !d.is_empty()
            && (token_domain == d
                || token_domain
                    .strip_suffix(d.as_str())
                    .is_some_and(|p| p.ends_with('.')))
    })
}

/// The decoded content of a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// Random id (for logs and correlation; not secret).
    pub id: [u8; 16],
    /// Normalized host the token was issued for.
    pub domain: String,
    /// When the token was signed, epoch ms.
    pub issued_ms: u64,
    /// When the client last solved a silent challenge, epoch ms.
    pub challenge_ms: Option<u64>,
    /// When the client last solved a CAPTCHA, epoch ms.
    pub captcha_ms: Option<u64>,
    /// The client it belongs to.
    pub binding: ClientBinding,
}

impl Token {
    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.bytes(&self.id)
            .u64(self.issued_ms)
            .u64(self.challenge_ms.unwrap_or(0))
            .u64(self.captcha_ms.unwrap_or(0))
            .bytes(self.binding.as_bytes())
            .str(&self.domain);
        w.0
    }

    fn decode(b: &[u8]) -> Option<Token> {
        let mut r = Reader::new(b);
        let id = r.array::<16>()?;
        let issued_ms = r.u64()?;
        let challenge_ms = Some(r.u64()?).filter(|&t| t != 0);
        let captcha_ms = Some(r.u64()?).filter(|&t| t != 0);
        let binding = ClientBinding::from_bytes(r.array::<16>()?);
        let domain = r.str()?.to_owned();
        r.end()?;
        Some(Token {
            id,
            domain,
            issued_ms,
            challenge_ms,
            captcha_ms,
            binding,
        })
    }

    /// The state waf-core expects for an accepted token.
    pub fn state(&self) -> TokenState {
        TokenState {
            challenge_solved_ms: self.challenge_ms,
            captcha_solved_ms: self.captcha_ms,
            rejection: None,
        }
    }
}

fn rejected(r: TokenRejection) -> TokenState {
    TokenState {
        rejection: Some(r),
        ..TokenState::default()
    }
}

impl TokenKeys {
    /// Signs a token into a cookie value (with the first key).
    pub fn issue(&self, token: &Token) -> String {
        match self.current() {
            Some(k) => seal(k, Purpose::Token, &token.encode()),
            None => String::new(),
        }
    }

    /// Reads and checks a token: signature (constant-time, any key), client binding and plausible timestamps,
    /// then domain. `Err` carries the waf-core rejection reason.
    pub fn open_token<S: AsRef<str>>(
        &self,
        value: &str,
        host: &str,
        client: &ClientBinding,
        token_domains: &[S],
        now_ms: u64,
    ) -> Result<Token, TokenRejection> {
        let (payload, _) =
            open(self, Purpose::Token, value.trim()).ok_or(TokenRejection::Invalid)?;
        let t = Token::decode(&payload).ok_or(TokenRejection::Invalid)?;
        let latest = now_ms.saturating_add(FUTURE_SKEW_MS);
        let future = [Some(t.issued_ms), t.challenge_ms, t.captcha_ms]
            .into_iter()
            .flatten()
            .any(|ts| ts > latest);
        if t.binding != *client || future {
            return Err(TokenRejection::Invalid);
        }
        if !domain_accepted(&t.domain, host, token_domains) {
            return Err(TokenRejection::DomainMismatch);
        }
        Ok(t)
    }

    /// The [`TokenState`] for a token value presented on `host` by `client`; `token_domains` is the web ACL's
    /// `TokenDomains` (empty when unset). Bad signature or binding → `Invalid`; other domain → `DomainMismatch`;
    /// an old token keeps its solve times and waf-core rules it expired against the immunity time.
    pub fn verify<S: AsRef<str>>(
        &self,
        value: &str,
        host: &str,
        client: &ClientBinding,
        token_domains: &[S],
        now_ms: u64,
    ) -> TokenState {
        match self.open_token(value, host, client, token_domains, now_ms) {
            Ok(t) => t.state(),
            Err(r) => rejected(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TokenKey;

    const NOW: u64 = 1_800_000_000_000;
    const NONE: &[&str] = &[];

    fn client() -> ClientBinding {
        ClientBinding::new("203.0.113.7".parse().unwrap(), b"Mozilla/5.0")
    }

    fn token() -> Token {
        Token {
            id: [7; 16],
            domain: "shop.example.com".into(),
            issued_ms: NOW - 1000,
            challenge_ms: Some(NOW - 1000),
            captcha_ms: None,
            binding: client(),
        }
    }

    fn keys() -> TokenKeys {
        TokenKeys::new(vec![TokenKey::new(&[1; 32]).unwrap()]).unwrap()
    }

    #[test]
    fn round_trip() {
        let k = keys();
        let v = k.issue(&token());
        assert!(v.len() < 200, "{v}");
        assert!(
            v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        );
        let st = k.verify(&v, "Shop.Example.com:8443", &client(), NONE, NOW);
        assert_eq!(
            st,
            TokenState {
                challenge_solved_ms: Some(NOW - 1000),
                captcha_solved_ms: None,
                rejection: None
            }
        );
        assert_eq!(
            k.open_token(&v, "shop.example.com", &client(), NONE, NOW),
            Ok(token())
        );
    }

    #[test]
    fn every_character_changed_is_rejected() {
        let k = keys();
        let v = k.issue(&token());
        for i in 0..v.len() {
            let mut b = v.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let s = String::from_utf8(b).unwrap();
            let st = k.verify(&s, "shop.example.com", &client(), NONE, NOW);
            assert_eq!(st.rejection, Some(TokenRejection::Invalid), "position {i}");
            assert_eq!(st.challenge_solved_ms, None);
        }
        // every bit of the decoded payload and MAC flipped
        let (signed, _) = v.rsplit_once('.').unwrap();
        let (_, p) = signed.split_once('.').unwrap();
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(p)
            .unwrap();
        for i in 0..raw.len() * 8 {
            let mut r = raw.clone();
            r[i / 8] ^= 1 << (i % 8);
            let forged = v.replacen(
                p,
                &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&r),
                1,
            );
            assert_eq!(
                k.verify(&forged, "shop.example.com", &client(), NONE, NOW)
                    .rejection,
                Some(TokenRejection::Invalid)
            );
        }
    }

    #[test]
    fn wrong_host_and_token_domains() {
        let k = keys();
        let v = k.issue(&token());
        let st = k.verify(&v, "other.example.org", &client(), NONE, NOW);
        assert_eq!(st.rejection, Some(TokenRejection::DomainMismatch));
        // TokenDomains lets a sibling site accept it (domain or parent domain listed)
        assert_eq!(
            k.verify(&v, "api.example.com", &client(), &["example.com"], NOW)
                .rejection,
            None
        );
        assert_eq!(
            k.verify(&v, "api.example.com", &client(), &["shop.example.com"], NOW)
                .rejection,
            None
        );
        // a suffix that is not a label boundary does not count
        assert_eq!(
            k.verify(&v, "api.example.com", &client(), &["p.example.com"], NOW)
                .rejection,
            Some(TokenRejection::DomainMismatch)
        );
    }

    #[test]
    fn binding_and_future_times() {
        let k = keys();
        let v = k.issue(&token());
        let same_net = ClientBinding::new("203.0.113.200".parse().unwrap(), b"Mozilla/5.0");
        assert_eq!(
            k.verify(&v, "shop.example.com", &same_net, NONE, NOW)
                .rejection,
            None
        );
        for other in [
            ClientBinding::new("203.0.114.7".parse().unwrap(), b"Mozilla/5.0"),
            ClientBinding::new("203.0.113.7".parse().unwrap(), b"curl/8"),
        ] {
            assert_eq!(
                k.verify(&v, "shop.example.com", &other, NONE, NOW)
                    .rejection,
                Some(TokenRejection::Invalid)
            );
        }
        let mut t = token();
        t.captcha_ms = Some(NOW + 3_600_000);
        let v = k.issue(&t);
        assert_eq!(
            k.verify(&v, "shop.example.com", &client(), NONE, NOW)
                .rejection,
            Some(TokenRejection::Invalid)
        );
    }

    #[test]
    fn old_token_keeps_times_for_immunity_check() {
        let k = keys();
        let mut t = token();
        t.challenge_ms = Some(NOW - 10 * 86_400_000);
        let st = k.verify(&k.issue(&t), "shop.example.com", &client(), NONE, NOW);
        assert_eq!(st.rejection, None);
        assert_eq!(st.challenge_solved_ms, Some(NOW - 10 * 86_400_000));
    }

    #[test]
    fn key_rotation() {
        let old = TokenKey::new(&[1; 32]).unwrap();
        let new = TokenKey::new(&[2; 32]).unwrap();
        let v_old = TokenKeys::new(vec![old.clone()]).unwrap().issue(&token());
        let rotated = TokenKeys::new(vec![new.clone(), old]).unwrap();
        assert_eq!(
            rotated
                .verify(&v_old, "shop.example.com", &client(), NONE, NOW)
                .rejection,
            None
        );
        let v_new = rotated.issue(&token());
        assert_ne!(v_new, v_old);
        assert_eq!(
            TokenKeys::new(vec![new])
                .unwrap()
                .verify(&v_new, "shop.example.com", &client(), NONE, NOW)
                .rejection,
            None
        );
        // once the old key is retired its tokens fail
        let retired = TokenKeys::new(vec![TokenKey::new(&[2; 32]).unwrap()]).unwrap();
        assert_eq!(
            retired
                .verify(&v_old, "shop.example.com", &client(), NONE, NOW)
                .rejection,
            Some(TokenRejection::Invalid)
        );
    }

    #[test]
    fn host_normalization() {
        assert_eq!(normalize_host("Example.COM.:443"), "example.com");
        assert_eq!(normalize_host("[2001:db8::1]:8443"), "2001:db8::1");
        assert_eq!(normalize_host("2001:db8::1"), "2001:db8::1");
        assert_eq!(normalize_host("a.b"), "a.b");
    }

    #[test]
    fn ipv6_binding_uses_64() {
        let a = ClientBinding::new("2001:db8:1:2:aaaa::1".parse().unwrap(), b"ua");
        let b = ClientBinding::new("2001:db8:1:2:bbbb::9".parse().unwrap(), b"ua");
        let c = ClientBinding::new("2001:db8:1:3::1".parse().unwrap(), b"ua");
        assert_eq!(a, b);
        assert_ne!(a, c);
        let m = ClientBinding::new("::ffff:203.0.113.9".parse().unwrap(), b"Mozilla/5.0");
        assert_eq!(m, client());
    }
}
