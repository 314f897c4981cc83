//! The files source: files, directories and globs, read once or followed.
//!
//! - **Line files** (VPC flow logs, Resolver query logs, CloudTrail JSON lines) are read in
//!   chunks of whole lines; a partial last line waits for its newline (in one-shot mode the end of
//!   the file ends it). A line longer than [`MAX_LINE`] is counted as malformed and skipped.
//! - **Document files** (gzip, or JSON pretty-printed over several lines, as CloudTrail delivers
//!   `{"Records":[...]}` files) are read once, when complete: a gzip stream that decodes to its
//!   end, a document whose size did not change between two looks.
//! - **Rotation**: a file is known by its identity (device, inode). When a followed path names a
//!   new file, the old one is read to its last whole line first (its open handle survives a
//!   rename or unlink); a file that shrank was truncated and is read again from the start.
//! - **Checkpoints** ([`crate::checkpoint::FileCheckpoint`]) are recorded under the feed's lock
//!   together with the records they cover and written by the feed's next commit.

pub mod glob;

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use portcullis_guard_detect::core::decode::{DecodeOptions, InputFormat, detect, prepare};
use portcullis_guard_detect::core::record::FlowFormat;
use portcullis_store::Store;

use crate::checkpoint::{
    self, FINGERPRINT_BYTES, FileCheckpoint, FileId, delete_op, file_key, fnv1a, put_op,
};
use crate::error::{IngestError, Result};
use crate::feed::Feed;

/// Bytes read from a line file per chunk.
pub const CHUNK: usize = 1 << 20;
/// Longest line accepted.
pub const MAX_LINE: usize = CHUNK;
/// Largest document file (and its decompressed content) read.
pub const MAX_DOCUMENT: usize = 256 << 20;
/// Chunks read from one file per look, so other files get their turn.
const CHUNKS_PER_LOOK: usize = 16;
/// Looks a document that does not decode yet is given to complete before it is refused.
const DOCUMENT_PATIENCE: u32 = 5;

/// A format family a source may be restricted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// CloudTrail (files, arrays, lines, EventBridge).
    CloudTrail,
    /// VPC Flow Logs.
    VpcFlow,
    /// Route 53 Resolver query logs.
    Route53,
}

impl Family {
    fn of(f: InputFormat) -> Option<Family> {
        match f {
            InputFormat::Empty => None,
            InputFormat::FlowLog => Some(Family::VpcFlow),
            InputFormat::ResolverLines => Some(Family::Route53),
            _ => Some(Family::CloudTrail),
        }
    }
}

/// What a files source is told to do.
#[derive(Debug, Clone)]
pub struct FilesConfig {
    /// Source name (checkpoint prefix).
    pub name: String,
    /// Files, directories, globs.
    pub paths: Vec<String>,
    /// Follow (true) or read once (false).
    pub follow: bool,
    /// Time between looks.
    pub poll_interval: Duration,
    /// Only this format family, if set.
    pub family: Option<Family>,
    /// The flow-log format for files without a header line.
    pub flow_format: Option<FlowFormat>,
}

/// Counters of a files source.
#[derive(Debug, Default)]
pub struct SourceStats {
    /// Files seen.
    pub files: AtomicU64,
    /// Lines or documents refused (format restriction, gzip errors, overlong lines).
    pub refused: AtomicU64,
    /// Rotations and truncations noticed.
    pub rotations: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Unknown,
    Lines,
    Document,
}

struct Tracked {
    path: PathBuf,
    file: Option<std::fs::File>,
    cp: FileCheckpoint,
    mode: Mode,
    last_size: Option<u64>,
    waits: u32,
}

/// A files source over one feed.
pub struct FileSource {
    cfg: FilesConfig,
    feed: Arc<Feed>,
    store: Arc<dyn Store>,
    tracked: BTreeMap<FileId, Tracked>,
    first: bool,
    /// Counters.
    pub stats: Arc<SourceStats>,
}

impl std::fmt::Debug for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSource")
            .field("name", &self.cfg.name)
            .field("files", &self.tracked.len())
            .finish_non_exhaustive()
    }
}

fn io(path: &std::path::Path, e: std::io::Error) -> IngestError {
    IngestError::Io {
        path: path.display().to_string(),
        source: e,
    }
}

fn read_at(file: &mut std::fs::File, offset: u64, max: usize) -> std::io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::new();
    file.take(u64::try_from(max).unwrap_or(u64::MAX))
        .read_to_end(&mut buf)?;
    Ok(buf)
}

fn fingerprint(file: &mut std::fs::File, upto: u64) -> std::io::Result<(u64, u32)> {
    let n = usize::try_from(upto.min(FINGERPRINT_BYTES as u64)).unwrap_or(0);
    let head = read_at(file, 0, n)?;
    Ok((fnv1a(&head), u32::try_from(head.len()).unwrap_or(0)))
}

