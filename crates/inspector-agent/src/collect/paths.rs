//! Ownership and modes of system directories and files, plus the world-writable entries
//! found in system paths.
//!
//! The directories in [`SYSTEM_DIRS`] and files in [`SYSTEM_FILES`] (the lists the checks
//! judge) are always reported
//! when they exist (a symlinked `/bin` is reported with its target's mode). Then the trees
//! in [`SCANNED_TREES`] are walked without following symlinks or crossing file systems, and
//! every entry writable by others is reported, except sticky directories, symlinks,
//! sockets and character/block devices, up to [`super::CollectOptions::max_world_writable`].

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use portcullis_inspector_core::checks::{SYSTEM_DIRS, SYSTEM_FILES};
use portcullis_inspector_core::inventory::PathMode;

use super::Ctx;

/// Trees searched for world-writable entries.
pub const SCANNED_TREES: [&str; 8] = [
    "/etc", "/bin", "/sbin", "/usr", "/lib", "/lib64", "/boot", "/var/log",
];

const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;

fn mode_of(host: &str, meta: &std::fs::Metadata) -> PathMode {
    PathMode {
        path: host.to_owned(),
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        is_dir: meta.is_dir(),
    }
}

pub(crate) fn collect(ctx: &mut Ctx<'_>) -> Vec<PathMode> {
    let mut out = Vec::new();
    for host in SYSTEM_DIRS.iter().chain(SYSTEM_FILES.iter()) {
        let real = ctx.path(host);
        // Follow a symlinked /bin to its target; fall back to the link itself.
        match std::fs::metadata(&real).or_else(|_| std::fs::symlink_metadata(&real)) {
            Ok(meta) => out.push(mode_of(host, &meta)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => ctx.note(host, &e.to_string()),
        }
    }
    world_writable(ctx, &mut out);
    out.sort();
    out.dedup_by(|a, b| a.path == b.path);
    out
}

/// Walks [`SCANNED_TREES`] for world-writable entries.
fn world_writable(ctx: &mut Ctx<'_>, out: &mut Vec<PathMode>) {
    let max_found = ctx.opts.max_world_writable;
    let mut budget = ctx.opts.max_walk_entries;
    let mut found = 0usize;
    for tree in SCANNED_TREES {
        let start = ctx.path(tree);
        let Ok(meta) = std::fs::symlink_metadata(&start) else {
            continue;
        };
        if !meta.is_dir() {
            continue; // a merged-/usr symlink: its target is scanned on its own
        }
        let dev = meta.dev();
        let mut stack: Vec<PathBuf> = vec![start];
        while let Some(dir) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in rd.flatten() {
                if budget == 0 || found >= max_found {
                    if budget == 0 {
                        ctx.note(tree, "world-writable scan stopped at its entry bound");
                    }
                    return;
                }
                budget -= 1;
                let Ok(meta) = entry.metadata() else {
                    continue; // DirEntry::metadata does not follow symlinks
                };
                let kind = meta.mode() & S_IFMT;
                let sticky = meta.mode() & 0o1000 != 0;
                if meta.mode() & 0o002 != 0 && (kind == S_IFREG || (kind == S_IFDIR && !sticky)) {
                    let host = ctx.host_path(&entry.path());
                    out.push(mode_of(&host, &meta));
                    found += 1;
                }
                if kind == S_IFDIR && meta.dev() == dev {
                    stack.push(entry.path());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::collect::CollectOptions;

    fn chmod(p: &std::path::Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn system_dirs_and_world_writable_files() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        for d in ["etc/cron.d", "usr/bin", "usr/share/tmpish", "var/log"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        std::os::unix::fs::symlink("usr/bin", r.join("bin")).unwrap();
        std::fs::write(r.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
        std::fs::write(r.join("etc/cron.d/job"), "").unwrap();
        chmod(&r.join("etc/cron.d/job"), 0o666);
        chmod(&r.join("usr/bin"), 0o777);
        chmod(&r.join("usr/share/tmpish"), 0o1777);
        std::os::unix::fs::symlink("/nowhere", r.join("usr/share/link")).unwrap();
        let opts = CollectOptions {
            root: r.to_path_buf(),
            ..CollectOptions::default()
        };
        let got = collect(&mut Ctx::new(&opts));
        let find = |p: &str| got.iter().find(|m| m.path == p);
        assert_eq!(
            find("/bin").map(|m| m.mode),
            Some(0o777),
            "symlinked /bin reports its target"
        );
        assert_eq!(find("/etc/cron.d/job").map(|m| m.mode), Some(0o666));
        assert!(find("/usr/bin").is_some_and(|m| m.is_dir));
        assert!(
            find("/usr/share/tmpish").is_none(),
            "sticky directories are fine"
        );
        assert!(
            find("/usr/share/link").is_none(),
            "symlinks are not reported"
        );
        assert!(find("/etc/passwd").is_some());
        assert!(find("/boot").is_none());
    }
}
