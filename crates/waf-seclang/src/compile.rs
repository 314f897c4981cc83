//! Raw directive pieces (targets, operator text, action lists) → the compiled [`crate::rule`] types.
//!
//! Every function returns `Err(reason)` for something the engine cannot run; the loader turns such reasons into
//! [`crate::Unsupported`] entries (or syntax errors where the text is simply malformed).

use std::sync::Arc;

use portcullis_waf_request::Transform;
use regex::bytes::{Regex, RegexBuilder};

use crate::macros::MacroText;
use crate::operator::{Operator, OperatorContext};
use crate::parser::actions::RawAction;
use crate::parser::targets::{self, RawSelector, RawTarget};
use crate::rule::{
    Action, AllowScope, BodyProcessor, Ctl, Disruptive, EngineMode, Exclusion, IdRange, Link,
    RuleOperator, Selector, SetVarOp, Target, VarRef, parse_severity,
};
use crate::variables::Var;

/// Compiles a regular expression used to select keys or match tags (case-insensitive, bounded size).
pub(crate) fn key_regex(pattern: &str) -> Result<Arc<Regex>, String> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(1 << 22)
        .build()
        .or_else(|_| {
            // PCRE accepts escapes of any punctuation (e.g. `\/`); retry with those unescaped.
            let fixed = pattern.replace("\\/", "/");
            RegexBuilder::new(&fixed)
                .case_insensitive(true)
                .size_limit(1 << 22)
                .build()
        })
        .map(Arc::new)
        .map_err(|e| format!("selector regex {pattern:?} does not compile: {e}"))
}

fn selector(var: Var, raw: Option<RawSelector>) -> Result<Selector, String> {
    match raw {
        None => Ok(Selector::All),
        Some(RawSelector::Key(k)) if var == Var::Xml => match k.as_str() {
            "/*" | "//@*" => Ok(Selector::Key(k)),
            other => Err(format!(
                "XPath {other:?} is not supported (only XML:/* and XML://@*)"
            )),
        },
        Some(_) if !var.is_collection() => Err(format!(
            "{} is not a collection and takes no selector",
            var.name()
        )),
        Some(RawSelector::Key(k)) => Ok(Selector::Key(k.to_ascii_lowercase())),
        Some(RawSelector::Regex(r))
            if !r.is_empty()
                && r.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-') =>
        {
            Ok(Selector::Contains(r.to_ascii_lowercase().into_bytes()))
        }
        Some(RawSelector::Regex(r)) => key_regex(&r).map(Selector::Regex),
    }
}

fn resolve_var(name: &str) -> Result<Var, String> {
    Var::from_name(name).ok_or_else(|| format!("unknown variable {name}"))
}

/// Compiles a target list into targets and exclusions.
pub(crate) fn compile_targets(
    raw: Vec<RawTarget>,
) -> Result<(Vec<Target>, Vec<Exclusion>), String> {
    let mut targets = Vec::new();
    let mut exclusions = Vec::new();
    for t in raw {
        let var = resolve_var(&t.collection)?;
        let sel = selector(var, t.selector)?;
        if t.exclude {
            exclusions.push(Exclusion { var, selector: sel });
        } else {
            targets.push(Target {
                var,
                selector: sel,
                count: t.count,
            });
        }
    }
    Ok((targets, exclusions))
}

/// Compiles one `VAR[:sel]` (used by `ctl:ruleRemoveTarget*` and `SecRuleUpdateTarget*`) as an exclusion.
pub(crate) fn exclusion(text: &str) -> Result<Exclusion, String> {
    let mut raw = targets::parse(text)?;
    if raw.len() != 1 {
        return Err(format!("expected one target, got {text:?}"));
    }
    let t = raw.remove(0);
    let var = resolve_var(&t.collection)?;
    Ok(Exclusion {
        var,
        selector: selector(var, t.selector)?,
    })
}

/// Compiles operator text (`@rx x`, `!@eq 0`, or a bare regular expression).
pub(crate) fn compile_operator(text: &str, ctx: &OperatorContext) -> Result<RuleOperator, String> {
    let trimmed = text.trim_start();
    let (negated, rest) = match trimmed.strip_prefix('!') {
        Some(r) => (true, r.trim_start()),
        None => (false, trimmed),
    };
    let (name, arg) = match rest.strip_prefix('@') {
        Some(r) => {
            let end = r.find(char::is_whitespace).unwrap_or(r.len());
            let (n, a) = r.split_at(end);
            let a = a.strip_prefix(|c: char| c.is_whitespace()).unwrap_or(a);
            (n, a)
        }
        None => ("rx", rest),
    };
    let operator = Operator::parse(name, arg, ctx).map_err(|e| e.to_string())?;
    Ok(RuleOperator {
        operator,
        negated,
        text: if rest.starts_with('@') {
            rest.to_owned()
        } else {
            format!("@rx {rest}")
        },
    })
}