/// Whether a line file's first line says "whole document": JSON that does not end on its line.
pub(crate) fn looks_like_document(head: &[u8]) -> Option<bool> {
    if head.starts_with(&[0x1f, 0x8b]) {
        return Some(true);
    }
    let mut rest = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    loop {
        let nl = rest.iter().position(|b| *b == b'\n')?;
        let (line, after) = rest.split_at(nl);
        rest = after.get(1..).unwrap_or_default();
        let t = line.trim_ascii();
        if t.is_empty() {
            continue;
        }
        if !(t.starts_with(b"{") || t.starts_with(b"[")) {
            return Some(false);
        }
        return Some(serde_json::from_slice::<serde::de::IgnoredAny>(t).is_err());
    }
}

impl FileSource {
    /// A source feeding `feed`, checkpointing in `store`.
    pub fn new(cfg: FilesConfig, feed: Arc<Feed>, store: Arc<dyn Store>) -> FileSource {
        FileSource {
            cfg,
            feed,
            store,
            tracked: BTreeMap::new(),
            first: true,
            stats: Arc::default(),
        }
    }

    fn options(&self, header: Option<&str>) -> DecodeOptions {
        let flow_format = header
            .and_then(FlowFormat::parse_header)
            .or_else(|| self.cfg.flow_format.clone())
            .unwrap_or_default();
        DecodeOptions {
            max_decompressed: MAX_DOCUMENT,
            flow_format,
        }
    }

