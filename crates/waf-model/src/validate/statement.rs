//! Statement validation: members, nesting rules, fields to match and text transformations.

use super::Ctx;
use super::ParameterExceptionField as F;
use super::action::rule_action;
use super::check::*;
use crate::model::*;

/// Deepest statement nesting accepted (JSON parsing already stops at 128 levels).
pub const MAX_STATEMENT_DEPTH: usize = 32;
/// Most text transformations per statement or custom key \[unverified: AWS WAF quotas, 10 per statement\].
pub const MAX_TEXT_TRANSFORMATIONS: usize = 10;
/// Largest `SearchString`, in bytes.
pub const MAX_SEARCH_STRING_BYTES: usize = 200;
/// Compiled-size bound for `RegexString` patterns (keeps validation and evaluation bounded).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Where a statement sits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place {
    /// The rule's own `Statement` (not nested, not a scope-down).
    pub top_level: bool,
    /// Nesting depth (0 at the top).
    pub depth: usize,
}

impl Place {
    pub(crate) const TOP: Place = Place {
        top_level: true,
        depth: 0,
    };

    fn nested(self) -> Place {
        Place {
            top_level: false,
            depth: self.depth.saturating_add(1),
        }
    }
}

/// Validate one statement at `place`.
pub(crate) fn statement(s: &Statement, place: Place, ctx: &Ctx<'_>) -> Check {
    ensure(
        place.depth <= MAX_STATEMENT_DEPTH,
        F::Statement,
        "Statement",
        REASON_INVALID_LENGTH,
    )?;
    match s {
        Statement::ByteMatch(b) => byte_match(b),
        Statement::SqliMatch(x) => {
            fingerprint_not_allowed(F::SqliMatchStatement, &x.field_to_match)?;
            match_common(
                &x.field_to_match,
                &x.text_transformations,
                x.pre_parse_text_transformations.as_deref(),
            )
        }
        Statement::XssMatch(x) => {
            fingerprint_not_allowed(F::XssMatchStatement, &x.field_to_match)?;
            match_common(
                &x.field_to_match,
                &x.text_transformations,
                x.pre_parse_text_transformations.as_deref(),
            )
        }
        Statement::SizeConstraint(x) => {
            range(F::SizeConstraintStatement, x.size, 0, 21_474_836_480)?;
            match_common(
                &x.field_to_match,
                &x.text_transformations,
                x.pre_parse_text_transformations.as_deref(),
            )
        }
        Statement::RegexMatch(x) => {
            regex_string(F::Statement, &x.regex_string)?;
            match_common(
                &x.field_to_match,
                &x.text_transformations,
                x.pre_parse_text_transformations.as_deref(),
            )
        }
        Statement::RegexPatternSetReference(x) => {
            arn(F::RegexPatternReferenceStatement, &x.arn)?;
            match_common(
                &x.field_to_match,
                &x.text_transformations,
                x.pre_parse_text_transformations.as_deref(),
            )
        }
        Statement::GeoMatch(g) => geo_match(g),
        Statement::IpSetReference(x) => {
            arn(F::IpSetReferenceStatement, &x.arn)?;
            if let Some(c) = &x.ip_set_forwarded_ip_config {
                forwarded_header_name(F::IpSetForwardedIpConfig, &c.header_name)?;
            }
            Ok(())
        }
        Statement::AsnMatch(a) => {
            count(F::Statement, "AsnList", &a.asn_list, 1, 100)?;
            for asn in &a.asn_list {
                range(F::Statement, *asn, 0, 4_294_967_295)?;
            }
            forwarded_ip_config(a.forwarded_ip_config.as_ref())
        }
        Statement::LabelMatch(l) => label_name(F::LabelMatchStatement, &l.key),
        Statement::And(a) => compound(F::AndStatement, &a.statements, place, ctx),
        Statement::Or(o) => compound(F::OrStatement, &o.statements, place, ctx),
        Statement::Not(n) => statement(&n.statement, place.nested(), ctx),
        Statement::RateBased(r) => {
            ensure(
                place.top_level,
                F::RateBasedStatement,
                "RateBasedStatement",
                REASON_NOT_NESTABLE,
            )?;
            super::rate::rate_based(r, place, ctx)
        }
        Statement::ManagedRuleGroup(m) => {
            group_reference_allowed(F::ManagedRuleSetStatement, place, ctx)?;
            managed_rule_group(m, place, ctx)
        }
        Statement::RuleGroupReference(r) => {
            group_reference_allowed(F::RuleGroupReferenceStatement, place, ctx)?;
            rule_group_reference(r, ctx)
        }
    }
}

