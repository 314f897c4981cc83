//! The rule loop [model §1.12]: priority order, terminating vs non-terminating actions, rule groups with
//! overrides, CAPTCHA/challenge tokens, labels, and the final [`Verdict`].

use std::sync::Arc;

use crate::managed::{GroupMatch, GroupOutcome, ManagedGroupConfig};
use crate::plan::{ExternalGroup, PlainRule, PlanRule, ResolvedAction};
use crate::verdict::{
    ActionKind, FinalAction, MatchDetail, MatchedRule, RuleType, TerminatingRule, Verdict,
};

use super::Ctx;

/// Matches that did not end evaluation, and headers to insert.
#[derive(Default)]
struct Acc {
    non_terminating: Vec<MatchedRule>,
    insert_headers: Vec<(String, String)>,
}

/// A terminating decision.
struct Stop {
    action: FinalAction,
    rule: TerminatingRule,
    /// Headers of a terminating Allow.
    headers: Arc<[(String, String)]>,
}

/// Everything `apply` needs to know about the matched rule.
struct Matched<'a> {
    name: &'a str,
    group: Option<&'a str>,
    action: &'a ResolvedAction,
    overridden: Option<ActionKind>,
    excluded: bool,
    captcha_immunity_s: u64,
    challenge_immunity_s: u64,
    rule_type: RuleType,
    /// What the rule's SQLi/XSS statements found.
    details: Vec<MatchDetail>,
}

const TOKEN_NS: &str = "awswaf:managed:token:";
const CAPTCHA_NS: &str = "awswaf:managed:captcha:";

