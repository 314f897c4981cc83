//! SecLang loader: arbitrary (UTF-8-lossy) configuration text never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_waf_seclang::RuleSet;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    // No base directory: `Include` and data-file operators cannot reach the file system.
    let _ = RuleSet::from_sources(&[("fuzz".into(), text)], None);
});
