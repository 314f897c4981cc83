//! The persisted advisory index: a compact binary file; a scan reads its header and directory
//! in one read and fetches the rest on demand.
//!
//! Layout (all integers little endian):
//!
//! ```text
//! header  magic "PCXOSVIX" | format u32 | crc32(hot) u32 | hot_len u64 | docs_len u64   (32 bytes)
//! hot     meta (JSON blob: sources, per-ecosystem counts, newest `modified`)
//!         advisories: n, then per advisory id, modified, flags (bit 0 = withdrawn),
//!                     doc offset u32, doc len u32, crc32(doc) u32
//!         keys: n, then per (ecosystem, normalised name): ecosystem, name,
//!               block offset u32, block len u32, crc32(block) u32
//! cold    each advisory's full OSV JSON, concatenated, then each key's entry block:
//!               n, then per affected entry: advisory number u32, release (opt), versions[],
//!               ranges[] (kind, events[] as (tag u8, version)) — SEMVER/ECOSYSTEM ranges only
//! ```
//!
//! The header calls the cold part `docs`. Only the header and the directory are read when a
//! scan opens the file ([`crate::fs::IndexFile`]); the entry blocks of the packages being
//! scanned and the documents of matched advisories are read on demand.
//!
//! Opening an index checks the magic, the format version, the total length and the CRC-32 of
//! the hot part (the directory a scan walks); each advisory document carries its own CRC-32,
//! checked when a scan decodes it (only matched advisories are decoded). A scan is then: one
//! binary search over the sorted keys per package, the OSV range algorithm on the pre-parsed
//! ranges, and a JSON decode of the few advisories that matched, which go through the same
//! [`crate::scan`] code as the in-memory index so both give identical findings.

mod codec;

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

pub use codec::{Reader, Writer};

use crate::Error;
use crate::advisory_db::AdvisoryDb;
use crate::lockfile::Package;
use crate::osv::range::{affected_matches, range_scheme};
use crate::osv::{Advisory, Affected, Event, EventKind, Range};
use crate::scan::{Finding, ScanOptions, finding_for, release_matches, sort_findings};
use crate::version::Ecosystem;

/// File magic.
pub const MAGIC: [u8; 8] = *b"PCXOSVIX";
/// Format version written and accepted.
pub const FORMAT_VERSION: u32 = 2;
/// Header length in bytes.
pub const HEADER_LEN: usize = 32;

/// One import source recorded in the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// The path given to `db import`.
    pub path: String,
    /// Unix time of the (last) import of this path.
    pub imported_at: u64,
    /// Documents read from it.
    pub documents: usize,
    /// Documents that failed to decode.
    pub errors: usize,
}

/// Per-ecosystem counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcosystemStats {
    /// Advisories naming at least one package of this ecosystem (withdrawn included).
    pub advisories: usize,
    /// Of those, withdrawn.
    pub withdrawn: usize,
    /// Distinct package names.
    pub packages: usize,
}

/// Summary stored in the index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexMeta {
    /// Unix time the file was written.
    pub built_at: u64,
    /// Import sources, most recent import of each path.
    pub sources: Vec<SourceInfo>,
    /// Counts per ecosystem (canonical OSV name without release).
    pub ecosystems: BTreeMap<String, EcosystemStats>,
    /// Advisories in the file (withdrawn included).
    pub total: usize,
    /// Withdrawn advisories (kept and flagged).
    pub withdrawn: usize,
    /// The newest `modified` timestamp.
    pub newest_modified: Option<String>,
}

const EV_INTRODUCED: u8 = 0;
const EV_FIXED: u8 = 1;
const EV_LAST_AFFECTED: u8 = 2;
const EV_LIMIT: u8 = 3;

