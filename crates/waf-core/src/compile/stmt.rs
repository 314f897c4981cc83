//! Statement and `FieldToMatch` compilation.

use portcullis_waf_model as m;
use portcullis_waf_request::Transform;

use crate::error::CompileError;
use crate::json::Pointer;
use crate::labels::LabelScope;
use crate::plan::{
    Cmp, Detector, Fallback, FieldKind, FieldSpec, Forwarded, FwdPosition, JsonInvalid, NameFilter,
    Oversize, Position, PreParse, RateKey, RateSpec, Scope, Stmt,
};

use super::Builder;
use super::rules::AclCx;

/// Where a statement sits: the rule it belongs to and its label context.
pub(crate) struct StmtCx<'a> {
    pub acl: &'a AclCx<'a>,
    /// The rule name, for error messages.
    pub rule: &'a str,
    /// The label namespace of the statement's context.
    pub namespace: &'a std::sync::Arc<str>,
    /// Unique id of the rule (rate counters).
    pub rule_id: &'a str,
}

impl StmtCx<'_> {
    fn unsupported(&self, reason: impl Into<String>) -> CompileError {
        CompileError::Unsupported {
            rule: self.rule.to_owned(),
            reason: reason.into(),
        }
    }
}

fn oversize(o: Option<m::OversizeHandling>) -> Oversize {
    match o {
        None | Some(m::OversizeHandling::Continue) => Oversize::Continue,
        Some(m::OversizeHandling::Match) => Oversize::Match,
        Some(m::OversizeHandling::NoMatch) => Oversize::NoMatch,
    }
}

fn fallback(f: m::FallbackBehavior) -> Fallback {
    match f {
        m::FallbackBehavior::Match => Fallback::Match,
        m::FallbackBehavior::NoMatch => Fallback::NoMatch,
    }
}

fn scope(s: m::MapMatchScope) -> Scope {
    match s {
        m::MapMatchScope::All => Scope::All,
        m::MapMatchScope::Key => Scope::Key,
        m::MapMatchScope::Value => Scope::Value,
    }
}

/// The transformation chain in priority order, `NONE` dropped.
pub(crate) fn transforms(
    cx: &StmtCx<'_>,
    list: &[m::TextTransformation],
) -> Result<Vec<Transform>, CompileError> {
    let mut sorted: Vec<&m::TextTransformation> = list.iter().collect();
    sorted.sort_by_key(|t| t.priority);
    let mut out = Vec::with_capacity(sorted.len());
    for t in sorted {
        let name = t.r#type.as_str();
        let tr =
            Transform::from_aws_name(name).ok_or_else(|| CompileError::UnknownTransformation {
                rule: cx.rule.to_owned(),
                name: name.to_owned(),
            })?;
        if tr != Transform::None {
            out.push(tr);
        }
    }
    Ok(out)
}

fn pre_parse(list: Option<&[m::PreParseTextTransformation]>) -> Vec<PreParse> {
    let mut sorted: Vec<&m::PreParseTextTransformation> = list.unwrap_or(&[]).iter().collect();
    sorted.sort_by_key(|t| t.priority);
    sorted
        .into_iter()
        .filter_map(|t| match t.r#type {
            m::PreParseTextTransformationType::None => None,
            m::PreParseTextTransformationType::UrlDecode => Some(PreParse::UrlDecode),
            m::PreParseTextTransformationType::UrlDecodeUni => Some(PreParse::UrlDecodeUni),
            m::PreParseTextTransformationType::CombineDuplicateQueryArgsByComma => {
                Some(PreParse::CombineDuplicates)
            }
            m::PreParseTextTransformationType::ReplaceSemicolonsWithAmpersands => {
                Some(PreParse::SemicolonsToAmpersands)
            }
        })
        .collect()
}