/// Metadata and flow actions: meaningful on the chain starter only.
#[derive(Debug, Clone, Default)]
pub(crate) struct Meta {
    pub id: Option<u64>,
    pub phase: Option<u8>,
    pub msg: Option<MacroText>,
    pub logdata: Option<MacroText>,
    pub severity: Option<u8>,
    pub tags: Vec<String>,
    pub ver: Option<String>,
    pub rev: Option<String>,
    pub maturity: Option<u8>,
    pub accuracy: Option<u8>,
    pub log: Option<bool>,
    pub auditlog: Option<bool>,
    pub disruptive: Option<Disruptive>,
    pub status: Option<u16>,
    pub skip: u32,
    pub skip_after: Option<String>,
    pub chain: bool,
}

/// The per-link part of an action list.
#[derive(Debug, Clone, Default)]
pub(crate) struct LinkActions {
    pub transforms: Vec<Transform>,
    pub t_none: bool,
    pub multi_match: bool,
    pub capture: bool,
    pub actions: Vec<Action>,
}

impl LinkActions {
    pub(crate) fn into_link(
        self,
        targets: Vec<Target>,
        exclusions: Vec<Exclusion>,
        op: Option<RuleOperator>,
    ) -> Link {
        Link {
            targets,
            exclusions,
            operator: op,
            transforms: self.transforms,
            t_none: self.t_none,
            chain_id: 0,
            prefilter_slot: None,
            target_set: None,
            multi_match: self.multi_match,
            capture: self.capture,
            actions: self.actions,
        }
    }
}

/// Actions accepted and ignored: audit/debug side effects, sanitising of audit logs, and actions needing I/O.
const IGNORED_ACTIONS: &[&str] = &[
    "sanitisearg",
    "sanitisematched",
    "sanitisematchedbytes",
    "sanitiserequestheader",
    "sanitiseresponseheader",
    "sanitizearg",
    "sanitizematched",
    "sanitizematchedbytes",
    "sanitizerequestheader",
    "sanitizeresponseheader",
    "append",
    "prepend",
    "deprecatevar",
    "pause",
    "xmlns",
    "setuid",
    "setsid",
    "setrsc",
];

