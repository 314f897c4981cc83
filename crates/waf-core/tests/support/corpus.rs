//! What the engine's unit tests (`src/tests`) and the rule group tests (`tests/rulegroups.rs`) share: where the
//! shared corpora are, and how a payload is percent-encoded into a request.

use std::path::{Path, PathBuf};

/// The `waf` folder of the shared corpora (`PORTCULLIS_CORPORA`, by default `../shared/corpora` beside the
/// workspace), or `None` when it is absent, said loudly: `skipped` names what does not run then.
pub fn waf_corpus(skipped: &str) -> Option<PathBuf> {
    let root = std::env::var_os("PORTCULLIS_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"));
    let waf = root.join("waf");
    if waf.is_dir() {
        Some(waf)
    } else {
        eprintln!(
            "!!! SKIPPING {skipped}: no corpus at {} (set PORTCULLIS_CORPORA)",
            root.display()
        );
        None
    }
}

/// `s` with every byte outside the URL's unreserved characters as `%XX`.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