fn field_kind(
    cx: &StmtCx<'_>,
    f: &m::FieldToMatch,
    pre: Option<&[m::PreParseTextTransformation]>,
) -> Result<FieldKind, CompileError> {
    Ok(match f {
        m::FieldToMatch::SingleHeader(h) => FieldKind::SingleHeader(h.name.to_ascii_lowercase()),
        m::FieldToMatch::SingleQueryArgument(a) => {
            FieldKind::SingleQueryArg(a.name.to_ascii_lowercase(), pre_parse(pre))
        }
        m::FieldToMatch::AllQueryArguments => FieldKind::AllQueryArgs(pre_parse(pre)),
        m::FieldToMatch::UriPath => FieldKind::UriPath,
        m::FieldToMatch::QueryString => FieldKind::QueryString,
        m::FieldToMatch::Method => FieldKind::Method,
        m::FieldToMatch::Body(b) => FieldKind::Body(oversize(b.oversize_handling)),
        m::FieldToMatch::JsonBody(j) => {
            let paths = match &j.match_pattern {
                m::JsonMatchPattern::All => None,
                m::JsonMatchPattern::IncludedPaths(ps) => Some(
                    ps.iter()
                        .map(|p| {
                            Pointer::parse(p).ok_or_else(|| {
                                cx.unsupported(format!("invalid JSON pointer {p:?}"))
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                ),
            };
            FieldKind::JsonBody {
                paths,
                scope: match j.match_scope {
                    m::JsonMatchScope::All => Scope::All,
                    m::JsonMatchScope::Key => Scope::Key,
                    m::JsonMatchScope::Value => Scope::Value,
                },
                invalid: match j.invalid_fallback_behavior {
                    None => JsonInvalid::UpToError,
                    Some(m::BodyParsingFallbackBehavior::Match) => JsonInvalid::Match,
                    Some(m::BodyParsingFallbackBehavior::NoMatch) => JsonInvalid::NoMatch,
                    Some(m::BodyParsingFallbackBehavior::EvaluateAsString) => JsonInvalid::AsString,
                },
                oversize: oversize(j.oversize_handling),
            }
        }
        m::FieldToMatch::Headers(h) => FieldKind::Headers {
            filter: match &h.match_pattern {
                m::HeaderMatchPattern::All => NameFilter::All,
                m::HeaderMatchPattern::IncludedHeaders(n) => {
                    NameFilter::Include(n.iter().map(|x| x.to_ascii_lowercase()).collect())
                }
                m::HeaderMatchPattern::ExcludedHeaders(n) => {
                    NameFilter::Exclude(n.iter().map(|x| x.to_ascii_lowercase()).collect())
                }
            },
            scope: scope(h.match_scope),
            oversize: oversize(Some(h.oversize_handling)),
        },
        m::FieldToMatch::Cookies(c) => FieldKind::Cookies {
            filter: match &c.match_pattern {
                m::CookieMatchPattern::All => NameFilter::All,
                m::CookieMatchPattern::IncludedCookies(n) => NameFilter::Include(n.clone()),
                m::CookieMatchPattern::ExcludedCookies(n) => NameFilter::Exclude(n.clone()),
            },
            scope: scope(c.match_scope),
            oversize: oversize(Some(c.oversize_handling)),
        },
        m::FieldToMatch::HeaderOrder(h) => {
            FieldKind::HeaderOrder(oversize(Some(h.oversize_handling)))
        }
        m::FieldToMatch::Ja3Fingerprint(j) => FieldKind::Ja3(fallback(j.fallback_behavior)),
        m::FieldToMatch::Ja4Fingerprint(j) => FieldKind::Ja4(fallback(j.fallback_behavior)),
        m::FieldToMatch::UriFragment(u) => {
            FieldKind::UriFragment(u.fallback_behavior.map_or(Fallback::NoMatch, fallback))
        }
    })
}

fn forwarded(f: &m::ForwardedIpConfig) -> Forwarded {
    Forwarded {
        header: f.header_name.clone(),
        fallback: fallback(f.fallback_behavior),
        position: FwdPosition::First,
    }
}

impl Builder {
    fn field_id(
        &mut self,
        cx: &StmtCx<'_>,
        f: &m::FieldToMatch,
        t: &[m::TextTransformation],
        pre: Option<&[m::PreParseTextTransformation]>,
    ) -> Result<usize, CompileError> {
        let spec = FieldSpec {
            kind: field_kind(cx, f, pre)?,
            transforms: transforms(cx, t)?,
        };
        Ok(self.field(spec))
    }

    /// Compiles a nestable statement (group references are rejected here; the rule compiler handles them).
    pub(crate) fn stmt(&mut self, cx: &StmtCx<'_>, s: &m::Statement) -> Result<Stmt, CompileError> {
        Ok(match s {
            m::Statement::ByteMatch(b) => {
                let field = self.field_id(
                    cx,
                    &b.field_to_match,
                    &b.text_transformations,
                    b.pre_parse_text_transformations.as_deref(),
                )?;
                let pos = match b.positional_constraint {
                    m::PositionalConstraint::Exactly => Position::Exactly,
                    m::PositionalConstraint::StartsWith => Position::StartsWith,
                    m::PositionalConstraint::EndsWith => Position::EndsWith,
                    m::PositionalConstraint::Contains => Position::Contains,
                    m::PositionalConstraint::ContainsWord => Position::ContainsWord,
                };
                if b.search_string.is_empty() {
                    return Err(cx.unsupported("empty ByteMatchStatement.SearchString"));
                }
                let (group, hit) = self.byte(field, b.search_string.clone(), pos);
                Stmt::Byte { group, hit }
            }
            m::Statement::RegexMatch(r) => {
                let field = self.field_id(
                    cx,
                    &r.field_to_match,
                    &r.text_transformations,
                    r.pre_parse_text_transformations.as_deref(),
                )?;
                let checked = self.check_regex(cx.rule, &r.regex_string)?;
                let (group, hit) =
                    self.regex(field, format!("re:{}", r.regex_string), vec![checked]);
                Stmt::Regex { group, hit }
            }
            m::Statement::RegexPatternSetReference(r) => {
                let set = cx.acl.res.regex_pattern_sets.get(&r.arn).ok_or_else(|| {
                    CompileError::UnknownRegexPatternSet {
                        rule: cx.rule.to_owned(),
                        arn: r.arn.clone(),
                    }
                })?;
                let mut forms = Vec::new();
                for re in set.regular_expression_list.as_deref().unwrap_or(&[]) {
                    if let Some(p) = &re.regex_string {
                        forms.push(self.check_regex(cx.rule, p)?);
                    }
                }
                if forms.is_empty() {
                    return Ok(Stmt::Never);
                }
                let field = self.field_id(
                    cx,
                    &r.field_to_match,
                    &r.text_transformations,
                    r.pre_parse_text_transformations.as_deref(),
                )?;
                let (group, hit) = self.regex(field, format!("set:{}", r.arn), forms);
                Stmt::Regex { group, hit }
            }
            m::Statement::SqliMatch(q) => {
                let field = self.field_id(
                    cx,
                    &q.field_to_match,
                    &q.text_transformations,
                    q.pre_parse_text_transformations.as_deref(),
                )?;
                let detector = match q.sensitivity_level {
                    Some(m::SensitivityLevel::High) => Detector::SqliHigh,
                    _ => Detector::SqliLow,
                };
                let slot = self.detect(field, detector);
                Stmt::Detect {
                    field,
                    detector,
                    slot,
                }
            }
            m::Statement::XssMatch(x) => {
                let field = self.field_id(
                    cx,
                    &x.field_to_match,
                    &x.text_transformations,
                    x.pre_parse_text_transformations.as_deref(),
                )?;
                let slot = self.detect(field, Detector::Xss);
                Stmt::Detect {
                    field,
                    detector: Detector::Xss,
                    slot,
                }
            }
            m::Statement::SizeConstraint(z) => {
                let field = self.field_id(
                    cx,
                    &z.field_to_match,
                    &z.text_transformations,
                    z.pre_parse_text_transformations.as_deref(),
                )?;
                let cmp = match z.comparison_operator {
                    m::ComparisonOperator::Eq => Cmp::Eq,
                    m::ComparisonOperator::Ne => Cmp::Ne,
                    m::ComparisonOperator::Le => Cmp::Le,
                    m::ComparisonOperator::Lt => Cmp::Lt,
                    m::ComparisonOperator::Ge => Cmp::Ge,
                    m::ComparisonOperator::Gt => Cmp::Gt,
                };
                Stmt::Size {
                    field,
                    cmp,
                    size: u64::try_from(z.size).unwrap_or(0),
                }
            }
            m::Statement::GeoMatch(g) => Stmt::Geo {
                countries: g
                    .country_codes
                    .as_deref()
                    .unwrap_or(&[])
                    .iter()
                    .filter_map(|c| match c.to_ascii_uppercase().as_bytes() {
                        [a, b] => Some([*a, *b]),
                        _ => None,
                    })
                    .collect(),
                fwd: g.forwarded_ip_config.as_ref().map(forwarded),
            },
            m::Statement::AsnMatch(a) => Stmt::Asn {
                asns: a
                    .asn_list
                    .iter()
                    .filter_map(|n| u32::try_from(*n).ok())
                    .collect(),
                fwd: a.forwarded_ip_config.as_ref().map(forwarded),
            },
            m::Statement::IpSetReference(r) => {
                let set =
                    cx.acl
                        .res
                        .ip_sets
                        .get(&r.arn)
                        .ok_or_else(|| CompileError::UnknownIpSet {
                            rule: cx.rule.to_owned(),
                            arn: r.arn.clone(),
                        })?;
                let set = self.ip_set(&r.arn, set)?;
                let fwd = r.ip_set_forwarded_ip_config.as_ref().map(|f| Forwarded {
                    header: f.header_name.clone(),
                    fallback: fallback(f.fallback_behavior),
                    position: match f.position {
                        m::ForwardedIpPosition::First => FwdPosition::First,
                        m::ForwardedIpPosition::Last => FwdPosition::Last,
                        m::ForwardedIpPosition::Any => FwdPosition::Any,
                    },
                });
                Stmt::IpSet { set, fwd }
            }
            m::Statement::LabelMatch(l) => Stmt::Label {
                scope: match l.scope {
                    m::LabelMatchScope::Label => LabelScope::Label,
                    m::LabelMatchScope::Namespace => LabelScope::Namespace,
                },
                key: l.key.clone().into_boxed_str(),
                context: cx.namespace.clone(),
            },
            m::Statement::And(a) => Stmt::And(
                a.statements
                    .iter()
                    .map(|s| self.stmt(cx, s))
                    .collect::<Result<_, _>>()?,
            ),
            m::Statement::Or(o) => Stmt::Or(
                o.statements
                    .iter()
                    .map(|s| self.stmt(cx, s))
                    .collect::<Result<_, _>>()?,
            ),
            m::Statement::Not(n) => Stmt::Not(Box::new(self.stmt(cx, &n.statement)?)),
            m::Statement::RateBased(r) => Stmt::Rate(Box::new(self.rate(cx, r)?)),
            m::Statement::ManagedRuleGroup(_) | m::Statement::RuleGroupReference(_) => {
                return Err(cx.unsupported(
                    "rule group statements are only allowed as the top-level statement of a web ACL rule",
                ));
            }
        })
    }

    fn rate(
        &mut self,
        cx: &StmtCx<'_>,
        r: &m::RateBasedStatement,
    ) -> Result<RateSpec, CompileError> {
        let scope_down = match &r.scope_down_statement {
            Some(s) => Some(self.stmt(cx, s)?),
            None => None,
        };
        let fwd_cfg = || {
            r.forwarded_ip_config
                .as_ref()
                .map(forwarded)
                .ok_or_else(|| cx.unsupported("FORWARDED_IP aggregation needs ForwardedIPConfig"))
        };
        let keys = match r.aggregate_key_type {
            m::AggregateKeyType::Ip => vec![RateKey::Ip],
            m::AggregateKeyType::ForwardedIp => vec![RateKey::ForwardedIp(fwd_cfg()?)],
            m::AggregateKeyType::Constant => Vec::new(),
            m::AggregateKeyType::CustomKeys => {
                let mut keys = Vec::new();
                for k in r.custom_keys.as_deref().unwrap_or(&[]) {
                    keys.push(match k {
                        m::RateBasedStatementCustomKey::Header(h) => RateKey::Header(
                            h.name.clone(),
                            transforms(cx, &h.text_transformations)?,
                        ),
                        m::RateBasedStatementCustomKey::Cookie(c) => RateKey::Cookie(
                            c.name.clone(),
                            transforms(cx, &c.text_transformations)?,
                        ),
                        m::RateBasedStatementCustomKey::QueryArgument(q) => RateKey::QueryArg(
                            q.name.clone(),
                            transforms(cx, &q.text_transformations)?,
                        ),
                        m::RateBasedStatementCustomKey::QueryString(q) => {
                            RateKey::QueryString(transforms(cx, &q.text_transformations)?)
                        }
                        m::RateBasedStatementCustomKey::UriPath(u) => {
                            RateKey::UriPath(transforms(cx, &u.text_transformations)?)
                        }
                        m::RateBasedStatementCustomKey::LabelNamespace(l) => {
                            // A namespace that is not fully qualified is read in the rule's own context, as for
                            // LabelMatchStatement keys.
                            if l.namespace.starts_with("awswaf:") {
                                RateKey::LabelNamespace(l.namespace.clone())
                            } else {
                                RateKey::LabelNamespace(format!("{}{}", cx.namespace, l.namespace))
                            }
                        }
                        m::RateBasedStatementCustomKey::Ja3Fingerprint(j) => {
                            RateKey::Ja3(fallback(j.fallback_behavior))
                        }
                        m::RateBasedStatementCustomKey::Ja4Fingerprint(j) => {
                            RateKey::Ja4(fallback(j.fallback_behavior))
                        }
                        m::RateBasedStatementCustomKey::HttpMethod => RateKey::Method,
                        m::RateBasedStatementCustomKey::ForwardedIp => {
                            RateKey::ForwardedIp(fwd_cfg()?)
                        }
                        m::RateBasedStatementCustomKey::Ip => RateKey::Ip,
                        m::RateBasedStatementCustomKey::Asn => RateKey::Asn,
                    });
                }
                if keys.is_empty() {
                    return Err(
                        cx.unsupported("CUSTOM_KEYS aggregation needs at least one custom key")
                    );
                }
                keys
            }
        };
        let mut id = b"rate\0".to_vec();
        id.extend_from_slice(cx.rule_id.as_bytes());
        id.push(0);
        Ok(RateSpec {
            id,
            limit: u64::try_from(r.limit).unwrap_or(0),
            window_secs: u32::try_from(r.window_sec()).unwrap_or(300),
            scope_down,
            keys,
        })
    }
}
