//! Host collectors: each reads one part of the host under a configurable root and fills one
//! section of the [`Inventory`].
//!
//! Every path is taken relative to [`CollectOptions::root`] (default `/`), so tests run the
//! collectors over a fake tree. Collectors never fail: a missing file means "not present",
//! an unreadable or oversized one is skipped, logged and listed in the inventory's
//! `features["unreadable"]`. Every read and walk is bounded.

pub mod bdb;
mod features;
mod lockfiles;
mod net;
mod os;
mod packages;
mod paths;
pub mod rpm;
mod settings;
mod sshd;

use std::io::Read;
use std::path::{Path, PathBuf};

use portcullis_inspector_core::inventory::Inventory;

pub use lockfiles::collect_lockfiles;
pub use net::parse_proc_net;
pub use os::parse_os_release;
pub use packages::{parse_apk_installed, parse_dpkg_status};
pub use rpm::{RpmHeader, parse_header as parse_rpm_header, read_rpmdb_sqlite};
pub use sshd::{apply_sshd_defaults, parse_sshd_config_text};

/// What to collect and within which bounds.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// The host's root directory (`/` on a real host, a fake tree in tests).
    pub root: PathBuf,
    /// Host paths (files or directories) searched for language lockfiles.
    pub lockfile_paths: Vec<PathBuf>,
    /// Deepest directory level the lockfile search descends to.
    pub max_lockfile_depth: usize,
    /// Most lockfiles reported.
    pub max_lockfiles: usize,
    /// Most directory entries one walk (lockfiles, world-writable scan) visits.
    pub max_walk_entries: usize,
    /// Largest settings file read, in bytes.
    pub max_file_bytes: u64,
    /// Largest package database read (dpkg status, apk installed), in bytes.
    pub max_db_bytes: u64,
    /// Most world-writable entries reported.
    pub max_world_writable: usize,
    /// Whether the agent may run `sshd -T` (only ever when `root` is `/` and we are root).
    pub run_commands: bool,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            root: PathBuf::from("/"),
            lockfile_paths: Vec::new(),
            max_lockfile_depth: 8,
            max_lockfiles: 1_000,
            max_walk_entries: 200_000,
            max_file_bytes: 1 << 20,
            max_db_bytes: 64 << 20,
            max_world_writable: 200,
            run_commands: true,
        }
    }
}

/// Most unreadable paths listed in `features["unreadable"]`.
const MAX_NOTES: usize = 20;

/// Collection context: the options plus the notes about what could not be read.
pub(crate) struct Ctx<'a> {
    pub(crate) opts: &'a CollectOptions,
    notes: Vec<String>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(opts: &'a CollectOptions) -> Self {
        Ctx {
            opts,
            notes: Vec::new(),
        }
    }

    /// The real path of a host path (`/etc/os-release` → `<root>/etc/os-release`).
    pub(crate) fn path(&self, host: &str) -> PathBuf {
        self.opts.root.join(host.trim_start_matches('/'))
    }

    /// The host path of a real path under the root (the inverse of [`Ctx::path`]).
    pub(crate) fn host_path(&self, real: &Path) -> String {
        match real.strip_prefix(&self.opts.root) {
            Ok(rel) => format!("/{}", rel.display()),
            Err(_) => real.display().to_string(),
        }
    }

    /// Records that `host` could not be read.
    pub(crate) fn note(&mut self, host: &str, why: &str) {
        tracing::debug!(path = host, reason = why, "skipped while collecting");
        if self.notes.len() < MAX_NOTES && !self.notes.iter().any(|n| n == host) {
            self.notes.push(host.to_owned());
        }
    }

    /// Reads a settings file (bounded by `max_file_bytes`); `None` when absent or unreadable.
    pub(crate) fn read(&mut self, host: &str) -> Option<String> {
        self.read_limited(host, self.opts.max_file_bytes)
    }

    /// Reads a text file of at most `limit` bytes (lossy UTF-8); `None` when absent,
    /// unreadable (noted) or too large (noted).
    pub(crate) fn read_limited(&mut self, host: &str, limit: u64) -> Option<String> {
        let real = self.path(host);
        let file = match std::fs::File::open(&real) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                self.note(host, &e.to_string());
                return None;
            }
        };
        let mut buf = Vec::new();
        match file.take(limit.saturating_add(1)).read_to_end(&mut buf) {
            Ok(n) if n as u64 > limit => {
                self.note(host, "too large");
                None
            }
            Ok(_) => Some(String::from_utf8_lossy(&buf).into_owned()),
            Err(e) => {
                self.note(host, &e.to_string());
                None
            }
        }
    }

    /// Whether a host path exists (without following a final symlink).
    pub(crate) fn exists(&self, host: &str) -> bool {
        std::fs::symlink_metadata(self.path(host)).is_ok()
    }

    /// The sorted names in a host directory (bounded); empty when absent.
    pub(crate) fn list_dir(&mut self, host: &str, max: usize) -> Vec<String> {
        let mut out = Vec::new();
        let rd = match std::fs::read_dir(self.path(host)) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return out,
            Err(e) => {
                self.note(host, &e.to_string());
                return out;
            }
        };
        for entry in rd.flatten().take(max) {
            out.push(entry.file_name().to_string_lossy().into_owned());
        }
        out.sort();
        out
    }
}