    /// Looks once: notices new, rotated, truncated and vanished files and reads what they hold.
    /// `last` treats the end of every line file as the end of its last line (one-shot mode).
    /// Returns whether more data is waiting (so the caller should look again at once).
    pub async fn poll_once(&mut self, last: bool) -> Result<bool> {
        let matched = glob::expand(&self.cfg.paths);
        let mut seen: HashMap<FileId, PathBuf> = HashMap::new();
        for p in matched {
            if let Ok(meta) = std::fs::metadata(&p) {
                seen.entry(FileId::of(&meta)).or_insert(p);
            }
        }
        if self.first {
            self.first = false;
            let prefix = format!("{}/file/", self.cfg.name);
            let known: Vec<String> = seen
                .keys()
                .map(|id| file_key(&self.cfg.name, *id))
                .collect();
            let stale: Vec<String> = checkpoint::keys(&*self.store, &prefix)
                .await?
                .into_iter()
                .filter(|k| !known.contains(k))
                .collect();
            if !stale.is_empty() {
                let mut st = self.feed.lock().await;
                for k in stale {
                    st.checkpoint(delete_op(&k));
                }
            }
        }
        // Files no longer named: read their last whole lines, then forget them.
        let gone: Vec<FileId> = self
            .tracked
            .keys()
            .filter(|id| !seen.contains_key(id))
            .copied()
            .collect();
        for id in gone {
            if let Some(mut t) = self.tracked.remove(&id) {
                self.stats.rotations.fetch_add(1, Ordering::Relaxed);
                tracing::info!(source = %self.cfg.name, path = %t.path.display(), "file rotated away or removed; reading its rest");
                while self.read(&mut t, false).await? {}
                let mut st = self.feed.lock().await;
                st.checkpoint(delete_op(&file_key(&self.cfg.name, id)));
            }
        }
        for (id, path) in seen {
            if let Some(t) = self.tracked.get_mut(&id) {
                if t.path != path {
                    t.cp.path = path.display().to_string();
                    t.path = path;
                }
                continue;
            }
            // One unreadable file must not hold up the others: it is tried again next look.
            match self.open(id, path).await {
                Ok(t) => {
                    self.stats.files.fetch_add(1, Ordering::Relaxed);
                    self.tracked.insert(id, t);
                }
                Err(IngestError::Io { path, source }) => {
                    tracing::warn!(source_ = %self.cfg.name, %path, error = %source, "cannot open a log file; trying again later");
                }
                Err(e) => return Err(e),
            }
        }
        let ids: Vec<FileId> = self.tracked.keys().copied().collect();
        let mut more = false;
        for id in ids {
            if let Some(mut t) = self.tracked.remove(&id) {
                let res = self.read(&mut t, last).await;
                self.tracked.insert(id, t);
                match res {
                    Ok(m) => more |= m,
                    Err(IngestError::Io { path, source }) => {
                        tracing::warn!(source_ = %self.cfg.name, %path, error = %source, "reading a log file failed; trying again later");
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(more)
    }

    async fn open(&self, id: FileId, path: PathBuf) -> Result<Tracked> {
        let key = file_key(&self.cfg.name, id);
        let mut file = std::fs::File::open(&path).map_err(|e| io(&path, e))?;
        let stored: Option<FileCheckpoint> = match checkpoint::load(&*self.store, &key).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(source = %self.cfg.name, error = %e, "ignoring a checkpoint");
                None
            }
        };
        let fresh = FileCheckpoint {
            path: path.display().to_string(),
            id,
            offset: 0,
            line: 0,
            fingerprint: (fnv1a(b""), 0),
            done: false,
            flow_header: None,
        };
        let cp = match stored {
            Some(cp) => {
                let size = file.metadata().map_err(|e| io(&path, e))?.len();
                let same = cp.offset <= size
                    && fingerprint(&mut file, u64::from(cp.fingerprint.1))
                        .is_ok_and(|f| f == cp.fingerprint);
                if same {
                    tracing::info!(source = %self.cfg.name, path = %path.display(), offset = cp.offset, line = cp.line, "resuming from checkpoint");
                    FileCheckpoint {
                        path: path.display().to_string(),
                        ..cp
                    }
                } else {
                    tracing::info!(source = %self.cfg.name, path = %path.display(), "checkpoint is of another file with this inode; reading from the start");
                    fresh
                }
            }
            None => fresh,
        };
        let mode = if cp.done {
            Mode::Document
        } else if cp.offset > 0 {
            Mode::Lines
        } else {
            Mode::Unknown
        };
        Ok(Tracked {
            file: (!cp.done).then_some(file),
            path,
            cp,
            mode,
            last_size: None,
            waits: 0,
        })
    }

    /// Reads what is available of one file; returns whether more is waiting.
    async fn read(&self, t: &mut Tracked, last: bool) -> Result<bool> {
        if t.cp.done {
            return Ok(false);
        }
        let Some(file) = t.file.as_mut() else {
            return Ok(false);
        };
        let size = file.metadata().map_err(|e| io(&t.path, e))?.len();
        if size < t.cp.offset {
            self.stats.rotations.fetch_add(1, Ordering::Relaxed);
            tracing::info!(source = %self.cfg.name, path = %t.path.display(), "file truncated; reading it from the start");
            t.cp.offset = 0;
            t.cp.line = 0;
            t.cp.flow_header = None;
            t.mode = Mode::Unknown;
        }
        if t.mode == Mode::Unknown {
            let head = read_at(file, 0, 64 << 10).map_err(|e| io(&t.path, e))?;
            t.mode = match looks_like_document(&head) {
                Some(true) => Mode::Document,
                Some(false) => Mode::Lines,
                None if last || head.len() >= 64 << 10 => Mode::Lines,
                None => return Ok(false),
            };
        }
        if t.mode == Mode::Document {
            return self.read_document(t, size, last).await.map(|()| false);
        }
        for _ in 0..CHUNKS_PER_LOOK {
            if !self.read_chunk(t, size, last).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    async fn read_document(&self, t: &mut Tracked, size: u64, last: bool) -> Result<()> {
        let stable = t.last_size == Some(size);
        t.last_size = Some(size);
        if !(stable || last) {
            return Ok(());
        }
        let name = t.path.display().to_string();
        let Some(file) = t.file.as_mut() else {
            return Ok(());
        };
        if size > MAX_DOCUMENT as u64 {
            self.refuse(t, format!("larger than {MAX_DOCUMENT} bytes"), size)
                .await?;
            return Ok(());
        }
        let bytes = read_at(file, 0, MAX_DOCUMENT).map_err(|e| io(&t.path, e))?;
        let complete = match prepare(&bytes, MAX_DOCUMENT) {
            Ok(text) => {
                serde_json::from_slice::<serde::de::IgnoredAny>(&text).is_ok()
                    || !(text.trim_ascii_start().starts_with(b"{")
                        || text.trim_ascii_start().starts_with(b"["))
            }
            Err(_) => false,
        };
        if !complete && !last && t.waits < DOCUMENT_PATIENCE {
            t.waits += 1;
            return Ok(());
        }
        let fp = fingerprint(file, size).map_err(|e| io(&t.path, e))?;
        let opts = self.options(None);
        let family_ok = self.family_ok(&bytes);
        let size_now = u64::try_from(bytes.len()).unwrap_or(size);
        let mut st = self.feed.lock().await;
        if family_ok {
            let input = st.input(&name);
            let r = st.ingest(input, 1, &bytes, &opts);
            drop(st);
            self.feed.account(&name, &r);
            st = self.feed.lock().await;
        } else {
            self.stats.refused.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(source = %self.cfg.name, path = %name, "file is not of the source's format; skipped");
        }
        t.cp.offset = size_now;
        t.cp.fingerprint = fp;
        t.cp.done = true;
        st.checkpoint(put_op(&file_key(&self.cfg.name, t.cp.id), &t.cp)?);
        drop(st);
        t.file = None;
        Ok(())
    }

    async fn refuse(&self, t: &mut Tracked, why: String, size: u64) -> Result<()> {
        self.stats.refused.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(source = %self.cfg.name, path = %t.path.display(), "file refused: {why}");
        t.cp.offset = size;
        t.cp.done = true;
        t.file = None;
        let mut st = self.feed.lock().await;
        st.checkpoint(put_op(&file_key(&self.cfg.name, t.cp.id), &t.cp)?);
        Ok(())
    }

    fn family_ok(&self, text: &[u8]) -> bool {
        let Some(want) = self.cfg.family else {
            return true;
        };
        let Ok(text) = prepare(text, MAX_DOCUMENT) else {
            return true;
        };
        match detect(&text) {
            Ok(f) => Family::of(f).is_none_or(|f| f == want),
            Err(_) => true,
        }
    }

    /// One chunk of whole lines; returns whether it read anything.
    async fn read_chunk(&self, t: &mut Tracked, size: u64, last: bool) -> Result<bool> {
        if t.cp.offset >= size {
            return Ok(false);
        }
        let Some(file) = t.file.as_mut() else {
            return Ok(false);
        };
        let buf = read_at(file, t.cp.offset, CHUNK).map_err(|e| io(&t.path, e))?;
        if buf.is_empty() {
            return Ok(false);
        }
        let at_eof = t.cp.offset + buf.len() as u64 >= size;
        let (end, skip_line) = match buf.iter().rposition(|b| *b == b'\n') {
            Some(p) => (p + 1, false),
            None if last && at_eof => (buf.len(), false),
            None if buf.len() >= MAX_LINE => (buf.len(), true),
            None => return Ok(false),
        };
        let chunk = buf.get(..end).unwrap_or_default();
        let name = t.path.display().to_string();
        let newlines = chunk.iter().filter(|b| **b == b'\n').count() as u64;
        let first_line = t.cp.line + 1;
        // The chunk starts in the format of the last header before it; a header inside the
        // chunk switches the lines after it, and is kept for the chunks that follow.
        let prev_header = t.cp.flow_header.clone();
        if let Some(h) = last_flow_header(chunk) {
            t.cp.flow_header = Some(h);
        }
        let fp_needed = t.cp.fingerprint.1 < FINGERPRINT_BYTES as u32;
        let new_offset = t.cp.offset + end as u64;
        if fp_needed {
            t.cp.fingerprint = fingerprint(file, new_offset).map_err(|e| io(&t.path, e))?;
        }
        let opts = self.options(prev_header.as_deref());
        let family_ok = skip_line || self.family_ok(chunk);
        let mut st = self.feed.lock().await;
        let report = if skip_line {
            None
        } else if family_ok {
            let input = st.input(&name);
            Some(st.ingest(input, first_line, chunk, &opts))
        } else {
            None
        };
        t.cp.offset = new_offset;
        t.cp.line += newlines;
        st.checkpoint(put_op(&file_key(&self.cfg.name, t.cp.id), &t.cp)?);
        drop(st);
        match report {
            Some(r) => self.feed.account(&name, &r),
            None if skip_line => {
                self.stats.refused.fetch_add(1, Ordering::Relaxed);
                self.feed.stats.malformed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(source = %self.cfg.name, "malformed record skipped: {name}:{first_line}: line longer than {MAX_LINE} bytes");
            }
            None => {
                self.stats
                    .refused
                    .fetch_add(newlines.max(1), Ordering::Relaxed);
                tracing::warn!(source = %self.cfg.name, "{name}:{first_line}: {newlines} lines not of the source's format; skipped");
            }
        }
        Ok(true)
    }

    /// Reads until told to stop (following) or once (one-shot), committing at the end of a
    /// one-shot read. Errors are logged and the next look tries again.
    pub async fn run(mut self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            let last = !self.cfg.follow;
            let more = match self.poll_once(last).await {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(source = %self.cfg.name, error = %e, "reading files failed");
                    false
                }
            };
            if last {
                if more {
                    continue;
                }
                if let Err(e) = self.feed.commit().await {
                    tracing::error!(source = %self.cfg.name, error = %e, "writing findings failed");
                }
                tracing::info!(source = %self.cfg.name, files = self.tracked.len(), "files read");
                return;
            }
            if more {
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(self.cfg.poll_interval) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
        }
    }
}

/// The last VPC flow-log header line in a chunk, if any.
pub(crate) fn last_flow_header(chunk: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(chunk).ok()?;
    text.lines()
        .rev()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_alphabetic() || c == '$'))
        .find(|l| FlowFormat::parse_header(l).is_some())
        .map(str::to_owned)
}

#[cfg(test)]
pub(crate) mod tests;
