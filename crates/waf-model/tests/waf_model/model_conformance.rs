//! Conformance with the botocore WAFv2 model (`$PORTCULLIS_CORPORA/waf/aws-wafv2-model/service-2.json.gz`):
//! every enum and union lists exactly the model's values and members, and every rendered document uses only
//! model member names, with the required ones present and values of the model's types. Skipped (loudly)
//! when the corpus is absent.

use std::io::Read;
use std::path::PathBuf;
use std::sync::OnceLock;

use portcullis_waf_model::*;
use proptest::prelude::*;
use serde_json::{Map, Value};

use super::data;
use super::roundtrip::{all_actions, all_fields, all_statements};

fn corpora() -> PathBuf {
    match std::env::var_os("PORTCULLIS_CORPORA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"),
    }
}

/// The model's `shapes`, or `None` (with a loud message, once) when the corpus is absent.
fn shapes() -> Option<&'static Map<String, Value>> {
    static SHAPES: OnceLock<Option<Map<String, Value>>> = OnceLock::new();
    SHAPES.get_or_init(load_shapes).as_ref()
}

fn load_shapes() -> Option<Map<String, Value>> {
    let path = corpora().join("waf/aws-wafv2-model/service-2.json.gz");
    let Ok(file) = std::fs::File::open(&path) else {
        eprintln!(
            "!!! SKIPPED: WAFv2 model not found at {} (set PORTCULLIS_CORPORA)",
            path.display()
        );
        return None;
    };
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .expect("gunzip");
    let model: Value = serde_json::from_str(&text).expect("model json");
    model["shapes"].as_object().cloned()
}

fn enum_values(shapes: &Map<String, Value>, name: &str) -> Vec<String> {
    shapes[name]["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{name} is not an enum"))
        .iter()
        .map(|v| v.as_str().expect("str").to_string())
        .collect()
}

fn member_names(shapes: &Map<String, Value>, name: &str) -> Vec<String> {
    shapes[name]["members"]
        .as_object()
        .unwrap_or_else(|| panic!("{name}"))
        .keys()
        .cloned()
        .collect()
}

fn sorted<T: AsRef<str>>(v: impl IntoIterator<Item = T>) -> Vec<String> {
    let mut v: Vec<String> = v.into_iter().map(|s| s.as_ref().to_string()).collect();
    v.sort();
    v
}

macro_rules! same_enum {
    ($shapes:expr, $model:literal, $ty:ty) => {
        assert_eq!(
            sorted(<$ty>::ALL.iter().map(|v| v.as_str())),
            sorted(enum_values($shapes, $model)),
            "enum {}",
            $model
        );
    };
}

#[test]
fn enums_and_unions_match_the_model() {
    let Some(shapes) = shapes() else { return };
    let s = shapes;
    same_enum!(s, "ParameterExceptionField", ParameterExceptionField);
    same_enum!(s, "TextTransformationType", TextTransformationType);
    same_enum!(
        s,
        "PreParseTextTransformationType",
        PreParseTextTransformationType
    );
    same_enum!(s, "PositionalConstraint", PositionalConstraint);
    same_enum!(s, "SensitivityLevel", SensitivityLevel);
    same_enum!(s, "ComparisonOperator", ComparisonOperator);
    same_enum!(s, "ForwardedIPPosition", ForwardedIpPosition);
    same_enum!(s, "FallbackBehavior", FallbackBehavior);
    same_enum!(s, "OversizeHandling", OversizeHandling);
    same_enum!(s, "JsonMatchScope", JsonMatchScope);
    same_enum!(s, "MapMatchScope", MapMatchScope);
    same_enum!(
        s,
        "BodyParsingFallbackBehavior",
        BodyParsingFallbackBehavior
    );
    same_enum!(s, "LabelMatchScope", LabelMatchScope);
    same_enum!(s, "RateBasedStatementAggregateKeyType", AggregateKeyType);
    same_enum!(s, "ResponseContentType", ResponseContentType);
    same_enum!(s, "IPAddressVersion", IpAddressVersion);
    same_enum!(s, "AssociatedResourceType", AssociatedResourceType);
    same_enum!(s, "SizeInspectionLimit", SizeInspectionLimit);
    same_enum!(s, "PayloadType", PayloadType);
    same_enum!(s, "InspectionLevel", InspectionLevel);
    same_enum!(s, "UsageOfAction", UsageOfAction);
    same_enum!(s, "SensitivityToAct", SensitivityToAct);
    same_enum!(s, "FieldToProtectType", FieldToProtectType);
    same_enum!(s, "DataProtectionAction", DataProtectionAction);
    same_enum!(s, "LowReputationMode", LowReputationMode);
    same_enum!(s, "BlockchainChain", BlockchainChain);
    same_enum!(s, "CryptoCurrency", CryptoCurrency);
    same_enum!(s, "CurrencyMode", CurrencyMode);
    same_enum!(s, "AnalyticsMode", AnalyticsMode);
    same_enum!(s, "Scope", Scope);
    assert_eq!(
        sorted(COUNTRY_CODES.iter()),
        sorted(enum_values(s, "CountryCode"))
    );

    for (model, ours) in [
        ("Statement", Statement::MEMBERS),
        ("FieldToMatch", FieldToMatch::MEMBERS),
        ("RuleAction", RuleAction::MEMBERS),
        ("OverrideAction", OverrideAction::MEMBERS),
        ("DefaultAction", DefaultAction::MEMBERS),
        ("JsonMatchPattern", JsonMatchPattern::MEMBERS),
        ("HeaderMatchPattern", HeaderMatchPattern::MEMBERS),
        ("CookieMatchPattern", CookieMatchPattern::MEMBERS),
        (
            "RateBasedStatementCustomKey",
            RateBasedStatementCustomKey::MEMBERS,
        ),
        (
            "FirewallManagerStatement",
            FirewallManagerStatement::MEMBERS,
        ),
        ("BedrockGuardrails", BedrockGuardrails::MEMBERS),
    ] {
        assert_eq!(
            sorted(ours.iter()),
            sorted(member_names(s, model)),
            "union {model}"
        );
    }
}