fn write_entry(w: &mut Writer, adv: u32, aff: &Affected) -> Result<(), Error> {
    w.u32(adv);
    let release = aff
        .package
        .as_ref()
        .and_then(|p| Ecosystem::parse_osv(&p.ecosystem).1);
    w.opt_str(release)?;
    w.len(aff.versions.len())?;
    for v in &aff.versions {
        w.str(v)?;
    }
    let eco = aff
        .ecosystem()
        .map(|e| e.0)
        .unwrap_or(Ecosystem::Other(String::new()));
    let ranges: Vec<&Range> = aff
        .ranges
        .iter()
        .filter(|r| range_scheme(r, &eco).is_some())
        .collect();
    w.len(ranges.len())?;
    for r in ranges {
        w.str(&r.kind)?;
        let events: Vec<EventKind<'_>> = r.events.iter().filter_map(Event::kind).collect();
        w.len(events.len())?;
        for e in events {
            let (tag, v) = match e {
                EventKind::Introduced(v) => (EV_INTRODUCED, v),
                EventKind::Fixed(v) => (EV_FIXED, v),
                EventKind::LastAffected(v) => (EV_LAST_AFFECTED, v),
                EventKind::Limit(v) => (EV_LIMIT, v),
            };
            w.u8(tag);
            w.str(v)?;
        }
    }
    Ok(())
}

/// One decoded entry of a key's block.
struct Entry<'a> {
    adv: u32,
    release: Option<&'a str>,
    affected: Affected,
}

fn read_entry<'a>(r: &mut Reader<'a>) -> Result<Entry<'a>, Error> {
    let adv = r.u32()?;
    let release = r.opt_str()?;
    let n = r.len(4)?;
    let mut versions = Vec::with_capacity(n);
    for _ in 0..n {
        versions.push(r.str()?.to_string());
    }
    let n = r.len(8)?;
    let mut ranges = Vec::with_capacity(n);
    for _ in 0..n {
        let kind = r.str()?.to_string();
        let m = r.len(5)?;
        let mut events = Vec::with_capacity(m);
        for _ in 0..m {
            let tag = r.u8()?;
            let v = Some(r.str()?.to_string());
            let mut e = Event::default();
            match tag {
                EV_INTRODUCED => e.introduced = v,
                EV_FIXED => e.fixed = v,
                EV_LAST_AFFECTED => e.last_affected = v,
                EV_LIMIT => e.limit = v,
                t => return Err(Error::InvalidIndex(format!("bad event tag {t}"))),
            }
            events.push(e);
        }
        ranges.push(Range {
            kind,
            repo: None,
            events,
            database_specific: None,
        });
    }
    Ok(Entry {
        adv,
        release,
        affected: Affected {
            package: None,
            severity: Vec::new(),
            ranges,
            versions,
            ecosystem_specific: None,
            database_specific: None,
        },
    })
}

/// Computes the summary of `db` (sources and time supplied by the caller).
pub fn summarize(db: &AdvisoryDb, sources: Vec<SourceInfo>, built_at: u64) -> IndexMeta {
    let mut ecosystems: BTreeMap<String, EcosystemStats> = BTreeMap::new();
    let mut names: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    let mut newest: Option<&str> = None;
    for adv in db.iter() {
        if newest.is_none_or(|n| adv.modified.as_str() > n) {
            newest = Some(&adv.modified);
        }
        let mut ecos: Vec<String> = Vec::new();
        for aff in &adv.affected {
            if let Some(p) = &aff.package {
                let eco = Ecosystem::parse_osv(&p.ecosystem).0;
                names
                    .entry(eco.as_str().to_string())
                    .or_default()
                    .insert(eco.normalize_name(&p.name));
                ecos.push(eco.as_str().to_string());
            }
        }
        ecos.sort();
        ecos.dedup();
        for e in ecos {
            let s = ecosystems.entry(e).or_default();
            s.advisories += 1;
            s.withdrawn += usize::from(adv.is_withdrawn());
        }
    }
    for (e, n) in names {
        ecosystems.entry(e).or_default().packages = n.len();
    }
    IndexMeta {
        built_at,
        sources,
        ecosystems,
        total: db.len(),
        withdrawn: db.withdrawn_count(),
        newest_modified: newest.map(str::to_string),
    }
}

