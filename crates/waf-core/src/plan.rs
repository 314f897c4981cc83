//! The compiled evaluation plan: what [`crate::CompiledAcl`] holds after compilation.
//!
//! Every distinct (field, transformation chain) pair gets a [`FieldId`]; a request computes each at most once.
//! Byte-match search strings and regexes that inspect the same field id are merged into one Aho-Corasick
//! automaton ([`ByteGroup`]) or one regex set ([`RegexGroup`]) so a request scans each value once for all of them.
//! SQLi/XSS detections on the same field share a result slot.

use std::sync::Arc;

use aho_corasick::AhoCorasick;
use portcullis_waf_request::Transform;

use crate::gate::Gate;
use crate::ipset::IpSet;
use crate::json::Pointer;
use crate::labels::LabelScope;
use crate::managed::{ManagedGroup, ManagedGroupConfig};
use crate::needs::ByteMasks;
use crate::precheck::Precheck;
use crate::verdict::{ActionKind, BlockResponse, RuleType};

/// Index of a (field, transformations) pair in [`Plan::fields`].
pub(crate) type FieldId = usize;

/// `OversizeHandling`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Oversize {
    /// Inspect what is available.
    Continue,
    /// The statement matches.
    Match,
    /// The statement does not match.
    NoMatch,
}

/// `FallbackBehavior`: the result when the component cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Fallback {
    /// The statement matches.
    Match,
    /// The statement does not match.
    NoMatch,
}

impl Fallback {
    pub(crate) fn matches(self) -> bool {
        self == Fallback::Match
    }
}

/// `MatchScope` of `JsonBody`, `Headers` and `Cookies`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Scope {
    /// Keys and values.
    All,
    /// Keys only.
    Key,
    /// Values only.
    Value,
}

impl Scope {
    pub(crate) fn keys(self) -> bool {
        matches!(self, Scope::All | Scope::Key)
    }
    pub(crate) fn values(self) -> bool {
        matches!(self, Scope::All | Scope::Value)
    }
}

/// Which headers or cookies a `MatchPattern` selects. Header names are stored lower-cased (compared
/// case-insensitively); cookie names as written (compared exactly).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum NameFilter {
    /// Every item.
    All,
    /// Only these names.
    Include(Vec<String>),
    /// Every name except these.
    Exclude(Vec<String>),
}

/// `InvalidFallbackBehavior` of `JsonBody`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum JsonInvalid {
    /// Not set: inspect what was parsed before the first error.
    UpToError,
    /// Treat as matching.
    Match,
    /// Treat as not matching.
    NoMatch,
    /// Inspect the raw body text.
    AsString,
}

/// A `PreParseTextTransformation` on the raw query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum PreParse {
    UrlDecode,
    UrlDecodeUni,
    CombineDuplicates,
    SemicolonsToAmpersands,
}

/// The request component a field id reads, with its options.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum FieldKind {
    /// One header's value(s); name lower-cased.
    SingleHeader(String),
    /// One query argument's value(s); name lower-cased.
    SingleQueryArg(String, Vec<PreParse>),
    /// Every query argument's value.
    AllQueryArgs(Vec<PreParse>),
    UriPath,
    QueryString,
    Method,
    Body(Oversize),
    JsonBody {
        paths: Option<Vec<Pointer>>,
        scope: Scope,
        invalid: JsonInvalid,
        oversize: Oversize,
    },
    Headers {
        filter: NameFilter,
        scope: Scope,
        oversize: Oversize,
    },
    Cookies {
        filter: NameFilter,
        scope: Scope,
        oversize: Oversize,
    },
    HeaderOrder(Oversize),
    Ja3(Fallback),
    Ja4(Fallback),
    UriFragment(Fallback),
}