/// Interprets an action list.
pub(crate) fn compile_actions(raw: &[RawAction]) -> Result<(Meta, LinkActions), String> {
    let mut meta = Meta::default();
    let mut link = LinkActions::default();
    for a in raw {
        let value = a.value.as_deref();
        let need = || value.ok_or_else(|| format!("action {} needs a value", a.name));
        match a.name.as_str() {
            "id" => {
                let v = need()?;
                meta.id = Some(v.trim().parse().map_err(|_| format!("invalid id {v:?}"))?);
            }
            "phase" => meta.phase = Some(parse_phase(need()?)?),
            "msg" => meta.msg = Some(MacroText::parse(need()?)),
            "logdata" => meta.logdata = Some(MacroText::parse(need()?)),
            "severity" => {
                let v = need()?;
                meta.severity =
                    Some(parse_severity(v).ok_or_else(|| format!("invalid severity {v:?}"))?);
            }
            "tag" => meta.tags.push(need()?.to_owned()),
            "ver" => meta.ver = Some(need()?.to_owned()),
            "rev" => meta.rev = Some(need()?.to_owned()),
            "maturity" => meta.maturity = need()?.trim().parse().ok(),
            "accuracy" => meta.accuracy = need()?.trim().parse().ok(),
            "log" => meta.log = Some(true),
            "nolog" => meta.log = Some(false),
            "auditlog" => meta.auditlog = Some(true),
            "noauditlog" => meta.auditlog = Some(false),
            "pass" => meta.disruptive = Some(Disruptive::Pass),
            "block" => meta.disruptive = Some(Disruptive::Block),
            "deny" => meta.disruptive = Some(Disruptive::Deny),
            "drop" => meta.disruptive = Some(Disruptive::Drop),
            "allow" => {
                let scope = match value.map(str::to_ascii_lowercase).as_deref() {
                    None | Some("") => AllowScope::All,
                    Some("phase") => AllowScope::Phase,
                    Some("request") => AllowScope::Request,
                    Some(other) => return Err(format!("invalid allow scope {other:?}")),
                };
                meta.disruptive = Some(Disruptive::Allow(scope));
            }
            "redirect" => meta.disruptive = Some(Disruptive::Redirect(MacroText::parse(need()?))),
            "status" => {
                let v = need()?;
                meta.status = Some(
                    v.trim()
                        .parse()
                        .map_err(|_| format!("invalid status {v:?}"))?,
                );
            }
            "skip" => {
                let v = need()?;
                meta.skip = v
                    .trim()
                    .parse()
                    .map_err(|_| format!("invalid skip {v:?}"))?;
            }
            "skipafter" => meta.skip_after = Some(need()?.trim().to_owned()),
            "chain" => meta.chain = true,
            "capture" => link.capture = true,
            "multimatch" => link.multi_match = true,
            "t" => {
                let v = need()?.trim();
                if v.eq_ignore_ascii_case("none") {
                    // `t:none` clears the transformations listed so far and those of SecDefaultAction.
                    link.transforms.clear();
                    link.t_none = true;
                } else {
                    let t = Transform::from_seclang_name(v)
                        .ok_or_else(|| format!("unknown transformation t:{v}"))?;
                    link.transforms.push(t);
                }
            }
            "setvar" => link.actions.push(parse_setvar(need()?)?),
            "expirevar" => {
                let v = need()?;
                let (name, secs) = v.split_once('=').unwrap_or((v, "0"));
                link.actions.push(Action::ExpireVar(
                    var_ref(name)?,
                    MacroText::parse(secs.trim()),
                ));
            }
            "initcol" => {
                let v = need()?;
                let (coll, key) = v
                    .split_once('=')
                    .ok_or_else(|| format!("invalid initcol {v:?}"))?;
                let var = resolve_var(&coll.trim().to_ascii_uppercase())?;
                if !matches!(
                    var,
                    Var::Ip | Var::Global | Var::Session | Var::User | Var::Resource
                ) {
                    return Err(format!("initcol on {} is not supported", var.name()));
                }
                link.actions
                    .push(Action::InitCol(var, MacroText::parse(key.trim())));
            }
            "setenv" => {
                let v = need()?;
                let (n, val) = v.split_once('=').unwrap_or((v, "1"));
                link.actions
                    .push(Action::SetEnv(n.trim().to_owned(), MacroText::parse(val)));
            }
            "ctl" => link.actions.push(Action::Ctl(parse_ctl(need()?)?)),
            "exec" | "proxy" => return Err(format!("action {} is not supported", a.name)),
            name if IGNORED_ACTIONS.contains(&name) => {}
            other => return Err(format!("unknown action {other}")),
        }
    }
    Ok((meta, link))
}

/// Parses a phase number or name.
pub(crate) fn parse_phase(v: &str) -> Result<u8, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" => Ok(1),
        "2" | "request" => Ok(2),
        "3" => Ok(3),
        "4" | "response" => Ok(4),
        "5" | "logging" => Ok(5),
        other => Err(format!("invalid phase {other:?}")),
    }
}

fn var_ref(name: &str) -> Result<VarRef, String> {
    let name = name.trim();
    let (coll, key) = name
        .split_once(['.', ':'])
        .ok_or_else(|| format!("variable {name:?} lacks a collection"))?;
    let collection = resolve_var(&coll.trim().to_ascii_uppercase())?;
    if !collection.is_store() {
        return Err(format!("cannot write to collection {}", collection.name()));
    }
    Ok(VarRef {
        collection,
        // Store keys are case-insensitive: lowercase once here (macro names are case-insensitive too).
        key: MacroText::parse(&key.trim().to_ascii_lowercase()),
    })
}

fn parse_setvar(v: &str) -> Result<Action, String> {
    let v = v.trim();
    if let Some(name) = v.strip_prefix('!') {
        return Ok(Action::SetVar(var_ref(name)?, SetVarOp::Delete));
    }
    let (name, value) = v.split_once('=').unwrap_or((v, "1"));
    let op = if let Some(rest) = value.strip_prefix('+') {
        SetVarOp::Add(MacroText::parse(rest))
    } else if let Some(rest) = value.strip_prefix('-') {
        SetVarOp::Sub(MacroText::parse(rest))
    } else {
        SetVarOp::Set(MacroText::parse(value))
    };
    Ok(Action::SetVar(var_ref(name)?, op))
}

fn on_off(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "1" => Ok(true),
        "off" | "false" | "0" => Ok(false),
        other => Err(format!("expected On or Off, got {other:?}")),
    }
}

