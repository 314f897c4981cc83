//! Security best-practice checks over an agent's [`Inventory`]: each a component with its
//! own id, severity, rationale and remediation. The checks run on the server.
//!
//! The nine Security Best Practices of Inspector Classic (SSH root login, SSH protocol 2,
//! SSH password authentication, password maximum age, minimum length, complexity, ASLR, DEP,
//! system directory permissions) plus the checks users expect today (empty SSH passwords,
//! password reuse, account-file permissions, world-writable files in system paths, setuid
//! core dumps, a firewall, automatic security updates). Every check is one [`Check`] in
//! [`CHECKS`]; it returns an [`Outcome`] whose failure text is the evidence on this host.
//! A check whose input the inventory lacks (no SSH server, an ARM CPU for DEP, no apt or dnf)
//! is [`Outcome::NotApplicable`], never a failure.

mod filesystem;
mod host;
mod kernel;
mod password;
mod ssh;

use serde::{Deserialize, Serialize};

use crate::inventory::Inventory;

pub use filesystem::{SYSTEM_DIRS, SYSTEM_FILES};

/// Severity of a failed check, in Inspector2's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CheckSeverity {
    /// Informational.
    Informational,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

/// One check that failed on a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckFinding {
    /// Stable check id (`PCS-SSH-ROOT-LOGIN`...): the same check on the same host is the
    /// same finding.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Severity.
    pub severity: CheckSeverity,
    /// What was found on this host (the evidence: setting, value, path).
    pub description: String,
    /// Why it matters.
    pub rationale: String,
    /// What to do.
    pub remediation: String,
}

/// The result of one check on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "result", content = "detail")]
pub enum Outcome {
    /// The host follows the practice.
    Pass,
    /// The host deviates; the text is the evidence.
    Fail(String),
    /// The check does not apply or its input was not reported; the text says why.
    NotApplicable(String),
}

/// A best-practice check: its metadata and the function that evaluates it.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// Stable id (`PCS-<AREA>-<NAME>`).
    pub id: &'static str,
    /// One-line title, phrased as the practice.
    pub title: &'static str,
    /// Severity of a failure.
    pub severity: CheckSeverity,
    /// Why it matters.
    pub rationale: &'static str,
    /// What to do on failure.
    pub remediation: &'static str,
    /// The host configuration the check reads (for findings' file paths).
    pub reads: &'static str,
    /// Evaluates the check.
    pub run: fn(&Inventory) -> Outcome,
}

impl Check {
    /// Runs the check; on failure, the finding with the evidence as its description.
    pub fn finding(&self, inv: &Inventory) -> Option<CheckFinding> {
        match (self.run)(inv) {
            Outcome::Fail(evidence) => Some(CheckFinding {
                id: self.id.to_owned(),
                title: self.title.to_owned(),
                severity: self.severity,
                description: evidence,
                rationale: self.rationale.to_owned(),
                remediation: self.remediation.to_owned(),
            }),
            Outcome::Pass | Outcome::NotApplicable(_) => None,
        }
    }
}

/// Every check, sorted by id.
pub static CHECKS: [Check; 16] = [
    filesystem::ACCOUNT_FILES,
    filesystem::SYSTEM_DIRS_CHECK,
    filesystem::WORLD_WRITABLE,
    host::FIREWALL,
    host::UNATTENDED_UPGRADES,
    kernel::ASLR,
    kernel::DEP,
    kernel::SUID_DUMPABLE,
    password::COMPLEXITY,
    password::MAX_AGE,
    password::MIN_LENGTH,
    password::REUSE,
    ssh::EMPTY_PASSWORDS,
    ssh::PASSWORD_AUTH,
    ssh::PROTOCOL_2,
    ssh::ROOT_LOGIN,
];

/// The check with this id.
pub fn by_id(id: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.id == id)
}

/// Runs every check and returns each outcome, in id order.
pub fn run_all(inv: &Inventory) -> Vec<(&'static Check, Outcome)> {
    CHECKS.iter().map(|c| (c, (c.run)(inv))).collect()
}