impl FieldKind {
    /// Whether a request can give this component several values (then a regex search over the values joined
    /// pays, see [`crate::joined`]).
    pub(crate) fn many_values(&self) -> bool {
        match self {
            FieldKind::SingleHeader(_)
            | FieldKind::SingleQueryArg(..)
            | FieldKind::AllQueryArgs(_)
            | FieldKind::JsonBody { .. }
            | FieldKind::Headers { .. }
            | FieldKind::Cookies { .. } => true,
            FieldKind::UriPath
            | FieldKind::QueryString
            | FieldKind::Method
            | FieldKind::Body(_)
            | FieldKind::HeaderOrder(_)
            | FieldKind::Ja3(_)
            | FieldKind::Ja4(_)
            | FieldKind::UriFragment(_) => false,
        }
    }

    /// The `location` AWS WAF logs for a match in this component.
    pub(crate) fn location(&self) -> &'static str {
        match self {
            FieldKind::SingleHeader(_) | FieldKind::Headers { .. } => "HEADER",
            FieldKind::SingleQueryArg(..) => "SINGLE_QUERY_ARG",
            FieldKind::AllQueryArgs(_) => "ALL_QUERY_ARGS",
            FieldKind::UriPath => "URI",
            FieldKind::QueryString => "QUERY_STRING",
            FieldKind::Method => "METHOD",
            FieldKind::Body(_) => "BODY",
            FieldKind::JsonBody { .. } => "JSON_BODY",
            FieldKind::Cookies { .. } => "COOKIES",
            FieldKind::HeaderOrder(_) => "HEADER_ORDER",
            FieldKind::Ja3(_) => "JA3_FINGERPRINT",
            FieldKind::Ja4(_) => "JA4_FINGERPRINT",
            FieldKind::UriFragment(_) => "URI_FRAGMENT",
        }
    }
}

/// A field and the transformations applied to each of its values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct FieldSpec {
    pub kind: FieldKind,
    pub transforms: Vec<Transform>,
}

/// A `PositionalConstraint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Position {
    Exactly,
    StartsWith,
    EndsWith,
    Contains,
    ContainsWord,
}

/// All byte-match search strings over one field id, in one automaton.
#[derive(Debug)]
pub(crate) struct ByteGroup {
    pub field: FieldId,
    pub ac: AhoCorasick,
    /// Per automaton pattern: its position constraint and global result index.
    pub patterns: Vec<(Position, usize)>,
}

/// All regexes over one field id, in one set (or a few, when one would be too large).
#[derive(Debug)]
pub(crate) struct RegexGroup {
    pub field: FieldId,
    /// Each set with, per pattern, the global result index of the statement it belongs to, and what every match
    /// contains (see `compile::literal`): a value without it skips the set.
    pub sets: Vec<RegexSetEntry>,
    /// The byte requirements of the sets (see [`crate::needs`]); `None` when no set has one, and then a value's
    /// bytes are not looked at.
    pub masks: Option<ByteMasks>,
    /// Whether some set has a joined variant ([`RegexSetEntry::joined`]).
    pub joined: bool,
    /// Bytes one of which a value needs to meet some set's requirements ([`crate::gate`]): a value without them is
    /// not scanned for `masks`.
    pub gate: Option<Gate>,
    /// The field this group's field derives from ([`Plan::field_parents`]) and the bytes one of which a value of
    /// it needs for the rest of the chain to output a byte of `gate`: when no value of it has one, no value of this
    /// field meets the requirements, and the field is left underived.
    pub parent_gate: Option<(FieldId, Gate)>,
}

impl RegexGroup {
    /// The bits of `masks` (this group's) that `value` holds; none when it does not open the gate, whose bytes are
    /// each a whole requirement of some set, so no set could admit it anyway.
    pub(crate) fn present(&self, masks: &ByteMasks, value: &[u8]) -> u64 {
        if self.gate.as_ref().is_some_and(|g| !g.opens(value)) {
            return 0;
        }
        masks.scan(value)
    }
}

