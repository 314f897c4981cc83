//! Password policy checks over `/etc/login.defs` and the password-quality settings.
//!
//! The agent reports `pwquality.conf` keys as they are (`minlen`) and PAM module arguments
//! as `<module>.<arg>` (`pam_pwquality.minlen`, `pam_unix.remember`, and `<module>.present`
//! for each module in the password stack). A module argument overrides the file, as PAM does.

use std::collections::BTreeMap;

use super::{Check, CheckSeverity, Outcome, setting};
use crate::inventory::Inventory;

/// Longest acceptable `PASS_MAX_DAYS` (CIS: 365).
pub const MAX_PASSWORD_AGE_DAYS: i64 = 365;
/// Shortest acceptable minimum password length (CIS: 14).
pub const MIN_PASSWORD_LENGTH: i64 = 14;
/// Fewest remembered passwords (Inspector Classic: 12).
pub const MIN_REMEMBERED: i64 = 12;

/// Whether the host reported any password-quality or PAM settings at all.
fn pam_known(pw: &BTreeMap<String, String>) -> bool {
    !pw.is_empty()
}

/// The effective value of a quality setting: a PAM argument first, then the file.
fn quality(pw: &BTreeMap<String, String>, key: &str) -> Option<(i64, String)> {
    for (k, from) in [
        (format!("pam_pwquality.{key}"), "pam_pwquality argument"),
        (format!("pam_cracklib.{key}"), "pam_cracklib argument"),
        (key.to_owned(), "pwquality.conf"),
    ] {
        if let Some(v) = setting(pw, &k).and_then(|v| v.parse::<i64>().ok()) {
            return Some((v, format!("{key}={v} ({from})")));
        }
    }
    None
}

fn not_applicable_without_pam(inv: &Inventory) -> Option<Outcome> {
    (!pam_known(&inv.pwquality)).then(|| {
        Outcome::NotApplicable("no PAM password stack or pwquality settings were reported".into())
    })
}

/// Inspector Classic SBP: configure password maximum age.
pub(super) const MAX_AGE: Check = Check {
    id: "PCS-PASSWORD-MAX-AGE",
    title: "Configure a password maximum age",
    severity: CheckSeverity::Medium,
    rationale: "A password that never expires stays useful to whoever learned it, for as long as the account exists.",
    remediation: "Set `PASS_MAX_DAYS 365` (or less) in /etc/login.defs for new accounts, and `chage --maxdays 365 \
                  <user>` for existing ones.",
    reads: "/etc/login.defs",
    run: |inv| {
        if inv.login_defs.is_empty() {
            return Outcome::NotApplicable("/etc/login.defs was not reported".into());
        }
        match setting(&inv.login_defs, "pass_max_days") {
            None => Outcome::Fail(
                "PASS_MAX_DAYS is not set in /etc/login.defs: passwords never expire.".into(),
            ),
            Some(v) => match v.parse::<i64>() {
                Ok(d) if (0..=MAX_PASSWORD_AGE_DAYS).contains(&d) => Outcome::Pass,
                _ => Outcome::Fail(format!(
                    "PASS_MAX_DAYS is {v} in /etc/login.defs (more than {MAX_PASSWORD_AGE_DAYS} days, or no maximum)."
                )),
            },
        }
    },
};

/// Inspector Classic SBP: configure password minimum length.
pub(super) const MIN_LENGTH: Check = Check {
    id: "PCS-PASSWORD-MIN-LENGTH",
    title: "Configure a password minimum length",
    severity: CheckSeverity::Medium,
    rationale: "Short passwords fall quickly to guessing and offline cracking.",
    remediation: "Install pam_pwquality (libpam-pwquality) and set `minlen = 14` in /etc/security/pwquality.conf, or \
                  `minlen=14` on the pam_pwquality.so (or pam_cracklib.so) line of the PAM password stack.",
    reads: "/etc/security/pwquality.conf",
    run: |inv| {
        if let Some(na) = not_applicable_without_pam(inv) {
            return na;
        }
        match quality(&inv.pwquality, "minlen") {
            Some((n, _)) if n >= MIN_PASSWORD_LENGTH => Outcome::Pass,
            Some((_, why)) => Outcome::Fail(format!(
                "The minimum password length is too short: {why}; at least {MIN_PASSWORD_LENGTH} is recommended."
            )),
            None => Outcome::Fail(
                "No minimum password length is configured (no minlen in pwquality.conf or on pam_pwquality/pam_cracklib)."
                    .into(),
            ),
        }
    },
};

/// Inspector Classic SBP: configure password complexity.
pub(super) const COMPLEXITY: Check = Check {
    id: "PCS-PASSWORD-COMPLEXITY",
    title: "Configure password complexity",
    severity: CheckSeverity::Medium,
    rationale: "Passwords drawn from one character class are far easier to guess than ones that mix lower case, \
                upper case, digits and symbols.",
    remediation: "Set `lcredit = -1`, `ucredit = -1`, `dcredit = -1` and `ocredit = -1` (or `minclass = 4`) in \
                  /etc/security/pwquality.conf, or as arguments of pam_pwquality.so / pam_cracklib.so.",
    reads: "/etc/security/pwquality.conf",
    run: |inv| {
        if let Some(na) = not_applicable_without_pam(inv) {
            return na;
        }
        if quality(&inv.pwquality, "minclass").is_some_and(|(n, _)| n >= 4) {
            return Outcome::Pass;
        }
        let missing: Vec<&str> = ["lcredit", "ucredit", "dcredit", "ocredit"]
            .into_iter()
            .filter(|k| quality(&inv.pwquality, k).is_none_or(|(n, _)| n >= 0))
            .collect();
        if missing.is_empty() {
            Outcome::Pass
        } else {
            Outcome::Fail(format!(
                "Passwords are not required to mix character classes: {} not set to a negative value, and minclass is below 4.",
                missing.join(", ")
            ))
        }
    },
};

