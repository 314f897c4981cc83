//! WAFv2 JSON model: `WebAcl::from_json` / `RuleGroup::from_json` never panic; whatever parses
//! renders back to JSON that parses to an equal value; validation (and, for valid ACLs,
//! compilation) never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_waf_core::{CompiledAcl, Resources};
use portcullis_waf_model::validate::{validate_rule_group, validate_web_acl};
use portcullis_waf_model::{RuleGroup, Scope, WebAcl};

fuzz_target!(|data: &[u8]| {
    if let Ok(acl) = WebAcl::from_json(data) {
        let rendered = serde_json::to_vec(&acl.to_json()).expect("render is JSON");
        let again = WebAcl::from_json(&rendered).expect("rendered WebAcl parses again");
        assert_eq!(acl, again, "WebAcl render -> parse round trip differs");
        let valid = validate_web_acl(&acl, Scope::Regional).is_ok();
        let _ = validate_web_acl(&acl, Scope::Cloudfront);
        if valid {
            let _ = CompiledAcl::compile(&acl, &Resources::default());
        }
    }
    if let Ok(group) = RuleGroup::from_json(data) {
        let rendered = serde_json::to_vec(&group.to_json()).expect("render is JSON");
        let again = RuleGroup::from_json(&rendered).expect("rendered RuleGroup parses again");
        assert_eq!(group, again, "RuleGroup render -> parse round trip differs");
        let _ = validate_rule_group(&group, Scope::Regional);
    }
});
