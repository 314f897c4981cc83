//! Test-only: every distinct input of the WAF corpus under `$PORTCULLIS_CORPORA` (default `../shared/corpora`
//! beside the workspace) that the differential tests run over.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// `$PORTCULLIS_CORPORA`, or `../shared/corpora` beside the workspace.
pub(crate) fn corpora() -> PathBuf {
    std::env::var_os("PORTCULLIS_CORPORA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"),
        PathBuf::from,
    )
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else if p.is_file() {
            out.push(p);
        }
    }
}

/// `%xx` and `+` decoding, as libinjection's test reader does for its data files.
pub(crate) fn url_decode(line: &[u8]) -> Vec<u8> {
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        match line[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < line.len()
                && hex(line[i + 1]).is_some()
                && hex(line[i + 2]).is_some() =>
            {
                let v = hex(line[i + 1]).unwrap_or(0) * 16 + hex(line[i + 2]).unwrap_or(0);
                out.push(u8::try_from(v).unwrap_or(0));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// Every line of libinjection's test and data files, the payloadbox lists and the CRS SQLi and XSS regression
/// files (raw, and URL-decoded), plus each golden file's input as a whole; with the number of files read.
/// `None` after a loud notice when the corpus is absent.
pub(crate) fn inputs() -> Option<(BTreeSet<Vec<u8>>, usize)> {
    let root = corpora().join("waf");
    let dirs = [
        "libinjection",
        "payloadbox_sql-injection-payload-list",
        "payloadbox_xss-payload-list",
        "crs-3.3.4-regression/REQUEST-942-APPLICATION-ATTACK-SQLI",
        "crs-3.3.4-regression/REQUEST-941-APPLICATION-ATTACK-XSS",
    ];
    if !root.join(dirs[0]).is_dir() {
        eprintln!(
            "!!!!! SKIPPED: corpus directory {} is absent (set PORTCULLIS_CORPORA) !!!!!",
            root.display()
        );
        return None;
    }
    let mut files = Vec::new();
    for d in dirs {
        files_under(&root.join(d), &mut files);
    }
    files.sort();
    let mut inputs = BTreeSet::new();
    for f in &files {
        let Ok(bytes) = std::fs::read(f) else {
            continue;
        };
        if let Some(start) = bytes.windows(10).position(|w| w == b"--INPUT--\n")
            && let Some(len) = bytes[start + 10..]
                .windows(12)
                .position(|w| w == b"--EXPECTED--")
        {
            let input = &bytes[start + 10..start + 10 + len];
            inputs.insert(input.strip_suffix(b"\n").unwrap_or(input).to_vec());
        }
        for line in bytes.split(|&b| b == b'\n') {
            inputs.insert(line.to_vec());
            inputs.insert(url_decode(line));
        }
    }
    Some((inputs, files.len()))
}
