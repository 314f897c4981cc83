//! Property tests: random web ACLs survive render → parse unchanged, and arbitrary input never panics.

use std::collections::BTreeMap;

use portcullis_waf_model::*;
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,16}"
}

fn any_of<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(all)
}

fn tts() -> impl Strategy<Value = Vec<TextTransformation>> {
    vec(
        (0i64..20, any_of(TextTransformationType::ALL))
            .prop_map(|(priority, r#type)| TextTransformation { priority, r#type }),
        1..4,
    )
}

fn pre_tts() -> impl Strategy<Value = Option<Vec<PreParseTextTransformation>>> {
    of(vec(
        (0i64..5, any_of(PreParseTextTransformationType::ALL))
            .prop_map(|(priority, r#type)| PreParseTextTransformation { priority, r#type }),
        0..3,
    ))
}

fn fallback() -> impl Strategy<Value = FallbackBehavior> {
    any_of(FallbackBehavior::ALL)
}

fn oversize() -> impl Strategy<Value = OversizeHandling> {
    any_of(OversizeHandling::ALL)
}

fn field() -> impl Strategy<Value = FieldToMatch> {
    prop_oneof![
        name().prop_map(|name| FieldToMatch::SingleHeader(SingleHeader { name })),
        name().prop_map(|name| FieldToMatch::SingleQueryArgument(SingleQueryArgument { name })),
        Just(FieldToMatch::AllQueryArguments),
        Just(FieldToMatch::UriPath),
        Just(FieldToMatch::QueryString),
        Just(FieldToMatch::Method),
        of(oversize()).prop_map(|oversize_handling| FieldToMatch::Body(Body { oversize_handling })),
        (
            prop_oneof![
                Just(JsonMatchPattern::All),
                vec("/[a-z]{1,5}", 1..3).prop_map(JsonMatchPattern::IncludedPaths)
            ],
            any_of(JsonMatchScope::ALL),
            of(any_of(BodyParsingFallbackBehavior::ALL)),
            of(oversize())
        )
            .prop_map(
                |(match_pattern, match_scope, invalid_fallback_behavior, oversize_handling)| {
                    FieldToMatch::JsonBody(JsonBody {
                        match_pattern,
                        match_scope,
                        invalid_fallback_behavior,
                        oversize_handling,
                    })
                }
            ),
        (
            prop_oneof![
                Just(HeaderMatchPattern::All),
                vec(name(), 1..3).prop_map(HeaderMatchPattern::IncludedHeaders),
                vec(name(), 1..3).prop_map(HeaderMatchPattern::ExcludedHeaders)
            ],
            any_of(MapMatchScope::ALL),
            oversize()
        )
            .prop_map(|(match_pattern, match_scope, oversize_handling)| {
                FieldToMatch::Headers(Headers {
                    match_pattern,
                    match_scope,
                    oversize_handling,
                })
            }),
        (
            prop_oneof![
                Just(CookieMatchPattern::All),
                vec(name(), 1..3).prop_map(CookieMatchPattern::IncludedCookies),
                vec(name(), 1..3).prop_map(CookieMatchPattern::ExcludedCookies)
            ],
            any_of(MapMatchScope::ALL),
            oversize()
        )
            .prop_map(|(match_pattern, match_scope, oversize_handling)| {
                FieldToMatch::Cookies(Cookies {
                    match_pattern,
                    match_scope,
                    oversize_handling,
                })
            }),
        oversize().prop_map(|oversize_handling| FieldToMatch::HeaderOrder(HeaderOrder {
            oversize_handling
        })),
        fallback().prop_map(
            |fallback_behavior| FieldToMatch::Ja3Fingerprint(Ja3Fingerprint { fallback_behavior })
        ),
        fallback().prop_map(
            |fallback_behavior| FieldToMatch::Ja4Fingerprint(Ja4Fingerprint { fallback_behavior })
        ),
        of(fallback()).prop_map(|fallback_behavior| FieldToMatch::UriFragment(UriFragment {
            fallback_behavior
        })),
    ]
}

fn fwd() -> impl Strategy<Value = Option<ForwardedIpConfig>> {
    of(
        ("[A-Za-z-]{1,12}", fallback()).prop_map(|(header_name, fallback_behavior)| {
            ForwardedIpConfig {
                header_name,
                fallback_behavior,
            }
        }),
    )
}

const ARN: &str =
    "arn:aws:wafv2:us-east-1:123456789012:regional/ipset/s/0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";

fn leaf() -> impl Strategy<Value = Statement> {
    prop_oneof![
        (
            vec(any::<u8>(), 0..40),
            field(),
            tts(),
            pre_tts(),
            any_of(PositionalConstraint::ALL)
        )
            .prop_map(
                |(
                    search_string,
                    field_to_match,
                    text_transformations,
                    pre_parse_text_transformations,
                    positional_constraint,
                )| {
                    Statement::ByteMatch(ByteMatchStatement {
                        search_string,
                        field_to_match,
                        text_transformations,
                        pre_parse_text_transformations,
                        positional_constraint,
                    })
                }
            ),
        (field(), tts(), pre_tts(), of(any_of(SensitivityLevel::ALL))).prop_map(|(f, t, p, s)| {
            Statement::SqliMatch(SqliMatchStatement {
                field_to_match: f,
                text_transformations: t,
                pre_parse_text_transformations: p,
                sensitivity_level: s,
            })
        }),
        (field(), tts()).prop_map(|(f, t)| Statement::XssMatch(XssMatchStatement {
            field_to_match: f,
            text_transformations: t,
            pre_parse_text_transformations: None,
        })),
        (
            field(),
            any_of(ComparisonOperator::ALL),
            0i64..21_474_836_480,
            tts()
        )
            .prop_map(|(f, c, size, t)| {
                Statement::SizeConstraint(SizeConstraintStatement {
                    field_to_match: f,
                    comparison_operator: c,
                    size,
                    text_transformations: t,
                    pre_parse_text_transformations: None,
                })
            }),
        (of(vec(any_of(&["US", "FR", "CN", "XK"][..]), 1..3)), fwd()).prop_map(|(c, f)| {
            Statement::GeoMatch(GeoMatchStatement {
                country_codes: c.map(|v| v.into_iter().map(String::from).collect()),
                forwarded_ip_config: f,
            })
        }),
        of((
            "[A-Za-z-]{1,12}",
            fallback(),
            any_of(ForwardedIpPosition::ALL)
        ))
        .prop_map(|c| {
            Statement::IpSetReference(IpSetReferenceStatement {
                arn: ARN.to_string(),
                ip_set_forwarded_ip_config: c.map(|(header_name, fallback_behavior, position)| {
                    IpSetForwardedIpConfig {
                        header_name,
                        fallback_behavior,
                        position,
                    }
                }),
            })
        }),
        (field(), tts()).prop_map(|(f, t)| Statement::RegexPatternSetReference(
            RegexPatternSetReferenceStatement {
                arn: ARN.to_string(),
                field_to_match: f,
                text_transformations: t,
                pre_parse_text_transformations: None,
            }
        )),
        (any_of(LabelMatchScope::ALL), "[a-z:]{1,20}")
            .prop_map(|(scope, key)| Statement::LabelMatch(LabelMatchStatement { scope, key })),
        ("[a-z^$.*]{1,10}", field(), tts()).prop_map(|(r, f, t)| Statement::RegexMatch(
            RegexMatchStatement {
                regex_string: r,
                field_to_match: f,
                text_transformations: t,
                pre_parse_text_transformations: None,
            }
        )),
        (vec(0i64..=4_294_967_295, 1..4), fwd()).prop_map(|(asn_list, f)| Statement::AsnMatch(
            AsnMatchStatement {
                asn_list,
                forwarded_ip_config: f
            }
        )),
    ]
}

fn nested() -> impl Strategy<Value = Statement> {
    leaf().prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 2..4)
                .prop_map(|statements| Statement::And(AndStatement { statements })),
            vec(inner.clone(), 2..4)
                .prop_map(|statements| Statement::Or(OrStatement { statements })),
            inner.prop_map(|s| Statement::Not(NotStatement {
                statement: Box::new(s)
            })),
        ]
    })
}

