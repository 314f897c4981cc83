//! Ecosystems and their version orderings.
//!
//! Every comparator here is total on arbitrary strings (it never panics and never refuses): strings a
//! scheme cannot parse fall back to a documented rule (usually "invalid sorts below valid, invalid
//! versus invalid by bytes"), so OSV range evaluation can always proceed.
//!
//! | Ecosystem | Scheme | Implementation |
//! |---|---|---|
//! | crates.io, npm, Go | [`VersionScheme::Semver`] | own lenient SemVer 2.0 precedence ([`semver_lenient`]) |
//! | PyPI | [`VersionScheme::Pep440`] | `pep440_rs` + packaging's legacy fallback ([`pypi`]) |
//! | Debian, Ubuntu | [`VersionScheme::Dpkg`] | `debversion` |
//! | Red Hat, Rocky, AlmaLinux, SUSE, openSUSE, … | [`VersionScheme::Rpm`] | `rpm-version` (rpmvercmp) |
//! | Alpine, Wolfi, Chainguard | [`VersionScheme::Apk`] | own apk-tools token comparison ([`alpine`]) |
//! | Maven | [`VersionScheme::Maven`] | own `ComparableVersion` model ([`maven`]) |
//! | unknown | [`VersionScheme::Generic`] | digit/non-digit run comparison ([`generic`]) |

pub mod alpine;
pub mod generic;
pub mod maven;
pub mod pypi;
pub mod semver_lenient;

use std::cmp::Ordering;
use std::fmt;

/// An OSV ecosystem (the part of `affected[].package.ecosystem` before the first `:`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ecosystem {
    /// `crates.io` (Rust).
    CratesIo,
    /// `PyPI` (Python).
    PyPI,
    /// `npm` (JavaScript).
    Npm,
    /// `Go` (module paths, plus `stdlib`/`toolchain`).
    Go,
    /// `Debian[:release]`.
    Debian,
    /// `Ubuntu:<YY.MM>[:LTS]`.
    Ubuntu,
    /// `Alpine:v<branch>`.
    Alpine,
    /// `Wolfi` / `Chainguard` (apk based).
    Wolfi,
    /// `Red Hat:<cpe>`.
    RedHat,
    /// `Rocky Linux[:N]`.
    RockyLinux,
    /// `AlmaLinux[:N]`.
    AlmaLinux,
    /// `SUSE:<PRETTY_NAME>`.
    Suse,
    /// `openSUSE:<PRETTY_NAME>`.
    OpenSuse,
    /// `Maven` (`groupId:artifactId`).
    Maven,
    /// Any other ecosystem string (kept verbatim, never a crash: osv-scanner#2734).
    Other(String),
}

impl Ecosystem {
    /// Parses an OSV ecosystem string into the ecosystem and the optional release suffix
    /// (`"Debian:12"` → `(Debian, Some("12"))`).
    pub fn parse_osv(s: &str) -> (Ecosystem, Option<&str>) {
        let (base, release) = match s.split_once(':') {
            Some((b, r)) => (b, Some(r)),
            None => (s, None),
        };
        let eco = match base {
            "crates.io" => Ecosystem::CratesIo,
            "PyPI" => Ecosystem::PyPI,
            "npm" => Ecosystem::Npm,
            "Go" => Ecosystem::Go,
            "Debian" => Ecosystem::Debian,
            "Ubuntu" => Ecosystem::Ubuntu,
            "Alpine" => Ecosystem::Alpine,
            "Wolfi" | "Chainguard" => Ecosystem::Wolfi,
            "Red Hat" => Ecosystem::RedHat,
            "Rocky Linux" => Ecosystem::RockyLinux,
            "AlmaLinux" => Ecosystem::AlmaLinux,
            "SUSE" => Ecosystem::Suse,
            "openSUSE" => Ecosystem::OpenSuse,
            "Maven" => Ecosystem::Maven,
            _ => return (Ecosystem::Other(s.to_string()), None),
        };
        (eco, release.filter(|r| !r.is_empty()))
    }

