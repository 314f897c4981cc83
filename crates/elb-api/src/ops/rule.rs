//! CreateRule, DescribeRules, ModifyRule, SetRulePriorities, DeleteRule. A listener's default rule is its default action: described with
//! `IsDefault` true and priority `default`, never deleted.

use serde_json::json;

use super::listener::check_action;
use super::{Ctx, Done};
use crate::arn;
use crate::error::{ElbError, Result};
use crate::input::{action, conditions, page};
use crate::model::Rule;
use crate::render;

/// Rules per listener (besides the default one).
pub const MAX_RULES: usize = 100;

/// A rule or a listener's default rule, for describing.
#[derive(Debug, Clone)]
enum Described {
    Rule(Rule),
    Default(crate::model::Listener),
}

/// CreateRule.
pub async fn create(ctx: &Ctx<'_>) -> Result<Done> {
    let p = &ctx.params;
    let l_arn = p.required("ListenerArn")?.to_owned();
    let priority = p
        .int("Priority", 1..=50000)?
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| ElbError::missing("Priority"))?;
    let conds = conditions(p)?;
    let act = action(p, "Actions")?;
    let tags = p.tags("Tags")?;
    let mut v = ctx.world().await?;
    let listener = v.world.listener(&l_arn).cloned();
    ctx.api
        .authorize(
            ctx.req,
            "CreateRule",
            &l_arn,
            listener.as_ref().map(|l| &l.tags),
            Some(&tags),
        )
        .await?;
    if listener.is_none() {
        return Err(ElbError::ListenerNotFound(format!(
            "Listener '{l_arn}' not found"
        )));
    }
    check_action(&v.world, &act)?;
    let existing = v.world.rules_of(&l_arn);
    if existing.iter().any(|r| r.priority == priority) {
        return Err(ElbError::PriorityInUse(format!(
            "Priority '{priority}' is currently in use"
        )));
    }
    if existing.len() >= MAX_RULES {
        return Err(ElbError::TooMany {
            code: "TooManyRules",
            message: format!("A listener can have at most {MAX_RULES} rules"),
        });
    }
    let rule = Rule {
        arn: arn::rule(&l_arn, &arn::new_id()),
        listener_arn: l_arn,
        priority,
        conditions: conds,
        actions: vec![act],
        tags,
    };
    v.world.rules.push(rule.clone());
    ctx.save(&v).await?;
    let reply = ctx.reply("CreateRule", |w| {
        w.open("Rules");
        w.open("member");
        render::rule(w, &rule);
        w.close("member");
        w.close("Rules");
    });
    Ok(Done {
        reply,
        audit: json!({"rules": [{"ruleArn": rule.arn}]}),
    })
}

/// DescribeRules: by listener (by priority, the default rule last) or by rule ARNs.
pub async fn describe(ctx: &Ctx<'_>) -> Result<Done> {
    let p = &ctx.params;
    ctx.api
        .authorize(ctx.req, "DescribeRules", "*", None, None)
        .await?;
    let arns = p.list("RuleArns");
    let v = ctx.world().await?;
    let selected: Vec<Described> = match (p.optional("ListenerArn"), arns.is_empty()) {
        (Some(_), false) | (None, true) => {
            return Err(ElbError::Validation(
                "You must specify either listener ARN or rule ARNs".into(),
            ));
        }
        (Some(l_arn), true) => {
            let l = v.world.listener(l_arn).ok_or_else(|| {
                ElbError::ListenerNotFound(format!("Listener '{l_arn}' not found"))
            })?;
            let mut out: Vec<Described> = v
                .world
                .rules_of(l_arn)
                .into_iter()
                .cloned()
                .map(Described::Rule)
                .collect();
            out.push(Described::Default(l.clone()));
            out
        }
        (None, false) => arns
            .iter()
            .map(|a| {
                if let Some(r) = v.world.rule(a) {
                    return Ok(Described::Rule(r.clone()));
                }
                arn::listener_of_rule(a)
                    .and_then(|l| v.world.listener(&l).cloned())
                    .filter(|l| arn::default_rule(&l.arn) == *a)
                    .map(Described::Default)
                    .ok_or_else(|| {
                        ElbError::RuleNotFound(format!("One or more rules not found: {a}"))
                    })
            })
            .collect::<Result<_>>()?,
    };
    let (page, next) = page(p, &selected)?;
    let reply = ctx.reply("DescribeRules", |w| {
        w.open("Rules");
        for d in &page {
            w.open("member");
            match d {
                Described::Rule(r) => render::rule(w, r),
                Described::Default(l) => render::default_rule(w, l),
            }
            w.close("member");
        }
        w.close("Rules");
        w.leaf_opt("NextMarker", next.as_deref());
    });
    Ok(Done {
        reply,
        audit: serde_json::Value::Null,
    })
}

