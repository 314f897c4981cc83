//! The advisory index the server matches packages against: `<data_dir>/inspector/db/
//! osv-index.bin`, written by `portcullis inspector db import`.
//!
//! The file is read off the request path: [`AdvisoryIndex::refresh`] notices a changed file
//! (modification time and length) and loads it on a blocking thread, and requests only ever
//! take the currently loaded snapshot ([`AdvisoryIndex::snapshot`]). Without a usable index
//! no package findings are produced and the coverage says why; the server never reports a
//! host "clean" for lack of data.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use portcullis_inspector_core::advisory_db::AdvisoryDb;
use portcullis_inspector_core::index::IndexView;

/// File name of the index inside the database directory (as `inspector db import` writes it).
pub const INDEX_FILE: &str = "osv-index.bin";

/// Largest index file the server loads (bytes).
pub const MAX_INDEX_BYTES: u64 = 1 << 30;

/// What the index looks like right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexStatus {
    /// No file yet (or not looked at yet).
    Missing,
    /// The file exists but could not be used; the message says why.
    Unusable(String),
    /// Loaded.
    Loaded {
        /// Advisories held.
        advisories: usize,
        /// A tag naming this load (changes whenever a new file is loaded).
        tag: String,
    },
}

/// A loaded index with its tag.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The advisories.
    pub db: Arc<AdvisoryDb>,
    /// Names this load; stored with each evaluation so a newer index triggers a new one.
    pub tag: String,
}

#[derive(Debug)]
struct State {
    status: IndexStatus,
    snapshot: Option<Snapshot>,
    /// `(mtime, len)` of the file last looked at.
    seen: Option<(SystemTime, u64)>,
}

/// The advisory index, shared by every request and reloaded when its file changes.
#[derive(Debug, Clone)]
pub struct AdvisoryIndex {
    path: Option<PathBuf>,
    state: Arc<Mutex<State>>,
}

impl AdvisoryIndex {
    /// An index read from `dir/osv-index.bin` (nothing is read until [`Self::refresh`]).
    pub fn at_dir(dir: &Path) -> Self {
        Self::new(Some(dir.join(INDEX_FILE)))
    }

    /// No index file at all (package findings are never produced).
    pub fn none() -> Self {
        Self::new(None)
    }

    /// An index held in memory (tests and embedding).
    pub fn in_memory(db: AdvisoryDb, tag: &str) -> Self {
        let me = Self::new(None);
        me.install(db, tag.to_owned());
        me
    }

    fn new(path: Option<PathBuf>) -> Self {
        Self {
            path,
            state: Arc::new(Mutex::new(State {
                status: IndexStatus::Missing,
                snapshot: None,
                seen: None,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep using it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The file this index is read from.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The current status.
    pub fn status(&self) -> IndexStatus {
        self.lock().status.clone()
    }

    /// The loaded snapshot, if any (never waits for a load).
    pub fn snapshot(&self) -> Option<Snapshot> {
        self.lock().snapshot.clone()
    }

    /// Replaces the loaded advisories.
    pub fn install(&self, db: AdvisoryDb, tag: String) {
        let mut s = self.lock();
        s.status = IndexStatus::Loaded {
            advisories: db.len(),
            tag: tag.clone(),
        };
        s.snapshot = Some(Snapshot {
            db: Arc::new(db),
            tag,
        });
    }

    /// Loads the file again if it changed since the last look (blocking: call it from a
    /// blocking thread). Returns true when a new index was installed. A file that disappears
    /// or turns unusable keeps the last good snapshot in use and records the problem.
    pub fn refresh(&self) -> bool {
        let Some(path) = self.path.clone() else {
            return false;
        };
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                let mut s = self.lock();
                s.seen = None;
                if s.snapshot.is_none() {
                    s.status = if e.kind() == std::io::ErrorKind::NotFound {
                        IndexStatus::Missing
                    } else {
                        IndexStatus::Unusable(e.to_string())
                    };
                }
                return false;
            }
        };
        let sig = (
            meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            meta.len(),
        );
        if self.lock().seen == Some(sig) {
            return false;
        }
        let loaded = load(&path, meta.len());
        let mut s = self.lock();
        s.seen = Some(sig);
        match loaded {
            Ok((db, built_at)) => {
                let tag = format!("{built_at}-{}-{}", meta.len(), db.len());
                tracing::info!(path = %path.display(), advisories = db.len(), "advisory index loaded");
                s.status = IndexStatus::Loaded {
                    advisories: db.len(),
                    tag: tag.clone(),
                };
                s.snapshot = Some(Snapshot {
                    db: Arc::new(db),
                    tag,
                });
                true
            }
            Err(msg) => {
                tracing::warn!(path = %path.display(), error = %msg, "advisory index unusable");
                if s.snapshot.is_none() {
                    s.status = IndexStatus::Unusable(msg);
                }
                false
            }
        }
    }
}

fn load(path: &Path, len: u64) -> Result<(AdvisoryDb, u64), String> {
    if len > MAX_INDEX_BYTES {
        return Err(format!(
            "{len} bytes is more than the {MAX_INDEX_BYTES} loaded"
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let view = IndexView::open(&bytes).map_err(|e| e.to_string())?;
    let built_at = view.meta().map(|m| m.built_at).unwrap_or(0);
    let db = view.to_db().map_err(|e| e.to_string())?;
    Ok((db, built_at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_inspector_core::index::{encode, summarize};

    const ADV: &str = r#"{"id":"RUSTSEC-0000-0001","modified":"2020-01-01T00:00:00Z",
      "affected":[{"package":{"ecosystem":"crates.io","name":"foo"},
      "ranges":[{"type":"SEMVER","events":[{"introduced":"0.0.0-0"},{"fixed":"1.2.0"}]}]}]}"#;

    #[test]
    fn missing_then_loaded_then_unusable_keeps_the_last_good_one() {
        let dir = tempfile::tempdir().unwrap();
        let idx = AdvisoryIndex::at_dir(dir.path());
        assert!(!idx.refresh());
        assert_eq!(idx.status(), IndexStatus::Missing);
        assert!(idx.snapshot().is_none());

        let (db, errs) = AdvisoryDb::load([("a.json", ADV.as_bytes())]);
        assert!(errs.is_empty());
        let bytes = encode(&db, &summarize(&db, Vec::new(), 7)).unwrap();
        std::fs::write(dir.path().join(INDEX_FILE), &bytes).unwrap();
        assert!(idx.refresh());
        assert!(matches!(
            idx.status(),
            IndexStatus::Loaded { advisories: 1, .. }
        ));
        assert!(!idx.refresh(), "unchanged file is not reloaded");

        std::fs::write(dir.path().join(INDEX_FILE), b"garbage").unwrap();
        assert!(!idx.refresh());
        assert!(idx.snapshot().is_some(), "the last good index stays in use");

        let fresh = AdvisoryIndex::at_dir(dir.path());
        fresh.refresh();
        assert!(matches!(fresh.status(), IndexStatus::Unusable(_)));
    }
}
