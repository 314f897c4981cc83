//! `@pm` and `@pmFromFile`: case-insensitive multi-phrase matching with Aho-Corasick.
//!
//! `@pm` takes space-separated phrases; `@pmFromFile` takes space-separated file names (relative to the rule
//! file's directory) holding one phrase per line, with `#` comment lines and blank lines ignored. With `capture`,
//! `TX:0` receives the first phrase found (leftmost).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::{OperatorContext, OperatorEnv, OperatorError};
use crate::literal_dfa::LiteralDfa;

/// Upper bound on a phrase file's size (CRS's largest is ≈ 30 KB).
const MAX_FILE_BYTES: u64 = 16 << 20;

/// Largest phrase list (total bytes) offered to the engine's prefilter (one automaton for all links, built at
/// load: CRS's 30 KB `lfi-os-files.data` would add ≈ 0.4 G instructions to loading, so it stays out).
const MAX_PREFILTER_BYTES: usize = 8 << 10;

/// Largest phrase list (total bytes) that gets its own DFA for the "any phrase?" test; longer lists use the
/// leftmost searcher. The DFA is built on first use, so the bound keeps that build small: CRS's longest list,
/// `lfi-os-files.data` (≈ 30 KB, rule 930120 at paranoia level 1), would take ≈ 200 M instructions (tens of
/// milliseconds, paid by the first request that reaches the rule) for ≈ 0.2 M instructions saved per 8 KB form
/// POST, so it stays on the leftmost searcher.
const MAX_DFA_BYTES: usize = 8 << 10;

/// A compiled phrase matcher.
#[derive(Debug, Clone)]
pub(crate) struct PmOp {
    /// Leftmost-first search, for the phrase `capture` records; `None` when there are no phrases (never
    /// matches).
    ac: Option<Arc<AhoCorasick>>,
    /// "Does any phrase occur?", a byte loop over a DFA, built on the first evaluation (rules above the paranoia
    /// level never run); `None` inside for long lists or when it could not be built (then `ac` answers).
    any: Arc<OnceLock<Option<LiteralDfa>>>,
    /// The phrases (the engine's prefilter may search them together with other links' literals).
    phrases: Arc<[Vec<u8>]>,
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
            return Self {
                ac: None,
                any: Arc::default(),
                phrases: Arc::from(phrases),
            };
        }
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .build(&phrases)
            .ok()
            .map(Arc::new);
        Self {
            ac,
            any: Arc::default(),
            phrases: Arc::from(phrases),
        }
    }

    /// The phrases, for the engine's prefilter (the operator matches exactly when one of them occurs, ASCII
    /// case-insensitively); `None` for lists above [`MAX_PREFILTER_BYTES`], whose states would make the
    /// automaton slow to build.
    pub(crate) fn prefilter_phrases(&self) -> Option<&[Vec<u8>]> {
        let bytes: usize = self.phrases.iter().map(Vec::len).sum();
        (bytes <= MAX_PREFILTER_BYTES).then_some(&*self.phrases)
    }

    pub(crate) fn evaluate(&self, input: &[u8], env: &mut dyn OperatorEnv) -> bool {
        let Some(ac) = &self.ac else {
            return false;
        };
        if let Some(any) = self.any.get_or_init(|| {
            let bytes: usize = self.phrases.iter().map(Vec::len).sum();
            (bytes <= MAX_DFA_BYTES)
                .then(|| LiteralDfa::new(self.phrases.iter()))
                .flatten()
        }) {
            // Most values contain no phrase; the leftmost search below runs only to capture one that does.
            if !any.is_match(input) {
                return false;
            }
            if !env.capture_enabled() {
                return true;
            }
        } else if !env.capture_enabled() {
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
