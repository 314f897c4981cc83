//! Sigma rules over CloudTrail events (`portcullis guard analyze --sigma DIR`): each rule that matches an event,
//! and each correlation that fires, becomes a finding carrying the rule's id, title, level and tags.
//!
//! The finding type is `<purpose>:IAMUser/SigmaRule`, the purpose taken from the rule's first ATT&CK tactic tag
//! (`attack.persistence` → `Persistence`) and `Policy` when it has none; findings aggregate per rule and caller,
//! so a rule that keeps matching raises one finding's count.

use std::collections::HashMap;

use portcullis_guard_core::record::CloudTrailRecord;
use portcullis_guard_sigma::{CorrelationState, Level, Needs, RuleSet};
use serde_json::{Value, json};

use crate::engine::{Ctx, Loc};
use crate::store::Detection;
use crate::trail::Event;

/// A loaded Sigma rule set and its correlation state.
pub struct SigmaDetector {
    rules: RuleSet,
    state: CorrelationState,
    /// [`RuleSet::needs`] per `eventName`/`eventSource` pair (keyed `name\0source`), bounded.
    needs: HashMap<String, Need>,
    key: String,
    /// Whether the set has correlations (which may read any field of a matching event).
    correlated: bool,
}

/// What [`RuleSet::needs`] said, owned.
enum Need {
    Nothing,
    Fields(Vec<String>),
    Whole,
}

/// Pairs remembered before the cache starts over.
const NEEDS_CACHED: usize = 4096;

impl SigmaDetector {
    /// Runs `rules` on every CloudTrail event.
    pub fn new(rules: RuleSet) -> Self {
        let correlated = rules.correlations().next().is_some();
        Self {
            correlated,
            rules,
            state: CorrelationState::default(),
            needs: HashMap::new(),
            key: String::new(),
        }
    }

    /// Number of rules loaded.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when no rule is loaded.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Matches one event (its raw JSON) at Unix second `t`.
    pub(crate) fn observe(
        &mut self,
        rec: &CloudTrailRecord<'_>,
        t: i64,
        loc: Loc,
        ctx: &Ctx<'_>,
        out: &mut Vec<Detection>,
    ) {
        let Some(raw) = rec.raw else { return };
        // Most events concern no rule, or only rules over fields the decoded record already
        // holds: decide those without parsing the whole event into a JSON value. Without
        // correlations that decision is final; with them, a match there is checked again on
        // the whole event, which also feeds the correlations.
        self.key.clear();
        self.key.push_str(&rec.event_name);
        self.key.push('\0');
        self.key.push_str(&rec.event_source);
        if !self.needs.contains_key(self.key.as_str()) {
            if self.needs.len() >= NEEDS_CACHED {
                self.needs.clear();
            }
            let need = match self.rules.needs(&rec.event_name, &rec.event_source) {
                Needs::Nothing => Need::Nothing,
                Needs::Fields(f) => Need::Fields(f.into_iter().map(str::to_owned).collect()),
                Needs::Whole => Need::Whole,
            };
            self.needs.insert(self.key.clone(), need);
        }
        let mut value = None;
        match self.needs.get(self.key.as_str()) {
            Some(Need::Nothing) => return,
            Some(Need::Fields(fields)) => {
                if let Some(part) = typed_fields(rec, fields) {
                    if !self.correlated {
                        value = Some(part);
                    } else if self.rules.matches(&part).is_empty() {
                        return;
                    }
                }
            }
            _ => {}
        }
        let value = match value {
            Some(v) => v,
            None => match serde_json::from_str::<Value>(raw) {
                Ok(v) => v,
                Err(_) => return,
            },
        };
        let hits = self
            .rules
            .process_at(&mut self.state, &value, t.saturating_mul(1000));
        if hits.rules.is_empty() && hits.correlations.is_empty() {
            return;
        }
        let e = Event::of(rec, t, loc);
        for r in hits.rules {
            let key = r.id.clone().unwrap_or_else(|| r.title.clone());
            let mut d = e.detection(ctx, finding_type(&r.tags), severity(r.level), &key);
            d.title = format!("Sigma rule matched: {}", r.title);
            d.description = format!(
                "{} called {} ({}), which matches the Sigma rule \"{}\"{}.",
                e.caller(),
                rec.event_name,
                rec.event_source,
                r.title,
                r.description
                    .as_deref()
                    .map(|d| format!(": {}", d.trim()))
                    .unwrap_or_default()
            );
            d.info = vec![
                ("sigmaRuleId", json!(r.id)),
                ("sigmaTitle", json!(r.title)),
                ("sigmaLevel", json!(r.level.map(level_name))),
                ("sigmaTags", json!(r.tags)),
                ("sigmaRuleFile", json!(r.origin)),
            ];
            out.push(d);
        }
        for c in hits.correlations {
            let meta = c.correlation;
            let key = meta.id.clone().unwrap_or_else(|| meta.title.clone());
            let mut d = e.detection(
                ctx,
                "Policy:IAMUser/SigmaCorrelation",
                severity(meta.level),
                &key,
            );
            d.count = c.value.max(1);
            d.title = format!("Sigma correlation fired: {}", meta.title);
            d.description = format!(
                "The Sigma correlation \"{}\" fired with value {} for {:?} over {} s.",
                meta.title,
                c.value,
                c.group,
                (c.last_ms - c.first_ms) / 1000
            );
            d.info = vec![
                ("sigmaCorrelationId", json!(meta.id)),
                ("sigmaTitle", json!(meta.title)),
                ("sigmaLevel", json!(meta.level.map(level_name))),
                ("sigmaValue", json!(c.value)),
                ("sigmaGroup", json!(c.group)),
            ];
            out.push(d);
        }
    }
}

