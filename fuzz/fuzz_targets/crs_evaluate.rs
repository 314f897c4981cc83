//! SecLang engine under the OWASP Core Rule Set: CRS (from `/usr/share/modsecurity-crs`,
//! loaded once with `SecRuleEngine On` at paranoia level 4) runs a full transaction over
//! arbitrary requests without panicking. When CRS is not installed every input is a no-op.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use portcullis_fuzz::FuzzRequest;
use portcullis_waf_seclang::crs_test::setup;
use portcullis_waf_seclang::{RuleSet, Transaction};

const CRS_DIR: &str = "/usr/share/modsecurity-crs";

fn load() -> Option<RuleSet> {
    let crs = Path::new(CRS_DIR);
    if !crs.join("rules").is_dir() {
        eprintln!("SKIP crs_evaluate: CRS is not installed at {CRS_DIR}");
        return None;
    }
    let setup_path = setup::find_setup(crs, None)?;
    let read = |p: &PathBuf| std::fs::read_to_string(p).expect("CRS file readable");
    let engine = setup::ENGINE_CONF.replace("SecRuleEngine DetectionOnly", "SecRuleEngine On");
    assert!(engine.contains("SecRuleEngine On"));
    let mut sources = vec![
        ("engine.conf".to_owned(), engine),
        (setup_path.display().to_string(), read(&setup_path)),
        ("paranoia.conf".to_owned(), setup::test_setup(4)),
    ];
    for f in setup::rule_files(crs).expect("CRS rules directory readable") {
        sources.push((f.display().to_string(), read(&f)));
    }
    sources.push(("after.conf".to_owned(), setup::AFTER_RULES.to_owned()));
    let (rules, _report) =
        RuleSet::from_sources(&sources, Some(&crs.join("rules"))).expect("CRS loads");
    Some(rules)
}

fn rules() -> Option<&'static RuleSet> {
    static RULES: OnceLock<Option<RuleSet>> = OnceLock::new();
    RULES.get_or_init(load).as_ref()
}

fuzz_target!(|input: FuzzRequest| {
    let Some(rules) = rules() else {
        return;
    };
    let req = input.build();
    let mut tx = Transaction::new(rules, &req);
    if tx.process_request().is_none() {
        let headers = [("content-type".to_owned(), b"text/html".to_vec())];
        let _ = tx.process_response(200, &headers, &input.body);
    }
    tx.finish();
    let _ = tx.logs().len();
});