/// Inspector Classic SBP (second half of complexity): remember previous passwords.
pub(super) const REUSE: Check = Check {
    id: "PCS-PASSWORD-REUSE",
    title: "Prevent reuse of recent passwords",
    severity: CheckSeverity::Medium,
    rationale: "When users may switch back to an old password, a leaked old password is as good as the current one.",
    remediation: "Add `remember=12` (or more) to the pam_unix.so or pam_pwhistory.so line of the PAM password stack \
                  (/etc/pam.d/common-password or /etc/pam.d/system-auth).",
    reads: "/etc/pam.d/common-password",
    run: |inv| {
        if let Some(na) = not_applicable_without_pam(inv) {
            return na;
        }
        let best = ["pam_pwhistory.remember", "pam_unix.remember"]
            .into_iter()
            .filter_map(|k| {
                setting(&inv.pwquality, k)
                    .and_then(|v| v.parse::<i64>().ok())
                    .map(|n| (n, k))
            })
            .max();
        match best {
            Some((n, _)) if n >= MIN_REMEMBERED => Outcome::Pass,
            Some((n, k)) => Outcome::Fail(format!(
                "Only {n} previous passwords are remembered ({k}); at least {MIN_REMEMBERED} is recommended."
            )),
            None => Outcome::Fail(
                "Previous passwords are not remembered (no remember= on pam_unix.so or pam_pwhistory.so).".into(),
            ),
        }
    },
};

#[cfg(test)]
mod tests {
    use crate::checks::tests::{failed, hardened};
    use crate::inventory::Inventory;

    fn pw(edit: impl FnOnce(&mut Inventory)) -> Vec<String> {
        let mut inv = hardened();
        edit(&mut inv);
        failed(&inv)
    }

    #[test]
    fn max_age() {
        assert_eq!(
            pw(|i| {
                i.login_defs.insert("pass_max_days".into(), "99999".into());
            }),
            ["PCS-PASSWORD-MAX-AGE"]
        );
        assert_eq!(
            pw(|i| {
                i.login_defs.insert("pass_max_days".into(), "-1".into());
            }),
            ["PCS-PASSWORD-MAX-AGE"]
        );
        assert_eq!(
            pw(|i| {
                i.login_defs.remove("pass_max_days");
                i.login_defs.insert("umask".into(), "022".into());
            }),
            ["PCS-PASSWORD-MAX-AGE"]
        );
        assert!(
            pw(|i| {
                i.login_defs.insert("pass_max_days".into(), "365".into());
            })
            .is_empty()
        );
        assert!(
            pw(|i| i.login_defs.clear()).is_empty(),
            "no login.defs: not applicable"
        );
    }

    #[test]
    fn min_length_pam_argument_overrides_the_file() {
        assert_eq!(
            pw(|i| {
                i.pwquality.insert("minlen".into(), "8".into());
            }),
            ["PCS-PASSWORD-MIN-LENGTH"]
        );
        assert!(
            pw(|i| {
                i.pwquality.insert("minlen".into(), "8".into());
                i.pwquality
                    .insert("pam_pwquality.minlen".into(), "16".into());
            })
            .is_empty()
        );
        assert_eq!(
            pw(|i| {
                i.pwquality.remove("minlen");
            }),
            ["PCS-PASSWORD-MIN-LENGTH"]
        );
    }

    #[test]
    fn complexity() {
        assert_eq!(
            pw(|i| {
                i.pwquality.insert("ocredit".into(), "0".into());
            }),
            ["PCS-PASSWORD-COMPLEXITY"]
        );
        assert!(
            pw(|i| {
                i.pwquality.insert("ocredit".into(), "0".into());
                i.pwquality.insert("minclass".into(), "4".into());
            })
            .is_empty()
        );
        let ids = pw(|i| {
            i.pwquality.remove("dcredit");
        });
        assert_eq!(ids, ["PCS-PASSWORD-COMPLEXITY"]);
    }

    #[test]
    fn reuse() {
        assert_eq!(
            pw(|i| {
                i.pwquality.insert("pam_unix.remember".into(), "5".into());
            }),
            ["PCS-PASSWORD-REUSE"]
        );
        assert!(
            pw(|i| {
                i.pwquality.insert("pam_unix.remember".into(), "5".into());
                i.pwquality
                    .insert("pam_pwhistory.remember".into(), "12".into());
            })
            .is_empty()
        );
        assert_eq!(
            pw(|i| {
                i.pwquality.remove("pam_unix.remember");
            }),
            ["PCS-PASSWORD-REUSE"]
        );
    }

    #[test]
    fn no_pam_no_password_findings() {
        assert!(pw(|i| i.pwquality.clear()).is_empty());
    }
}
