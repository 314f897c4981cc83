//! `RateBasedStatement` validation: limits, windows, aggregation keys and their required companions.

use super::Ctx;
use super::ParameterExceptionField as F;
use super::check::*;
use super::statement::{Place, scope_down, text_transformations};
use crate::model::*;

/// Validate a rate-based statement found at a rule's top level.
pub(crate) fn rate_based(r: &RateBasedStatement, place: Place, ctx: &Ctx<'_>) -> Check {
    range(F::RateBasedStatement, r.limit, 10, 2_000_000_000)?;
    if let Some(w) = r.evaluation_window_sec {
        ensure(
            RateBasedStatement::EVALUATION_WINDOWS.contains(&w),
            F::RateBasedStatement,
            w.to_string(),
            REASON_OUT_OF_RANGE,
        )?;
    }
    let keys = r.custom_keys.as_deref().unwrap_or(&[]);
    let uses_forwarded_key = keys
        .iter()
        .any(|k| matches!(k, RateBasedStatementCustomKey::ForwardedIp));
    match r.aggregate_key_type {
        AggregateKeyType::CustomKeys => {
            count(F::CustomKeys, "CustomKeys", keys, 1, 5)?;
        }
        other => {
            ensure(
                keys.is_empty(),
                F::CustomKeys,
                other.as_str(),
                REASON_INVALID_COMBINATION,
            )?;
        }
    }
    match r.aggregate_key_type {
        AggregateKeyType::ForwardedIp => {
            ensure(
                r.forwarded_ip_config.is_some(),
                F::ForwardedIpConfig,
                "ForwardedIPConfig",
                REASON_MISSING,
            )?;
        }
        AggregateKeyType::Constant => {
            ensure(
                r.scope_down_statement.is_some(),
                F::ScopeDown,
                "ScopeDownStatement",
                REASON_MISSING,
            )?;
        }
        AggregateKeyType::CustomKeys if uses_forwarded_key => {
            ensure(
                r.forwarded_ip_config.is_some(),
                F::ForwardedIpConfig,
                "ForwardedIPConfig",
                REASON_MISSING,
            )?;
        }
        // AWS documents ForwardedIPConfig as required in the cases above, not as forbidden elsewhere.
        AggregateKeyType::Ip | AggregateKeyType::CustomKeys => {}
    }
    super::statement::forwarded_ip_config(r.forwarded_ip_config.as_ref())?;
    for k in keys {
        custom_key(k)?;
    }
    // IP and ForwardedIP can only be combined with at least one other key [model doc].
    if let [only] = keys {
        ensure(
            !matches!(
                only,
                RateBasedStatementCustomKey::Ip | RateBasedStatementCustomKey::ForwardedIp
            ),
            F::CustomKeys,
            only.member_name(),
            REASON_INVALID_COMBINATION,
        )?;
    }
    if let Some(s) = &r.scope_down_statement {
        scope_down(s, place, ctx)?;
    }
    Ok(())
}

fn custom_key(k: &RateBasedStatementCustomKey) -> Check {
    use RateBasedStatementCustomKey as K;
    match k {
        K::Header(h) => {
            field_data(F::CustomKeys, &h.name, 64)?;
            text_transformations(&h.text_transformations)
        }
        K::Cookie(c) => {
            field_data(F::CustomKeys, &c.name, 64)?;
            text_transformations(&c.text_transformations)
        }
        K::QueryArgument(q) => {
            field_data(F::CustomKeys, &q.name, 64)?;
            text_transformations(&q.text_transformations)
        }
        K::QueryString(q) => text_transformations(&q.text_transformations),
        K::UriPath(u) => text_transformations(&u.text_transformations),
        K::LabelNamespace(l) => label_namespace(F::CustomKeys, &l.namespace),
        K::Ja3Fingerprint(_)
        | K::Ja4Fingerprint(_)
        | K::HttpMethod
        | K::ForwardedIp
        | K::Ip
        | K::Asn => Ok(()),
    }
}
