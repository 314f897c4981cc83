//! File-system permission checks over the path modes the agent reports: system directories
//! ([`SYSTEM_DIRS`]), account files ([`SYSTEM_FILES`]) and the world-writable entries the
//! agent found in system paths (every other reported path).

use std::fmt::Write as _;

use super::{Check, CheckSeverity, Outcome};
use crate::inventory::PathMode;

/// Directories holding binaries, libraries and system configuration; the agent reports the
/// mode of each that exists.
pub const SYSTEM_DIRS: [&str; 14] = [
    "/",
    "/bin",
    "/sbin",
    "/usr",
    "/usr/bin",
    "/usr/sbin",
    "/usr/local/bin",
    "/etc",
    "/lib",
    "/lib64",
    "/usr/lib",
    "/usr/lib64",
    "/boot",
    "/var/log",
];

/// Account and SSH files whose modes the agent reports.
pub const SYSTEM_FILES: [&str; 5] = [
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/gshadow",
    "/etc/ssh/sshd_config",
];

/// Most paths quoted in one finding.
const MAX_QUOTED: usize = 10;

fn describe(p: &PathMode) -> String {
    format!(
        "{} (mode {:04o}, uid {}, gid {})",
        p.path, p.mode, p.uid, p.gid
    )
}

fn quote_list(paths: &[&PathMode]) -> String {
    let mut s = paths
        .iter()
        .take(MAX_QUOTED)
        .map(|p| describe(p))
        .collect::<Vec<_>>()
        .join("; ");
    if paths.len() > MAX_QUOTED {
        let _ = write!(s, "; and {} more", paths.len() - MAX_QUOTED);
    }
    s
}

/// Whether a system directory is writable by someone other than root. Group write is
/// tolerated for a root group, and on `/var/log` (Ubuntu: `root:syslog 0775`).
fn dir_is_loose(p: &PathMode) -> bool {
    let other_write = p.mode & 0o002 != 0;
    let group_write = p.mode & 0o020 != 0 && p.gid != 0 && p.path != "/var/log";
    p.uid != 0 || other_write || group_write
}

/// Inspector Classic SBP: configure permissions for system directories.
pub(super) const SYSTEM_DIRS_CHECK: Check = Check {
    id: "PCS-FS-SYSTEM-DIRS",
    title: "Make system directories writable by root only",
    severity: CheckSeverity::High,
    rationale: "Whoever can write to a directory of binaries, libraries or system configuration can replace what \
                root runs and take over the host.",
    remediation: "Make each listed directory owned by root and not writable by group or others, e.g. `chown root:root \
                  DIR && chmod go-w DIR`, and find out how it was changed.",
    reads: "/",
    run: |inv| {
        let dirs: Vec<&PathMode> = inv
            .paths
            .iter()
            .filter(|p| SYSTEM_DIRS.contains(&p.path.as_str()))
            .collect();
        if dirs.is_empty() {
            return Outcome::NotApplicable("no system directory modes were reported".into());
        }
        let loose: Vec<&PathMode> = dirs.into_iter().filter(|p| dir_is_loose(p)).collect();
        if loose.is_empty() {
            Outcome::Pass
        } else {
            Outcome::Fail(format!(
                "System directories writable by non-root users: {}.",
                quote_list(&loose)
            ))
        }
    },
};

/// Account files: `/etc/passwd` and `/etc/group` not writable by non-root, `/etc/shadow`
/// and `/etc/gshadow` not readable by others (OpenSCAP's account-file rules).
pub(super) const ACCOUNT_FILES: Check = Check {
    id: "PCS-FS-ACCOUNT-FILES",
    title: "Give account files safe owners and modes",
    severity: CheckSeverity::High,
    rationale: "A writable /etc/passwd or /etc/group lets a user make themselves root; a readable /etc/shadow hands \
                out every password hash for offline cracking.",
    remediation: "`chown root: /etc/passwd /etc/group /etc/shadow /etc/gshadow`, `chmod 644 /etc/passwd /etc/group`, \
                  `chmod 640 /etc/shadow /etc/gshadow` (group shadow on Debian, or 000 on RHEL).",
    reads: "/etc/shadow",
    run: |inv| {
        let files: Vec<&PathMode> = inv
            .paths
            .iter()
            .filter(|p| SYSTEM_FILES.contains(&p.path.as_str()) && p.path != "/etc/ssh/sshd_config")
            .collect();
        if files.is_empty() {
            return Outcome::NotApplicable("no account file modes were reported".into());
        }
        let bad: Vec<&PathMode> = files
            .into_iter()
            .filter(|p| {
                let secret = p.path.ends_with("shadow");
                p.uid != 0 || p.mode & 0o022 != 0 || (secret && p.mode & 0o004 != 0)
            })
            .collect();
        if bad.is_empty() {
            Outcome::Pass
        } else {
            Outcome::Fail(format!(
                "Account files writable by non-root users or shadow files readable by everyone: {}.",
                quote_list(&bad)
            ))
        }
    },
};

