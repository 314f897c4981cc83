//! In-memory advisory index: `(ecosystem, normalised package name) → advisories`.
//!
//! Sans-I/O: the loader takes `(path, bytes)` pairs; the path only chooses the format (`.json`,
//! `.yaml`/`.yml`; anything else is tried as JSON then YAML) and labels errors. Of two records with
//! the same `id`, the one with the later `modified` wins (RFC 3339 UTC strings compare
//! lexicographically). Withdrawn records are kept (so they can be reported) and filtered at scan.

use std::collections::HashMap;

use crate::Error;
use crate::osv::Advisory;
use crate::version::Ecosystem;

/// Largest accepted OSV document.
pub const MAX_DOCUMENT_BYTES: usize = 8 * 1024 * 1024;

/// The advisory index.
#[derive(Debug, Default, Clone)]
pub struct AdvisoryDb {
    advisories: Vec<Advisory>,
    by_id: HashMap<String, usize>,
    index: HashMap<(Ecosystem, String), Vec<usize>>,
}

/// Decodes one OSV document (JSON or YAML by extension).
pub fn parse_document(path: &str, bytes: &[u8]) -> Result<Advisory, Error> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(Error::TooLarge {
            what: "OSV document",
            size: bytes.len(),
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    let invalid = |reason: String| Error::InvalidOsv {
        path: path.to_string(),
        reason,
    };
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".json") {
        serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))
    } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        serde_yaml::from_slice(bytes).map_err(|e| invalid(e.to_string()))
    } else {
        serde_json::from_slice(bytes)
            .or_else(|_| serde_yaml::from_slice(bytes))
            .map_err(|e| invalid(e.to_string()))
    }
}

impl AdvisoryDb {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads every `(path, bytes)` document; bad documents are skipped and returned as errors.
    pub fn load<'a, I>(docs: I) -> (Self, Vec<Error>)
    where
        I: IntoIterator<Item = (&'a str, &'a [u8])>,
    {
        let mut db = Self::new();
        let mut errors = Vec::new();
        for (path, bytes) in docs {
            if let Err(e) = db.insert_bytes(path, bytes) {
                errors.push(e);
            }
        }
        (db, errors)
    }

    /// Decodes and inserts one document.
    pub fn insert_bytes(&mut self, path: &str, bytes: &[u8]) -> Result<(), Error> {
        let adv = parse_document(path, bytes)?;
        self.insert(adv);
        Ok(())
    }

    fn keys(adv: &Advisory) -> Vec<(Ecosystem, String)> {
        let mut keys: Vec<(Ecosystem, String)> = adv
            .affected
            .iter()
            .filter_map(|a| {
                let p = a.package.as_ref()?;
                let (eco, _) = Ecosystem::parse_osv(&p.ecosystem);
                let name = eco.normalize_name(&p.name);
                Some((eco, name))
            })
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }

    /// Inserts an advisory; replaces a record with the same id unless that one is newer.
    pub fn insert(&mut self, adv: Advisory) {
        let slot = match self.by_id.get(&adv.id).copied() {
            Some(i) => {
                let Some(old) = self.advisories.get(i) else {
                    return;
                };
                if old.modified > adv.modified {
                    return;
                }
                for key in Self::keys(old) {
                    if let Some(v) = self.index.get_mut(&key) {
                        v.retain(|&x| x != i);
                    }
                }
                if let Some(s) = self.advisories.get_mut(i) {
                    *s = adv;
                }
                i
            }
            None => {
                self.advisories.push(adv);
                let i = self.advisories.len() - 1;
                if let Some(a) = self.advisories.get(i) {
                    self.by_id.insert(a.id.clone(), i);
                }
                i
            }
        };
        if let Some(a) = self.advisories.get(slot) {
            for key in Self::keys(a) {
                self.index.entry(key).or_default().push(slot);
            }
        }
    }

    /// Advisories that name `name` in `ecosystem` (withdrawn ones included).
    pub fn lookup<'a>(
        &'a self,
        ecosystem: &Ecosystem,
        name: &str,
    ) -> impl Iterator<Item = &'a Advisory> + 'a {
        let key = (ecosystem.clone(), ecosystem.normalize_name(name));
        self.index
            .get(&key)
            .map(|v| v.as_slice())
            .unwrap_or(&[])
            .iter()
            .filter_map(|&i| self.advisories.get(i))
    }

    /// The advisory with this id.
    pub fn get(&self, id: &str) -> Option<&Advisory> {
        self.by_id.get(id).and_then(|&i| self.advisories.get(i))
    }

    /// Number of advisories (withdrawn included).
    pub fn len(&self) -> usize {
        self.advisories.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.advisories.is_empty()
    }

    /// Number of withdrawn advisories.
    pub fn withdrawn_count(&self) -> usize {
        self.advisories.iter().filter(|a| a.is_withdrawn()).count()
    }

    /// All advisories, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = &Advisory> {
        self.advisories.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, modified: &str, name: &str) -> String {
        format!(
            r#"{{"id":"{id}","modified":"{modified}","affected":[{{"package":{{"ecosystem":"PyPI","name":"{name}"}},"versions":["1.0"]}}]}}"#
        )
    }

    #[test]
    fn newer_record_wins_and_reindexes() {
        let a = doc("X-1", "2020-01-01T00:00:00Z", "Foo_Bar");
        let b = doc("X-1", "2021-01-01T00:00:00Z", "baz");
        let c = doc("X-1", "2019-01-01T00:00:00Z", "old");
        let (db, errs) = AdvisoryDb::load([
            ("a.json", a.as_bytes()),
            ("b.json", b.as_bytes()),
            ("c.json", c.as_bytes()),
            ("bad.json", b"{not json".as_slice()),
            ("d.yaml", b"id: Y-1\nmodified: '2020'\n".as_slice()),
        ]);
        assert_eq!(errs.len(), 1);
        assert_eq!(db.len(), 2);
        assert_eq!(db.lookup(&Ecosystem::PyPI, "foo-bar").count(), 0);
        assert_eq!(db.lookup(&Ecosystem::PyPI, "BAZ").count(), 1);
        assert_eq!(db.get("X-1").unwrap().modified, "2021-01-01T00:00:00Z");
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
                              ext in "(json|yaml|txt)") {
            let _ = parse_document(&format!("x.{ext}"), &bytes);
        }

        #[test]
        fn parse_never_panics_jsonish(s in "[{}\\[\\]\",:a-z0-9 ]{0,200}") {
            let _ = parse_document("x.json", s.as_bytes());
            let _ = parse_document("x.yaml", s.as_bytes());
        }
    }

    #[test]
    fn pep503_lookup() {
        let a = doc("X-2", "2020-01-01T00:00:00Z", "Foo_Bar");
        let (db, _) = AdvisoryDb::load([("a.json", a.as_bytes())]);
        assert_eq!(db.lookup(&Ecosystem::PyPI, "foo.bar").count(), 1);
    }
}