/// DeleteRule.
pub async fn delete(ctx: &Ctx<'_>) -> Result<Done> {
    let r_arn = ctx.params.required("RuleArn")?.to_owned();
    let mut v = ctx.world().await?;
    let tags = v.world.rule(&r_arn).map(|r| r.tags.clone());
    ctx.api
        .authorize(ctx.req, "DeleteRule", &r_arn, tags.as_ref(), None)
        .await?;
    if tags.is_none() {
        let is_default = arn::listener_of_rule(&r_arn)
            .and_then(|l| {
                v.world
                    .listener(&l)
                    .map(|l| arn::default_rule(&l.arn) == r_arn)
            })
            .unwrap_or(false);
        if is_default {
            return Err(ElbError::OperationNotPermitted(
                "Default rules cannot be deleted".into(),
            ));
        }
        return Err(ElbError::RuleNotFound(format!("Rule '{r_arn}' not found")));
    }
    v.world.rules.retain(|r| r.arn != r_arn);
    ctx.save(&v).await?;
    Ok(Done {
        reply: ctx.reply("DeleteRule", |_| {}),
        audit: serde_json::Value::Null,
    })
}

fn rule_not_found(arn: &str) -> ElbError {
    ElbError::RuleNotFound(format!("One or more rules not found: {arn}"))
}

fn is_default(world: &crate::model::World, rule_arn: &str) -> bool {
    arn::listener_of_rule(rule_arn)
        .and_then(|l| {
            world
                .listener(&l)
                .map(|l| arn::default_rule(&l.arn) == rule_arn)
        })
        .unwrap_or(false)
}

fn rules_reply(ctx: &Ctx<'_>, op: &str, rules: &[Rule]) -> portcullis_http::Reply {
    ctx.reply(op, |w| {
        w.open("Rules");
        for r in rules {
            w.open("member");
            render::rule(w, r);
            w.close("member");
        }
        w.close("Rules");
    })
}

/// ModifyRule: replaces the conditions and/or the action of a rule (a default rule takes its listener's
/// `ModifyListener`).
pub async fn modify(ctx: &Ctx<'_>) -> Result<Done> {
    let p = &ctx.params;
    let r_arn = p.required("RuleArn")?.to_owned();
    let conds = if p.structs("Conditions").is_empty() {
        None
    } else {
        Some(conditions(p)?)
    };
    let act = if p.structs("Actions").is_empty() {
        None
    } else {
        Some(action(p, "Actions")?)
    };
    let mut v = ctx.world().await?;
    let current = v.world.rule(&r_arn).cloned();
    ctx.api
        .authorize(
            ctx.req,
            "ModifyRule",
            &r_arn,
            current.as_ref().map(|r| &r.tags),
            None,
        )
        .await?;
    let Some(mut rule) = current else {
        if is_default(&v.world, &r_arn) {
            return Err(ElbError::OperationNotPermitted(
                "The default rule is the listener's default action: change it with ModifyListener"
                    .into(),
            ));
        }
        return Err(rule_not_found(&r_arn));
    };
    if let Some(a) = act {
        check_action(&v.world, &a)?;
        rule.actions = vec![a];
    }
    if let Some(c) = conds {
        rule.conditions = c;
    }
    if let Some(slot) = v.world.rule_mut(&r_arn) {
        *slot = rule.clone();
    }
    ctx.save(&v).await?;
    Ok(Done {
        reply: rules_reply(ctx, "ModifyRule", std::slice::from_ref(&rule)),
        audit: serde_json::Value::Null,
    })
}

/// SetRulePriorities: new priorities for rules of one listener, applied together.
pub async fn set_priorities(ctx: &Ctx<'_>) -> Result<Done> {
    let wanted = ctx.params.structs("RulePriorities");
    if wanted.is_empty() {
        return Err(ElbError::missing("RulePriorities"));
    }
    let mut v = ctx.world().await?;
    let mut changes: Vec<(String, u32)> = Vec::new();
    for w in &wanted {
        let r_arn = w.required("RuleArn")?.to_owned();
        let priority = w
            .int("Priority", 1..=50000)?
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| ElbError::missing("Priority"))?;
        let tags = v.world.rule(&r_arn).map(|r| r.tags.clone());
        ctx.api
            .authorize(ctx.req, "SetRulePriorities", &r_arn, tags.as_ref(), None)
            .await?;
        if tags.is_none() {
            if is_default(&v.world, &r_arn) {
                return Err(ElbError::OperationNotPermitted(
                    "The priority of a default rule cannot be set".into(),
                ));
            }
            return Err(rule_not_found(&r_arn));
        }
        changes.push((r_arn, priority));
    }
    for (r_arn, priority) in &changes {
        if let Some(r) = v.world.rule_mut(r_arn) {
            r.priority = *priority;
        }
    }
    let mut listeners: Vec<String> = v
        .world
        .rules
        .iter()
        .filter(|r| changes.iter().any(|(a, _)| *a == r.arn))
        .map(|r| r.listener_arn.clone())
        .collect();
    listeners.dedup();
    for l in &listeners {
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = v
            .world
            .rules_of(l)
            .into_iter()
            .find(|r| !seen.insert(r.priority))
        {
            return Err(ElbError::PriorityInUse(format!(
                "Priority '{}' is currently in use",
                dup.priority
            )));
        }
    }
    ctx.save(&v).await?;
    let changed: Vec<Rule> = v
        .world
        .rules
        .iter()
        .filter(|r| changes.iter().any(|(a, _)| *a == r.arn))
        .cloned()
        .collect();
    Ok(Done {
        reply: rules_reply(ctx, "SetRulePriorities", &changed),
        audit: serde_json::Value::Null,
    })
}
