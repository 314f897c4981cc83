//! Benchmarks for the cargo-audit comparison: RustSec index load time (parse + index of every
//! document, from bytes already in memory) and scan time per corpus lockfile (parse + match).
#![allow(missing_docs)]

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use portcullis_inspector_core::advisory_db::AdvisoryDb;
use portcullis_inspector_core::lockfile::cargo::CargoLock;
use portcullis_inspector_core::scan::{ScanOptions, scan};

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
            "!!!!! SKIPPING benches: inspector corpus not found at {} !!!!!",
            dir.display()
        );
        None
    }
}

fn bench(c: &mut Criterion) {
    let Some(dir) = corpora() else { return };
    let Ok(docs) =
        portcullis_inspector_core::fs::read_osv_dir(&dir.join("advisories/rustsec-osv/crates"))
    else {
        eprintln!("cannot read the RustSec OSV corpus");
        return;
    };
    c.bench_function("rustsec_index_load", |b| {
        b.iter(|| AdvisoryDb::load(docs.iter().map(|(p, d)| (p.as_str(), d.as_slice()))))
    });
    let (db, _) = AdvisoryDb::load(docs.iter().map(|(p, d)| (p.as_str(), d.as_slice())));
    let Ok(entries) = std::fs::read_dir(dir.join("lockfiles")) else {
        return;
    };
    let mut locks: Vec<(String, String)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".Cargo.lock"))
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            Some((name, std::fs::read_to_string(&p).ok()?))
        })
        .collect();
    locks.sort();
    let mut group = c.benchmark_group("scan_lockfile");
    for (name, text) in &locks {
        group.bench_function(name.as_str(), |b| {
            b.iter(|| {
                let lock = CargoLock::parse(text)
                    .map(|l| l.registry_packages())
                    .unwrap_or_default();
                scan(&db, &lock, &ScanOptions::default())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
