//! The SecLang the runner loads around CRS: the engine settings CRS assumes, the regression suite's required
//! setup, and where the CRS files are.
//!
//! Load order: [`ENGINE_CONF`], `crs-setup.conf`, [`test_setup`], every `rules/*.conf` in lexical order, then
//! [`AFTER_RULES`]. Relative data files (`@pmFromFile`) resolve against `rules/`.

use std::path::{Path, PathBuf};

/// Engine settings CRS 3.3 relies on, written for Portcullis after the behaviour the reference describes
/// (reference §3.4): body access on, the XML/JSON body processors chosen from `Content-Type`, body-parsing
/// errors and multipart irregularities denied with 400, the argument-count limit. `DetectionOnly` as the
/// regression README requires: rules log what they would do, nothing is blocked, so every rule gets to run.
pub const ENGINE_CONF: &str = r#"# Portcullis engine settings for running the OWASP Core Rule Set.
SecRuleEngine DetectionOnly
SecRequestBodyAccess On
SecRequestBodyLimit 13107200
SecRequestBodyNoFilesLimit 131072
SecRequestBodyLimitAction Reject
SecRequestBodyJsonDepthLimit 512
SecArgumentsLimit 1000
SecResponseBodyAccess On
SecResponseBodyMimeType text/plain text/html text/xml
SecResponseBodyLimit 524288
SecResponseBodyLimitAction ProcessPartial
SecArgumentSeparator &
SecCookieFormat 0

# XML and JSON bodies are parsed only when the request says they are XML or JSON.
SecRule REQUEST_HEADERS:Content-Type "@rx (?:application/(?:soap\+)?|text/)xml" \
    "id:200000,phase:1,pass,nolog,t:none,t:lowercase,ctl:requestBodyProcessor=XML"
SecRule REQUEST_HEADERS:Content-Type "@rx application/json" \
    "id:200001,phase:1,pass,nolog,t:none,t:lowercase,ctl:requestBodyProcessor=JSON"

# A body the engine could not parse is not inspected: refuse it.
SecRule REQBODY_ERROR "!@eq 0" \
    "id:200002,phase:2,deny,status:400,log,t:none,severity:2,msg:'Request body could not be parsed',logdata:'%{reqbody_error_msg}'"

# Multipart bodies that parsers may read differently are refused.
SecRule MULTIPART_STRICT_ERROR "!@eq 0" \
    "id:200003,phase:2,deny,status:400,log,t:none,severity:2,msg:'Multipart body failed strict validation'"
SecRule MULTIPART_UNMATCHED_BOUNDARY "@eq 1" \
    "id:200004,phase:2,deny,log,t:none,severity:2,msg:'Multipart body may contain an unmatched boundary'"

# Arguments past SecArgumentsLimit were not parsed, so they were not inspected: refuse the request.
SecRule &ARGS "@ge 1000" \
    "id:200007,phase:2,deny,status:400,log,t:none,severity:2,msg:'Too many arguments to inspect them all'"
"#;

/// The setup the CRS v3.3 regression README asks for (paranoia level `paranoia`, the size limits some tests
/// exercise, UTF-8 validation on), loaded right after `crs-setup.conf`.
pub fn test_setup(paranoia: u8) -> String {
    format!(
        r#"# Portcullis CRS regression setup.
SecAction "id:999001,phase:1,pass,nolog,t:none,setvar:tx.paranoia_level={paranoia}"
SecAction "id:999002,phase:1,pass,nolog,t:none,setvar:tx.arg_name_length=100,setvar:tx.arg_length=400,setvar:tx.combined_file_sizes=65535,setvar:tx.crs_validate_utf8_encoding=1"
"#
    )
}

/// Loaded after the rules: the IP-reputation rule 910000 is removed, as the regression README says.
pub const AFTER_RULES: &str = "SecRuleRemoveById 910000\n";

/// The `crs-setup.conf` to use: `explicit`, else Debian's `/etc/modsecurity/crs/crs-setup.conf`, else
/// `crs_dir/crs-setup.conf`, else `crs_dir/crs-setup.conf.example`.
pub fn find_setup(crs_dir: &Path, explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    [
        PathBuf::from("/etc/modsecurity/crs/crs-setup.conf"),
        crs_dir.join("crs-setup.conf"),
        crs_dir.join("crs-setup.conf.example"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// The rule files `crs_dir/rules/*.conf`, in lexical order.
pub fn rule_files(crs_dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(crs_dir.join("rules"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_carries_paranoia() {
        assert!(test_setup(2).contains("tx.paranoia_level=2"));
        assert!(ENGINE_CONF.contains("SecRuleEngine DetectionOnly"));
    }
}
