//! The web ACL file a listener names: a WebACL as `aws wafv2 get-web-acl` prints it (`{"WebACL": {...}}`) or the
//! bare WebACL object, plus optional top-level `"IPSets"`, `"RegexPatternSets"` and `"RuleGroups"` arrays (each
//! item as `GetIPSet`/`GetRegexPatternSet`/`GetRuleGroup` return it, `{"IPSet": {...}}`, or the bare object) that
//! reference statements point at by ARN.
//!
//! Reading, validating (the checks `UpdateWebACL` applies, reported as `WAFInvalidParameterException`) and
//! compiling never panic; every failure is an [`AclFileError`] naming the file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use portcullis_waf_core::geo::GeoDb;
use portcullis_waf_core::rate::RateCounter;
use portcullis_waf_core::rate_keys::ManagedKeys;
use portcullis_waf_core::{CompiledAcl, Resources};
use portcullis_waf_model as m;
use portcullis_waf_proxy::AclInspector;
use serde_json::Value;

use super::groups::{CRS_NAME, CRS_VENDOR, CrsLoader, references_crs};

/// Largest web ACL file read.
const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Why a web ACL file could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum AclFileError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is too large.
    #[error("{path}: {len} bytes is over the {MAX_FILE_BYTES}-byte limit")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        len: u64,
    },
    /// Not JSON, or a member does not have the model's shape.
    #[error("{path}: {what}: {kind}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// `WebACL`, `IPSets[0]`, …
        what: String,
        /// The AWS exception (`SerializationException`, `WAFInvalidParameterException`).
        kind: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The document breaks a rule the WAFv2 API checks.
    #[error("{path}: {what}: WAFInvalidParameterException: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// `WebACL`, `IPSets[0]`, …
        what: String,
        /// AWS's field, parameter and reason.
        message: String,
    },
    /// The web ACL references something missing, or a pattern does not compile.
    #[error("{path}: WAFInvalidParameterException: {message}")]
    Compile {
        /// The file.
        path: PathBuf,
        /// The compiler's explanation.
        message: String,
    },
}

/// What the loader needs besides the file: the built-in managed groups and the CRS loader.
pub struct AclContext {
    /// Resources with the Portcullis managed groups.
    pub base: Resources,
    /// CRS, loaded when an ACL references it.
    pub crs: CrsLoader,
    /// Where every web ACL's IP-keyed rate-based rules note the addresses they limit
    /// (`GetRateBasedStatementManagedKeys`).
    pub keys: Arc<ManagedKeys>,
    /// Countries and ASNs (`waf.geoip_db`, `waf.asn_db`), if configured.
    pub geo: Option<Arc<GeoDb>>,
}

impl AclContext {
    /// The inspector of a compiled web ACL: counting in `rate`, noting limited addresses in
    /// [`AclContext::keys`], looking up countries in [`AclContext::geo`].
    pub fn inspector(
        &self,
        acl: CompiledAcl,
        rate: &Arc<dyn RateCounter>,
        model: &m::WebAcl,
    ) -> AclInspector {
        let inspector = AclInspector::new(acl, Arc::clone(rate))
            .with_web_acl(model)
            .with_managed_keys(Arc::clone(&self.keys));
        match &self.geo {
            Some(geo) => inspector.with_geo(Arc::clone(geo)),
            None => inspector,
        }
    }
}

/// Loads `waf.geoip_db` (and `waf.asn_db` beside it), if configured.
pub fn load_geo(
    geoip_db: Option<&Path>,
    asn_db: Option<&Path>,
) -> anyhow::Result<Option<Arc<GeoDb>>> {
    use anyhow::Context as _;
    let open = |field: &str, path: &Path| -> anyhow::Result<GeoDb> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("waf.{field}: reading {}", path.display()))?;
        GeoDb::from_bytes(bytes)
            .with_context(|| format!("waf.{field}: {} is not a MaxMind DB", path.display()))
    };
    let geo = match (geoip_db, asn_db) {
        (None, None) => return Ok(None),
        (Some(g), None) => open("geoip_db", g)?,
        (None, Some(a)) => open("asn_db", a)?,
        (Some(g), Some(a)) => open("geoip_db", g)?.with_asn_db(open("asn_db", a)?),
    };
    tracing::info!(database = %geo.database_type(), "geo database loaded");
    Ok(Some(Arc::new(geo)))
}