fn parse_ctl(v: &str) -> Result<Ctl, String> {
    let (opt, val) = v
        .split_once('=')
        .ok_or_else(|| format!("invalid ctl {v:?}"))?;
    let val = val.trim();
    let id_and_target = |val: &str| -> Result<(String, Exclusion), String> {
        let (head, target) = val
            .split_once(';')
            .ok_or_else(|| format!("ctl {opt} needs RULE;TARGET, got {val:?}"))?;
        Ok((head.trim().to_owned(), exclusion(target.trim())?))
    };
    let ids = |t: &str| IdRange::parse(t).ok_or_else(|| format!("invalid rule id or range {t:?}"));
    Ok(match opt.trim().to_ascii_lowercase().as_str() {
        "ruleremovebyid" => Ctl::RuleRemoveById(ids(val)?),
        "ruleremovebytag" => Ctl::RuleRemoveByTag(key_regex(val)?),
        "ruleremovebymsg" => Ctl::RuleRemoveByMsg(key_regex(val)?),
        "ruleremovetargetbyid" => {
            let (id, ex) = id_and_target(val)?;
            Ctl::RuleRemoveTargetById(ids(&id)?, ex)
        }
        "ruleremovetargetbytag" => {
            let (tag, ex) = id_and_target(val)?;
            Ctl::RuleRemoveTargetByTag(key_regex(&tag)?, ex)
        }
        "ruleremovetargetbymsg" => {
            let (msg, ex) = id_and_target(val)?;
            Ctl::RuleRemoveTargetByMsg(key_regex(&msg)?, ex)
        }
        "ruleengine" => Ctl::RuleEngine(
            EngineMode::parse(val).ok_or_else(|| format!("invalid ruleEngine {val:?}"))?,
        ),
        "requestbodyprocessor" => Ctl::RequestBodyProcessor(
            BodyProcessor::parse(val).ok_or_else(|| format!("unknown body processor {val:?}"))?,
        ),
        "requestbodyaccess" => Ctl::RequestBodyAccess(on_off(val)?),
        "forcerequestbodyvariable" => Ctl::ForceRequestBodyVariable(on_off(val)?),
        "responsebodyaccess" => Ctl::ResponseBodyAccess(on_off(val)?),
        "auditengine" | "auditlogparts" | "debugloglevel" | "hashengine" | "hashenforcement"
        | "requestbodylimit" | "parsexmlintoargs" => Ctl::Ignored,
        other => return Err(format!("unknown ctl option {other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::actions;

    #[test]
    fn operator_forms() {
        let ctx = OperatorContext::default();
        let op = compile_operator("!@rx ^a", &ctx).unwrap();
        assert!(op.negated);
        assert_eq!(op.text, "@rx ^a");
        let bare = compile_operator("^abc$", &ctx).unwrap();
        assert!(!bare.negated);
        assert_eq!(bare.text, "@rx ^abc$");
        assert!(compile_operator("@nosuchop x", &ctx).is_err());
    }

    #[test]
    fn action_list() {
        let raw = actions::parse(
            "id:5,phase:request,t:none,t:lowercase,block,severity:'CRITICAL',setvar:'tx.a=+%{tx.b}',setvar:!tx.c,\
             ctl:ruleRemoveTargetById=942100;ARGS:x,capture,multiMatch,chain,tag:'a',tag:'b',skipAfter:END",
        )
        .unwrap();
        let (meta, link) = compile_actions(&raw).unwrap();
        assert_eq!(meta.id, Some(5));
        assert_eq!(meta.phase, Some(2));
        assert_eq!(meta.severity, Some(2));
        assert!(meta.chain);
        assert_eq!(meta.tags, vec!["a", "b"]);
        assert_eq!(meta.skip_after.as_deref(), Some("END"));
        assert!(matches!(meta.disruptive, Some(Disruptive::Block)));
        assert!(link.t_none && link.capture && link.multi_match);
        assert_eq!(link.transforms, vec![Transform::Lowercase]);
        assert_eq!(link.actions.len(), 3);
        assert!(matches!(
            link.actions[1],
            Action::SetVar(_, SetVarOp::Delete)
        ));
    }

    #[test]
    fn unknown_things_are_errors() {
        for bad in [
            "t:nosuch",
            "frobnicate",
            "ctl:nosuch=1",
            "setvar:args.x=1",
            "phase:9",
        ] {
            let raw = actions::parse(bad).unwrap();
            assert!(compile_actions(&raw).is_err(), "{bad}");
        }
    }

    #[test]
    fn targets_and_selectors() {
        let (t, e) =
            compile_targets(targets::parse("ARGS|!ARGS:Foo|XML:/*|&TX:/^a/").unwrap()).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(e.len(), 1);
        assert!(e[0].excludes(Var::Args, Some(b"FOO")));
        assert!(compile_targets(targets::parse("XML://a/b").unwrap()).is_err());
        assert!(compile_targets(targets::parse("NOPE").unwrap()).is_err());
        assert!(compile_targets(targets::parse("REQUEST_URI:x").unwrap()).is_err());
    }
}
