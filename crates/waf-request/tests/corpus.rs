//! Runs the body parsers over every request body of the OWASP CRS 3.3.4 regression tests (read from
//! `$PORTCULLIS_CORPORA/waf/crs-3.3.4-regression`). Skips loudly when the corpus is absent.

use std::path::{Path, PathBuf};

use portcullis_waf_request::body::{json, multipart, xml};
use serde_yaml::Value;

fn corpora() -> PathBuf {
    match std::env::var_os("PORTCULLIS_CORPORA") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"),
    }
}

/// One request of the suite: its file, test title, Content-Type and body.
struct Case {
    title: String,
    content_type: String,
    body: Vec<u8>,
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml") {
            out.push(p);
        }
    }
}

fn cases(root: &Path) -> Vec<Case> {
    let mut files = Vec::new();
    yaml_files(root, &mut files);
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let Ok(doc) = serde_yaml::from_str::<Value>(&text) else {
            continue;
        };
        let Some(tests) = doc.get("tests").and_then(Value::as_sequence) else {
            continue;
        };
        for t in tests {
            let title = t
                .get("test_title")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned();
            let Some(stages) = t.get("stages").and_then(Value::as_sequence) else {
                continue;
            };
            for s in stages {
                let Some(input) = s.get("stage").and_then(|s| s.get("input")) else {
                    continue;
                };
                let ct = input
                    .get("headers")
                    .and_then(Value::as_mapping)
                    .and_then(|h| {
                        h.iter().find_map(|(k, v)| {
                            k.as_str()
                                .filter(|k| k.eq_ignore_ascii_case("content-type"))
                                .and_then(|_| v.as_str())
                        })
                    })
                    .unwrap_or("")
                    .to_owned();
                // ftw joins a list of data lines with CRLF.
                let body = match input.get("data") {
                    Some(Value::String(s)) => s.clone().into_bytes(),
                    Some(Value::Sequence(lines)) => lines
                        .iter()
                        .map(|l| l.as_str().unwrap_or(""))
                        .collect::<Vec<_>>()
                        .join("\r\n")
                        .into_bytes(),
                    _ => continue,
                };
                out.push(Case {
                    title: title.clone(),
                    content_type: ct,
                    body,
                });
            }
        }
    }
    out
}

#[test]
fn crs_regression_bodies() {
    let root = corpora().join("waf/crs-3.3.4-regression");
    if !root.is_dir() {
        eprintln!(
            "!!! SKIPPED: CRS regression corpus not found at {} (set PORTCULLIS_CORPORA)",
            root.display()
        );
        return;
    }
    let all = cases(&root);
    assert!(all.len() > 1000, "only {} bodies found", all.len());
    let (mut mp, mut mp_err, mut js, mut xm) = (0, 0, 0, 0);
    let (mut js_failed, mut xml_failed) = (Vec::new(), Vec::new());
    for c in &all {
        let ct = c.content_type.to_ascii_lowercase();
        if ct.starts_with("multipart/form-data") {
            mp += 1;
            let m = multipart::parse(
                c.content_type.as_bytes(),
                &c.body,
                multipart::Limits::default(),
            );
            if let Some(e) = &m.error {
                mp_err += 1;
                eprintln!("multipart {}: {e}", c.title);
            }
            if c.title.starts_with("922") {
                assert_eq!(m.error, None, "{}", c.title);
                assert_eq!(
                    m.parts.first().map(|p| p.name.as_slice()),
                    Some(&b"_charset_"[..])
                );
            }
        } else if ct.contains("json") {
            js += 1;
            if let Err(e) = json::flatten(&c.body, 512) {
                eprintln!("json {}: {e}", c.title);
                js_failed.push(c.title.as_str());
            }
        } else if ct.contains("xml") {
            xm += 1;
            if let Err(e) = xml::parse(&c.body) {
                eprintln!("xml {}: {e}", c.title);
                xml_failed.push(c.title.as_str());
            }
        }
    }
    eprintln!(
        "CRS bodies: {} total; multipart {mp} ({mp_err} REQBODY errors), json {js} ({} errors), xml {xm} ({} errors)",
        all.len(),
        js_failed.len(),
        xml_failed.len()
    );
    assert!(mp >= 40 && js >= 150 && xm >= 250);
    assert_eq!(
        mp_err, 0,
        "multipart bodies of the CRS suite should all parse"
    );
    // The only malformed JSON/XML bodies of the suite: `data: "test"` sent as application/json and /xml.
    assert_eq!(js_failed, ["920420-9"]);
    assert_eq!(xml_failed, ["920420-10"]);
}