/// Serialises `db` into the index file format.
pub fn encode(db: &AdvisoryDb, meta: &IndexMeta) -> Result<Vec<u8>, Error> {
    let mut hot = Writer::default();
    let meta_json =
        serde_json::to_vec(meta).map_err(|e| Error::InvalidIndex(format!("meta: {e}")))?;
    hot.bytes(&meta_json)?;
    let mut docs: Vec<u8> = Vec::new();
    let mut keys: BTreeMap<(String, String), Writer> = BTreeMap::new();
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    hot.len(db.len())?;
    for (i, adv) in db.iter().enumerate() {
        let idx =
            u32::try_from(i).map_err(|_| Error::InvalidIndex("too many advisories".into()))?;
        let doc =
            serde_json::to_vec(adv).map_err(|e| Error::InvalidIndex(format!("{}: {e}", adv.id)))?;
        hot.str(&adv.id)?;
        hot.str(&adv.modified)?;
        hot.u8(u8::from(adv.is_withdrawn()));
        let off =
            u32::try_from(docs.len()).map_err(|_| Error::InvalidIndex("docs > 4 GiB".into()))?;
        hot.u32(off);
        hot.len(doc.len())?;
        hot.u32(crc32fast::hash(&doc));
        docs.extend_from_slice(&doc);
        for aff in &adv.affected {
            let Some(p) = &aff.package else { continue };
            let eco = Ecosystem::parse_osv(&p.ecosystem).0;
            let key = (eco.as_str().to_string(), eco.normalize_name(&p.name));
            write_entry(keys.entry(key.clone()).or_default(), idx, aff)?;
            *counts.entry(key).or_default() += 1;
        }
    }
    hot.len(keys.len())?;
    for ((eco, name), block) in &keys {
        hot.str(eco)?;
        hot.str(name)?;
        let mut b = Writer::default();
        b.len(
            counts
                .get(&(eco.clone(), name.clone()))
                .copied()
                .unwrap_or(0),
        )?;
        b.buf.extend_from_slice(&block.buf);
        let off =
            u32::try_from(docs.len()).map_err(|_| Error::InvalidIndex("docs > 4 GiB".into()))?;
        hot.u32(off);
        hot.len(b.buf.len())?;
        hot.u32(crc32fast::hash(&b.buf));
        docs.extend_from_slice(&b.buf);
    }
    let mut out = Vec::with_capacity(HEADER_LEN + hot.buf.len() + docs.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&hot.buf).to_le_bytes());
    out.extend_from_slice(&(hot.buf.len() as u64).to_le_bytes());
    out.extend_from_slice(&(docs.len() as u64).to_le_bytes());
    out.extend_from_slice(&hot.buf);
    out.extend_from_slice(&docs);
    Ok(out)
}

/// One row of the advisory table.
#[derive(Debug, Clone, Copy)]
pub struct AdvisoryRow<'a> {
    /// Advisory id.
    pub id: &'a str,
    /// `modified`.
    pub modified: &'a str,
    /// Whether withdrawn.
    pub withdrawn: bool,
    doc_off: usize,
    doc_len: usize,
    doc_crc: u32,
}

/// Reads `len` bytes at `offset` of the documents section (lazy opening).
pub type DocFetch<'a> = Box<dyn Fn(usize, usize) -> Result<Vec<u8>, Error> + 'a>;

/// Where the advisory documents come from.
enum Docs<'a> {
    /// The whole file is in memory.
    Bytes(&'a [u8]),
    /// Documents are fetched on demand (e.g. `pread` on the open file).
    Fetch { len: usize, fetch: DocFetch<'a> },
}

impl Docs<'_> {
    fn len(&self) -> usize {
        match self {
            Docs::Bytes(b) => b.len(),
            Docs::Fetch { len, .. } => *len,
        }
    }

    fn get(&self, off: usize, len: usize) -> Result<std::borrow::Cow<'_, [u8]>, Error> {
        match self {
            Docs::Bytes(b) => b
                .get(off..off.saturating_add(len))
                .map(std::borrow::Cow::Borrowed)
                .ok_or_else(|| Error::InvalidIndex("document out of bounds".into())),
            Docs::Fetch { len: total, fetch } => {
                if off.saturating_add(len) > *total {
                    return Err(Error::InvalidIndex("document out of bounds".into()));
                }
                fetch(off, len).map(std::borrow::Cow::Owned)
            }
        }
    }
}