    /// The version scheme used to order this ecosystem's versions.
    pub fn scheme(&self) -> VersionScheme {
        match self {
            Ecosystem::CratesIo | Ecosystem::Npm | Ecosystem::Go => VersionScheme::Semver,
            Ecosystem::PyPI => VersionScheme::Pep440,
            Ecosystem::Debian | Ecosystem::Ubuntu => VersionScheme::Dpkg,
            Ecosystem::Alpine | Ecosystem::Wolfi => VersionScheme::Apk,
            Ecosystem::RedHat
            | Ecosystem::RockyLinux
            | Ecosystem::AlmaLinux
            | Ecosystem::Suse
            | Ecosystem::OpenSuse => VersionScheme::Rpm,
            Ecosystem::Maven => VersionScheme::Maven,
            Ecosystem::Other(_) => VersionScheme::Generic,
        }
    }

    /// Whether this ecosystem's ordering is a real, verified implementation (false for
    /// [`VersionScheme::Generic`], where ECOSYSTEM ranges are only a best effort).
    pub fn has_verified_ordering(&self) -> bool {
        self.scheme() != VersionScheme::Generic
    }

    /// Normalises a package name the way the ecosystem compares names (PEP 503 for PyPI;
    /// verbatim elsewhere).
    pub fn normalize_name(&self, name: &str) -> String {
        match self {
            Ecosystem::PyPI => pypi::normalize_name(name),
            _ => name.to_string(),
        }
    }

    /// The canonical OSV string of the ecosystem (without release).
    pub fn as_str(&self) -> &str {
        match self {
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Npm => "npm",
            Ecosystem::Go => "Go",
            Ecosystem::Debian => "Debian",
            Ecosystem::Ubuntu => "Ubuntu",
            Ecosystem::Alpine => "Alpine",
            Ecosystem::Wolfi => "Wolfi",
            Ecosystem::RedHat => "Red Hat",
            Ecosystem::RockyLinux => "Rocky Linux",
            Ecosystem::AlmaLinux => "AlmaLinux",
            Ecosystem::Suse => "SUSE",
            Ecosystem::OpenSuse => "openSUSE",
            Ecosystem::Maven => "Maven",
            Ecosystem::Other(s) => s,
        }
    }

    /// Compares two versions with this ecosystem's ordering.
    pub fn compare(&self, a: &str, b: &str) -> Ordering {
        self.scheme().compare(a, b)
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Ecosystem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Ecosystem {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Ecosystem::parse_osv(&s).0)
    }
}

/// A version ordering scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VersionScheme {
    /// SemVer 2.0 precedence, lenient (`v` prefix, big numbers, missing components).
    Semver,
    /// PEP 440, with packaging's legacy ordering for non-PEP 440 strings (sorted below all valid ones).
    Pep440,
    /// dpkg ordering (`[epoch:]upstream[-revision]`).
    Dpkg,
    /// rpmvercmp over `[epoch:]version[-release]`.
    Rpm,
    /// apk-tools ordering.
    Apk,
    /// Maven `ComparableVersion` ordering.
    Maven,
    /// Generic digit/non-digit run comparison.
    Generic,
}

/// Longest version string any comparator looks at; longer inputs are compared on this prefix only,
/// which bounds time per comparison.
pub const MAX_VERSION_LEN: usize = 256;

