//! The byte requirements of regex sets (`crate::needs`) only skip searches that would have found nothing: every
//! Portcullis managed rule group gives the same verdict with and without them, on attack payloads from the shared
//! corpora placed in each part of a request.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::RuleGroupManaged;

/// The web ACL of every group in `rulegroups/`, each referenced as a managed group.
pub(super) fn all_groups() -> CompiledAcl {
    all_groups_with(false)
}

/// [`all_groups_with`] counting, compiled as it is and again with `off` set: `off` turns one optimisation off for
/// plans compiled on this thread, and the differential tests compare the two web ACLs' verdicts. Every rule counts
/// instead of blocking, so every rule is evaluated and no earlier match hides a later one's answer.
pub(super) fn counting_with_and_without(
    off: &'static std::thread::LocalKey<std::cell::Cell<bool>>,
) -> (CompiledAcl, CompiledAcl) {
    let with = all_groups_with(true);
    off.with(|o| o.set(true));
    let without = all_groups_with(true);
    off.with(|o| o.set(false));
    (with, without)
}

/// [`all_groups`], with every rule's action overridden to Count when `count` is set (so every rule of every group
/// is evaluated, and each match shows in the verdict's non-terminating matches).
pub(super) fn all_groups_with(count: bool) -> CompiledAcl {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rulegroups");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut res = Resources::new();
    let mut rules = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let text = std::fs::read(f).unwrap();
        let group = portcullis_waf_model::RuleGroup::from_json(&text).unwrap();
        let name = group.name.clone();
        let doc: serde_json::Value = serde_json::from_slice(&text).unwrap();
        let overrides: Vec<serde_json::Value> = doc["Rules"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|_| count)
            .map(|r| json!({"Name": r["Name"], "ActionToUse": {"Count": {}}}))
            .collect();
        // The IP reputation groups need their address lists, and have no regex.
        let Ok(managed) = RuleGroupManaged::new("Portcullis", &format!("g{i}"), group, &res) else {
            continue;
        };
        res.add_managed_group("Portcullis", &name, Arc::new(managed));
        let mut statement = json!({"VendorName": "Portcullis", "Name": name});
        if !overrides.is_empty() {
            statement["RuleActionOverrides"] = json!(overrides);
        }
        rules.push(json!({"Name": name, "Priority": i, "OverrideAction": {"None": {}}, "VisibilityConfig": vis(&name),
            "Statement": {"ManagedRuleGroupStatement": statement}}));
    }
    assert!(rules.len() >= 8, "{}", dir.display());
    compile_with(acl_doc(json!(rules), "Allow"), &res)
}

/// Payload lines from the corpora's SQLi and XSS lists, or `None` (said loudly) without the corpora.
pub(super) fn payloads() -> Option<Vec<String>> {
    let waf = super::corpus::waf_corpus("the corpus equivalence tests")?;
    let mut out = Vec::new();
    for f in [
        waf.join("payloadbox_xss-payload-list/Intruder/xss-payload-list.txt"),
        waf.join("libinjection/data/sqli-misc.txt"),
        waf.join("libinjection/data/false_positives.txt"),
    ] {
        if let Ok(text) = std::fs::read(&f) {
            out.extend(String::from_utf8_lossy(&text).lines().map(str::to_owned));
        }
    }
    let mut dir: Vec<PathBuf> = std::fs::read_dir(waf.join("libinjection/data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("sqli-"))
        })
        .collect();
    dir.sort();
    for f in dir.iter().take(6) {
        out.extend(
            String::from_utf8_lossy(&std::fs::read(f).unwrap())
                .lines()
                .map(str::to_owned),
        );
    }
    // Payloads of the other groups' kinds, which the lists above lack.
    out.extend(
        [
            "${jndi:ldap://x/a}",
            "${${lower:j}ndi:x}",
            "../../etc/passwd",
            "/proc/self/environ",
            "; cat /etc/shadow",
            "| whoami",
            "$(id)",
            "<?php system($_GET['c']); ?>",
            "java.lang.Runtime",
            "rO0ABXNyAA",
            "T(java.lang.x)",
            "http://169.254.169.254/latest",
            "cmd.exe /c dir",
            "powershell -enc AAAA",
            "%c0%ae%c0%ae/",
            "a.bak",
            "/wp-admin/x.php",
            "/.git/config",
            "() { :; }; echo",
            "file:///etc/hosts",
            "<script>alert(1)</script>",
        ]
        .map(str::to_owned),
    );
    out.retain(|p| !p.is_empty() && p.len() < 2000);
    out.sort();
    out.dedup();
    Some(out)
}

pub(super) use super::corpus::percent_encode as enc;

/// The payload in the query, the path, a header, a cookie and a form body.
pub(super) fn placements(p: &str) -> Vec<Request> {
    let e = enc(p);
    let mut out = multi_value_placements(p);
    out.push(
        Request::builder()
            .method("GET")
            .uri(&format!("/a/{e}/b"))
            .build(),
    );
    out.push(
        Request::builder()
            .method("POST")
            .uri("/form")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Content-Length", (2 + e.len()).to_string())
            .body(format!("q={e}"))
            .build(),
    );
    out
}

/// The placements of [`placements`] in components that can yield several values: the query (its arguments), two
/// headers and a cookie.
pub(super) fn multi_value_placements(p: &str) -> Vec<Request> {
    let e = enc(p);
    let header_safe: String = p.chars().filter(|c| (' '..='~').contains(c)).collect();
    vec![
        Request::builder()
            .method("GET")
            .uri(&format!("/a?q={e}&x=1"))
            .build(),
        Request::builder()
            .method("GET")
            .uri("/")
            .header("User-Agent", &header_safe)
            .header("X-Data", &header_safe)
            .build(),
        Request::builder()
            .method("GET")
            .uri("/")
            .header("Cookie", format!("s={e}; t=1"))
            .build(),
    ]
}

#[test]
fn managed_groups_give_the_same_verdicts_without_byte_requirements() {
    let Some(payloads) = payloads() else {
        return;
    };
    let with = all_groups();
    crate::needs::OFF.with(|o| o.set(true));
    let without = all_groups();
    crate::needs::OFF.with(|o| o.set(false));
    let (mut checked, mut blocked) = (0usize, 0usize);
    for p in &payloads {
        for req in placements(p) {
            let a = eval(&with, &req);
            let b = eval(&without, &req);
            assert_eq!(
                (
                    a.action.kind(),
                    a.terminating_rule.as_ref().map(|t| &t.name),
                    &a.labels
                ),
                (
                    b.action.kind(),
                    b.terminating_rule.as_ref().map(|t| &t.name),
                    &b.labels
                ),
                "payload {p:?}"
            );
            checked += 1;
            blocked += usize::from(a.terminating_rule.is_some());
        }
    }
    eprintln!(
        "byte requirements: {checked} requests ({} payloads), {blocked} blocked, same verdicts",
        payloads.len()
    );
    assert!(
        checked > 5_000 && blocked > checked / 4,
        "{checked} checked, {blocked} blocked"
    );
}