/// A scope-down statement: any nestable statement.
pub(crate) fn scope_down(s: &Statement, place: Place, ctx: &Ctx<'_>) -> Check {
    let nestable = !matches!(
        s,
        Statement::RateBased(_) | Statement::ManagedRuleGroup(_) | Statement::RuleGroupReference(_)
    );
    ensure(nestable, F::ScopeDown, s.member_name(), REASON_NOT_NESTABLE)?;
    statement(s, place.nested(), ctx)
}

fn group_reference_allowed(field: F, place: Place, ctx: &Ctx<'_>) -> Check {
    // Rule groups cannot reference other groups; web ACLs only at a rule's top level.
    ensure(
        !ctx.in_rule_group,
        field,
        field.as_str(),
        REASON_INVALID_REFERENCE,
    )?;
    ensure(place.top_level, field, field.as_str(), REASON_NOT_NESTABLE)
}

fn compound(field: F, statements: &[Statement], place: Place, ctx: &Ctx<'_>) -> Check {
    ensure(statements.len() >= 2, field, "Statements", REASON_THRESHOLD)?;
    for s in statements {
        statement(s, place.nested(), ctx)?;
    }
    Ok(())
}

fn byte_match(b: &ByteMatchStatement) -> Check {
    let shown = String::from_utf8_lossy(&b.search_string).into_owned();
    ensure(
        (1..=MAX_SEARCH_STRING_BYTES).contains(&b.search_string.len()),
        F::ByteMatchStatement,
        shown.clone(),
        REASON_INVALID_LENGTH,
    )?;
    if b.positional_constraint == PositionalConstraint::ContainsWord {
        ensure(
            b.search_string
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'_'),
            F::ByteMatchStatement,
            shown,
            REASON_INVALID_FORMAT,
        )?;
    }
    match_common(
        &b.field_to_match,
        &b.text_transformations,
        b.pre_parse_text_transformations.as_deref(),
    )
}

fn geo_match(g: &GeoMatchStatement) -> Check {
    let codes = g.country_codes.as_deref().unwrap_or(&[]);
    count(F::GeoMatchStatement, "CountryCodes", codes, 1, usize::MAX)?;
    for c in codes {
        ensure(
            is_country_code(c),
            F::GeoMatchStatement,
            c.as_str(),
            REASON_INVALID_FORMAT,
        )?;
    }
    forwarded_ip_config(g.forwarded_ip_config.as_ref())
}

/// `ForwardedIPConfig` header name.
pub(crate) fn forwarded_ip_config(c: Option<&ForwardedIpConfig>) -> Check {
    match c {
        Some(c) => forwarded_header_name(F::ForwardedIpConfig, &c.header_name),
        None => Ok(()),
    }
}

/// `RegexPatternString`: 1–512 characters, and a pattern the engine accepts.
pub(crate) fn regex_string(field: F, s: &str) -> Check {
    length(field, s, 1, 512)?;
    let compiled = regex::RegexBuilder::new(s)
        .size_limit(REGEX_SIZE_LIMIT)
        .build();
    ensure(compiled.is_ok(), field, s, REASON_INVALID_FORMAT)
}

fn fingerprint_not_allowed(field: F, f: &FieldToMatch) -> Check {
    ensure(
        !matches!(
            f,
            FieldToMatch::Ja3Fingerprint(_) | FieldToMatch::Ja4Fingerprint(_)
        ),
        field,
        f.member_name(),
        REASON_INVALID_COMBINATION,
    )
}

fn match_common(
    f: &FieldToMatch,
    tts: &[TextTransformation],
    pre: Option<&[PreParseTextTransformation]>,
) -> Check {
    field_to_match(f)?;
    text_transformations(tts)?;
    if let Some(pre) = pre.filter(|p| !p.is_empty()) {
        ensure(
            matches!(
                f,
                FieldToMatch::SingleQueryArgument(_) | FieldToMatch::AllQueryArguments
            ),
            F::PreParseTextTransformation,
            f.member_name(),
            REASON_INVALID_COMBINATION,
        )?;
        count(
            F::PreParseTextTransformation,
            "PreParseTextTransformations",
            pre,
            1,
            MAX_TEXT_TRANSFORMATIONS,
        )?;
        for t in pre {
            range(
                F::PreParseTextTransformation,
                t.priority,
                0,
                i64::from(i32::MAX),
            )?;
        }
        unique(F::PreParseTextTransformation, pre, |t| t.priority)?;
    }
    Ok(())
}

