//! The narrow interface between the proxy and the rule engine, and the hot-swappable cell that holds it.
//!
//! The proxy builds a [`Request`] from the head and the body prefix, calls [`Inspector::inspect`] and acts on the
//! [`Decision`]. The web ACL engine plugs in through an adapter; tests plug in closures.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use portcullis_waf_core::TokenState;
use portcullis_waf_request::Request;

use crate::detail::AclDetail;

/// What the proxy must do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Forward upstream, adding these request headers (names already carry the `x-amzn-waf-` prefix).
    Allow {
        /// Headers to add to the forwarded request.
        insert_headers: Vec<(String, String)>,
    },
    /// Answer the client with this response; nothing reaches the upstream.
    Block(BlockResponse),
    /// Answer with the CAPTCHA interstitial (AWS: 405 with `x-amzn-waf-action: captcha`).
    Captcha,
    /// Answer with the challenge interstitial (AWS: 202 with `x-amzn-waf-action: challenge`).
    Challenge,
}

impl Decision {
    /// Allow without extra headers.
    pub fn allow() -> Self {
        Decision::Allow {
            insert_headers: Vec::new(),
        }
    }

    /// Block with the default 403 response.
    pub fn block() -> Self {
        Decision::Block(BlockResponse::default())
    }
}

/// The response sent for a blocked request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockResponse {
    /// HTTP status (403 by default).
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// Response body (empty by default).
    pub body: Vec<u8>,
}

impl Default for BlockResponse {
    fn default() -> Self {
        Self {
            status: 403,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
}

/// A decision plus what the web ACL reports about it (for logs, sampled requests and metrics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// What to do with the request.
    pub decision: Decision,
    /// The web ACL's report; `None` for inspectors that only decide (closures, [`AllowAll`]): such requests are
    /// neither logged, sampled nor counted per rule.
    pub detail: Option<Box<AclDetail>>,
}

impl From<Decision> for Inspection {
    fn from(decision: Decision) -> Self {
        Self {
            decision,
            detail: None,
        }
    }
}

/// What the proxy knows about a request beyond its bytes, for [`Inspector::inspect_with`].
#[derive(Debug, Clone, Default)]
pub struct InspectContext {
    /// The client's `aws-waf-token`, verified: `None` when the client sent none (or the proxy issues no tokens).
    pub token: Option<TokenState>,
}

/// Why inspection could not decide.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("inspection failed: {0}")]
pub struct InspectError(pub String);

/// Decides what happens to each request. Implementations must be fast and must not block on I/O: the proxy calls
/// them on its worker threads. A panic is caught and treated like an error (see [`crate::FailMode`]).
pub trait Inspector: Send + Sync {
    /// Decide for one request.
    fn inspect(&self, req: &Request) -> Result<Decision, InspectError>;

    /// Decide for one request and report what matched. The proxy calls this one; the default wraps
    /// [`Inspector::inspect`] without detail.
    fn inspect_detailed(&self, req: &Request) -> Result<Inspection, InspectError> {
        self.inspect(req).map(Inspection::from)
    }

    /// Like [`Inspector::inspect_detailed`] with what the proxy learned beyond the request itself (the client's
    /// CAPTCHA/challenge token). The default ignores the context.
    fn inspect_with(&self, req: &Request, cx: &InspectContext) -> Result<Inspection, InspectError> {
        let _ = cx;
        self.inspect_detailed(req)
    }

    /// The domains whose `aws-waf-token`s this inspector accepts besides the request's own host (the web ACL's
    /// `TokenDomains`).
    fn token_domains(&self) -> &[String] {
        &[]
    }

    /// How many body bytes this inspector wants to see (the web ACL's body inspection limit); `None` uses the
    /// proxy's configured [`crate::Limits::inspection_limit`].
    fn body_limit(&self) -> Option<usize> {
        None
    }

    /// Whether this inspector allows every request without looking at it and reports nothing (like [`AllowAll`]).
    /// The proxy then skips building the [`Request`] and calls no `inspect` method. Default: `false`.
    fn allows_everything(&self) -> bool {
        false
    }
}

/// An inspector that allows everything (the proxy without a web ACL).
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl Inspector for AllowAll {
    fn inspect(&self, _req: &Request) -> Result<Decision, InspectError> {
        Ok(Decision::allow())
    }

    fn allows_everything(&self) -> bool {
        true
    }
}

/// Any `Fn(&Request) -> Result<Decision, InspectError>` is an inspector.
impl<F> Inspector for F
where
    F: Fn(&Request) -> Result<Decision, InspectError> + Send + Sync,
{
    fn inspect(&self, req: &Request) -> Result<Decision, InspectError> {
        self(req)
    }
}

/// Holds the current inspector. A request takes the inspector current when it arrives and keeps it to the end, so
/// [`InspectorCell::swap`] affects new requests at once and never disturbs requests or connections in flight.
#[derive(Clone)]
pub struct InspectorCell {
    current: Arc<Current>,
}

struct Current {
    inspector: RwLock<Arc<dyn Inspector>>,
    /// Bumped by every swap (under the write lock), so that a copy taken with [`InspectorCell::snapshot`] can be
    /// checked for freshness with one shared read instead of a lock and a reference count.
    generation: AtomicU64,
}

impl std::fmt::Debug for InspectorCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InspectorCell").finish_non_exhaustive()
    }
}

impl InspectorCell {
    /// A cell holding `inspector`.
    pub fn new(inspector: Arc<dyn Inspector>) -> Self {
        Self {
            current: Arc::new(Current {
                inspector: RwLock::new(inspector),
                generation: AtomicU64::new(0),
            }),
        }
    }

    /// The inspector for a request that starts now.
    pub fn load(&self) -> Arc<dyn Inspector> {
        self.snapshot().1
    }

    /// The current inspector with its generation (see [`InspectorCell::generation`]).
    pub(crate) fn snapshot(&self) -> (u64, Arc<dyn Inspector>) {
        let guard = match self.current.inspector.read() {
            Ok(guard) => guard,
            // A writer cannot panic while holding the lock (it only assigns), but stay total anyway.
            Err(poisoned) => poisoned.into_inner(),
        };
        (
            self.current.generation.load(Ordering::Acquire),
            Arc::clone(&guard),
        )
    }

    /// How many times the inspector was swapped: a snapshot of the same generation is still current.
    pub(crate) fn generation(&self) -> u64 {
        self.current.generation.load(Ordering::Acquire)
    }

    /// Replace the inspector; returns the previous one.
    pub fn swap(&self, inspector: Arc<dyn Inspector>) -> Arc<dyn Inspector> {
        let mut guard = match self.current.inspector.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let old = std::mem::replace(&mut *guard, inspector);
        self.current.generation.fetch_add(1, Ordering::AcqRel);
        old
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_changes_what_load_returns() {
        let cell = InspectorCell::new(Arc::new(AllowAll));
        let req = Request::builder().uri("/").build();
        let before = cell.load();
        cell.swap(Arc::new(|_: &Request| Ok(Decision::block())));
        assert_eq!(before.inspect(&req), Ok(Decision::allow()));
        assert_eq!(cell.load().inspect(&req), Ok(Decision::block()));
    }

    #[test]
    fn swaps_bump_the_generation() {
        let cell = InspectorCell::new(Arc::new(AllowAll));
        let (g0, _) = cell.snapshot();
        assert_eq!(cell.generation(), g0);
        cell.swap(Arc::new(AllowAll));
        assert_ne!(cell.generation(), g0);
        assert_eq!(cell.snapshot().0, cell.generation());
    }
}
