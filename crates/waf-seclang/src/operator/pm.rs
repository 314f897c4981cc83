//! `@pm` and `@pmFromFile`: case-insensitive multi-phrase matching with Aho-Corasick.
//!
//! `@pm` takes space-separated phrases; `@pmFromFile` takes space-separated file names (relative to the rule
//! file's directory) holding one phrase per line, with `#` comment lines and blank lines ignored. With `capture`,
//! `TX:0` receives the first phrase found (leftmost).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::{OperatorContext, OperatorEnv, OperatorError};

/// Upper bound on a phrase file's size (CRS's largest is ≈ 30 KB).
const MAX_FILE_BYTES: u64 = 16 << 20;

/// A compiled phrase matcher.
#[derive(Debug, Clone)]
pub(crate) struct PmOp {
    /// `None` when there are no phrases (never matches).
    ac: Option<Arc<AhoCorasick>>,
}

impl PmOp {
    /// `@pm word1 word2 …`.
    pub(crate) fn from_words(arg: &str) -> Self {
        Self::build(
            arg.split_ascii_whitespace()
                .map(|s| s.as_bytes().to_vec())
                .collect(),
        )
    }

    /// `@pmFromFile file1 file2 …`.
    pub(crate) fn from_files(arg: &str, ctx: &OperatorContext) -> Result<Self, OperatorError> {
        let mut phrases = Vec::new();
        for name in arg.split_ascii_whitespace() {
            let path = resolve(name, ctx);
            let text = read_bounded(&path)?;
            phrases.extend(phrases_of(&text));
        }
        Ok(Self::build(phrases))
    }

    fn build(phrases: Vec<Vec<u8>>) -> Self {
        let phrases: Vec<Vec<u8>> = phrases.into_iter().filter(|p| !p.is_empty()).collect();
        if phrases.is_empty() {
            return Self { ac: None };
        }
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .build(&phrases)
            .ok()
            .map(Arc::new);
        Self { ac }
    }

    pub(crate) fn evaluate(&self, input: &[u8], env: &mut dyn OperatorEnv) -> bool {
        let Some(ac) = &self.ac else {
            return false;
        };
        if !env.capture_enabled() {
            return ac.is_match(input);
        }
        match ac.find(input) {
            Some(m) => {
                env.capture(0, input.get(m.start()..m.end()).unwrap_or_default());
                true
            }
            None => false,
        }
    }
}

/// Resolves `name` against the rule file's directory unless it is absolute.
pub(crate) fn resolve(name: &str, ctx: &OperatorContext) -> PathBuf {
    let p = Path::new(name);
    match &ctx.base_dir {
        Some(dir) if p.is_relative() => dir.join(p),
        _ => p.to_path_buf(),
    }
}

/// Reads a data file, refusing files above [`MAX_FILE_BYTES`].
pub(crate) fn read_bounded(path: &Path) -> Result<Vec<u8>, OperatorError> {
    let file_err = |source| OperatorError::File {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(file_err)?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(OperatorError::File {
            path: path.to_path_buf(),
            source: std::io::Error::other(format!("file larger than {MAX_FILE_BYTES} bytes")),
        });
    }
    std::fs::read(path).map_err(file_err)
}

/// The phrases of a data file: one per line, `#` comment lines and blank lines skipped, line ends trimmed.
pub(crate) fn phrases_of(text: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    text.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty() && !l.starts_with(b"#"))
        .map(<[u8]>::to_vec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_blanks_skipped() {
        let p: Vec<Vec<u8>> = phrases_of(b"# c\n\nfoo\r\nbar baz\n#x\n").collect();
        assert_eq!(p, vec![b"foo".to_vec(), b"bar baz".to_vec()]);
    }
}
