//! Action validation: rule actions, default actions, custom requests and responses.

use super::Ctx;
use super::ParameterExceptionField as F;
use super::check::*;
use crate::model::*;

/// Validate a rule action (also the `ActionToUse` of overrides).
pub(crate) fn rule_action(a: &RuleAction, ctx: &Ctx<'_>) -> Check {
    match a {
        RuleAction::Block(b) => block(b, ctx),
        RuleAction::Allow(x) => request_handling(x.custom_request_handling.as_ref()),
        RuleAction::Count(x) => request_handling(x.custom_request_handling.as_ref()),
        RuleAction::Captcha(x) => request_handling(x.custom_request_handling.as_ref()),
        RuleAction::Challenge(x) => request_handling(x.custom_request_handling.as_ref()),
        RuleAction::Monetize(m) => match &m.price_multiplier {
            Some(p) => ensure(
                p.parse::<u8>().is_ok_and(|n| {
                    (1..=100).contains(&n) && !p.starts_with('0') && !p.starts_with('+')
                }),
                F::RuleAction,
                p.as_str(),
                REASON_INVALID_FORMAT,
            ),
            None => Ok(()),
        },
    }
}

/// Validate a web ACL's default action.
pub(crate) fn default_action(a: &DefaultAction, ctx: &Ctx<'_>) -> Check {
    match a {
        DefaultAction::Block(b) => block(b, ctx),
        DefaultAction::Allow(x) => request_handling(x.custom_request_handling.as_ref()),
    }
}

fn block(b: &BlockAction, ctx: &Ctx<'_>) -> Check {
    let Some(r) = &b.custom_response else {
        return Ok(());
    };
    range(F::CustomResponse, r.response_code, 200, 599)?;
    if let Some(key) = &r.custom_response_body_key {
        entity_name(F::CustomResponse, key)?;
        let defined = ctx.bodies.is_some_and(|b| b.contains_key(key));
        ensure(
            defined,
            F::CustomResponseBody,
            key.as_str(),
            REASON_INVALID_REFERENCE,
        )?;
    }
    if let Some(headers) = &r.response_headers {
        http_headers(F::CustomResponse, headers)?;
        for h in headers {
            ensure(
                !h.name.eq_ignore_ascii_case("content-type"),
                F::CustomResponse,
                h.name.as_str(),
                REASON_INVALID_FORMAT,
            )?;
        }
    }
    Ok(())
}

fn request_handling(h: Option<&CustomRequestHandling>) -> Check {
    match h {
        Some(h) => http_headers(F::CustomRequestHandling, &h.insert_headers),
        None => Ok(()),
    }
}

/// `CustomHTTPHeaders`: ≥1, names 1–64 `^[a-zA-Z0-9._$-]+$`, values 1–255, no duplicate names.
fn http_headers(field: F, headers: &[CustomHttpHeader]) -> Check {
    count(field, "CustomHTTPHeaders", headers, 1, usize::MAX)?;
    for h in headers {
        length(field, &h.name, 1, 64)?;
        ensure(
            all_chars(&h.name, |c| c.is_ascii_alphanumeric() || "._$-".contains(c)),
            field,
            h.name.as_str(),
            REASON_INVALID_FORMAT,
        )?;
        length(field, &h.value, 1, 255)?;
    }
    unique(field, headers, |h| h.name.to_ascii_lowercase())
}
