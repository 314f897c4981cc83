//! Compiled rules: targets, operator, transformations and resolved actions, ready to run.
//!
//! Everything that can be decided at load time is decided here: variable names are resolved to [`Var`], selectors
//! are lowercased or compiled, macro texts are pre-parsed, `block` is resolved against the phase's
//! `SecDefaultAction`, and default transformations are prepended (unless the rule starts with `t:none`).

use std::sync::Arc;

use portcullis_waf_request::Transform;
use regex::bytes::Regex;

use crate::macros::MacroText;
use crate::operator::Operator;
use crate::variables::Var;

/// Which members of a collection a target names.
#[derive(Debug, Clone)]
pub enum Selector {
    /// Every member.
    All,
    /// The member(s) whose key equals this text, ASCII case-insensitively.
    Key(String),
    /// The members whose key matches this expression (compiled case-insensitively).
    Regex(Arc<Regex>),
    /// The members whose key contains this lowercase literal, ASCII case-insensitively: a `/regex/` selector
    /// made only of letters, digits, `_` and `-` (`!REQUEST_COOKIES:/__utm/`), which needs no regex search.
    Contains(Vec<u8>),
}

impl Selector {
    /// True when `key` is selected.
    pub fn matches(&self, key: &[u8]) -> bool {
        match self {
            Selector::All => true,
            Selector::Key(k) => k.as_bytes().eq_ignore_ascii_case(key),
            Selector::Regex(r) => r.is_match(key),
            Selector::Contains(lit) => {
                lit.is_empty() || key.windows(lit.len()).any(|w| w.eq_ignore_ascii_case(lit))
            }
        }
    }
}

/// One target of a rule (`ARGS:id`, `&TX:x`, `XML:/*`).
#[derive(Debug, Clone)]
pub struct Target {
    /// The variable.
    pub var: Var,
    /// The members named.
    pub selector: Selector,
    /// `&VAR`: count the members instead of inspecting them.
    pub count: bool,
}

/// An exclusion (`!ARGS:foo`, or a target removed by `ctl:ruleRemoveTarget*` / `SecRuleUpdateTarget*`).
#[derive(Debug, Clone)]
pub struct Exclusion {
    /// The variable whose members are excluded.
    pub var: Var,
    /// Which members are excluded.
    pub selector: Selector,
}

impl Exclusion {
    /// True when the member `key` of `var` is excluded.
    pub fn excludes(&self, var: Var, key: Option<&[u8]>) -> bool {
        self.var == var
            && match key {
                Some(k) => self.selector.matches(k),
                None => matches!(self.selector, Selector::All),
            }
    }
}

/// An operator with its negation flag.
#[derive(Debug, Clone)]
pub struct RuleOperator {
    /// The compiled operator.
    pub operator: Operator,
    /// `!@op`.
    pub negated: bool,
    /// The operator as written, for logs (`@rx ^a`).
    pub text: String,
}

/// How `setvar` changes a variable.
#[derive(Debug, Clone)]
pub enum SetVarOp {
    /// `name=value`.
    Set(MacroText),
    /// `name=+value` (numeric).
    Add(MacroText),
    /// `name=-value` (numeric).
    Sub(MacroText),
    /// `!name`.
    Delete,
}

/// A `setvar`, `expirevar` or `initcol` target collection with its key.
#[derive(Debug, Clone)]
pub struct VarRef {
    /// The collection (`TX`, `IP`, `GLOBAL`, …).
    pub collection: Var,
    /// The key, possibly with macros (lowercased when expanded).
    pub key: MacroText,
}

/// Rule ids named by `ctl:ruleRemoveById` and `SecRuleRemoveById`: single ids or inclusive ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    /// First id.
    pub start: u64,
    /// Last id (inclusive).
    pub end: u64,
}

impl IdRange {
    /// Parses `123` or `100-200`.
    pub fn parse(text: &str) -> Option<IdRange> {
        let text = text.trim();
        match text.split_once('-') {
            Some((a, b)) => {
                let (start, end) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                (start <= end).then_some(IdRange { start, end })
            }
            None => {
                let id = text.parse().ok()?;
                Some(IdRange { start: id, end: id })
            }
        }
    }

    /// True when `id` is in the range.
    pub fn contains(&self, id: u64) -> bool {
        (self.start..=self.end).contains(&id)
    }
}

/// The engine modes of `SecRuleEngine` / `ctl:ruleEngine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineMode {
    /// Rules run and disruptive actions are executed.
    On,
    /// Rules do not run.
    #[default]
    Off,
    /// Rules run and log, but never disrupt.
    DetectionOnly,
}