/// Runs every check over `inv`; returns the checks that failed, sorted by id.
pub fn evaluate(inv: &Inventory) -> Vec<CheckFinding> {
    CHECKS.iter().filter_map(|c| c.finding(inv)).collect()
}

/// A setting's value from a map, trimmed.
pub(crate) fn setting<'a>(
    map: &'a std::collections::BTreeMap<String, String>,
    key: &str,
) -> Option<&'a str> {
    map.get(key).map(|s| s.trim())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::inventory::{OsInfo, PathMode};

    /// A host that passes every check.
    pub(crate) fn hardened() -> Inventory {
        let map = |kv: &[(&str, &str)]| -> BTreeMap<String, String> {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let mut paths: Vec<PathMode> = SYSTEM_DIRS
            .iter()
            .map(|p| PathMode {
                path: p.to_string(),
                mode: 0o755,
                uid: 0,
                gid: 0,
                is_dir: true,
            })
            .collect();
        paths.push(PathMode {
            path: "/etc/shadow".into(),
            mode: 0o640,
            uid: 0,
            gid: 42,
            is_dir: false,
        });
        paths.push(PathMode {
            path: "/etc/passwd".into(),
            mode: 0o644,
            uid: 0,
            gid: 0,
            is_dir: false,
        });
        Inventory {
            os: OsInfo {
                id: "debian".into(),
                version_id: "12".into(),
                arch: "x86_64".into(),
                ..OsInfo::default()
            },
            sshd: Some(map(&[
                ("permitrootlogin", "no"),
                ("passwordauthentication", "no"),
                ("permitemptypasswords", "no"),
            ])),
            login_defs: map(&[("pass_max_days", "90")]),
            pwquality: map(&[
                ("minlen", "14"),
                ("lcredit", "-1"),
                ("ucredit", "-1"),
                ("dcredit", "-1"),
                ("ocredit", "-1"),
                ("pam_pwquality.present", "yes"),
                ("pam_unix.present", "yes"),
                ("pam_unix.remember", "24"),
            ]),
            sysctls: map(&[
                ("kernel.randomize_va_space", "2"),
                ("fs.suid_dumpable", "0"),
            ]),
            cpu_flags: vec!["nx".into()],
            paths,
            features: map(&[("firewall", "nftables"), ("unattended_upgrades", "enabled")]),
            ..Inventory::default()
        }
    }

    /// The ids of the failed checks.
    pub(crate) fn failed(inv: &Inventory) -> Vec<String> {
        evaluate(inv).into_iter().map(|f| f.id).collect()
    }

    #[test]
    fn a_hardened_host_passes_everything() {
        let inv = hardened();
        for (c, o) in run_all(&inv) {
            assert_eq!(o, Outcome::Pass, "{}", c.id);
        }
    }

    #[test]
    fn an_empty_inventory_fails_nothing_it_cannot_see() {
        // Nothing reported: every check is not applicable rather than failing.
        for (c, o) in run_all(&Inventory::default()) {
            assert!(matches!(o, Outcome::NotApplicable(_)), "{}: {o:?}", c.id);
        }
    }

    #[test]
    fn ids_are_unique_sorted_and_documented() {
        for w in CHECKS.windows(2) {
            assert!(w[0].id < w[1].id, "{} before {}", w[0].id, w[1].id);
        }
        for c in &CHECKS {
            assert!(c.id.starts_with("PCS-"));
            assert!(!c.title.is_empty() && !c.rationale.is_empty() && !c.remediation.is_empty());
            assert_eq!(by_id(c.id).map(|b| b.id), Some(c.id));
        }
    }

    #[test]
    fn findings_carry_metadata_and_evidence() {
        let mut inv = hardened();
        inv.sysctls
            .insert("kernel.randomize_va_space".into(), "0".into());
        let f = evaluate(&inv);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].id, "PCS-KERNEL-ASLR");
        assert_eq!(f[0].severity, CheckSeverity::Medium);
        assert!(f[0].description.contains("is 0"), "{}", f[0].description);
        assert!(f[0].remediation.contains("randomize_va_space"));
    }
}
