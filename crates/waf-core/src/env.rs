//! The per-request environment of an evaluation: the clock, the rate counters, the geo database and the
//! client's CAPTCHA/challenge token, all injected so that the core stays sans-I/O.

use crate::geo::GeoDb;
use crate::rate::RateCounter;
use crate::rate_keys::ManagedKeys;

/// Why a token that was present is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRejection {
    /// The token could not be verified (bad signature, unreadable).
    Invalid,
    /// The token was issued for a domain this web ACL does not accept.
    DomainMismatch,
}

/// What the proxy learned from the request's `aws-waf-token`: solve timestamps (epoch milliseconds) or a reason
/// it was rejected. A missing token is `None` in [`EvalEnv::token`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenState {
    /// When the client last solved a silent challenge.
    pub challenge_solved_ms: Option<u64>,
    /// When the client last solved a CAPTCHA puzzle.
    pub captcha_solved_ms: Option<u64>,
    /// Set when the token is present but not acceptable.
    pub rejection: Option<TokenRejection>,
}

/// Inputs to [`crate::CompiledAcl::evaluate`] besides the request.
#[derive(Clone, Copy)]
pub struct EvalEnv<'a> {
    /// The current time, epoch milliseconds (rate windows, token immunity).
    pub now_ms: u64,
    /// Rate-based rule counters.
    pub rate: &'a dyn RateCounter,
    /// Country/ASN lookups for `GeoMatchStatement` and `AsnMatchStatement`; without one they never match.
    pub geo: Option<&'a GeoDb>,
    /// The client's WAF token, if it sent one.
    pub token: Option<TokenState>,
    /// Where IP-keyed rate-based rules note the addresses they limit; `None` keeps no record.
    pub managed_keys: Option<&'a ManagedKeys>,
}

impl<'a> EvalEnv<'a> {
    /// An environment without geo database and without token.
    pub fn new(now_ms: u64, rate: &'a dyn RateCounter) -> EvalEnv<'a> {
        EvalEnv {
            now_ms,
            rate,
            geo: None,
            token: None,
            managed_keys: None,
        }
    }

    /// Sets the geo database.
    pub fn with_geo(mut self, geo: &'a GeoDb) -> EvalEnv<'a> {
        self.geo = Some(geo);
        self
    }

    /// Sets the registry of addresses limited by rate-based rules.
    pub fn with_managed_keys(mut self, keys: &'a ManagedKeys) -> EvalEnv<'a> {
        self.managed_keys = Some(keys);
        self
    }

    /// Sets the token state.
    pub fn with_token(mut self, token: TokenState) -> EvalEnv<'a> {
        self.token = Some(token);
        self
    }
}

impl std::fmt::Debug for EvalEnv<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvalEnv")
            .field("now_ms", &self.now_ms)
            .field("geo", &self.geo.is_some())
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}
