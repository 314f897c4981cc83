//! Unit tests of the index format.

use super::*;
use crate::scan::scan;

const A: &str = r#"{"id":"RUSTSEC-0000-0001","modified":"2020-01-01T00:00:00Z",
  "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
  "affected":[{"package":{"ecosystem":"crates.io","name":"foo"},
  "ranges":[{"type":"SEMVER","events":[{"introduced":"0.0.0-0"},{"fixed":"1.2.0"}]}]}]}"#;
const W: &str = r#"{"id":"RUSTSEC-0000-0002","modified":"2020-01-01T00:00:00Z","withdrawn":"2021-01-01T00:00:00Z",
  "affected":[{"package":{"ecosystem":"crates.io","name":"foo"},
  "ranges":[{"type":"SEMVER","events":[{"introduced":"0.0.0-0"}]}]}]}"#;
const P: &str = r#"{"id":"PYSEC-1","modified":"2021-01-01T00:00:00Z",
  "affected":[{"package":{"ecosystem":"PyPI","name":"Foo_Bar"},"versions":["0.9"],
  "ranges":[{"type":"GIT","repo":"r","events":[{"introduced":"abc"}]},
            {"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0"}]}]}]}"#;

fn db() -> AdvisoryDb {
    let (db, errs) = AdvisoryDb::load([
        ("a.json", A.as_bytes()),
        ("w.json", W.as_bytes()),
        ("p.json", P.as_bytes()),
    ]);
    assert!(errs.is_empty());
    db
}

fn pkg(eco: Ecosystem, name: &str, v: &str) -> Package {
    Package {
        ecosystem: eco,
        name: name.into(),
        version: v.into(),
        source: None,
    }
}

#[test]
fn round_trip_scan_equals_in_memory() {
    let db = db();
    let meta = summarize(&db, vec![], 42);
    assert_eq!(meta.total, 3);
    assert_eq!(meta.withdrawn, 1);
    assert_eq!(meta.ecosystems["crates.io"].advisories, 2);
    assert_eq!(meta.ecosystems["PyPI"].packages, 1);
    assert_eq!(
        meta.newest_modified.as_deref(),
        Some("2021-01-01T00:00:00Z")
    );
    let bytes = encode(&db, &meta).unwrap();
    let view = IndexView::open(&bytes).unwrap();
    assert_eq!(view.meta().unwrap(), meta);
    assert_eq!(view.len(), 3);
    let pkgs = vec![
        pkg(Ecosystem::CratesIo, "foo", "1.1.0"),
        pkg(Ecosystem::CratesIo, "foo", "1.2.0"),
        pkg(Ecosystem::CratesIo, "bar", "1.0.0"),
        pkg(Ecosystem::PyPI, "foo.bar", "0.5"),
        pkg(Ecosystem::PyPI, "foo-bar", "1.0"),
    ];
    for opts in [
        ScanOptions::default(),
        ScanOptions {
            include_withdrawn: true,
            ..Default::default()
        },
    ] {
        let a = view.scan(&pkgs, &opts).unwrap();
        let b = scan(&db, &pkgs, &opts);
        assert_eq!(a, b);
        assert!(!a.is_empty());
    }
    let rebuilt = view.to_db().unwrap();
    assert_eq!(rebuilt.len(), 3);
    assert_eq!(
        encode(&rebuilt, &meta).unwrap(),
        bytes,
        "re-encoding is byte-identical"
    );
}

