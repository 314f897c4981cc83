//! Loading rule files: options, the per-file report, and directory walking.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::SigmaError;

/// How rules are loaded.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Accept rules whose `logsource` is not `product: aws` / `service: cloudtrail`.
    pub any_logsource: bool,
    /// Largest rule file read, in bytes.
    pub max_file_bytes: u64,
    /// Rewrite obsolete aggregations (`| count() by G > N`, `| near`, `timeframe`) into correlations
    /// instead of refusing them.
    pub legacy_aggregation: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            any_logsource: false,
            max_file_bytes: 1 << 20,
            legacy_aggregation: true,
        }
    }
}

/// What a loaded document became.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadedKind {
    /// A detection rule.
    Rule,
    /// A correlation rule.
    Correlation,
}

/// One document that loaded.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// File path or caller-supplied origin.
    pub origin: String,
    /// Rule title.
    pub title: String,
    /// Rule or correlation.
    pub kind: LoadedKind,
}

/// One file or document that was refused, with the reason.
#[derive(Debug)]
pub struct Refused {
    /// File path or caller-supplied origin.
    pub origin: String,
    /// Rule title when it could be read.
    pub title: Option<String>,
    /// Why it was refused.
    pub error: SigmaError,
}

/// Result of loading: every document is either loaded or refused.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Documents that loaded.
    pub loaded: Vec<Loaded>,
    /// Documents or files that were refused.
    pub refused: Vec<Refused>,
}

impl LoadReport {
    /// Number of loaded detection rules.
    pub fn rules_loaded(&self) -> usize {
        self.loaded
            .iter()
            .filter(|l| l.kind == LoadedKind::Rule)
            .count()
    }

    /// Number of loaded correlation rules.
    pub fn correlations_loaded(&self) -> usize {
        self.loaded
            .iter()
            .filter(|l| l.kind == LoadedKind::Correlation)
            .count()
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "sigma: {} rules and {} correlations loaded, {} refused",
            self.rules_loaded(),
            self.correlations_loaded(),
            self.refused.len()
        )?;
        for r in &self.refused {
            let title = r
                .title
                .as_deref()
                .map(|t| format!(" ({t})"))
                .unwrap_or_default();
            writeln!(f, "  refused {}{}: {}", r.origin, title, r.error)?;
        }
        Ok(())
    }
}

/// Every `.yml`/`.yaml` file under `dir`, sorted; unreadable subdirectories are reported in `errors`.
pub(crate) fn rule_files(
    dir: &Path,
    errors: &mut Vec<SigmaError>,
) -> Result<Vec<PathBuf>, SigmaError> {
    let io = |path: &Path, source| SigmaError::Io {
        path: path.to_owned(),
        source,
    };
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    let mut first = true;
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if first => return Err(io(&d, e)),
            Err(e) => {
                errors.push(io(&d, e));
                continue;
            }
        };
        first = false;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                // Depth bound: ignore absurdly deep trees rather than recursing forever through loops.
                if path.components().count() < 64 {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads a file with the size limit.
pub(crate) fn read_limited(path: &Path, limit: u64) -> Result<String, SigmaError> {
    let io = |source| SigmaError::Io {
        path: path.to_owned(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > limit {
        return Err(SigmaError::TooLarge { size, limit });
    }
    std::fs::read_to_string(path).map_err(io)
}
