//! Generic ordering for ecosystems without a verified comparator (Maven and unknown ones).
//!
//! Splits on runs of digits and non-digits (separators `.`, `-`, `_`, `+` are boundaries), compares
//! digit runs numerically and other runs case-insensitively; a missing run sorts lower. This is
//! only a best effort: OSV advisories for such ecosystems should enumerate `versions`.

use std::cmp::Ordering;

use super::cmp_digits;

fn runs(s: &str) -> Vec<(bool, String)> {
    let mut out: Vec<(bool, String)> = Vec::new();
    for c in s.chars() {
        if matches!(c, '.' | '-' | '_' | '+') {
            out.push((false, String::new()));
            continue;
        }
        let digit = c.is_ascii_digit();
        match out.last_mut() {
            Some((d, run)) if *d == digit && (!run.is_empty()) => run.extend(c.to_lowercase()),
            Some((d, run)) if run.is_empty() => {
                *d = digit;
                run.extend(c.to_lowercase());
            }
            _ => out.push((digit, c.to_lowercase().collect())),
        }
    }
    out.retain(|(_, r)| !r.is_empty());
    out
}

/// Compares two versions with the generic rule.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (ra, rb) = (runs(a), runs(b));
    for (x, y) in ra.iter().zip(rb.iter()) {
        let o = match (x.0, y.0) {
            (true, true) => cmp_digits(&x.1, &y.1),
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => x.1.cmp(&y.1),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    ra.len().cmp(&rb.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        assert_eq!(compare("1.10", "1.9"), Ordering::Greater);
        assert_eq!(compare("1.0", "1.0.1"), Ordering::Less);
        assert_eq!(compare("1.0-RC1", "1.0-rc1"), Ordering::Equal);
    }
}