fn custom_key() -> impl Strategy<Value = RateBasedStatementCustomKey> {
    use RateBasedStatementCustomKey as K;
    prop_oneof![
        (name(), tts()).prop_map(|(name, text_transformations)| K::Header(RateLimitHeader {
            name,
            text_transformations
        })),
        (name(), tts()).prop_map(|(name, text_transformations)| K::Cookie(RateLimitCookie {
            name,
            text_transformations
        })),
        (name(), tts()).prop_map(|(name, text_transformations)| K::QueryArgument(
            RateLimitQueryArgument {
                name,
                text_transformations
            }
        )),
        tts().prop_map(|text_transformations| K::QueryString(RateLimitQueryString {
            text_transformations
        })),
        tts().prop_map(|text_transformations| K::UriPath(RateLimitUriPath {
            text_transformations
        })),
        "[a-z]{1,8}:"
            .prop_map(|namespace| K::LabelNamespace(RateLimitLabelNamespace { namespace })),
        fallback().prop_map(
            |fallback_behavior| K::Ja3Fingerprint(RateLimitJa3Fingerprint { fallback_behavior })
        ),
        fallback().prop_map(
            |fallback_behavior| K::Ja4Fingerprint(RateLimitJa4Fingerprint { fallback_behavior })
        ),
        Just(K::HttpMethod),
        Just(K::ForwardedIp),
        Just(K::Ip),
        Just(K::Asn),
    ]
}

