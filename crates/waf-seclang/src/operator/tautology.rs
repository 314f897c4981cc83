//! 942130's "SQL tautology" detector, evaluated in linear time without back-references.
//!
//! The CRS pattern finds `w1 OP w2` where `w1` is a whole word, `OP` a comparison, and `w2` must be the same word
//! as `w1` for equality-like operators (`=`, `like`, `sounds like`, `regexp`, `rlike`, `<=>`) and a different word
//! for the others (`!=`, `<>`, `<`, `<=`, `>`, `>=`, `^`, `not like`, `not regexp`, `is not`). "Same word" needs
//! the back-reference `\1`, which a finite automaton cannot express, so this module scans words instead: for each
//! whole word it skips the separator run (`\s ' " ` ( )`), tries every operator, skips separators again and
//! compares words ASCII case-insensitively (PCRE back-references are caseless under `(?i)`). Where an operator
//! ends in a letter and no separator follows, PCRE's `(?!\b\1\b)` is vacuously true mid-word; that is kept.

/// Where a tautology was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    /// Start of the whole match (including the separators before `w1`).
    pub start: usize,
    /// End of the whole match.
    pub end: usize,
    /// Span of `w1`.
    pub word: (usize, usize),
}

/// True when `pattern` is CRS 942130's pattern (recognised by its back-reference structure).
pub(crate) fn recognise(pattern: &str) -> bool {
    pattern.starts_with("(?i:[\\s'\"`()]*?\\b([\\d\\w]+)\\b")
        && pattern.contains("(?!\\b\\1\\b)[\\d\\w]+")
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_sep(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r' | b'\'' | b'"' | b'`' | b'(' | b')'
    )
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r')
}

/// Whether the second word must equal (`Same`) or differ from (`Different`) the first.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Same,
    Different,
}

/// Matches `kw` case-insensitively at `at`, where a space in `kw` means `\s+`; returns the end.
fn keyword(input: &[u8], at: usize, kw: &str) -> Option<usize> {
    let mut i = at;
    for part in kw.as_bytes() {
        if *part == b' ' {
            let start = i;
            while input.get(i).is_some_and(|&b| is_space(b)) {
                i += 1;
            }
            if i == start {
                return None;
            }
        } else {
            if !input.get(i).is_some_and(|b| b.eq_ignore_ascii_case(part)) {
                return None;
            }
            i += 1;
        }
    }
    Some(i)
}

/// Every (operator end, expectation) that can follow at `at`.
fn operators(input: &[u8], at: usize, out: &mut Vec<(usize, Want)>) {
    out.clear();
    let sym = |s: &str| keyword(input, at, s);
    if let Some(e) = sym("<=>") {
        out.push((e, Want::Same));
    }
    for s in ["<=", "<>", "<", ">=", ">", "!=", "^"] {
        if let Some(e) = sym(s) {
            out.push((e, Want::Different));
        }
    }
    for s in ["not regexp", "not like", "is not"] {
        if let Some(e) = sym(s) {
            out.push((e, Want::Different));
        }
    }
    for s in ["sounds like", "like", "regexp", "rlike", "="] {
        if let Some(e) = sym(s) {
            out.push((e, Want::Same));
        }
    }
}

/// Finds the first tautology in `input`.
pub(crate) fn find(input: &[u8]) -> Option<Found> {
    let mut ops = Vec::new();
    let mut i = 0;
    let mut sep_start = 0;
    while i < input.len() {
        let b = input.get(i).copied().unwrap_or(0);
        if !is_word(b) {
            if !is_sep(b) {
                sep_start = i + 1;
            }
            i += 1;
            continue;
        }
        // a whole word w1 = [i, j)
        let mut j = i;
        while input.get(j).is_some_and(|&b| is_word(b)) {
            j += 1;
        }
        let w1 = input.get(i..j).unwrap_or_default();
        let mut k = j;
        while input.get(k).is_some_and(|&b| is_sep(b)) {
            k += 1;
        }
        operators(input, k, &mut ops);
        for &(op_end, want) in &ops {
            let mut m = op_end;
            while input.get(m).is_some_and(|&b| is_sep(b)) {
                m += 1;
            }
            // \b at m: the previous byte is a non-word byte (or m == 0) and input[m] is a word byte
            let boundary_before = m == 0 || !input.get(m - 1).is_some_and(|&b| is_word(b));
            let starts_word = input.get(m).is_some_and(|&b| is_word(b));
            let same = boundary_before && starts_word && {
                let cand = input.get(m..m + w1.len()).unwrap_or_default();
                cand.eq_ignore_ascii_case(w1)
                    && !input.get(m + w1.len()).is_some_and(|&b| is_word(b))
            };
            let hit = match want {
                Want::Same => same,
                Want::Different => starts_word && !same,
            };
            if hit {
                let mut end = m;
                while input.get(end).is_some_and(|&b| is_word(b)) {
                    end += 1;
                }
                return Some(Found {
                    start: sep_start.min(i),
                    end,
                    word: (i, j),
                });
            }
        }
        sep_start = j;
        i = j;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn equal_words_with_equality() {
        assert!(find(b"1=1").is_some());
        assert!(find(b"' or 'a'='a").is_some());
        assert!(find(b"x LIKE X").is_some());
        assert!(find(b"abc sounds  like abc").is_some());
        assert!(find(b"1<=>1").is_some());
    }

    #[test]
    fn different_words_with_inequality() {
        assert!(find(b"1!=2").is_some());
        assert!(find(b"a <> b").is_some());
        assert!(find(b"a is not b").is_some());
        assert!(find(b"2>1").is_some());
    }

    #[test]
    fn non_tautologies() {
        assert!(find(b"1=2").is_none());
        assert!(find(b"a != a").is_none());
        assert!(find(b"hello world").is_none());
        assert!(find(b"a=ab").is_none());
        assert!(find(b"").is_none());
    }

    #[test]
    fn capture_spans() {
        let f = find(b"x ' 1=1").unwrap_or_else(|| unreachable!());
        assert_eq!(f.word, (4, 5));
        assert_eq!(f.end, 7);
    }
}