/// Where a key's entry block lies in the cold part.
#[derive(Debug, Clone, Copy)]
struct BlockRef {
    off: usize,
    len: usize,
    crc: u32,
}

/// A validated view of an index file (zero-copy over the directory).
///
/// Opening walks the directory once to validate it and keeps only the offsets of its records
/// (4 bytes per advisory and per key, no hash table): a scan decodes the few rows and keys it
/// needs, finding a key by binary search over the (sorted) key records.
pub struct IndexView<'a> {
    meta_json: &'a [u8],
    /// The directory (`hot` part).
    hot: &'a [u8],
    /// Offset in `hot` of each advisory row.
    rows: Vec<u32>,
    /// Offset in `hot` of each key record, sorted by (ecosystem, name).
    keys: Vec<u32>,
    docs: Docs<'a>,
}

impl std::fmt::Debug for IndexView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexView")
            .field("advisories", &self.rows.len())
            .field("keys", &self.keys.len())
            .field("docs_len", &self.docs.len())
            .finish()
    }
}

/// One decoded key record of the directory.
struct KeyRecord<'a> {
    eco: &'a [u8],
    name: &'a [u8],
    block: BlockRef,
}

/// Decodes one advisory row (strings checked as UTF-8).
fn read_row<'a>(h: &mut Reader<'a>) -> Result<AdvisoryRow<'a>, Error> {
    let id = h.str()?;
    let modified = h.str()?;
    let withdrawn = h.u8()? != 0;
    let doc_off = h.u32()? as usize;
    let doc_len = h.u32()? as usize;
    let doc_crc = h.u32()?;
    Ok(AdvisoryRow {
        id,
        modified,
        withdrawn,
        doc_off,
        doc_len,
        doc_crc,
    })
}

/// Decodes one key record (strings as raw bytes: they were checked as UTF-8 when opening).
fn read_key<'a>(h: &mut Reader<'a>) -> Result<KeyRecord<'a>, Error> {
    let eco = h.bytes()?;
    let name = h.bytes()?;
    let off = h.u32()? as usize;
    let len = h.u32()? as usize;
    let crc = h.u32()?;
    Ok(KeyRecord {
        eco,
        name,
        block: BlockRef { off, len, crc },
    })
}

fn offset_of(hot: &[u8], rest: &Reader<'_>) -> Result<u32, Error> {
    u32::try_from(hot.len().saturating_sub(rest.remaining()))
        .map_err(|_| Error::InvalidIndex("directory larger than 4 GiB".into()))
}

/// The lengths announced by a header: `(hot_len, docs_len)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderInfo {
    /// Length of the directory part after the header.
    pub hot_len: usize,
    /// Length of the documents part after the directory.
    pub docs_len: usize,
    crc: u32,
}

impl HeaderInfo {
    /// Total file length the header announces.
    pub fn file_len(&self) -> usize {
        HEADER_LEN
            .saturating_add(self.hot_len)
            .saturating_add(self.docs_len)
    }
}

/// Validates the first [`HEADER_LEN`] bytes of an index file (magic and format version).
pub fn read_header(bytes: &[u8]) -> Result<HeaderInfo, Error> {
    let mut r = Reader::new(bytes);
    let magic = r
        .take(8)
        .map_err(|_| Error::InvalidIndex("file too short for a header".into()))?;
    if magic != MAGIC {
        return Err(Error::InvalidIndex(
            "not a Portcullis advisory index (bad magic)".into(),
        ));
    }
    let version = r.u32()?;
    if version != FORMAT_VERSION {
        return Err(Error::UnsupportedIndexVersion(version));
    }
    let crc = r.u32()?;
    let hot_len = usize::try_from(r.u64()?).map_err(|_| Error::InvalidIndex("length".into()))?;
    let docs_len = usize::try_from(r.u64()?).map_err(|_| Error::InvalidIndex("length".into()))?;
    Ok(HeaderInfo {
        hot_len,
        docs_len,
        crc,
    })
}