/// Unwraps `{"<key>": {...}}` to the inner object.
fn unwrap_member(v: Value, key: &str) -> Value {
    match v {
        Value::Object(mut map) if map.len() <= 2 && map.contains_key(key) => {
            map.remove(key).unwrap_or(Value::Null)
        }
        other => other,
    }
}

/// Fills `Id` and `ARN` when a hand-written web ACL leaves them out.
fn fill_identity(acl: &mut Value) {
    if let Value::Object(map) = acl {
        let name = map
            .get("Name")
            .and_then(Value::as_str)
            .unwrap_or("web-acl")
            .to_owned();
        let id = map
            .entry("Id")
            .or_insert_with(|| Value::String("00000000-0000-4000-8000-000000000000".into()))
            .as_str()
            .unwrap_or_default()
            .to_owned();
        map.entry("ARN").or_insert_with(|| {
            Value::String(format!(
                "arn:aws:wafv2:us-east-1:000000000000:regional/webacl/{name}/{id}"
            ))
        });
    }
}

/// Reads, validates and compiles the web ACL file at `path`.
pub fn load(path: &Path, cx: &AclContext) -> Result<(CompiledAcl, m::WebAcl), AclFileError> {
    let len = std::fs::metadata(path)
        .map_err(|source| AclFileError::Read {
            path: path.to_owned(),
            source,
        })?
        .len();
    if len > MAX_FILE_BYTES {
        return Err(AclFileError::TooLarge {
            path: path.to_owned(),
            len,
        });
    }
    let bytes = std::fs::read(path).map_err(|source| AclFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    compile(path, &bytes, cx)
}

/// Validates and compiles a web ACL file's contents (`path` is for messages).
pub fn compile(
    path: &Path,
    bytes: &[u8],
    cx: &AclContext,
) -> Result<(CompiledAcl, m::WebAcl), AclFileError> {
    let parse_err = |what: &str, e: m::ModelError| AclFileError::Parse {
        path: path.to_owned(),
        what: what.to_owned(),
        kind: e.aws_error_type(),
        message: e.to_string(),
    };
    let invalid = |what: &str, e: m::ValidationError| AclFileError::Invalid {
        path: path.to_owned(),
        what: what.to_owned(),
        message: e.to_string(),
    };
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| AclFileError::Parse {
        path: path.to_owned(),
        what: "file".into(),
        kind: "SerializationException",
        message: e.to_string(),
    })?;
    let Value::Object(mut top) = doc else {
        return Err(AclFileError::Parse {
            path: path.to_owned(),
            what: "file".into(),
            kind: "SerializationException",
            message: "the file must hold a JSON object".into(),
        });
    };
    let take_list = |top: &mut serde_json::Map<String, Value>, key: &str| match top.remove(key) {
        Some(Value::Array(items)) => Ok(items),
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(_) => Err(AclFileError::Parse {
            path: path.to_owned(),
            what: key.to_owned(),
            kind: "SerializationException",
            message: "must be an array".into(),
        }),
    };
    let ip_sets = take_list(&mut top, "IPSets")?;
    let regex_sets = take_list(&mut top, "RegexPatternSets")?;
    let rule_groups = take_list(&mut top, "RuleGroups")?;
    let mut acl_value = match top.remove("WebACL") {
        Some(v) => v,
        None => {
            top.remove("LockToken");
            Value::Object(top)
        }
    };
    fill_identity(&mut acl_value);

    let mut res = cx.base.clone();
    for (i, v) in ip_sets.into_iter().enumerate() {
        let what = format!("IPSets[{i}]");
        let set =
            m::IpSet::from_value(unwrap_member(v, "IPSet")).map_err(|e| parse_err(&what, e))?;
        m::validate::validate_ip_set(&set).map_err(|e| invalid(&what, e))?;
        res.add_ip_set(set);
    }
    for (i, v) in regex_sets.into_iter().enumerate() {
        let what = format!("RegexPatternSets[{i}]");
        let set = m::RegexPatternSet::from_value(unwrap_member(v, "RegexPatternSet"))
            .map_err(|e| parse_err(&what, e))?;
        m::validate::validate_regex_pattern_set(&set).map_err(|e| invalid(&what, e))?;
        let arn = set.arn.clone().unwrap_or_default();
        res.add_regex_pattern_set(&arn, set);
    }
    for (i, v) in rule_groups.into_iter().enumerate() {
        let what = format!("RuleGroups[{i}]");
        let group = m::RuleGroup::from_value(unwrap_member(v, "RuleGroup"))
            .map_err(|e| parse_err(&what, e))?;
        m::validate::validate_rule_group(&group, m::Scope::Regional)
            .map_err(|e| invalid(&what, e))?;
        res.add_rule_group(group);
    }
    if references_crs(&acl_value) {
        let crs = cx.crs.get().map_err(|message| AclFileError::Compile {
            path: path.to_owned(),
            message,
        })?;
        res.add_managed_group(CRS_VENDOR, CRS_NAME, crs);
    }
    let acl = m::WebAcl::from_value(acl_value).map_err(|e| parse_err("WebACL", e))?;
    m::validate::validate_web_acl(&acl, m::Scope::Regional).map_err(|e| invalid("WebACL", e))?;
    let compiled = CompiledAcl::compile(&acl, &res).map_err(|e| AclFileError::Compile {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    Ok((compiled, acl))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::waf_node::groups::portcullis_resources;
    use portcullis_waf_core::EvalEnv;
    use portcullis_waf_core::rate::InMemoryRateCounter;
    use portcullis_waf_request::Request;

    fn cx() -> AclContext {
        AclContext {
            base: portcullis_resources(&portcullis_config::IpReputation::default()).unwrap(),
            crs: CrsLoader::new(PathBuf::from("/nonexistent-crs"), 1),
            keys: Arc::default(),
            geo: None,
        }
    }

    fn vis(n: &str) -> Value {
        serde_json::json!({"SampledRequestsEnabled": false, "CloudWatchMetricsEnabled": false, "MetricName": n})
    }

    #[test]
    fn bare_acl_with_ip_set_and_managed_group() {
        let doc = serde_json::json!({
            "Name": "site", "DefaultAction": {"Allow": {}}, "VisibilityConfig": vis("site"),
            "Rules": [
                {"Name": "deny-net", "Priority": 0, "Action": {"Block": {}}, "VisibilityConfig": vis("deny"),
                 "Statement": {"IPSetReferenceStatement": {"ARN": "arn:aws:wafv2:us-east-1:000000000000:regional/ipset/bad/1"}}},
                {"Name": "sqli", "Priority": 1, "OverrideAction": {"None": {}}, "VisibilityConfig": vis("sqli"),
                 "Statement": {"ManagedRuleGroupStatement": {"VendorName": "Portcullis", "Name": "SQLiRuleSet"}}}
            ],
            "IPSets": [{"IPSet": {"Name": "bad", "Id": "1", "ARN": "arn:aws:wafv2:us-east-1:000000000000:regional/ipset/bad/1",
                "IPAddressVersion": "IPV4", "Addresses": ["192.0.2.0/24"]}, "LockToken": "x"}]
        });
        let (acl, _) = compile(Path::new("a.json"), doc.to_string().as_bytes(), &cx()).unwrap();
        let rate = InMemoryRateCounter::new();
        let env = EvalEnv::new(0, &rate);
        let sqli = Request::builder()
            .uri("/?id=1%27%20OR%201%3D1--")
            .header("Host", "x")
            .build();
        assert!(!acl.evaluate(&sqli, &env).is_allowed());
        let fine = Request::builder().uri("/?id=7").header("Host", "x").build();
        assert!(acl.evaluate(&fine, &env).is_allowed());
    }

    #[test]
    fn errors_name_the_file_and_reason() {
        let c = cx();
        let e = compile(Path::new("acl.json"), b"{not json", &c).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("acl.json: file: SerializationException"),
            "{e}"
        );
        let doc = serde_json::json!({"WebACL": {"Name": "bad name!", "DefaultAction": {"Allow": {}},
            "VisibilityConfig": vis("x"), "Rules": []}});
        let e = compile(Path::new("acl.json"), doc.to_string().as_bytes(), &c).unwrap_err();
        assert!(
            e.to_string().contains("WAFInvalidParameterException"),
            "{e}"
        );
        let doc = serde_json::json!({"WebACL": {"Name": "ok", "DefaultAction": {"Allow": {}},
            "VisibilityConfig": vis("x"), "Rules": [{"Name": "r", "Priority": 0, "OverrideAction": {"None": {}},
            "VisibilityConfig": vis("r"), "Statement": {"ManagedRuleGroupStatement": {"VendorName": "OWASP", "Name": "CoreRuleSet"}}}]}});
        let e = compile(Path::new("acl.json"), doc.to_string().as_bytes(), &c).unwrap_err();
        assert!(e.to_string().contains("not installed"), "{e}");
    }
}