impl EngineMode {
    /// Parses `On`, `Off` or `DetectionOnly` (case-insensitive).
    pub fn parse(text: &str) -> Option<EngineMode> {
        match text.to_ascii_lowercase().as_str() {
            "on" => Some(EngineMode::On),
            "off" => Some(EngineMode::Off),
            "detectiononly" => Some(EngineMode::DetectionOnly),
            _ => None,
        }
    }
}

/// A request body processor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyProcessor {
    /// `application/x-www-form-urlencoded`.
    UrlEncoded,
    /// `multipart/form-data`.
    Multipart,
    /// JSON, flattened into `ARGS_POST`.
    Json,
    /// XML, for `XML:/*`.
    Xml,
}

impl BodyProcessor {
    /// Parses a `ctl:requestBodyProcessor` value.
    pub fn parse(text: &str) -> Option<BodyProcessor> {
        match text.to_ascii_uppercase().as_str() {
            "URLENCODED" => Some(BodyProcessor::UrlEncoded),
            "MULTIPART" => Some(BodyProcessor::Multipart),
            "JSON" => Some(BodyProcessor::Json),
            "XML" => Some(BodyProcessor::Xml),
            _ => None,
        }
    }

    /// The `REQBODY_PROCESSOR` value.
    pub fn name(self) -> &'static str {
        match self {
            BodyProcessor::UrlEncoded => "URLENCODED",
            BodyProcessor::Multipart => "MULTIPART",
            BodyProcessor::Json => "JSON",
            BodyProcessor::Xml => "XML",
        }
    }
}

/// A `ctl:` action.
#[derive(Debug, Clone)]
pub enum Ctl {
    /// `ruleRemoveById=ID|RANGE`.
    RuleRemoveById(IdRange),
    /// `ruleRemoveByTag=TAG` (regular expression over tags).
    RuleRemoveByTag(Arc<Regex>),
    /// `ruleRemoveByMsg=MSG` (regular expression over messages).
    RuleRemoveByMsg(Arc<Regex>),
    /// `ruleRemoveTargetById=ID;TARGET`.
    RuleRemoveTargetById(IdRange, Exclusion),
    /// `ruleRemoveTargetByTag=TAG;TARGET`.
    RuleRemoveTargetByTag(Arc<Regex>, Exclusion),
    /// `ruleRemoveTargetByMsg=MSG;TARGET`.
    RuleRemoveTargetByMsg(Arc<Regex>, Exclusion),
    /// `ruleEngine=On|Off|DetectionOnly`.
    RuleEngine(EngineMode),
    /// `requestBodyProcessor=URLENCODED|MULTIPART|JSON|XML`.
    RequestBodyProcessor(BodyProcessor),
    /// `requestBodyAccess=On|Off`.
    RequestBodyAccess(bool),
    /// `forceRequestBodyVariable=On|Off`.
    ForceRequestBodyVariable(bool),
    /// `responseBodyAccess=On|Off`.
    ResponseBodyAccess(bool),
    /// Options that only concern audit logging or debugging (`auditEngine`, `auditLogParts`, `debugLogLevel`,
    /// `hashEngine`…): accepted and ignored.
    Ignored,
}

/// A non-disruptive action that runs when its rule (chain link) matches.
#[derive(Debug, Clone)]
pub enum Action {
    /// `setvar`.
    SetVar(VarRef, SetVarOp),
    /// `expirevar:coll.key=seconds`.
    ExpireVar(VarRef, MacroText),
    /// `initcol:coll=key`.
    InitCol(Var, MacroText),
    /// `ctl:…`.
    Ctl(Ctl),
    /// `setenv:name=value`.
    SetEnv(String, MacroText),
}

/// What `allow` allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowScope {
    /// `allow`: skip the rest of this phase and every later phase except logging.
    All,
    /// `allow:phase`: skip the rest of this phase.
    Phase,
    /// `allow:request`: skip the rest of the request phases.
    Request,
}

/// A disruptive action.
#[derive(Debug, Clone)]
pub enum Disruptive {
    /// Continue.
    Pass,
    /// Stop and answer with the rule's status (403 by default).
    Deny,
    /// Stop and close the connection.
    Drop,
    /// Stop inspecting (see [`AllowScope`]).
    Allow(AllowScope),
    /// Stop and redirect.
    Redirect(MacroText),
    /// The phase's default disruptive action (resolved at load time; kept only while loading).
    Block,
}

