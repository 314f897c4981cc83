//! SQL injection and XSS detectors: arbitrary bytes never panic, at every sensitivity.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_waf_injection::{Sensitivity, detect_sqli, detect_sqli_with, detect_xss};

fuzz_target!(|data: &[u8]| {
    let _ = detect_sqli(data);
    let _ = detect_sqli_with(data, Sensitivity::Low);
    let _ = detect_xss(data);
});