#[test]
fn corruption_is_detected() {
    let db = db();
    let bytes = encode(&db, &summarize(&db, vec![], 0)).unwrap();
    assert!(matches!(
        IndexView::open(b"junk"),
        Err(Error::InvalidIndex(_))
    ));
    assert!(matches!(
        IndexView::open(&bytes[..bytes.len() - 1]),
        Err(Error::InvalidIndex(_))
    ));
    let mut v = bytes.clone();
    v[8] = 99;
    assert!(matches!(
        IndexView::open(&v),
        Err(Error::UnsupportedIndexVersion(99))
    ));
    // A flipped bit in the directory fails the header checksum.
    let mut v = bytes.clone();
    v[HEADER_LEN + 10] ^= 0x40;
    let e = IndexView::open(&v).unwrap_err();
    assert!(e.to_string().contains("checksum"), "{e}");
    // A flipped bit in a document fails that document's checksum when it is decoded.
    let mut v = bytes.clone();
    let first_doc = HEADER_LEN + read_header(&bytes).unwrap().hot_len + 3;
    v[first_doc] ^= 0x01;
    let view = IndexView::open(&v).unwrap();
    assert!(view.to_db().is_err());
    // A flipped bit in an entry block fails the block checksum when a scan reads it.
    let mut v = bytes.clone();
    let last = v.len() - 3;
    v[last] ^= 0x01;
    let view = IndexView::open(&v).unwrap();
    let all = [
        pkg(Ecosystem::CratesIo, "foo", "1.0.0"),
        pkg(Ecosystem::PyPI, "foo-bar", "0.5"),
    ];
    assert!(view.scan(&all, &ScanOptions::default()).is_err());
}

proptest::proptest! {
    #[test]
    fn open_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
        let _ = IndexView::open(&bytes);
        let mut v = MAGIC.to_vec();
        v.extend(FORMAT_VERSION.to_le_bytes());
        v.extend(&bytes);
        let _ = IndexView::open(&v);
    }

    #[test]
    fn bit_flips_never_panic(pos in 0usize..2000, bit in 0u8..8) {
        let db = db();
        let mut bytes = encode(&db, &summarize(&db, vec![], 0)).unwrap();
        let p = pos % bytes.len();
        bytes[p] ^= 1 << bit;
        if let Ok(view) = IndexView::open(&bytes) {
            let _ = view.scan(&[pkg(Ecosystem::CratesIo, "foo", "1.0.0")], &ScanOptions::default());
            let _ = view.to_db();
        }
    }
}

#[test]
fn lazy_open_equals_whole_file() {
    let db = db();
    let bytes = encode(&db, &summarize(&db, vec![], 0)).unwrap();
    let info = read_header(&bytes).unwrap();
    assert_eq!(info.file_len(), bytes.len());
    let head = &bytes[..HEADER_LEN + info.hot_len];
    let docs = &bytes[HEADER_LEN + info.hot_len..];
    let fetch = |off: usize, len: usize| Ok(docs[off..off + len].to_vec());
    let lazy = IndexView::open_lazy(head, Box::new(fetch)).unwrap();
    let whole = IndexView::open(&bytes).unwrap();
    let pkgs = [pkg(Ecosystem::CratesIo, "foo", "1.0.0")];
    let opts = ScanOptions::default();
    assert_eq!(
        lazy.scan(&pkgs, &opts).unwrap(),
        whole.scan(&pkgs, &opts).unwrap()
    );
    assert!(IndexView::open_lazy(&head[..head.len() - 1], Box::new(fetch)).is_err());
    // On disk, through the file-backed opener.
    let dir = std::env::temp_dir().join(format!("pcx-index-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("i.bin");
    std::fs::write(&path, &bytes).unwrap();
    let f = crate::fs::IndexFile::open(&path).unwrap();
    assert_eq!(
        f.view().unwrap().scan(&pkgs, &opts).unwrap(),
        whole.scan(&pkgs, &opts).unwrap()
    );
    std::fs::write(&path, &bytes[..bytes.len() - 2]).unwrap();
    assert!(matches!(
        crate::fs::IndexFile::open(&path),
        Err(Error::InvalidIndex(_))
    ));
    std::fs::write(&path, b"short").unwrap();
    assert!(matches!(
        crate::fs::IndexFile::open(&path),
        Err(Error::InvalidIndex(_))
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}
