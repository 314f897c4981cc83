//! A line scanner for `Cargo.lock` files as Cargo writes them, in front of the TOML parser.
//!
//! Cargo writes a small, fixed subset of TOML: `#` comment lines, a top-level `version = N`,
//! `[[package]]` tables of `key = "string"` lines and a multi-line `dependencies = [ … ]` array,
//! and (format v1) a `[metadata]` table of `"checksum …" = "…"` lines. [`scan`] reads exactly
//! that subset, line by line, without building a TOML document. On anything else — another
//! table, another key, a string with an escape or a control character, a duplicate key, CR LF
//! line ends, a missing `name` or `version` — it returns `None` and the caller uses the full TOML
//! parser, so the result is always the one the TOML parser gives (the tests check both agree).

/// One `[[package]]` table: `name`, `version`, `source`, `checksum`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct FastPackage<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub source: Option<&'a str>,
    pub checksum: Option<&'a str>,
}

/// What the scanner read.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct FastLock<'a> {
    /// The top-level `version`.
    pub version: Option<u32>,
    /// The packages in file order.
    pub packages: Vec<FastPackage<'a>>,
    /// The `[metadata]` entries sorted by key, when the table is present.
    pub metadata: Option<Vec<(&'a str, &'a str)>>,
}

impl<'a> FastLock<'a> {
    /// The value of a `[metadata]` key.
    pub fn metadata_get(&self, key: &str) -> Option<&'a str> {
        let m = self.metadata.as_ref()?;
        let i = m.binary_search_by(|(k, _)| (*k).cmp(key)).ok()?;
        m.get(i).map(|(_, v)| *v)
    }
}

/// A package being read: each field at most once.
#[derive(Default)]
struct Partial<'a> {
    name: Option<&'a str>,
    version: Option<&'a str>,
    source: Option<&'a str>,
    checksum: Option<&'a str>,
    dependencies: bool,
}

impl<'a> Partial<'a> {
    fn finish(self) -> Option<FastPackage<'a>> {
        Some(FastPackage {
            name: self.name?,
            version: self.version?,
            source: self.source,
            checksum: self.checksum,
        })
    }
}

enum Section {
    Top,
    Package,
    Dependencies,
    Metadata,
}

/// The content of a basic string `"…"` that is the whole of `s`, when it holds no escape and no
/// character TOML forbids in a basic string.
fn basic_string(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let ok = inner
        .bytes()
        .all(|b| b != b'"' && b != b'\\' && b != 0x7f && (b >= 0x20 || b == b'\t'));
    ok.then_some(inner)
}

/// Sets `slot` once; a second assignment is a duplicate key (left to the TOML parser).
fn set_once<'a>(slot: &mut Option<&'a str>, v: &'a str) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(v);
    Some(())
}

/// Reads `text` when it is in Cargo's own layout; `None` means "use the TOML parser".
pub(crate) fn scan(text: &str) -> Option<FastLock<'_>> {
    let mut out = FastLock::default();
    let mut section = Section::Top;
    let mut current: Option<Partial<'_>> = None;
    let mut metadata: Vec<(&str, &str)> = Vec::new();
    for line in text.split('\n') {
        if let Section::Dependencies = section {
            if line == "]" {
                section = Section::Package;
            } else {
                let item = line.strip_prefix(' ')?;
                basic_string(item.strip_suffix(',').unwrap_or(item))?;
                if !item.ends_with(',') {
                    // Cargo ends every item with a comma; anything else goes to the parser.
                    return None;
                }
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            if comment
                .bytes()
                .any(|b| b == 0x7f || (b < 0x20 && b != b'\t'))
            {
                return None;
            }
            continue;
        }
        if line == "[[package]]" {
            if let Some(p) = current.take() {
                out.packages.push(p.finish()?);
            }
            current = Some(Partial::default());
            section = Section::Package;
            continue;
        }
        if line == "[metadata]" {
            if out.metadata.is_some() || !metadata.is_empty() {
                return None;
            }
            if let Some(p) = current.take() {
                out.packages.push(p.finish()?);
            }
            out.metadata = Some(Vec::new());
            section = Section::Metadata;
            continue;
        }
        let (key, value) = line.split_once(" = ")?;
        match section {
            Section::Top => {
                if key != "version" || out.version.is_some() {
                    return None;
                }
                let digits_ok = !value.is_empty()
                    && value.bytes().all(|b| b.is_ascii_digit())
                    && (value == "0" || !value.starts_with('0'));
                if !digits_ok {
                    return None;
                }
                out.version = Some(value.parse().ok()?);
            }
            Section::Package => {
                let p = current.as_mut()?;
                if key == "dependencies" {
                    if p.dependencies || value != "[" {
                        return None;
                    }
                    p.dependencies = true;
                    section = Section::Dependencies;
                    continue;
                }
                let v = basic_string(value)?;
                match key {
                    "name" => set_once(&mut p.name, v)?,
                    "version" => set_once(&mut p.version, v)?,
                    "source" => set_once(&mut p.source, v)?,
                    "checksum" => set_once(&mut p.checksum, v)?,
                    _ => return None,
                }
            }
            Section::Metadata => metadata.push((basic_string(key)?, basic_string(value)?)),
            Section::Dependencies => return None,
        }
    }
    if let Section::Dependencies = section {
        return None;
    }
    if let Some(p) = current.take() {
        out.packages.push(p.finish()?);
    }
    if let Some(m) = out.metadata.as_mut() {
        metadata.sort_unstable();
        if metadata
            .windows(2)
            .any(|w| matches!(w, [a, b] if a.0 == b.0))
        {
            return None;
        }
        *m = metadata;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cargo_layout_and_defers_the_rest() {
        let text = "# generated\nversion = 3\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n\
                    source = \"registry+x\"\nchecksum = \"ff\"\ndependencies = [\n \"b\",\n]\n\n\
                    [[package]]\nname = \"b\"\nversion = \"0.1.0\"\n";
        let l = scan(text).unwrap();
        assert_eq!(l.version, Some(3));
        assert_eq!(l.packages.len(), 2);
        assert_eq!(l.packages[0].checksum, Some("ff"));
        assert_eq!(l.packages[1].source, None);
        assert!(l.metadata.is_none());
        for other in [
            "[[package]]\nname = \"a\\u0041\"\nversion = \"1\"\n",
            "[[package]]\nname = \"a\"\nname = \"b\"\nversion = \"1\"\n",
            "[[package]]\nname = \"a\"\n",
            "[[package]]\r\nname = \"a\"\r\nversion = \"1\"\r\n",
            "[[patch.unused]]\nname = \"a\"\nversion = \"1\"\n",
            "version = 03\n",
            "[[package]]\nname = \"a\"\nversion = \"1\"\ndependencies = [\n \"b\"\n",
            "[metadata]\n\"k\" = \"1\"\n\"k\" = \"2\"\n",
        ] {
            assert!(scan(other).is_none(), "{other:?}");
        }
        let v1 = "[[package]]\nname = \"a\"\nversion = \"1\"\nsource = \"s\"\n\n[metadata]\n\
                  \"checksum a 1 (s)\" = \"ab\"\n";
        let l = scan(v1).unwrap();
        assert_eq!(l.metadata_get("checksum a 1 (s)"), Some("ab"));
        assert_eq!(l.metadata_get("checksum b"), None);
    }
}