/// `TextTransformations`: 1–10, priorities ≥0 and unique.
pub(crate) fn text_transformations(tts: &[TextTransformation]) -> Check {
    count(
        F::TextTransformation,
        "TextTransformations",
        tts,
        1,
        MAX_TEXT_TRANSFORMATIONS,
    )?;
    for t in tts {
        range(F::TextTransformation, t.priority, 0, i64::from(i32::MAX))?;
    }
    unique(F::TextTransformation, tts, |t| t.priority)
}

/// `FieldToMatch` members.
pub(crate) fn field_to_match(f: &FieldToMatch) -> Check {
    match f {
        FieldToMatch::SingleHeader(h) => field_data(F::SingleHeader, &h.name, 64),
        FieldToMatch::SingleQueryArgument(q) => field_data(F::SingleQueryArgument, &q.name, 64),
        FieldToMatch::JsonBody(j) => match &j.match_pattern {
            JsonMatchPattern::All => Ok(()),
            JsonMatchPattern::IncludedPaths(paths) => {
                count(F::JsonMatchPattern, "IncludedPaths", paths, 1, usize::MAX)?;
                for p in paths {
                    length(F::JsonMatchPattern, p, 1, 512)?;
                    ensure(
                        is_json_pointer(p),
                        F::JsonMatchPattern,
                        p.as_str(),
                        REASON_INVALID_FORMAT,
                    )?;
                }
                Ok(())
            }
        },
        FieldToMatch::Headers(h) => match &h.match_pattern {
            HeaderMatchPattern::All => Ok(()),
            HeaderMatchPattern::IncludedHeaders(n) | HeaderMatchPattern::ExcludedHeaders(n) => {
                names(F::HeaderMatchPattern, n, 64)
            }
        },
        FieldToMatch::Cookies(c) => match &c.match_pattern {
            CookieMatchPattern::All => Ok(()),
            CookieMatchPattern::IncludedCookies(n) | CookieMatchPattern::ExcludedCookies(n) => {
                names(F::CookieMatchPattern, n, 60)
            }
        },
        FieldToMatch::AllQueryArguments
        | FieldToMatch::UriPath
        | FieldToMatch::QueryString
        | FieldToMatch::Method
        | FieldToMatch::Body(_)
        | FieldToMatch::HeaderOrder(_)
        | FieldToMatch::Ja3Fingerprint(_)
        | FieldToMatch::Ja4Fingerprint(_)
        | FieldToMatch::UriFragment(_) => Ok(()),
    }
}

fn names(field: F, names: &[String], max_len: usize) -> Check {
    count(field, "MatchPattern", names, 1, 199)?;
    for n in names {
        field_data(field, n, max_len)?;
    }
    Ok(())
}

/// `JsonPointerPath`: `/` or `(/([^~]|~[01])+)+` (the model's pattern, matched as a whole).
pub fn is_json_pointer(p: &str) -> bool {
    if p == "/" {
        return true;
    }
    let mut chars = p.chars().peekable();
    if chars.next() != Some('/') {
        return false;
    }
    let mut segment_len = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '/' => {
                if segment_len == 0 {
                    return false;
                }
                segment_len = 0;
            }
            '~' => match chars.next() {
                Some('0' | '1') => segment_len += 1,
                _ => return false,
            },
            _ => segment_len += 1,
        }
    }
    segment_len > 0
}

