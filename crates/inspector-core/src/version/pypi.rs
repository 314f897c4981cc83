//! PEP 440 ordering for PyPI, with a legacy fallback.
//!
//! Valid PEP 440 versions are parsed and ordered by `pep440_rs`. Strings that are not PEP 440
//! (`0.1-bulbasaur`) follow the policy of Python `packaging` before version 22: a *legacy version*
//! sorts below every valid version, and legacy versions compare by packaging's legacy key
//! (runs of digits zero-padded, words prefixed, `pre`/`preview`/`rc` → `c`, `dev` → `@`, `-` →
//! `final-`, trailing zeros dropped). This is written from the behaviour of that algorithm.

use std::cmp::Ordering;
use std::str::FromStr;

/// PEP 503 name normalisation: lowercase, runs of `-`, `_`, `.` collapsed into one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_sep {
                out.push('-');
            }
            in_sep = true;
        } else {
            out.extend(c.to_lowercase());
            in_sep = false;
        }
    }
    out
}

/// Splits a lowercased legacy version into packaging's components.
fn legacy_parts(s: &str) -> Vec<String> {
    let lower = s.to_lowercase();
    let mut raw: Vec<String> = Vec::new();
    let mut chars = lower.chars().peekable();
    // Tokenise into digit runs, letter runs, '.', '-' and other single characters.
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() {
            let mut t = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                t.push(d);
                chars.next();
            }
            raw.push(t);
        } else if c.is_ascii_lowercase() {
            let mut t = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_lowercase()) {
                t.push(d);
                chars.next();
            }
            raw.push(t);
        } else {
            raw.push(c.to_string());
            chars.next();
        }
    }
    let mut parts: Vec<String> = Vec::new();
    let push = |part: String, parts: &mut Vec<String>| {
        if part.starts_with('*') {
            if part.as_str() < "*final" {
                while parts.last().is_some_and(|p| p == "*final-") {
                    parts.pop();
                }
            }
            while parts.last().is_some_and(|p| p == "00000000") {
                parts.pop();
            }
        }
        parts.push(part);
    };
    for tok in raw {
        let mapped = match tok.as_str() {
            "pre" | "preview" | "rc" => "c".to_string(),
            "-" => "final-".to_string(),
            "dev" => "@".to_string(),
            _ => tok,
        };
        if mapped.is_empty() || mapped == "." {
            continue;
        }
        let part = if mapped.starts_with(|c: char| c.is_ascii_digit()) {
            format!("{mapped:0>8}")
        } else {
            format!("*{mapped}")
        };
        push(part, &mut parts);
    }
    push("*final".to_string(), &mut parts);
    parts
}

fn parse(s: &str) -> Option<pep440_rs::Version> {
    pep440_rs::Version::from_str(s.trim()).ok()
}

/// Compares two PyPI versions (PEP 440; legacy strings below all valid ones).
pub fn compare(a: &str, b: &str) -> Ordering {
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => legacy_parts(a).cmp(&legacy_parts(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep440_and_legacy() {
        assert_eq!(compare("1.0.dev0", "1.0a0"), Ordering::Less);
        assert_eq!(compare("1.0.post1", "1.0"), Ordering::Greater);
        assert_eq!(compare("1!1.0", "2.0"), Ordering::Greater);
        assert_eq!(compare("0.1-bulbasaur", "0.1-charmander"), Ordering::Less);
        assert_eq!(compare("0.9-ivysaur", "1.0"), Ordering::Less);
        assert_eq!(normalize_name("Foo__Bar.baz"), "foo-bar-baz");
    }
}