/// A JSON object with `eventName`, `eventSource` and each of `fields` that `rec` holds, or
/// `None` when a field is not one the decoded record keeps (the whole event is needed then).
fn typed_fields<S: AsRef<str>>(rec: &CloudTrailRecord<'_>, fields: &[S]) -> Option<Value> {
    use serde_json::Map;
    /// Puts `v` at the dotted `path` (`first` then `rest`), making the objects on the way.
    fn put(
        obj: &mut Map<String, Value>,
        first: &str,
        mut rest: std::str::Split<'_, char>,
        v: Value,
    ) {
        let Some(next) = rest.next() else {
            obj.insert(first.to_owned(), v);
            return;
        };
        if !obj.contains_key(first) {
            obj.insert(first.to_owned(), Value::Object(Map::new()));
        }
        if let Some(Value::Object(inner)) = obj.get_mut(first) {
            put(inner, next, rest, v);
        }
    }
    let s = |v: &Option<std::borrow::Cow<'_, str>>| v.as_deref().map(Value::from);
    let u = &rec.user_identity;
    let issuer = u.session_issuer.as_ref();
    let mut obj = Map::new();
    obj.insert("eventName".into(), Value::from(rec.event_name.as_ref()));
    obj.insert("eventSource".into(), Value::from(rec.event_source.as_ref()));
    for f in fields {
        let f = f.as_ref();
        let v = match f {
            "eventName" | "eventSource" => continue,
            "eventVersion" => s(&rec.event_version),
            "eventTime" => s(&rec.event_time),
            "awsRegion" => s(&rec.aws_region),
            "sourceIPAddress" => s(&rec.source_ip_address),
            "userAgent" => s(&rec.user_agent),
            "errorCode" => s(&rec.error_code),
            "errorMessage" => s(&rec.error_message),
            "eventType" => s(&rec.event_type),
            "eventID" => s(&rec.event_id),
            "recipientAccountId" => s(&rec.recipient_account_id),
            "readOnly" => rec.read_only.map(Value::from),
            "managementEvent" => rec.management_event.map(Value::from),
            "userIdentity.type" => s(&u.kind),
            "userIdentity.principalId" => s(&u.principal_id),
            "userIdentity.arn" => s(&u.arn),
            "userIdentity.accountId" => s(&u.account_id),
            "userIdentity.accessKeyId" => s(&u.access_key_id),
            "userIdentity.userName" => s(&u.user_name),
            "userIdentity.invokedBy" => s(&u.invoked_by),
            "userIdentity.sessionContext.sessionIssuer.type" => issuer.and_then(|i| s(&i.kind)),
            "userIdentity.sessionContext.sessionIssuer.userName" => {
                issuer.and_then(|i| s(&i.user_name))
            }
            "userIdentity.sessionContext.sessionIssuer.arn" => issuer.and_then(|i| s(&i.arn)),
            "userIdentity.sessionContext.sessionIssuer.principalId" => {
                issuer.and_then(|i| s(&i.principal_id))
            }
            _ => return None,
        };
        if let Some(v) = v {
            let mut path = f.split('.');
            if let Some(first) = path.next() {
                put(&mut obj, first, path, v);
            }
        }
    }
    Some(Value::Object(obj))
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Informational => "informational",
        Level::Low => "low",
        Level::Medium => "medium",
        Level::High => "high",
        Level::Critical => "critical",
    }
}

