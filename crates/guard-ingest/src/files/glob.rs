//! Which files a source's `paths` name: files, directories (every regular file under them,
//! recursively) and globs with `*` (any run of characters but `/`) and `?` (one character) in
//! any path component. Walks are bounded in depth and in files.

use std::path::{Path, PathBuf};

/// Deepest directory level walked under a named directory.
pub const MAX_DEPTH: usize = 16;
/// Most files one source follows.
pub const MAX_FILES: usize = 100_000;

/// Whether `name` matches `pattern` (`*`, `?`; everything else literal).
pub fn wildcard(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(c) if *c == '?' || Some(c) == n.get(ni) => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// Every regular file `paths` name, sorted and without repeats.
pub fn expand(paths: &[String]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if has_wildcard(p) {
            let path = Path::new(p);
            let mut base = PathBuf::new();
            let mut rest = Vec::new();
            for c in path.components() {
                let s = c.as_os_str().to_string_lossy().into_owned();
                if rest.is_empty() && !has_wildcard(&s) {
                    base.push(c);
                } else {
                    rest.push(s);
                }
            }
            if base.as_os_str().is_empty() {
                base.push(".");
            }
            matching(&base, &rest, &mut out);
        } else {
            add(Path::new(p), 0, &mut out);
        }
        if out.len() >= MAX_FILES {
            break;
        }
    }
    out.sort();
    out.dedup();
    out.truncate(MAX_FILES);
    out
}

fn matching(dir: &Path, rest: &[String], out: &mut Vec<PathBuf>) {
    let Some((first, tail)) = rest.split_first() else {
        add(dir, 0, out);
        return;
    };
    if !has_wildcard(first) {
        matching(&dir.join(first), tail, out);
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<_> = entries.filter_map(|e| e.ok()).collect();
    names.sort_by_key(std::fs::DirEntry::file_name);
    for e in names {
        if out.len() >= MAX_FILES {
            return;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        if wildcard(first, &name) {
            matching(&e.path(), tail, out);
        }
    }
}

fn add(path: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if out.len() >= MAX_FILES {
        return;
    }
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    if meta.is_file() {
        out.push(path.to_path_buf());
    } else if meta.is_dir() && depth < MAX_DEPTH {
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        for e in entries.filter_map(|e| e.ok()) {
            add(&e.path(), depth + 1, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wildcards_match() {
        assert!(wildcard("*.log", "a.log"));
        assert!(wildcard("*.log", ".log"));
        assert!(!wildcard("*.log", "a.log.1"));
        assert!(wildcard("*.log*", "a.log.1"));
        assert!(wildcard("a?c", "abc"));
        assert!(!wildcard("a?c", "ac"));
        assert!(wildcard("*", ""));
        assert!(wildcard("**x", "yyx"));
        assert!(!wildcard("x", "xy"));
    }

    #[test]
    fn expands_files_directories_and_globs() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::create_dir_all(root.join("c")).unwrap();
        for f in ["a/1.log", "a/b/2.log", "a/b/3.txt", "c/4.log", "c/5.gz"] {
            std::fs::write(root.join(f), "x").unwrap();
        }
        let s = |p: &Path| p.display().to_string();
        let got = expand(&[s(&root.join("a"))]);
        assert_eq!(got.len(), 3);
        let got = expand(&[s(&root.join("*/*.log"))]);
        assert_eq!(got, [root.join("a/1.log"), root.join("c/4.log")]);
        let got = expand(&[s(&root.join("c/4.log")), s(&root.join("c/*"))]);
        assert_eq!(got, [root.join("c/4.log"), root.join("c/5.gz")]);
        assert!(expand(&[s(&root.join("missing"))]).is_empty());
    }

    proptest! {
        #[test]
        fn star_matches_everything_and_literals_match_themselves(name in "[a-z.]{0,12}") {
            prop_assert!(wildcard("*", &name));
            prop_assert!(wildcard(&name, &name));
            let all_q = "?".repeat(name.chars().count());
            prop_assert!(wildcard(&all_q, &name));
        }
    }
}