fn top_statement() -> impl Strategy<Value = Statement> {
    prop_oneof![
        4 => nested(),
        1 => (10i64..2_000_000_000, of(any_of(&[60i64, 120, 300, 600][..])), any_of(AggregateKeyType::ALL),
            of(nested()), fwd(), of(vec(custom_key(), 1..5)))
            .prop_map(|(limit, w, k, s, f, c)| Statement::RateBased(Box::new(RateBasedStatement {
                limit,
                evaluation_window_sec: w,
                aggregate_key_type: k,
                scope_down_statement: s.map(Box::new),
                forwarded_ip_config: f,
                custom_keys: c,
            }))),
        1 => (name(), of("[0-9._]{1,6}"), of(nested()), of(vec(name().prop_map(|name| ExcludedRule { name }), 0..3)),
            of(vec((name(), action()).prop_map(|(name, action_to_use)| RuleActionOverride { name, action_to_use }), 0..3)))
            .prop_map(|(n, version, s, excluded_rules, rule_action_overrides)| {
                Statement::ManagedRuleGroup(Box::new(ManagedRuleGroupStatement {
                    vendor_name: "AWS".into(),
                    name: n,
                    version,
                    excluded_rules,
                    scope_down_statement: s.map(Box::new),
                    managed_rule_group_configs: None,
                    rule_action_overrides,
                }))
            }),
        1 => Just(Statement::RuleGroupReference(RuleGroupReferenceStatement {
            arn: ARN.to_string(), excluded_rules: None, rule_action_overrides: None })),
    ]
}

fn headers() -> impl Strategy<Value = Option<CustomRequestHandling>> {
    of(vec(
        (name(), "[ -~]{1,10}").prop_map(|(name, value)| CustomHttpHeader { name, value }),
        1..3,
    )
    .prop_map(|insert_headers| CustomRequestHandling { insert_headers }))
}

fn action() -> impl Strategy<Value = RuleAction> {
    prop_oneof![
        of((
            200i64..600,
            of(name()),
            of(vec(
                (name(), "[a-z]{1,5}").prop_map(|(name, value)| CustomHttpHeader { name, value }),
                1..3
            ))
        ))
        .prop_map(|r| RuleAction::Block(BlockAction {
            custom_response: r.map(
                |(response_code, custom_response_body_key, response_headers)| CustomResponse {
                    response_code,
                    custom_response_body_key,
                    response_headers,
                }
            ),
        })),
        headers().prop_map(|h| RuleAction::Allow(AllowAction {
            custom_request_handling: h
        })),
        headers().prop_map(|h| RuleAction::Count(CountAction {
            custom_request_handling: h
        })),
        headers().prop_map(|h| RuleAction::Captcha(CaptchaAction {
            custom_request_handling: h
        })),
        headers().prop_map(|h| RuleAction::Challenge(ChallengeAction {
            custom_request_handling: h
        })),
        of("[1-9]{1,2}")
            .prop_map(|price_multiplier| RuleAction::Monetize(MonetizeAction { price_multiplier })),
    ]
}

fn visibility() -> impl Strategy<Value = VisibilityConfig> {
    (any::<bool>(), any::<bool>(), name()).prop_map(|(s, c, m)| VisibilityConfig {
        sampled_requests_enabled: s,
        cloud_watch_metrics_enabled: c,
        metric_name: m,
    })
}

