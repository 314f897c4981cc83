//! Filesystem helper (the crate's only I/O): walks a directory and feeds OSV documents to the
//! sans-I/O loader. Hidden entries (`.git`, …) are skipped; only `.json`, `.yaml` and `.yml`
//! files are read; files above [`crate::advisory_db::MAX_DOCUMENT_BYTES`] are reported, not read.

use std::path::{Path, PathBuf};

use crate::Error;
use crate::advisory_db::{AdvisoryDb, MAX_DOCUMENT_BYTES};

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Lists OSV document files under `root` (recursively), sorted.
pub fn osv_files(root: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| io(&dir, e))? {
            let entry = entry.map_err(|e| io(&dir, e))?;
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let ft = entry.file_type().map_err(|e| io(&path, e))?;
            if ft.is_dir() {
                stack.push(path);
            } else if ft.is_file() {
                let ext = path
                    .extension()
                    .map(|e| e.to_string_lossy().to_ascii_lowercase())
                    .unwrap_or_default();
                if matches!(ext.as_str(), "json" | "yaml" | "yml") {
                    out.push(path);
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads every OSV document under `root` into `(path, bytes)` pairs.
pub fn read_osv_dir(root: &Path) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let mut docs = Vec::new();
    for path in osv_files(root)? {
        let len = std::fs::metadata(&path).map_err(|e| io(&path, e))?.len();
        if len > MAX_DOCUMENT_BYTES as u64 {
            return Err(Error::TooLarge {
                what: "OSV document",
                size: usize::try_from(len).unwrap_or(usize::MAX),
                limit: MAX_DOCUMENT_BYTES,
            });
        }
        let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
        docs.push((path.display().to_string(), bytes));
    }
    Ok(docs)
}

/// Loads every OSV document under `root`; returns the index and the per-document errors.
pub fn load_dir(root: &Path) -> Result<(AdvisoryDb, Vec<Error>), Error> {
    let docs = read_osv_dir(root)?;
    Ok(AdvisoryDb::load(
        docs.iter().map(|(p, b)| (p.as_str(), b.as_slice())),
    ))
}