/// World-writable files and directories in system paths.
pub(super) const WORLD_WRITABLE: Check = Check {
    id: "PCS-FS-WORLD-WRITABLE",
    title: "Remove world write access from files in system paths",
    severity: CheckSeverity::Medium,
    rationale: "Any local user or compromised service can modify a world-writable file under /etc, /usr or /boot, \
                and so change what root runs or how the system is configured.",
    remediation: "Remove the write permission for others (`chmod o-w PATH`), or give a shared directory the sticky \
                  bit (`chmod +t DIR`), after checking which package or administrator changed it.",
    reads: "/etc",
    run: |inv| {
        if inv.paths.is_empty() {
            return Outcome::NotApplicable("no path modes were reported".into());
        }
        let ww: Vec<&PathMode> = inv
            .paths
            .iter()
            .filter(|p| {
                !SYSTEM_DIRS.contains(&p.path.as_str())
                    && p.mode & 0o002 != 0
                    && !(p.is_dir && p.mode & 0o1000 != 0)
            })
            .collect();
        if ww.is_empty() {
            Outcome::Pass
        } else {
            Outcome::Fail(format!(
                "{} world-writable entries in system paths: {}.",
                ww.len(),
                quote_list(&ww)
            ))
        }
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::tests::{failed, hardened};
    use crate::inventory::Inventory;

    fn set(inv: &mut Inventory, path: &str, mode: u32, uid: u32, gid: u32, is_dir: bool) {
        inv.paths.retain(|p| p.path != path);
        inv.paths.push(PathMode {
            path: path.into(),
            mode,
            uid,
            gid,
            is_dir,
        });
    }

    #[test]
    fn system_dirs() {
        let mut inv = hardened();
        set(&mut inv, "/usr/bin", 0o777, 0, 0, true);
        assert_eq!(failed(&inv), ["PCS-FS-SYSTEM-DIRS"]);
        let mut inv = hardened();
        set(&mut inv, "/etc", 0o755, 1000, 0, true);
        assert_eq!(failed(&inv), ["PCS-FS-SYSTEM-DIRS"]);
        let mut inv = hardened();
        set(&mut inv, "/usr/local/bin", 0o2775, 0, 50, true);
        assert_eq!(
            failed(&inv),
            ["PCS-FS-SYSTEM-DIRS"],
            "group staff may not write"
        );
        let mut inv = hardened();
        set(&mut inv, "/var/log", 0o775, 0, 104, true);
        assert!(failed(&inv).is_empty(), "Ubuntu's /var/log is fine");
        let f = super::super::evaluate(&{
            let mut i = hardened();
            set(&mut i, "/boot", 0o757, 0, 0, true);
            i
        });
        assert!(
            f[0].description.contains("/boot (mode 0757, uid 0, gid 0)"),
            "{}",
            f[0].description
        );
    }

    #[test]
    fn account_files() {
        let mut inv = hardened();
        set(&mut inv, "/etc/shadow", 0o644, 0, 42, false);
        assert_eq!(failed(&inv), ["PCS-FS-ACCOUNT-FILES"]);
        let mut inv = hardened();
        set(&mut inv, "/etc/passwd", 0o666, 0, 0, false);
        // /etc/passwd is also world-writable.
        assert_eq!(
            failed(&inv),
            ["PCS-FS-ACCOUNT-FILES", "PCS-FS-WORLD-WRITABLE"]
        );
    }

    #[test]
    fn world_writable() {
        let mut inv = hardened();
        set(&mut inv, "/usr/share/shared", 0o1777, 0, 0, true);
        assert!(failed(&inv).is_empty(), "sticky directories are fine");
        for i in 0..12 {
            set(
                &mut inv,
                &format!("/etc/cron.d/job{i:02}"),
                0o666,
                0,
                0,
                false,
            );
        }
        let f = super::super::evaluate(&inv);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].id, "PCS-FS-WORLD-WRITABLE");
        assert!(f[0].description.starts_with("12 world-writable"));
        assert!(f[0].description.contains("and 2 more"));
    }
}
