//! The persisted index over the corpus: import counts, idempotent re-import, and cargo-audit
//! equality of scans that go through the encoded file.
#![allow(clippy::print_stdout)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use portcullis_inspector_core::advisory_db::AdvisoryDb;
use portcullis_inspector_core::index::{IndexView, SourceInfo, encode, summarize};
use portcullis_inspector_core::lockfile::{LockfileKind, parse_lockfile};
use portcullis_inspector_core::osv::Informational;
use portcullis_inspector_core::scan::{FindingKind, ScanOptions, scan};

fn corpora() -> Option<PathBuf> {
    let dir = std::env::var_os("PORTCULLIS_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora")
        })
        .join("inspector");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "!!!!! SKIPPING: inspector corpus not found at {} (set PORTCULLIS_CORPORA) !!!!!",
            dir.display()
        );
        None
    }
}

const SETS: [(&str, &str, usize, usize); 3] = [
    ("rustsec-osv", "crates.io", 1206, 13),
    ("pypa", "PyPI", 2661, 10),
    ("golang-vulndb", "Go", 4291, 17),
];

fn import(db: &mut AdvisoryDb, path: &std::path::Path) -> SourceInfo {
    let docs = portcullis_inspector_core::fs::read_source(path).unwrap();
    let mut errors = 0;
    for (p, b) in &docs {
        if let Err(e) = db.insert_bytes(p, b) {
            println!("import error: {e}");
            errors += 1;
        }
    }
    SourceInfo {
        path: path.display().to_string(),
        imported_at: 1,
        documents: docs.len(),
        errors,
    }
}

#[test]
fn corpus_import_counts_and_idempotent_reimport() {
    let Some(dir) = corpora() else { return };
    let t = std::time::Instant::now();
    let mut db = AdvisoryDb::new();
    let mut sources = Vec::new();
    for (sub, ..) in SETS {
        let s = import(&mut db, &dir.join("advisories").join(sub));
        // pypa also holds README.md (ignored) and .id-allocator (hidden): only OSV documents count.
        assert_eq!(s.errors, 0, "{sub}");
        sources.push(s);
    }
    let meta = summarize(&db, sources.clone(), 7);
    let bytes = encode(&db, &meta).unwrap();
    println!(
        "import of the 3 corpus sets + encode: {:?}, index {} bytes",
        t.elapsed(),
        bytes.len()
    );
    assert_eq!(meta.total, 1206 + 2661 + 4291);
    for (_, eco, count, withdrawn) in SETS {
        let s = &meta.ecosystems[eco];
        println!(
            "{eco}: {} advisories, {} withdrawn, {} packages",
            s.advisories, s.withdrawn, s.packages
        );
        assert_eq!((s.advisories, s.withdrawn), (count, withdrawn), "{eco}");
    }
    assert_eq!(meta.ecosystems["crates.io"].packages, 908);
    assert_eq!(meta.withdrawn, 13 + 10 + 17);
    // Re-import of the same data on top of the stored index: same ids replaced, nothing added.
    let view = IndexView::open(&bytes).unwrap();
    let mut again = view.to_db().unwrap();
    for (sub, ..) in SETS {
        import(&mut again, &dir.join("advisories").join(sub));
    }
    assert_eq!(again.len(), db.len());
    assert_eq!(
        encode(&again, &summarize(&again, sources, 7)).unwrap(),
        bytes,
        "re-import is idempotent"
    );
}

#[test]
fn cargo_audit_equality_through_the_index() {
    let Some(dir) = corpora() else { return };
    let (db, errors) =
        portcullis_inspector_core::fs::load_dir(&dir.join("advisories/rustsec-osv/crates"))
            .unwrap();
    assert!(errors.is_empty());
    let bytes = encode(&db, &summarize(&db, vec![], 0)).unwrap();
    let view = IndexView::open(&bytes).unwrap();
    let locks = dir.join("lockfiles");
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(locks.join("EXPECTED_cargo-audit-0.22.2.json")).unwrap(),
    )
    .unwrap();
    let results = expected["results"].as_object().unwrap();
    assert_eq!(results.len(), 6);
    for (file, entry) in results {
        let text = std::fs::read_to_string(locks.join(file)).unwrap();
        let kind = LockfileKind::from_file_name(file).unwrap();
        let pkgs = parse_lockfile(kind, &text).unwrap();
        let t = std::time::Instant::now();
        let findings = view.scan(&pkgs, &ScanOptions::default()).unwrap();
        let took = t.elapsed();
        assert_eq!(
            findings,
            scan(&db, &pkgs, &ScanOptions::default()),
            "{file}: index ≠ in-memory"
        );
        let mut vulns = BTreeSet::new();
        let mut warnings: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for f in &findings {
            let label = format!("{} {}@{}", f.advisory_id, f.package.name, f.package.version);
            match &f.kind {
                FindingKind::Vulnerability => {
                    vulns.insert(label);
                }
                FindingKind::Informational(
                    k @ (Informational::Unmaintained | Informational::Unsound),
                ) => {
                    warnings
                        .entry(k.as_str().to_string())
                        .or_default()
                        .insert(label);
                }
                FindingKind::Informational(_) => {}
            }
        }
        let want_v: BTreeSet<String> = entry["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let mut want_w: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (k, list) in entry["warnings"].as_object().unwrap() {
            let set: BTreeSet<String> = list
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            if !set.is_empty() {
                want_w.insert(k.clone(), set);
            }
        }
        println!(
            "{file:45} {} vulns, {} warnings, scan {took:?}",
            vulns.len(),
            warnings.values().map(BTreeSet::len).sum::<usize>()
        );
        assert_eq!(vulns, want_v, "{file}: vulnerabilities");
        assert_eq!(warnings, want_w, "{file}: warnings");
    }
}

/// pip-audit 2.10.1 (OSV service over the same PyPA data, reference §7.2) reported 45 PYSEC
/// findings on these 6 pins: requests 2, urllib3 7, jinja2 2, pyyaml 3, django 28, flask 3.
#[test]
fn requirements_match_pip_audit_counts() {
    let Some(dir) = corpora() else { return };
    let mut db = AdvisoryDb::new();
    import(&mut db, &dir.join("advisories/pypa"));
    let bytes = encode(&db, &summarize(&db, vec![], 0)).unwrap();
    let view = IndexView::open(&bytes).unwrap();
    let req = "requests==2.19.0\nurllib3==1.24.1\njinja2==2.10\npyyaml==5.1\ndjango==2.2.0\nflask==0.12\n";
    let pkgs = parse_lockfile(LockfileKind::Requirements, req).unwrap();
    let findings = view.scan(&pkgs, &ScanOptions::default()).unwrap();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for f in &findings {
        assert!(f.is_vulnerability());
        assert!(f.advisory_id.starts_with("PYSEC-"), "{}", f.advisory_id);
        *counts.entry(f.package.name.to_lowercase()).or_default() += 1;
    }
    let want: BTreeMap<String, usize> = [
        ("django", 28),
        ("flask", 3),
        ("jinja2", 2),
        ("pyyaml", 3),
        ("requests", 2),
        ("urllib3", 7),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(counts, want);
}