impl<'a> IndexView<'a> {
    /// Validates the header and checksum of a whole index file and reads the directory.
    pub fn open(bytes: &'a [u8]) -> Result<Self, Error> {
        let info = read_header(bytes)?;
        if bytes.len() != info.file_len() {
            return Err(Error::InvalidIndex(format!(
                "file is {} bytes, header says {} (truncated or appended to)",
                bytes.len(),
                info.file_len()
            )));
        }
        let mut r = Reader::new(bytes);
        r.take(HEADER_LEN)?;
        let hot = r.take(info.hot_len)?;
        let docs = r.take(info.docs_len)?;
        Self::from_hot(info, hot, Docs::Bytes(docs))
    }

    /// Opens an index from its header and directory only (`head` = the first
    /// `HEADER_LEN + hot_len` bytes); documents are read through `fetch(offset, len)` (offsets
    /// relative to the documents part) when a scan needs them. The caller checks that the file
    /// is [`HeaderInfo::file_len`] bytes long.
    pub fn open_lazy(head: &'a [u8], fetch: DocFetch<'a>) -> Result<Self, Error> {
        let info = read_header(head)?;
        if head.len() != HEADER_LEN.saturating_add(info.hot_len) {
            return Err(Error::InvalidIndex("truncated directory".into()));
        }
        let hot = head.get(HEADER_LEN..).unwrap_or_default();
        Self::from_hot(
            info,
            hot,
            Docs::Fetch {
                len: info.docs_len,
                fetch,
            },
        )
    }

    fn from_hot(info: HeaderInfo, hot: &'a [u8], docs: Docs<'a>) -> Result<Self, Error> {
        if crc32fast::hash(hot) != info.crc {
            return Err(Error::InvalidIndex(
                "checksum mismatch (corrupted file)".into(),
            ));
        }
        let mut h = Reader::new(hot);
        let meta_json = h.bytes()?;
        let n = h.len(20)?;
        let mut rows = Vec::with_capacity(n);
        for _ in 0..n {
            rows.push(offset_of(hot, &h)?);
            let row = read_row(&mut h)?;
            if row.doc_off.saturating_add(row.doc_len) > docs.len() {
                return Err(Error::InvalidIndex(format!(
                    "{}: document out of bounds",
                    row.id
                )));
            }
        }
        let n = h.len(12)?;
        let mut keys = Vec::with_capacity(n);
        let mut sorted = true;
        let mut prev: Option<(&[u8], &[u8])> = None;
        for _ in 0..n {
            keys.push(offset_of(hot, &h)?);
            let at = h.clone();
            let k = read_key(&mut h)?;
            // Validate the strings once here; lookups then compare raw bytes.
            let (eco, name) = {
                let mut s = at;
                (s.str()?, s.str()?)
            };
            if k.block.off.saturating_add(k.block.len) > docs.len() {
                return Err(Error::InvalidIndex(format!(
                    "{eco}/{name}: entry block out of bounds"
                )));
            }
            if prev.is_some_and(|p| p >= (k.eco, k.name)) {
                sorted = false;
            }
            prev = Some((k.eco, k.name));
        }
        if !h.is_empty() {
            return Err(Error::InvalidIndex(
                "trailing bytes in the directory".into(),
            ));
        }
        let mut view = IndexView {
            meta_json,
            hot,
            rows,
            keys,
            docs,
        };
        if !sorted {
            // Files written by `encode` list their keys sorted; sort any other (stable, so the
            // first of duplicate keys wins).
            let mut decoded: Vec<(&[u8], &[u8], u32)> = Vec::with_capacity(view.keys.len());
            for &off in &view.keys {
                let k = view.key_at(off)?;
                decoded.push((k.eco, k.name, off));
            }
            decoded.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
            decoded.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
            view.keys = decoded.into_iter().map(|(_, _, off)| off).collect();
        }
        Ok(view)
    }

