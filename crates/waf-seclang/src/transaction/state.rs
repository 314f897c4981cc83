//! The mutable part of a transaction: collections, matched variables, per-transaction rule edits and results.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use crate::collections::Collection;
use crate::fasthash::{FastMap, FastSet};
use crate::log::{Intervention, LogEntry};
use crate::rule::{AllowScope, BodyProcessor, EngineMode, Exclusion};
use crate::variables::Var;

/// Key of the transformation cache: (value address, value length, transformation chain id).
pub(crate) type CacheKey = (usize, usize, u32);

/// Key of a step in the effective-step cache: (raw value address, raw value length, packed effective steps).
pub(crate) type StepKey = (usize, usize, u64);

/// A memoised transformation result.
#[derive(Debug)]
pub(crate) struct Cached {
    /// The transformed value; `None` when the chain left the value unchanged.
    pub value: Option<Arc<[u8]>>,
    /// The `@rx` / `@pm` prefilter hits on the transformed value, once computed.
    pub hits: Option<crate::prefilter::Hits>,
    /// The byte summary of the transformed value (see [`crate::summary`]).
    pub mask: u32,
    /// A text the transformed value equals up to ASCII case, whose prefilter hits are therefore its hits: `None`
    /// for the raw value itself (clean values, `t:lowercase`), else a cached result (for long values, the one
    /// before any final lowercasing steps, so chains differing only in those share one scan).
    pub base: Option<Arc<[u8]>>,
}

/// Mutable transaction state.
#[derive(Debug)]
pub(crate) struct State {
    /// `TX`.
    pub tx: Collection,
    /// Persistent collections opened by `initcol`: (collection, key, copy).
    pub persistent: Vec<(Var, String, Collection)>,
    /// `ENV` (written by `setenv`).
    pub env: HashMap<String, Vec<u8>>,
    /// `MATCHED_VAR`.
    pub matched_var: Vec<u8>,
    /// `MATCHED_VAR_NAME`.
    pub matched_var_name: String,
    /// `MATCHED_VARS` of the current rule: (name, value).
    pub matched_vars: Vec<(String, Vec<u8>)>,
    /// Engine mode (`ctl:ruleEngine` may change it).
    pub engine: EngineMode,
    /// Rules removed by `ctl:ruleRemove*` (indices).
    pub removed: FastSet<usize>,
    /// Targets removed by `ctl:ruleRemoveTarget*`, per rule index.
    pub removed_targets: FastMap<usize, Vec<Exclusion>>,
    /// Selected request body processor.
    pub body_processor: Option<BodyProcessor>,
    /// `ctl:forceRequestBodyVariable`.
    pub force_body_var: bool,
    /// `SecRequestBodyAccess` / `ctl:requestBodyAccess`.
    pub body_access: bool,
    /// `SecResponseBodyAccess` / `ctl:responseBodyAccess`.
    pub response_body_access: bool,
    /// Logged matches.
    pub logs: Vec<LogEntry>,
    /// Ids of every matched rule (logged or not).
    pub matched_ids: Vec<u64>,
    /// The intervention, once one happened.
    pub intervention: Option<Intervention>,
    /// An `allow` in effect.
    pub allow: Option<AllowScope>,
    /// The running phase.
    pub phase: u8,
    /// The running rule's id.
    pub rule_id: u64,
    /// The running rule's index in the rule set.
    pub rule_index: usize,
    /// `HIGHEST_SEVERITY` (255 when no rule with a severity matched).
    pub highest_severity: u8,
    /// Transaction start (for `DURATION`).
    pub started: Instant,
    /// Wall-clock time at the start, Unix seconds (expiry, `TIME*`).
    pub now: u64,
    /// Transformation results for request values: (address, length, chain id) → transformed value, `None`
    /// when the chain left the value unchanged. Request values do not move or change during a transaction, so
    /// their address identifies them.
    pub transform_cache: FastMap<CacheKey, Cached>,
    /// Results of effective transformation steps on long request values, keyed by the steps that changed (or
    /// may have changed) the value, so chains that differ only in steps that leave a value alone (or in a
    /// `cmdLine` that only lowercases) share one result per value; `hits` is unused.
    pub step_cache: FastMap<StepKey, Cached>,
    /// Prefilter hits per distinct text: (address, length) of a request value or of a cached transformation
    /// result of 32 bytes or more → the slots whose literals occur in it.
    pub text_hits: FastMap<(usize, usize), crate::prefilter::Hits>,
}

impl State {
    pub(crate) fn new(
        engine: EngineMode,
        body_access: bool,
        response_body_access: bool,
        now: u64,
    ) -> Self {
        Self {
            tx: Collection::default(),
            persistent: Vec::new(),
            env: HashMap::new(),
            matched_var: Vec::new(),
            matched_var_name: String::new(),
            matched_vars: Vec::new(),
            engine,
            removed: FastSet::default(),
            removed_targets: FastMap::default(),
            body_processor: None,
            force_body_var: false,
            body_access,
            response_body_access,
            logs: Vec::new(),
            matched_ids: Vec::new(),
            intervention: None,
            allow: None,
            phase: 0,
            rule_id: 0,
            rule_index: usize::MAX,
            highest_severity: 255,
            started: Instant::now(),
            now,
            transform_cache: FastMap::default(),
            step_cache: FastMap::default(),
            text_hits: FastMap::default(),
        }
    }

    /// The opened persistent collection `var`, if any.
    pub(crate) fn persistent_get(&self, var: Var) -> Option<&Collection> {
        self.persistent
            .iter()
            .find(|(v, _, _)| *v == var)
            .map(|(_, _, c)| c)
    }

    /// The writable collection for `var` (`TX` or an opened persistent one).
    pub(crate) fn collection_mut(&mut self, var: Var) -> Option<&mut Collection> {
        if var == Var::Tx {
            return Some(&mut self.tx);
        }
        self.persistent
            .iter_mut()
            .find(|(v, _, _)| *v == var)
            .map(|(_, _, c)| c)
    }

    /// A read-only collection for `var` (`TX` or an opened persistent one).
    pub(crate) fn collection(&self, var: Var) -> Option<&Collection> {
        if var == Var::Tx {
            return Some(&self.tx);
        }
        self.persistent_get(var)
    }
}
