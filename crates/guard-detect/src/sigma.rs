//! Sigma rules over CloudTrail events (`portcullis guard analyze --sigma DIR`): each rule that matches an event,
//! and each correlation that fires, becomes a finding carrying the rule's id, title, level and tags.
//!
//! The finding type is `<purpose>:IAMUser/SigmaRule`, the purpose taken from the rule's first ATT&CK tactic tag
//! (`attack.persistence` → `Persistence`) and `Policy` when it has none; findings aggregate per rule and caller,
//! so a rule that keeps matching raises one finding's count.

use portcullis_guard_core::record::CloudTrailRecord;
use portcullis_guard_sigma::{CorrelationState, Level, RuleSet};
use serde_json::{Value, json};

use crate::engine::{Ctx, Loc};
use crate::store::Detection;
use crate::trail::Event;

/// A loaded Sigma rule set and its correlation state.
pub struct SigmaDetector {
    rules: RuleSet,
    state: CorrelationState,
}

impl SigmaDetector {
    /// Runs `rules` on every CloudTrail event.
    pub fn new(rules: RuleSet) -> Self {
        Self {
            rules,
            state: CorrelationState::default(),
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
        let Ok(value) = serde_json::from_str::<Value>(raw.get()) else {
            return;
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
