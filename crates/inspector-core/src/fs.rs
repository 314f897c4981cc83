//! Filesystem helper (the crate's only I/O): walks a directory and feeds OSV documents to the
//! sans-I/O loader. Hidden entries (`.git`, …) are skipped; only `.json`, `.yaml` and `.yml`
//! files are read; files above [`crate::advisory_db::MAX_DOCUMENT_BYTES`] are reported, not read.
//! Also: import sources (directory, archive or single file) and lockfile discovery for scans.

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

/// Reads the OSV documents of one import source: a directory (recursively), a tar / tar.gz /
/// zip archive, or a single JSON / YAML document.
pub fn read_source(path: &Path) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let meta = std::fs::metadata(path).map_err(|e| io(path, e))?;
    if meta.is_dir() {
        return read_osv_dir(path);
    }
    let name = path.display().to_string();
    if let Some(kind) = crate::archive::ArchiveKind::from_name(&name) {
        let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
        return crate::archive::extract(&name, kind, &bytes);
    }
    if meta.len() > MAX_DOCUMENT_BYTES as u64 {
        return Err(Error::TooLarge {
            what: "OSV document",
            size: usize::try_from(meta.len()).unwrap_or(usize::MAX),
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
    Ok(vec![(name, bytes)])
}

/// Directories never descended into when looking for lockfiles.
const SKIPPED_DIRS: [&str; 4] = ["node_modules", "target", "vendor", "__pycache__"];

/// Finds lockfiles: `root` itself when it is a file (any name is accepted: the kind is taken
/// from the name, defaulting to `Cargo.lock`), else every recognised lockfile below it,
/// skipping hidden directories and [`SKIPPED_DIRS`]. Sorted by path.
pub fn find_lockfiles(root: &Path) -> Result<Vec<(PathBuf, crate::lockfile::LockfileKind)>, Error> {
    use crate::lockfile::LockfileKind;
    let meta = std::fs::metadata(root).map_err(|e| io(root, e))?;
    if !meta.is_dir() {
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let kind = LockfileKind::from_file_name(&name).unwrap_or(LockfileKind::CargoLock);
        return Ok(vec![(root.to_path_buf(), kind)]);
    }
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| io(&dir, e))? {
            let entry = entry.map_err(|e| io(&dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let ft = entry.file_type().map_err(|e| io(&path, e))?;
            if ft.is_dir() {
                if !name.starts_with('.') && !SKIPPED_DIRS.contains(&name.as_str()) {
                    stack.push(path);
                }
            } else if ft.is_file()
                && let Some(kind) = LockfileKind::from_file_name(&name)
            {
                out.push((path, kind));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads a lockfile (bounded by [`crate::lockfile::cargo::MAX_LOCKFILE_BYTES`]).
pub fn read_lockfile(path: &Path) -> Result<String, Error> {
    let len = std::fs::metadata(path).map_err(|e| io(path, e))?.len();
    let limit = crate::lockfile::cargo::MAX_LOCKFILE_BYTES;
    if len > limit as u64 {
        return Err(Error::TooLarge {
            what: "lockfile",
            size: usize::try_from(len).unwrap_or(usize::MAX),
            limit,
        });
    }
    std::fs::read_to_string(path).map_err(|e| io(path, e))
}

/// An index file opened for scanning: its header and directory are in memory, advisory
/// documents are read on demand with positioned reads (so a scan reads ~8 % of the file).
#[derive(Debug)]
pub struct IndexFile {
    head: Vec<u8>,
    file: std::fs::File,
    docs_at: u64,
    path: PathBuf,
}

impl IndexFile {
    /// Opens `path`, validating the header, the file length and (in [`IndexFile::view`]) the
    /// directory checksum. A missing file is an [`Error::Io`] with kind `NotFound`.
    pub fn open(path: &Path) -> Result<IndexFile, Error> {
        use std::io::Read as _;
        let mut file = std::fs::File::open(path).map_err(|e| io(path, e))?;
        let mut header = [0u8; crate::index::HEADER_LEN];
        file.read_exact(&mut header).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                Error::InvalidIndex("file too short for a header".into())
            } else {
                io(path, e)
            }
        })?;
        let info = crate::index::read_header(&header)?;
        let len = file.metadata().map_err(|e| io(path, e))?.len();
        if len != info.file_len() as u64 {
            return Err(Error::InvalidIndex(format!(
                "file is {len} bytes, header says {} (truncated or appended to)",
                info.file_len()
            )));
        }
        let mut head = Vec::with_capacity(crate::index::HEADER_LEN + info.hot_len);
        head.extend_from_slice(&header);
        (&mut file)
            .take(info.hot_len as u64)
            .read_to_end(&mut head)
            .map_err(|e| io(path, e))?;
        Ok(IndexFile {
            docs_at: head.len() as u64,
            head,
            file,
            path: path.to_path_buf(),
        })
    }

    /// The validated view (documents fetched from the file when decoded).
    pub fn view(&self) -> Result<crate::index::IndexView<'_>, Error> {
        use std::os::unix::fs::FileExt as _;
        let fetch = move |off: usize, len: usize| -> Result<Vec<u8>, Error> {
            let mut buf = vec![0u8; len];
            self.file
                .read_exact_at(&mut buf, self.docs_at.saturating_add(off as u64))
                .map_err(|e| io(&self.path, e))?;
            Ok(buf)
        };
        crate::index::IndexView::open_lazy(&self.head, Box::new(fetch))
    }
}