fn bounded(s: &str) -> &str {
    if s.len() <= MAX_VERSION_LEN {
        return s;
    }
    let mut end = MAX_VERSION_LEN;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

impl VersionScheme {
    /// Compares two version strings. Total on arbitrary input; never panics.
    pub fn compare(self, a: &str, b: &str) -> Ordering {
        let (a, b) = (bounded(a), bounded(b));
        match self {
            VersionScheme::Semver => semver_lenient::compare(a, b),
            VersionScheme::Pep440 => pypi::compare(a, b),
            VersionScheme::Dpkg => compare_dpkg(a, b),
            VersionScheme::Rpm => compare_rpm(a, b),
            VersionScheme::Apk => alpine::compare(a, b),
            VersionScheme::Maven => maven::compare(a, b),
            VersionScheme::Generic => generic::compare(a, b),
        }
    }
}

fn parse_dpkg(s: &str) -> Option<debversion::Version> {
    s.parse::<debversion::Version>()
        .ok()
        .or_else(|| debversion::Version::parse_lenient(s).ok())
}

/// dpkg ordering via `debversion`; strings it cannot parse sort below all valid ones and compare
/// among themselves bytewise.
fn compare_dpkg(a: &str, b: &str) -> Ordering {
    match (parse_dpkg(a), parse_dpkg(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => a.cmp(b),
    }
}

/// rpmvercmp via `rpm-version` over the whole `[epoch:]version[-release]` string.
fn compare_rpm(a: &str, b: &str) -> Ordering {
    rpm_version::rpm_evr_compare(a, b)
}

/// Compares two strings of ASCII digits numerically, without any size limit.
pub(crate) fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecosystem_parse() {
        assert_eq!(
            Ecosystem::parse_osv("Debian:12"),
            (Ecosystem::Debian, Some("12"))
        );
        assert_eq!(
            Ecosystem::parse_osv("crates.io"),
            (Ecosystem::CratesIo, None)
        );
        assert_eq!(
            Ecosystem::parse_osv("Echo"),
            (Ecosystem::Other("Echo".into()), None)
        );
        assert_eq!(
            Ecosystem::parse_osv("Alpine:v3.16").0.scheme(),
            VersionScheme::Apk
        );
    }

    #[test]
    fn dpkg_and_rpm_basics() {
        let d = VersionScheme::Dpkg;
        assert_eq!(d.compare("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(d.compare("1:0.9", "2.0"), Ordering::Greater);
        assert_eq!(d.compare("1.2.3-1~deb7u1", "1.2.3-1"), Ordering::Less);
        let r = VersionScheme::Rpm;
        assert_eq!(r.compare("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(r.compare("1.0^git1", "1.0"), Ordering::Greater);
        assert_eq!(r.compare("1.0^git1", "1.0.1"), Ordering::Less);
        assert_eq!(r.compare("1:1.0", "2.0"), Ordering::Greater);
    }

    #[test]
    fn long_inputs_are_bounded() {
        let a = "1".repeat(10_000);
        let b = format!("{a}2");
        assert_eq!(VersionScheme::Semver.compare(&a, &b), Ordering::Equal);
    }

    use proptest::prelude::*;

    const SCHEMES: [VersionScheme; 7] = [
        VersionScheme::Maven,
        VersionScheme::Semver,
        VersionScheme::Pep440,
        VersionScheme::Dpkg,
        VersionScheme::Rpm,
        VersionScheme::Apk,
        VersionScheme::Generic,
    ];

    /// Version-like strings over the characters the schemes treat specially.
    fn versionish() -> impl Strategy<Value = String> {
        "[0-9a-cA-Crv.:~^+_!-]{0,10}"
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn never_panics_on_any_string(a in "\\PC{0,40}", b in "\\PC{0,40}") {
            for s in SCHEMES {
                let _ = s.compare(&a, &b);
            }
        }

        #[test]
        fn total_order(a in versionish(), b in versionish(), c in versionish()) {
            for s in SCHEMES {
                prop_assert_eq!(s.compare(&a, &a), Ordering::Equal, "{:?} reflexive {}", s, a);
                prop_assert_eq!(s.compare(&a, &b), s.compare(&b, &a).reverse(), "{:?} antisym {} {}", s, a, b);
                if s == VersionScheme::Maven {
                    // Maven's ComparableVersion model is not transitive on malformed input
                    // ("-A0" < "" < "A" but "-A0" > "A": a list beats a qualifier, yet compares
                    // to "nothing" by content). Range evaluation never relies on transitivity
                    // (insertion sort), so Maven is only checked for reflexivity and antisymmetry.
                    continue;
                }
                let (ab, bc, ac) = (s.compare(&a, &b), s.compare(&b, &c), s.compare(&a, &c));
                if ab != Ordering::Greater && bc != Ordering::Greater {
                    prop_assert_ne!(ac, Ordering::Greater, "{:?} transitive {} {} {}", s, a, b, c);
                }
                if ab == Ordering::Equal && bc == Ordering::Equal {
                    prop_assert_eq!(ac, Ordering::Equal, "{:?} eq-transitive {} {} {}", s, a, b, c);
                }
            }
        }
    }
}
