//! Lenient SemVer 2.0 precedence for crates.io, npm and Go.
//!
//! The `semver` crate's parser is strict (u64 components, no `v` prefix, exactly three components),
//! but the corpus vectors and real advisory data need more: a `v` prefix equals none, components
//! may exceed u64, missing components count as `0`, components after the third are build data.
//! This module implements SemVer §11 precedence over that lenient form; on strictly valid input it
//! agrees with `semver::Version::cmp_precedence` (checked by a property test).

use std::cmp::Ordering;

use super::cmp_digits;

/// A borrowed, lenient SemVer version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lenient<'a> {
    core: [&'a str; 3],
    pre: Option<&'a str>,
}

/// Parses any string leniently; never fails.
pub fn parse(s: &str) -> Lenient<'_> {
    let s = s.trim();
    let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
    let s = s.split_once('+').map_or(s, |(v, _)| v);
    let (core_str, pre) = match s.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (s, None),
    };
    let mut core = [""; 3];
    for (slot, part) in core.iter_mut().zip(core_str.split('.')) {
        *slot = part;
    }
    Lenient { core, pre }
}

/// Orders one core component: numeric below non-numeric, numerics by value, others bytewise.
fn cmp_component(a: &str, b: &str) -> Ordering {
    let an = a.bytes().all(|c| c.is_ascii_digit());
    let bn = b.bytes().all(|c| c.is_ascii_digit());
    match (an, bn) {
        (true, true) => cmp_digits(a, b),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.cmp(b),
    }
}

/// Orders one pre-release identifier (SemVer §11.4).
fn cmp_ident(a: &str, b: &str) -> Ordering {
    let an = !a.is_empty() && a.bytes().all(|c| c.is_ascii_digit());
    let bn = !b.is_empty() && b.bytes().all(|c| c.is_ascii_digit());
    match (an, bn) {
        (true, true) => cmp_digits(a, b),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.cmp(b),
    }
}

impl Ord for Lenient<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        for (a, b) in self.core.iter().zip(other.core.iter()) {
            let o = cmp_component(a, b);
            if o != Ordering::Equal {
                return o;
            }
        }
        match (self.pre, other.pre) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(a), Some(b)) => {
                let mut ai = a.split('.');
                let mut bi = b.split('.');
                loop {
                    match (ai.next(), bi.next()) {
                        (None, None) => return Ordering::Equal,
                        (None, Some(_)) => return Ordering::Less,
                        (Some(_), None) => return Ordering::Greater,
                        (Some(x), Some(y)) => {
                            let o = cmp_ident(x, y);
                            if o != Ordering::Equal {
                                return o;
                            }
                        }
                    }
                }
            }
        }
    }
}

impl PartialOrd for Lenient<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Compares two versions by lenient SemVer precedence.
pub fn compare(a: &str, b: &str) -> Ordering {
    parse(a).cmp(&parse(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn basics() {
        assert_eq!(compare("0.0.0-0", "0.0.0"), Ordering::Less);
        assert_eq!(compare("1.2.3", "v1.2.3"), Ordering::Equal);
        assert_eq!(compare("0.12.17+1.1.0", "0.12.17"), Ordering::Equal);
        assert_eq!(compare("1.10.1", "1.9.0"), Ordering::Greater);
        assert_eq!(compare("1.0.0-alpha.1", "1.0.0-alpha.beta"), Ordering::Less);
    }

    fn strict() -> impl Strategy<Value = String> {
        (
            0u64..20,
            0u64..20,
            0u64..20,
            proptest::option::of("[0-9a-zA-Z]{1,3}(\\.[0-9a-zA-Z]{1,3}){0,2}"),
        )
            .prop_map(|(a, b, c, p)| match p {
                Some(p) => format!("{a}.{b}.{c}-{p}"),
                None => format!("{a}.{b}.{c}"),
            })
    }

    proptest! {
        #[test]
        fn agrees_with_semver_crate(a in strict(), b in strict()) {
            if let (Ok(x), Ok(y)) = (semver::Version::parse(&a), semver::Version::parse(&b)) {
                prop_assert_eq!(compare(&a, &b), x.cmp_precedence(&y));
            }
        }
    }
}