impl Ctx<'_> {
    /// Decides a Captcha/Challenge action from the token and labels the request with the token status
    /// (`awswaf:managed:token:accepted`, `…:captcha:rejected`, `…:absent`, …).
    fn token_ok(&mut self, kind: ActionKind, immunity_s: u64) -> bool {
        let (ns, solved) = match kind {
            ActionKind::Captcha => (CAPTCHA_NS, self.env.token.and_then(|t| t.captcha_solved_ms)),
            _ => (TOKEN_NS, self.env.token.and_then(|t| t.challenge_solved_ms)),
        };
        let now = self.env.now_ms;
        let (ok, status, reason) = match self.env.token {
            None => (false, "absent", None),
            Some(t) => match (t.rejection, solved) {
                (Some(crate::env::TokenRejection::Invalid), _) => {
                    (false, "rejected", Some("invalid"))
                }
                (Some(crate::env::TokenRejection::DomainMismatch), _) => {
                    (false, "rejected", Some("domain_mismatch"))
                }
                (None, None) => (false, "rejected", Some("not_solved")),
                (None, Some(ts)) if now.saturating_sub(ts) <= immunity_s.saturating_mul(1000) => {
                    (true, "accepted", None)
                }
                (None, Some(_)) => (false, "rejected", Some("expired")),
            },
        };
        self.add_label(Arc::from(format!("{ns}{status}")));
        if let Some(r) = reason {
            self.add_label(Arc::from(format!("{ns}{status}:{r}")));
        }
        ok
    }

    /// Applies the action of a rule that matched (its labels are already added).
    fn apply(&mut self, acc: &mut Acc, m: &Matched<'_>) -> Option<Stop> {
        let stop = |action: FinalAction| Stop {
            action,
            rule: TerminatingRule {
                name: m.name.to_owned(),
                rule_group: m.group.map(str::to_owned),
                action: m.action.kind,
                rule_type: m.rule_type,
                match_details: m.details.clone(),
            },
            headers: m.action.insert_headers.clone(),
        };
        match m.action.kind {
            ActionKind::Allow => return Some(stop(FinalAction::Allow)),
            ActionKind::Block => {
                let resp = m.action.block.clone().unwrap_or_default();
                return Some(stop(FinalAction::Block(resp)));
            }
            ActionKind::Captcha => {
                if !self.token_ok(ActionKind::Captcha, m.captcha_immunity_s) {
                    return Some(stop(FinalAction::Captcha));
                }
            }
            ActionKind::Challenge => {
                if !self.token_ok(ActionKind::Challenge, m.challenge_immunity_s) {
                    return Some(stop(FinalAction::Challenge));
                }
            }
            ActionKind::Count => {}
        }
        acc.non_terminating.push(MatchedRule {
            name: m.name.to_owned(),
            rule_group: m.group.map(str::to_owned),
            action: m.action.kind,
            overridden_action: m.overridden,
            excluded: m.excluded,
            match_details: m.details.clone(),
        });
        acc.insert_headers
            .extend(m.action.insert_headers.iter().cloned());
        None
    }

    /// Evaluates one plain rule; `group` is the web ACL rule that referenced its group.
    fn plain(&mut self, acc: &mut Acc, r: &PlainRule, group: Option<&str>) -> Option<Stop> {
        self.hits.clear();
        if !self.eval(&r.stmt) {
            return None;
        }
        let details = std::mem::take(&mut self.hits);
        for l in &r.labels {
            self.add_label(l.clone());
        }
        self.apply(
            acc,
            &Matched {
                name: &r.name,
                group,
                action: &r.action,
                overridden: r.overridden,
                excluded: r.excluded,
                captcha_immunity_s: r.captcha_immunity_s,
                challenge_immunity_s: r.challenge_immunity_s,
                rule_type: r.rule_type,
                details,
            },
        )
    }

    fn external(&mut self, acc: &mut Acc, x: &ExternalGroup) -> Option<Stop> {
        let labels: Vec<String> = self.labels.iter().map(|l| l.to_string()).collect();
        let outcome = x
            .group
            .evaluate_with_labels(self.parsed.req, &x.config, self.env, &labels);
        for GroupMatch {
            rule,
            action,
            labels,
            match_details,
        } in &outcome.matches
        {
            for l in labels {
                self.add_label(Arc::from(l.as_str()));
            }
            let (effective, overridden, excluded) = x.config.effective(rule, action);
            let stop = self.apply(
                acc,
                &Matched {
                    name: rule,
                    group: Some(&x.name),
                    action: &effective,
                    overridden,
                    excluded,
                    captcha_immunity_s: x.captcha_immunity_s,
                    challenge_immunity_s: x.challenge_immunity_s,
                    rule_type: RuleType::ManagedRuleGroup,
                    details: match_details.clone(),
                },
            );
            if stop.is_some() {
                return stop;
            }
        }
        None
    }

    /// Turns a group's terminating result into a count when the web ACL rule says `OverrideAction: Count`.
    fn group_result(acc: &mut Acc, name: &str, override_count: bool, stop: Stop) -> Option<Stop> {
        if !override_count {
            return Some(stop);
        }
        acc.non_terminating.push(MatchedRule {
            name: name.to_owned(),
            rule_group: None,
            action: ActionKind::Count,
            overridden_action: Some(stop.rule.action),
            excluded: false,
            match_details: stop.rule.match_details,
        });
        None
    }

    /// Runs every rule in priority order and returns the verdict.
    pub(crate) fn run(&mut self, rules: &[PlanRule], default: &ResolvedAction) -> Verdict {
        let mut acc = Acc::default();
        let mut stop = None;
        for rule in rules {
            let result = match rule {
                PlanRule::Plain(r) => self.plain(&mut acc, r, None),
                PlanRule::Group(g) => {
                    if let Some(sd) = &g.scope_down
                        && !self.eval(sd)
                    {
                        continue;
                    }
                    let mut inner = None;
                    for r in &g.rules {
                        inner = self.plain(&mut acc, r, Some(&g.name));
                        if inner.is_some() {
                            break;
                        }
                    }
                    inner.and_then(|s| Self::group_result(&mut acc, &g.name, g.override_count, s))
                }
                PlanRule::External(x) => {
                    if let Some(sd) = &x.scope_down
                        && !self.eval(sd)
                    {
                        continue;
                    }
                    self.external(&mut acc, x)
                        .and_then(|s| Self::group_result(&mut acc, &x.name, x.override_count, s))
                }
            };
            if result.is_some() {
                stop = result;
                break;
            }
        }
        let (action, terminating_rule, headers) = match stop {
            Some(s) => (s.action, Some(s.rule), s.headers),
            None => (
                match default.kind {
                    ActionKind::Block => {
                        FinalAction::Block(default.block.clone().unwrap_or_default())
                    }
                    _ => FinalAction::Allow,
                },
                None,
                default.insert_headers.clone(),
            ),
        };
        let insert_headers = if matches!(action, FinalAction::Allow) {
            let mut h = acc.insert_headers;
            h.extend(headers.iter().cloned());
            h
        } else {
            Vec::new()
        };
        Verdict {
            action,
            terminating_rule,
            labels: self.labels.iter().map(|l| l.to_string()).collect(),
            non_terminating: acc.non_terminating,
            insert_headers,
        }
    }

    /// Evaluates a group's rules on their own (for [`crate::ManagedGroup::evaluate`]): reports every match with
    /// the rule's own action, stopping after the first one `cfg` makes terminating.
    pub(crate) fn run_group(
        &mut self,
        rules: &[PlainRule],
        cfg: &ManagedGroupConfig,
    ) -> GroupOutcome {
        let mut out = GroupOutcome::default();
        for r in rules {
            self.hits.clear();
            if !self.eval(&r.stmt) {
                continue;
            }
            for l in &r.labels {
                self.add_label(l.clone());
            }
            out.matches.push(GroupMatch {
                rule: r.name.to_string(),
                action: r.action.clone(),
                labels: r.labels.iter().map(|l| l.to_string()).collect(),
                match_details: std::mem::take(&mut self.hits),
            });
            if cfg.terminates(&r.name, r.action.kind) {
                break;
            }
        }
        out
    }
}
