//! AWS WAF CAPTCHA and Challenge for the Portcullis proxy: the interstitial pages, their checks, and the signed
//! `aws-waf-token` cookie.
//!
//! Sans-I/O: values in, `http::Response<Vec<u8>>` out; the clock (`now_ms`) and randomness ([`Entropy`]) are
//! injected. Nothing is stored server-side: tokens and puzzles are HMAC-SHA256-signed values under the proxy's
//! [`TokenKeys`].
//!
//! How the proxy uses it, per request:
//! 1. [`Interstitials::intercept`] first: it answers `POST` [`VERIFY_PATH`] (proof of work) and [`CAPTCHA_PATH`]
//!    (CAPTCHA form) and returns `None` for everything else.
//! 2. [`Interstitials::token_state`] gives the `TokenState` for waf-core's `EvalEnv::with_token`.
//! 3. On `Decision::Captcha` answer [`Interstitials::captcha_page`] (405), on `Decision::Challenge`
//!    [`Interstitials::challenge_page`] (202), both with `x-amzn-waf-action` as AWS sends it.
//!
//! Design notes:
//! - Tokens and puzzles are bound to the client ([`ClientBinding`]: IPv4 /24 or IPv6 /64 plus `User-Agent`),
//!   the stateless stand-in for AWS's browser fingerprint.
//! - Keys rotate: [`TokenKeys`] signs with its first key and verifies with any.
//! - Puzzles are not single-use (no server state): one can be resubmitted by the same client for the same host
//!   until it expires (challenge 300 s, CAPTCHA 600 s by default).
//! - The CAPTCHA is visual only; an accessible (audio) alternative is out of scope.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod captcha;
mod error;
mod interstitials;
mod keys;
mod page;
pub mod pow;
mod redirect;
mod token;
mod wire;

#[cfg(test)]
mod tests;

pub use error::ChallengeError;
pub use interstitials::{
    CAPTCHA_PATH, ClientRequest, InterstitialConfig, Interstitials, MAX_BODY, PATH_PREFIX, Solved,
    VERIFY_PATH,
};
pub use keys::{Entropy, MAX_KEY_LEN, MIN_KEY_LEN, SystemEntropy, TokenKey, TokenKeys};
pub use redirect::safe_return_url;
pub use token::{
    ClientBinding, TOKEN_COOKIE, TOKEN_HEADER, Token, domain_accepted, normalize_host,
};
