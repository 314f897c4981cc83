//! Language lockfiles under the configured paths, parsed with
//! [`portcullis_inspector_core::lockfile::parse_lockfile`] (Cargo: registry crates only).
//!
//! The walk is breadth-first, does not follow symlinks, skips `node_modules`, `target` and
//! `.git`, and stops at [`CollectOptions::max_lockfile_depth`],
//! [`CollectOptions::max_lockfiles`] and [`CollectOptions::max_walk_entries`].

use std::collections::VecDeque;
use std::path::PathBuf;

use portcullis_inspector_core::inventory::LockfileInventory;
use portcullis_inspector_core::lockfile::{LockfileKind, parse_lockfile};

use super::{CollectOptions, Ctx};

/// Directory names never descended into.
const SKIP_DIRS: [&str; 3] = ["node_modules", "target", ".git"];

/// Collects the lockfiles under `opts.lockfile_paths` (host paths under `opts.root`).
pub fn collect_lockfiles(opts: &CollectOptions) -> Vec<LockfileInventory> {
    collect(&mut Ctx::new(opts))
}

pub(crate) fn collect(ctx: &mut Ctx<'_>) -> Vec<LockfileInventory> {
    let opts = ctx.opts;
    let mut out = Vec::new();
    let mut visited = 0usize;
    let mut queue: VecDeque<(PathBuf, usize)> = opts
        .lockfile_paths
        .iter()
        .map(|p| (ctx.path(&p.to_string_lossy()), 0))
        .collect();
    while let Some((path, depth)) = queue.pop_front() {
        if out.len() >= opts.max_lockfiles || visited >= opts.max_walk_entries {
            tracing::warn!("lockfile search stopped at its bounds");
            break;
        }
        visited += 1;
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_file() {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            if let Some(kind) = name.as_deref().and_then(LockfileKind::from_file_name)
                && let Some(l) = parse_one(ctx, &path, kind)
            {
                out.push(l);
            }
            continue;
        }
        if !meta.is_dir() || depth >= opts.max_lockfile_depth {
            continue;
        }
        let host = ctx.host_path(&path);
        let Ok(rd) = std::fs::read_dir(&path) else {
            ctx.note(&host, "directory unreadable");
            continue;
        };
        let mut children: Vec<PathBuf> = rd
            .flatten()
            .filter(|e| {
                let n = e.file_name();
                !SKIP_DIRS.iter().any(|s| n == *s)
            })
            .take(opts.max_walk_entries.saturating_sub(visited))
            .map(|e| e.path())
            .collect();
        children.sort();
        queue.extend(children.into_iter().map(|c| (c, depth + 1)));
    }
    out.sort();
    out.dedup_by(|a, b| a.path == b.path);
    out
}

fn parse_one(
    ctx: &mut Ctx<'_>,
    path: &std::path::Path,
    kind: LockfileKind,
) -> Option<LockfileInventory> {
    let host = ctx.host_path(path);
    let text = ctx.read_limited(&host, ctx.opts.max_db_bytes.min(64 << 20))?;
    match parse_lockfile(kind, &text) {
        Ok(mut packages) => {
            packages.sort();
            packages.dedup();
            Some(LockfileInventory {
                path: host,
                kind,
                packages,
            })
        }
        Err(e) => {
            ctx.note(&host, &e.to_string());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_lockfiles_and_skips_vendored_trees() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let w = |p: &str, s: &str| {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, s).unwrap();
        };
        w(
            "srv/app/Cargo.lock",
            "version = 4\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"smallvec\"\nversion = \"1.6.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
        );
        w("srv/app/target/Cargo.lock", "garbage");
        w("srv/web/node_modules/x/package-lock.json", "{}");
        w("srv/py/requirements.txt", "django==3.2.1\nflask>=2\n");
        w(
            "srv/go/go.mod",
            "module x\n\nrequire golang.org/x/text v0.3.7\n",
        );
        w("srv/bad/poetry.lock", "[[package]\n");
        w("srv/deep/a/b/c/Cargo.lock", "version = 4\n");
        let opts = CollectOptions {
            root: root.to_path_buf(),
            lockfile_paths: vec!["/srv".into()],
            max_lockfile_depth: 3,
            ..CollectOptions::default()
        };
        let mut ctx = Ctx::new(&opts);
        let got = collect(&mut ctx);
        let paths: Vec<&str> = got.iter().map(|l| l.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "/srv/app/Cargo.lock",
                "/srv/go/go.mod",
                "/srv/py/requirements.txt"
            ]
        );
        let cargo = &got[0];
        assert_eq!(cargo.packages.len(), 1, "path crates are not reported");
        assert_eq!(cargo.packages[0].name, "smallvec");
        assert_eq!(got[2].packages.len(), 1, "only pinned requirements");
        assert!(ctx.notes.iter().any(|n| n == "/srv/bad/poetry.lock"));
    }
}