/// One link of a rule (a `SecRule` or `SecAction`; chained rules have several).
#[derive(Debug, Clone)]
pub struct Link {
    /// The targets (empty for `SecAction`).
    pub targets: Vec<Target>,
    /// `!VAR` exclusions written in the target list or added by `SecRuleUpdateTarget*`.
    pub exclusions: Vec<Exclusion>,
    /// The operator (`None` for `SecAction`, which always matches).
    pub operator: Option<RuleOperator>,
    /// Transformations, default ones included.
    pub transforms: Vec<Transform>,
    /// True when the link's own list contains `t:none` (default transformations are not applied).
    pub t_none: bool,
    /// Identifies [`Link::transforms`] within the rule set (equal chains share an id); keys the per-transaction
    /// transformation cache.
    pub chain_id: u32,
    /// This link's bit in its chain's `@rx` prefilter (set by the rule-set loader; `None`: always run).
    pub prefilter_slot: Option<u32>,
    /// The id of this link's target list when it is shared within a phase (set by the rule-set loader; see
    /// the `target_sets` module); `None`: collected per evaluation.
    pub target_set: Option<u32>,
    /// `multiMatch`.
    pub multi_match: bool,
    /// `capture`.
    pub capture: bool,
    /// Non-disruptive actions, run each time this link matches a value.
    pub actions: Vec<Action>,
}

/// A rule: metadata of the chain starter plus its links.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Position in [`crate::RuleSet`]'s rule list (used for per-transaction removals).
    pub index: usize,
    /// The rule id (`0` when the rule has none).
    pub id: u64,
    /// The phase, 1–5.
    pub phase: u8,
    /// The file (or source name) the rule comes from.
    pub file: Arc<str>,
    /// The 1-based line of the rule.
    pub line: usize,
    /// `msg`.
    pub msg: Option<MacroText>,
    /// `logdata`.
    pub logdata: Option<MacroText>,
    /// `severity` as a number 0 (EMERGENCY) – 7 (DEBUG).
    pub severity: Option<u8>,
    /// `tag`s.
    pub tags: Vec<String>,
    /// `ver`.
    pub ver: Option<String>,
    /// `rev`.
    pub rev: Option<String>,
    /// `maturity`.
    pub maturity: Option<u8>,
    /// `accuracy`.
    pub accuracy: Option<u8>,
    /// Whether a match is logged (`log` / `nolog`, or the phase default).
    pub log: bool,
    /// Whether a match goes to the audit log (`auditlog` / `noauditlog`); informational.
    pub auditlog: bool,
    /// The disruptive action (with `block` resolved).
    pub disruptive: Disruptive,
    /// `status` for `deny` / `redirect`.
    pub status: Option<u16>,
    /// `skip:N`.
    pub skip: u32,
    /// `skipAfter:MARKER`.
    pub skip_after: Option<String>,
    /// The links; the first holds the metadata above.
    pub links: Vec<Link>,
}

/// Parses a severity name or number.
pub fn parse_severity(text: &str) -> Option<u8> {
    let t = text.trim();
    if let Ok(n) = t.parse::<u8>() {
        return (n <= 7).then_some(n);
    }
    const NAMES: [&str; 8] = [
        "EMERGENCY",
        "ALERT",
        "CRITICAL",
        "ERROR",
        "WARNING",
        "NOTICE",
        "INFO",
        "DEBUG",
    ];
    NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(t))
        .and_then(|p| u8::try_from(p).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_ranges_and_severity() {
        assert_eq!(
            IdRange::parse("942100"),
            Some(IdRange {
                start: 942100,
                end: 942100
            })
        );
        let r = IdRange::parse("100-200").unwrap();
        assert!(r.contains(150) && !r.contains(201));
        assert_eq!(IdRange::parse("x"), None);
        assert_eq!(IdRange::parse("5-1"), None);
        assert_eq!(parse_severity("CRITICAL"), Some(2));
        assert_eq!(parse_severity("warning"), Some(4));
        assert_eq!(parse_severity("5"), Some(5));
        assert_eq!(parse_severity("9"), None);
    }

    proptest::proptest! {
        /// The literal fast path selects exactly what the case-insensitive regex would.
        #[test]
        fn contains_selector_agrees_with_regex(lit in "[a-zA-Z0-9_-]{1,4}", key in "[a-zA-Z0-9_ -]{0,12}") {
            let re = crate::compile::key_regex(&lit).unwrap();
            let fast = Selector::Contains(lit.to_ascii_lowercase().into_bytes());
            proptest::prop_assert_eq!(fast.matches(key.as_bytes()), re.is_match(key.as_bytes()));
        }
    }
}