/// One regex set of a [`RegexGroup`].
#[derive(Debug)]
pub(crate) struct RegexSetEntry {
    /// The patterns, as one multi-pattern regex (built by [`crate::regexset::build_set`]).
    pub re: regex_automata::meta::Regex,
    /// Per pattern, the global result index of the statement it belongs to.
    pub owners: Vec<usize>,
    /// Something every match contains (literals, or rare bytes and literals on long values): a value without it
    /// skips the set.
    pub pre: Option<Precheck>,
    /// Bytes every match needs, as masks over the group's [`ByteMasks`] bits: a value without some bit of each
    /// mask skips the set without a search.
    pub needs: Vec<u64>,
    /// The statement owning every pattern, when one does (the usual case): a yes/no answer is enough then, and
    /// none is needed once that statement matched.
    pub only: Option<usize>,
    /// This set's index among the plan's sets: where its search cache lives in [`crate::regexset::Caches`].
    pub cache: usize,
    /// The set rewritten to search a field's values joined into one text ([`crate::joined`]), and its cache
    /// index; `None` for fields that yield one value, or patterns that cannot be joined.
    pub joined: Option<(regex_automata::meta::Regex, usize)>,
}

/// `ComparisonOperator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Le,
    Lt,
    Ge,
    Gt,
}

impl Cmp {
    pub(crate) fn test(self, len: u64, size: u64) -> bool {
        match self {
            Cmp::Eq => len == size,
            Cmp::Ne => len != size,
            Cmp::Le => len <= size,
            Cmp::Lt => len < size,
            Cmp::Ge => len >= size,
            Cmp::Gt => len > size,
        }
    }
}

/// `ForwardedIPConfig` / `IPSetForwardedIPConfig`.
#[derive(Debug, Clone)]
pub(crate) struct Forwarded {
    pub header: String,
    pub fallback: Fallback,
    pub position: FwdPosition,
}

/// Which address of a forwarded-IP header to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FwdPosition {
    First,
    Last,
    Any,
}

/// SQLi or XSS detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Detector {
    SqliLow,
    SqliHigh,
    Xss,
}

/// A compiled statement.
#[derive(Debug)]
pub(crate) enum Stmt {
    /// Byte match: result `hit` of the byte group `group`.
    Byte {
        group: usize,
        hit: usize,
    },
    /// Regex or regex pattern set: result `hit` of the regex group `group`.
    Regex {
        group: usize,
        hit: usize,
    },
    /// A regex pattern set with no patterns never matches.
    Never,
    Size {
        field: FieldId,
        cmp: Cmp,
        size: u64,
    },
    Detect {
        field: FieldId,
        detector: Detector,
        slot: usize,
    },
    Geo {
        countries: Vec<[u8; 2]>,
        fwd: Option<Forwarded>,
    },
    Asn {
        asns: Vec<u32>,
        fwd: Option<Forwarded>,
    },
    IpSet {
        set: Arc<IpSet>,
        fwd: Option<Forwarded>,
    },
    Label {
        scope: LabelScope,
        key: Box<str>,
        context: Arc<str>,
    },
    And(Vec<Stmt>),
    Or(Vec<Stmt>),
    Not(Box<Stmt>),
    Rate(Box<RateSpec>),
}

/// One component of a rate-based rule's aggregation key.
#[derive(Debug)]
pub(crate) enum RateKey {
    Ip,
    ForwardedIp(Forwarded),
    Header(String, Vec<Transform>),
    Cookie(String, Vec<Transform>),
    QueryArg(String, Vec<Transform>),
    QueryString(Vec<Transform>),
    Method,
    UriPath(Vec<Transform>),
    LabelNamespace(String),
    Ja3(Fallback),
    Ja4(Fallback),
    Asn,
}

/// A compiled `RateBasedStatement`.
#[derive(Debug)]
pub(crate) struct RateSpec {
    /// Unique prefix of this rule's counters.
    pub id: Vec<u8>,
    pub limit: u64,
    pub window_secs: u32,
    pub scope_down: Option<Stmt>,
    /// Empty for `CONSTANT`.
    pub keys: Vec<RateKey>,
}