/// Collects the host's inventory. Never fails; see the module documentation.
pub fn collect(opts: &CollectOptions) -> Inventory {
    let mut ctx = Ctx::new(opts);
    let (os, os_release) = os::collect(&mut ctx);
    let mut inv = Inventory {
        packages: packages::collect(&mut ctx, &os_release),
        lockfiles: lockfiles::collect(&mut ctx),
        listeners: net::collect(&mut ctx),
        sshd: sshd::collect(&mut ctx),
        login_defs: settings::login_defs(&mut ctx),
        pwquality: settings::pwquality(&mut ctx),
        sysctls: settings::sysctls(&mut ctx),
        cpu_flags: settings::cpu_flags(&mut ctx),
        paths: paths::collect(&mut ctx),
        features: features::collect(&mut ctx),
        os,
    };
    if !ctx.notes.is_empty() {
        ctx.notes.sort();
        inv.features
            .insert("unreadable".to_owned(), ctx.notes.join(","));
    }
    inv
}

/// Splits a `key<sep>value` settings line, skipping blanks and `#` comments.
pub(crate) fn setting_line(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (k, v) = match line.split_once(|c: char| c.is_whitespace() || c == '=') {
        Some((k, v)) => (k, v),
        None => (line, ""),
    };
    let v = v.trim_start_matches(|c: char| c.is_whitespace() || c == '=');
    Some((k.trim(), v.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setting_lines_split_on_space_or_equals() {
        assert_eq!(
            setting_line("PASS_MAX_DAYS\t90"),
            Some(("PASS_MAX_DAYS", "90"))
        );
        assert_eq!(setting_line("minlen = 14"), Some(("minlen", "14")));
        assert_eq!(setting_line("minlen=14"), Some(("minlen", "14")));
        assert_eq!(setting_line("  # comment"), None);
        assert_eq!(
            setting_line("enforce_for_root"),
            Some(("enforce_for_root", ""))
        );
    }

    #[test]
    fn oversized_and_missing_files_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big"), vec![b'a'; 100]).unwrap();
        let opts = CollectOptions {
            root: dir.path().to_path_buf(),
            max_file_bytes: 10,
            ..CollectOptions::default()
        };
        let mut ctx = Ctx::new(&opts);
        assert_eq!(ctx.read("/big"), None);
        assert_eq!(ctx.read("/missing"), None);
        assert_eq!(ctx.notes, vec!["/big".to_owned()]);
        assert_eq!(ctx.host_path(&dir.path().join("etc/x")), "/etc/x");
    }
}