/// GuardDuty severities for Sigma levels: Low 1.0–3.9, Medium 4.0–6.9, High 7.0–8.9, Critical 9.0+.
fn severity(level: Option<Level>) -> f64 {
    match level {
        Some(Level::Informational) => 1.0,
        Some(Level::Low) | None => 2.0,
        Some(Level::Medium) => 5.0,
        Some(Level::High) => 7.5,
        Some(Level::Critical) => 9.0,
    }
}

/// The finding type from the rule's first ATT&CK tactic tag.
fn finding_type(tags: &[String]) -> &'static str {
    for tag in tags {
        let ty = match tag.to_ascii_lowercase().as_str() {
            "attack.initial-access" | "attack.initial_access" => "InitialAccess:IAMUser/SigmaRule",
            "attack.execution" => "Execution:IAMUser/SigmaRule",
            "attack.persistence" => "Persistence:IAMUser/SigmaRule",
            "attack.privilege-escalation" | "attack.privilege_escalation" => {
                "PrivilegeEscalation:IAMUser/SigmaRule"
            }
            "attack.defense-evasion" | "attack.defense_evasion" | "attack.defense-impairment" => {
                "DefenseEvasion:IAMUser/SigmaRule"
            }
            "attack.credential-access" | "attack.credential_access" => {
                "CredentialAccess:IAMUser/SigmaRule"
            }
            "attack.discovery" => "Discovery:IAMUser/SigmaRule",
            "attack.lateral-movement" | "attack.lateral_movement" => {
                "LateralMovement:IAMUser/SigmaRule"
            }
            "attack.collection" => "Collection:IAMUser/SigmaRule",
            "attack.exfiltration" => "Exfiltration:IAMUser/SigmaRule",
            "attack.impact" => "Impact:IAMUser/SigmaRule",
            "attack.command-and-control" | "attack.command_and_control" => {
                "CommandAndControl:IAMUser/SigmaRule"
            }
            _ => continue,
        };
        return ty;
    }
    "Policy:IAMUser/SigmaRule"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On every CloudTrail record of the corpus, the rules matched on the decoded fields are the
    /// rules matched on the whole event, whenever `needs` says the fields suffice.
    #[test]
    fn typed_fields_match_as_the_whole_event() {
        let corpora = std::env::var_os("PORTCULLIS_CORPORA").map_or_else(
            || std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"),
            std::path::PathBuf::from,
        );
        let g = corpora.join("guard");
        let Ok((rules, _)) = RuleSet::load_dir(
            &g.join("sigma-aws/rules"),
            &portcullis_guard_sigma::LoadOptions::default(),
        ) else {
            eprintln!("CORPUS MISSING: {} — skipping", g.display());
            return;
        };
        let mut files = Vec::new();
        for dir in ["cloudtrail/stratus-red-team", "cloudtrail/panther-tests"] {
            for e in std::fs::read_dir(g.join(dir)).unwrap() {
                let p = e.unwrap().path();
                if p.is_file() {
                    files.push(p);
                }
            }
        }
        let opts = portcullis_guard_core::decode::DecodeOptions::default();
        let (mut by_fields, mut matched) = (0, 0);
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            let Ok(d) = portcullis_guard_core::decode::decode(&bytes, &opts) else {
                continue;
            };
            for r in d.records {
                let portcullis_guard_core::record::Record::CloudTrail(c) = r else {
                    continue;
                };
                let Some(raw) = c.raw else { continue };
                let whole: Value = serde_json::from_str(raw).unwrap();
                let want: Vec<_> = rules.matches(&whole).iter().map(|m| &m.title).collect();
                match rules.needs(&c.event_name, &c.event_source) {
                    Needs::Nothing => assert!(want.is_empty(), "{}: {want:?}", f.display()),
                    Needs::Fields(fields) => {
                        if let Some(part) = typed_fields(&c, &fields) {
                            by_fields += 1;
                            let got: Vec<_> =
                                rules.matches(&part).iter().map(|m| &m.title).collect();
                            assert_eq!(got, want, "{}: {fields:?}", f.display());
                            matched += usize::from(!got.is_empty());
                        }
                    }
                    Needs::Whole => {}
                }
            }
        }
        eprintln!(
            "{by_fields} records decided on their decoded fields, {matched} of them matching"
        );
        assert!(by_fields > 50 && matched > 0, "{by_fields} / {matched}");
    }

    #[test]
    fn types_and_severities_follow_the_rule() {
        assert_eq!(
            finding_type(&["attack.t1098".into(), "attack.persistence".into()]),
            "Persistence:IAMUser/SigmaRule"
        );
        assert_eq!(finding_type(&[]), "Policy:IAMUser/SigmaRule");
        assert!(severity(Some(Level::High)) >= 7.0);
        assert!(severity(Some(Level::Medium)) < 7.0);
    }
}