/// A rule action with its resolved custom handling.
#[derive(Debug, Clone)]
pub struct ResolvedAction {
    /// The kind of action.
    pub kind: ActionKind,
    /// For `Block`: the response to send.
    pub block: Option<Arc<BlockResponse>>,
    /// For Allow/Count/Captcha/Challenge: request headers to insert, names already prefixed `x-amzn-waf-`.
    pub insert_headers: Arc<[(String, String)]>,
}

impl ResolvedAction {
    /// An action of `kind` without custom handling (`Block` answers 403).
    pub fn plain(kind: ActionKind) -> ResolvedAction {
        ResolvedAction {
            kind,
            block: (kind == ActionKind::Block).then(|| Arc::new(BlockResponse::default())),
            insert_headers: Arc::from(Vec::new()),
        }
    }
}

/// A rule whose statement is not a group reference.
#[derive(Debug)]
pub(crate) struct PlainRule {
    pub name: Arc<str>,
    pub stmt: Stmt,
    pub action: ResolvedAction,
    /// The rule's own action when an override replaced it.
    pub overridden: Option<ActionKind>,
    pub excluded: bool,
    /// Fully qualified labels.
    pub labels: Vec<Arc<str>>,
    pub captcha_immunity_s: u64,
    pub challenge_immunity_s: u64,
    pub rule_type: RuleType,
}

/// A web ACL rule that references a rule group compiled into this plan.
#[derive(Debug)]
pub(crate) struct InlineGroup {
    pub name: Arc<str>,
    pub scope_down: Option<Stmt>,
    pub override_count: bool,
    pub rules: Vec<PlainRule>,
}

/// A web ACL rule that references an external managed group.
pub(crate) struct ExternalGroup {
    pub name: Arc<str>,
    pub scope_down: Option<Stmt>,
    pub override_count: bool,
    pub group: Arc<dyn ManagedGroup>,
    pub config: ManagedGroupConfig,
    pub captcha_immunity_s: u64,
    pub challenge_immunity_s: u64,
}

impl std::fmt::Debug for ExternalGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalGroup")
            .field("name", &self.name)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// One top-level rule.
#[derive(Debug)]
pub(crate) enum PlanRule {
    Plain(PlainRule),
    Group(InlineGroup),
    External(ExternalGroup),
}

/// Everything evaluation needs.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// Identifies the plan for per-thread regex caches ([`crate::regexset`]); set when compiled.
    pub id: u64,
    /// How many regex sets the plan's [`RegexGroup`]s hold together ([`RegexSetEntry::cache`] is below it).
    pub regex_sets: usize,
    /// Every field id's spec: first the fields statements use (`statement_fields` of them), then the shared
    /// transformation prefixes added by [`crate::compile::link_prefixes`].
    pub fields: Vec<FieldSpec>,
    /// How many of `fields` statements refer to (the rest are shared prefixes).
    pub statement_fields: usize,
    /// Per field id: the field with the same component whose transformations are the longest strict prefix of
    /// this field's, and that prefix's length. Evaluation derives the field from the prefix's values instead of
    /// re-running the whole chain (`URL_DECODE_UNI` once for `URL_DECODE_UNI`+`LOWERCASE`, `+HTML_ENTITY_DECODE`,
    /// ...). Empty or `None`: extract from the request.
    pub field_parents: Vec<Option<(FieldId, usize)>>,
    pub byte_groups: Vec<ByteGroup>,
    pub byte_hits: usize,
    pub regex_groups: Vec<RegexGroup>,
    pub regex_hits: usize,
    pub detect_slots: usize,
    pub rules: Vec<PlanRule>,
    /// Bytes of body inspected (`AssociationConfig.RequestBody`; 16 KB default).
    pub body_limit: usize,
}