fn managed_rule_group(m: &ManagedRuleGroupStatement, place: Place, ctx: &Ctx<'_>) -> Check {
    length(F::ManagedRuleSetStatement, &m.vendor_name, 1, 128)?;
    ensure(
        not_blank(&m.vendor_name),
        F::ManagedRuleSetStatement,
        m.vendor_name.as_str(),
        REASON_INVALID_FORMAT,
    )?;
    entity_name(F::ManagedRuleSetStatement, &m.name)?;
    if let Some(v) = &m.version {
        length(F::ManagedRuleSetStatement, v, 1, 64)?;
        ensure(
            all_chars(v, |c| is_word(c) || "#:.-/".contains(c)),
            F::ManagedRuleSetStatement,
            v.as_str(),
            REASON_INVALID_FORMAT,
        )?;
    }
    excluded_and_overrides(
        m.excluded_rules.as_deref(),
        m.rule_action_overrides.as_deref(),
        ctx,
    )?;
    if let Some(s) = &m.scope_down_statement {
        scope_down(s, place, ctx)?;
    }
    for c in m.managed_rule_group_configs.as_deref().unwrap_or(&[]) {
        ensure(
            c.members_set() == 1,
            F::ManagedRuleGroupConfig,
            "ManagedRuleGroupConfig",
            REASON_EXACTLY_ONE,
        )?;
        if let Some(p) = &c.login_path {
            length(F::ManagedRuleGroupConfig, p, 1, 256)?;
        }
        if let Some(atp) = &c.aws_managed_rules_atp_rule_set {
            ensure(
                !atp.login_path.is_empty(),
                F::ManagedRuleGroupConfig,
                "LoginPath",
                REASON_INVALID_LENGTH,
            )?;
            if let Some(r) = &atp.response_inspection {
                ensure(
                    response_inspection_members(r) == 1,
                    F::AtpRuleSetResponseInspection,
                    "ResponseInspection",
                    REASON_EXACTLY_ONE,
                )?;
            }
        }
        if let Some(acfp) = &c.aws_managed_rules_acfp_rule_set {
            length(F::ManagedRuleGroupConfig, &acfp.creation_path, 1, 256)?;
            length(
                F::ManagedRuleGroupConfig,
                &acfp.registration_page_path,
                1,
                256,
            )?;
            if let Some(r) = &acfp.response_inspection {
                ensure(
                    response_inspection_members(r) == 1,
                    F::AcpRuleSetResponseInspection,
                    "ResponseInspection",
                    REASON_EXACTLY_ONE,
                )?;
            }
        }
        if let Some(ai) = &c.aws_managed_rules_ai_security_rule_set {
            match &ai.bedrock_guardrails {
                BedrockGuardrails::ProtectRequestOnly(r)
                | BedrockGuardrails::ProtectRequestAndResponse(r) => iam_role_arn(&r.role_arn)?,
                BedrockGuardrails::Disable => {}
            }
        }
        if let Some(d) = &c.aws_managed_rules_anti_ddos_rule_set {
            for r in d
                .client_side_action_config
                .challenge
                .exempt_uri_regular_expressions
                .as_deref()
                .unwrap_or(&[])
            {
                if let Some(s) = &r.regex_string {
                    regex_string(F::ManagedRuleGroupConfig, s)?;
                }
            }
        }
    }
    Ok(())
}

/// `IAMRoleArn`: 20–2,048, `^arn:aws[a-zA-Z-]*:iam::\d{12}:role/(?:[\x21-\x7F]+/)?[\w+=,.@-]+$`.
fn iam_role_arn(s: &str) -> Check {
    length(F::RoleArn, s, 20, 2048)?;
    let ok = (|| {
        let rest = s.strip_prefix("arn:aws")?;
        let (partition, rest) = rest.split_once(':')?;
        let rest = rest.strip_prefix("iam::")?;
        let (account, path) = rest.split_once(":role/")?;
        let name = path.rsplit('/').next()?;
        let prefix_ok = path.len() == name.len()
            || path
                .get(..path.len().saturating_sub(name.len()))
                .is_some_and(|p| p.bytes().all(|b| (0x21..=0x7f).contains(&b)));
        Some(
            partition
                .chars()
                .all(|c| c.is_ascii_alphabetic() || c == '-')
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && all_chars(name, |c| is_word(c) || "+=,.@-".contains(c))
                && prefix_ok,
        )
    })()
    .unwrap_or(false);
    ensure(ok, F::RoleArn, s, REASON_INVALID_ARN)
}

fn response_inspection_members(r: &ResponseInspection) -> usize {
    [
        r.status_code.is_some(),
        r.header.is_some(),
        r.body_contains.is_some(),
        r.json.is_some(),
    ]
    .into_iter()
    .filter(|b| *b)
    .count()
}

fn rule_group_reference(r: &RuleGroupReferenceStatement, ctx: &Ctx<'_>) -> Check {
    arn(F::RuleGroupReferenceStatement, &r.arn)?;
    excluded_and_overrides(
        r.excluded_rules.as_deref(),
        r.rule_action_overrides.as_deref(),
        ctx,
    )
}

fn excluded_and_overrides(
    excluded: Option<&[ExcludedRule]>,
    overrides: Option<&[RuleActionOverride]>,
    ctx: &Ctx<'_>,
) -> Check {
    let excluded = excluded.unwrap_or(&[]);
    count(F::ExcludedRule, "ExcludedRules", excluded, 0, 100)?;
    for e in excluded {
        entity_name(F::ExcludedRule, &e.name)?;
    }
    let overrides = overrides.unwrap_or(&[]);
    count(F::RuleAction, "RuleActionOverrides", overrides, 0, 100)?;
    for o in overrides {
        entity_name(F::RuleAction, &o.name)?;
        rule_action(&o.action_to_use, ctx)?;
    }
    unique(F::RuleAction, overrides, |o| o.name.clone())
}