/// Check `v` against model shape `shape`: member names, required members, JSON types, enum values.
fn conforms(shapes: &Map<String, Value>, shape: &str, v: &Value, path: &str) -> Result<(), String> {
    let s = &shapes[shape];
    let ty = s["type"].as_str().unwrap_or_default();
    match ty {
        "structure" => {
            let obj = v
                .as_object()
                .ok_or(format!("{path}: {shape} must be an object"))?;
            let members = s["members"]
                .as_object()
                .ok_or(format!("{shape}: no members"))?;
            for (k, val) in obj {
                let m = members
                    .get(k)
                    .ok_or(format!("{path}: {k} is not a member of {shape}"))?;
                let target = m["shape"].as_str().unwrap_or_default();
                conforms(shapes, target, val, &format!("{path}.{k}"))?;
            }
            for r in s["required"].as_array().into_iter().flatten() {
                let r = r.as_str().unwrap_or_default();
                if !obj.contains_key(r) {
                    return Err(format!("{path}: required {shape}.{r} missing"));
                }
            }
            Ok(())
        }
        "list" => {
            let arr = v
                .as_array()
                .ok_or(format!("{path}: {shape} must be an array"))?;
            let member = s["member"]["shape"].as_str().unwrap_or_default();
            for (i, x) in arr.iter().enumerate() {
                conforms(shapes, member, x, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        "map" => {
            let obj = v
                .as_object()
                .ok_or(format!("{path}: {shape} must be an object"))?;
            let key = s["key"]["shape"].as_str().unwrap_or_default();
            let value = s["value"]["shape"].as_str().unwrap_or_default();
            for (k, x) in obj {
                conforms(
                    shapes,
                    key,
                    &Value::String(k.clone()),
                    &format!("{path}<key>"),
                )?;
                conforms(shapes, value, x, &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        "string" | "blob" => {
            let text = v
                .as_str()
                .ok_or(format!("{path}: {shape} must be a string"))?;
            if let Some(values) = s["enum"].as_array()
                && !values.iter().any(|e| e.as_str() == Some(text))
            {
                return Err(format!("{path}: {text} not in enum {shape}"));
            }
            Ok(())
        }
        "integer" | "long" => v
            .as_i64()
            .map(|_| ())
            .ok_or(format!("{path}: {shape} must be an integer")),
        "boolean" => v
            .as_bool()
            .map(|_| ())
            .ok_or(format!("{path}: {shape} must be a boolean")),
        other => Err(format!("{path}: unexpected shape type {other} for {shape}")),
    }
}

/// Assert that `v` conforms to model shape `shape` (no-op when the corpus is absent).
pub fn check_shape(shape: &str, v: &Value) {
    if let Some(shapes) = shapes() {
        conforms(shapes, shape, v, shape).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn hand_written_documents_conform() {
    let Some(shapes) = shapes() else { return };
    for (file, shape) in [
        ("example_1_17.json", "WebACL"),
        ("full_web_acl.json", "WebACL"),
    ] {
        let acl = WebAcl::from_json(&data(file)).expect("parse");
        conforms(shapes, shape, &acl.to_json(), file).unwrap_or_else(|e| panic!("{e}"));
    }
    for s in all_statements() {
        let st = Statement::from_value(s).expect("parse");
        conforms(shapes, "Statement", &st.to_json(), "Statement").unwrap_or_else(|e| panic!("{e}"));
    }
    for f in all_fields() {
        conforms(shapes, "FieldToMatch", &f, "FieldToMatch").unwrap_or_else(|e| panic!("{e}"));
    }
    for a in all_actions() {
        conforms(shapes, "RuleAction", &a, "RuleAction").unwrap_or_else(|e| panic!("{e}"));
    }
    // The checker itself rejects what it should.
    assert!(conforms(shapes, "Label", &serde_json::json!({"Nme": "x"}), "l").is_err());
    assert!(conforms(shapes, "Label", &serde_json::json!({}), "l").is_err());
    assert!(
        conforms(
            shapes,
            "TextTransformation",
            &serde_json::json!({"Priority": 0, "Type": "X"}),
            "t"
        )
        .is_err()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn generated_documents_conform(acl in super::prop::web_acl()) {
        if let Some(shapes) = shapes()
            && let Err(e) = conforms(shapes, "WebACL", &acl.to_json(), "WebACL")
        {
            prop_assert!(false, "{}", e);
        }
    }
}