    fn reader_at(&self, off: u32) -> Result<Reader<'a>, Error> {
        self.hot
            .get(off as usize..)
            .map(Reader::new)
            .ok_or_else(|| Error::InvalidIndex("directory offset out of bounds".into()))
    }

    fn key_at(&self, off: u32) -> Result<KeyRecord<'a>, Error> {
        read_key(&mut self.reader_at(off)?)
    }

    /// The entry block of `(ecosystem, normalised name)`, by binary search over the keys.
    fn find_key(&self, eco: &str, name: &str) -> Result<Option<BlockRef>, Error> {
        let want = (eco.as_bytes(), name.as_bytes());
        let (mut lo, mut hi) = (0usize, self.keys.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let off = self
                .keys
                .get(mid)
                .copied()
                .ok_or_else(|| Error::InvalidIndex("key index out of range".into()))?;
            let k = self.key_at(off)?;
            match (k.eco, k.name).cmp(&want) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Some(k.block)),
            }
        }
        Ok(None)
    }

    /// Advisory row number `i`.
    pub fn row(&self, i: usize) -> Result<AdvisoryRow<'a>, Error> {
        let off = self
            .rows
            .get(i)
            .copied()
            .ok_or_else(|| Error::InvalidIndex(format!("advisory number {i} out of range")))?;
        read_row(&mut self.reader_at(off)?)
    }

    /// Number of (ecosystem, package name) keys.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// The stored summary.
    pub fn meta(&self) -> Result<IndexMeta, Error> {
        serde_json::from_slice(self.meta_json)
            .map_err(|e| Error::InvalidIndex(format!("meta: {e}")))
    }

    /// The advisory table, decoded row by row.
    pub fn rows(&self) -> impl Iterator<Item = Result<AdvisoryRow<'a>, Error>> + '_ {
        (0..self.rows.len()).map(|i| self.row(i))
    }

    /// Number of advisories.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the index holds no advisory.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Decodes advisory number `i`, verifying its checksum.
    pub fn advisory(&self, i: usize) -> Result<Advisory, Error> {
        let row = self.row(i)?;
        let doc = self
            .docs
            .get(row.doc_off, row.doc_len)
            .map_err(|e| Error::InvalidIndex(format!("{}: {e}", row.id)))?;
        if crc32fast::hash(&doc) != row.doc_crc {
            return Err(Error::InvalidIndex(format!(
                "{}: document checksum mismatch",
                row.id
            )));
        }
        serde_json::from_slice(&doc).map_err(|e| Error::InvalidIndex(format!("{}: {e}", row.id)))
    }

    /// Rebuilds the in-memory index from every stored advisory (for re-import).
    pub fn to_db(&self) -> Result<AdvisoryDb, Error> {
        let mut db = AdvisoryDb::new();
        for i in 0..self.rows.len() {
            db.insert(self.advisory(i)?);
        }
        Ok(db)
    }

    /// Scans `packages`; the result equals [`crate::scan::scan`] over the same advisories.
    pub fn scan(&self, packages: &[Package], opts: &ScanOptions) -> Result<Vec<Finding>, Error> {
        let mut cache: HashMap<u32, Advisory> = HashMap::new();
        let mut findings = Vec::new();
        for pkg in packages {
            let name = pkg.ecosystem.normalize_name(&pkg.name);
            let Some(block) = self.find_key(pkg.ecosystem.as_str(), &name)? else {
                continue;
            };
            let bytes = self.docs.get(block.off, block.len)?;
            if crc32fast::hash(&bytes) != block.crc {
                return Err(Error::InvalidIndex(format!(
                    "{name}: entry block checksum mismatch"
                )));
            }
            let mut r = Reader::new(&bytes);
            let n = r.len(4)?;
            let mut candidates: Vec<u32> = Vec::new();
            for _ in 0..n {
                let e = read_entry(&mut r)?;
                if candidates.contains(&e.adv) {
                    continue;
                }
                let row = self
                    .row(e.adv as usize)
                    .map_err(|_| Error::InvalidIndex("entry names a missing advisory".into()))?;
                if (row.withdrawn && !opts.include_withdrawn)
                    || !release_matches(e.release, opts.release.as_deref())
                {
                    continue;
                }
                if affected_matches(&e.affected, &pkg.ecosystem, &pkg.version).is_some() {
                    candidates.push(e.adv);
                }
            }
            for adv in candidates {
                let a = match cache.entry(adv) {
                    std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(self.advisory(adv as usize)?)
                    }
                };
                if let Some(f) = finding_for(a, pkg, opts) {
                    findings.push(f);
                }
            }
        }
        sort_findings(&mut findings);
        Ok(findings)
    }
}

#[cfg(test)]
mod tests;