fn immunity() -> impl Strategy<Value = Option<ImmunityTimeProperty>> {
    of((60i64..259_200).prop_map(|immunity_time| ImmunityTimeProperty { immunity_time }))
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        name(),
        0i64..1000,
        top_statement(),
        of(action()),
        of(prop_oneof![
            Just(OverrideAction::None),
            Just(OverrideAction::Count(CountAction::default()))
        ]),
        of(vec("[a-z:]{1,12}".prop_map(|name| Label { name }), 0..3)),
        visibility(),
        of(immunity().prop_map(|immunity_time_property| CaptchaConfig {
            immunity_time_property,
        })),
        of(
            immunity().prop_map(|immunity_time_property| ChallengeConfig {
                immunity_time_property,
            }),
        ),
    )
        .prop_map(
            |(
                name,
                priority,
                statement,
                action,
                override_action,
                rule_labels,
                visibility_config,
                captcha_config,
                challenge_config,
            )| Rule {
                name,
                priority,
                statement,
                action,
                override_action,
                rule_labels,
                visibility_config,
                captcha_config,
                challenge_config,
            },
        )
}

pub fn web_acl() -> impl Strategy<Value = WebAcl> {
    (
        name(),
        prop_oneof![
            Just(DefaultAction::Allow(AllowAction::default())),
            (200i64..600).prop_map(|c| DefaultAction::Block(BlockAction {
                custom_response: Some(CustomResponse {
                    response_code: c,
                    custom_response_body_key: None,
                    response_headers: None
                })
            })),
        ],
        of("[A-Za-z0-9 ]{3,20}"),
        of(vec(rule(), 0..4)),
        visibility(),
        of(proptest::collection::btree_map(
            name(),
            (any_of(ResponseContentType::ALL), "[ -~]{1,30}").prop_map(
                |(content_type, content)| CustomResponseBody {
                    content_type,
                    content,
                },
            ),
            1..3,
        )),
        of(vec("[a-z.]{1,12}", 0..3)),
        of(proptest::collection::btree_map(
            any_of(AssociatedResourceType::ALL),
            any_of(SizeInspectionLimit::ALL).prop_map(|default_size_inspection_limit| {
                RequestBodyAssociatedResourceTypeConfig {
                    default_size_inspection_limit,
                }
            }),
            0..3,
        )),
        of(0i64..5000),
    )
        .prop_map(
            |(
                name,
                default_action,
                description,
                rules,
                visibility_config,
                bodies,
                token_domains,
                request_body,
                capacity,
            )| WebAcl {
                name,
                id: "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9".into(),
                arn: ARN.into(),
                default_action,
                description,
                rules,
                visibility_config,
                data_protection_config: None,
                capacity,
                pre_process_firewall_manager_rule_groups: None,
                post_process_firewall_manager_rule_groups: None,
                managed_by_firewall_manager: None,
                label_namespace: None,
                custom_response_bodies: bodies.map(|b: BTreeMap<_, _>| b),
                captcha_config: None,
                challenge_config: None,
                token_domains,
                association_config: request_body.map(|request_body| AssociationConfig {
                    request_body: Some(request_body),
                    challenge_javascript_sdk_injection: None,
                }),
                retrofitted_by_firewall_manager: None,
                on_source_ddos_protection_config: None,
                application_config: None,
                monetization_config: None,
                analytics_config: None,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn web_acl_render_parse_is_identity(acl in web_acl()) {
        let rendered = acl.to_json();
        let bytes = serde_json::to_vec(&rendered).expect("bytes");
        let parsed = WebAcl::from_json(&bytes).expect("parse");
        prop_assert_eq!(&parsed, &acl);
        prop_assert_eq!(parsed.to_json(), rendered);
    }

    #[test]
    fn validation_and_capacity_never_panic(acl in web_acl()) {
        let _ = validate::validate_web_acl(&acl, Scope::Regional);
        let _ = capacity::web_acl_capacity(&acl, &capacity::AwsManagedOnly);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..512)) {
        let _ = WebAcl::from_json(&bytes);
        let _ = Statement::from_json(&bytes);
    }

    #[test]
    fn mutated_documents_never_panic(acl in web_acl(), cut in 0usize..4000, byte in any::<u8>()) {
        let mut bytes = serde_json::to_vec(&acl.to_json()).expect("bytes");
        if !bytes.is_empty() {
            let i = cut % bytes.len();
            bytes[i] = byte;
        }
        if let Ok(parsed) = WebAcl::from_json(&bytes) {
            let _ = validate::validate_web_acl(&parsed, Scope::Regional);
        }
    }
}
