//! The effective OpenSSH server settings.
//!
//! As root on the real host, `sshd -T` prints the effective configuration and is used. Else
//! `/etc/ssh/sshd_config` is parsed the way sshd reads it: keywords are case-insensitive,
//! the **first** value of a keyword wins, `Include` pulls in files (globs in the last path
//! component, relative paths resolved under `/etc/ssh`, sorted), and `Match` blocks are
//! conditional, so their settings are not taken as global ones (a `Match all` line returns
//! to global scope). OpenSSH's defaults are then applied for the keys the checks read.
//!
//! The section is `None` when no SSH server is installed (no `sshd` binary and no
//! `sshd_config`).

use std::collections::BTreeMap;

use super::Ctx;

/// Deepest `Include` nesting followed (sshd's own limit is 16).
const MAX_INCLUDE_DEPTH: usize = 16;
/// Most configuration files read in total.
const MAX_FILES: usize = 128;

/// OpenSSH defaults (portable OpenSSH 9.x) for the keys the best-practice checks read.
const DEFAULTS: [(&str, &str); 12] = [
    ("permitrootlogin", "prohibit-password"),
    ("passwordauthentication", "yes"),
    ("permitemptypasswords", "no"),
    ("kbdinteractiveauthentication", "yes"),
    ("pubkeyauthentication", "yes"),
    ("x11forwarding", "no"),
    ("maxauthtries", "6"),
    ("permituserenvironment", "no"),
    ("ignorerhosts", "yes"),
    ("hostbasedauthentication", "no"),
    ("loglevel", "INFO"),
    ("port", "22"),
];

/// Fills in OpenSSH's default for each key the checks read that `settings` lacks.
pub fn apply_sshd_defaults(settings: &mut BTreeMap<String, String>) {
    for (k, v) in DEFAULTS {
        settings.entry(k.to_owned()).or_insert_with(|| v.to_owned());
    }
}

/// Parses one sshd_config text into `settings` (first value wins); each `Include`
/// argument met in global scope is handed to `include` at its place, so the included
/// settings take precedence over later lines. `Match` blocks are skipped.
pub fn parse_sshd_config_text(
    text: &str,
    settings: &mut BTreeMap<String, String>,
    include: &mut dyn FnMut(&str, &mut BTreeMap<String, String>),
) {
    let mut in_match = false;
    for line in text.lines().take(100_000) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once(|c: char| c.is_whitespace() || c == '=') {
            Some((k, v)) => (
                k,
                v.trim_start_matches(|c: char| c.is_whitespace() || c == '='),
            ),
            None => (line, ""),
        };
        let key = key.to_ascii_lowercase();
        let value = value.trim().trim_matches('"');
        if key == "match" {
            in_match = !value.eq_ignore_ascii_case("all");
            continue;
        }
        if in_match {
            continue;
        }
        if key == "include" {
            for arg in value.split_whitespace() {
                include(arg, settings);
            }
            continue;
        }
        settings.entry(key).or_insert_with(|| value.to_owned());
    }
}

/// Parses the config file at host path `file` and its includes into `settings`.
fn parse_file(
    ctx: &mut Ctx<'_>,
    file: &str,
    depth: usize,
    files_read: &mut usize,
    settings: &mut BTreeMap<String, String>,
) {
    if depth > MAX_INCLUDE_DEPTH || *files_read >= MAX_FILES {
        ctx.note(file, "Include nesting or file count too large");
        return;
    }
    *files_read += 1;
    let Some(text) = ctx.read(file) else {
        return;
    };
    parse_sshd_config_text(&text, settings, &mut |inc, settings| {
        let pattern = if inc.starts_with('/') {
            inc.to_owned()
        } else {
            format!("/etc/ssh/{inc}")
        };
        for path in expand_glob(ctx, &pattern) {
            parse_file(ctx, &path, depth + 1, files_read, settings);
        }
    });
}

/// Expands a glob in the last component of a host path (`*` and `?`), sorted.
fn expand_glob(ctx: &mut Ctx<'_>, pattern: &str) -> Vec<String> {
    let (dir, name) = pattern.rsplit_once('/').unwrap_or(("", pattern));
    if !name.contains(['*', '?']) {
        return vec![pattern.to_owned()];
    }
    let dir = if dir.is_empty() { "/" } else { dir };
    ctx.list_dir(dir, 4_096)
        .into_iter()
        .filter(|n| !n.starts_with('.') && glob_match(name.as_bytes(), n.as_bytes()))
        .map(|n| format!("{}/{n}", dir.trim_end_matches('/')))
        .collect()
}

/// Shell-style match of `*` (any run) and `?` (one byte), iterative with backtracking.
fn glob_match(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        match pat.get(p) {
            Some(b'*') => {
                star = Some((p, i));
                p += 1;
            }
            Some(&c) if c == b'?' || Some(&c) == s.get(i) => {
                p += 1;
                i += 1;
            }
            _ => match star {
                Some((sp, si)) => {
                    p = sp + 1;
                    i = si + 1;
                    star = Some((sp, si + 1));
                }
                None => return false,
            },
        }
    }
    pat.get(p..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

/// Whether the agent runs as root (effective uid 0 in `/proc/self/status`).
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// `sshd -T` output as a map, when it can run.
fn sshd_t(ctx: &Ctx<'_>) -> Option<BTreeMap<String, String>> {
    if !ctx.opts.run_commands || ctx.opts.root != std::path::Path::new("/") || !running_as_root() {
        return None;
    }
    let out = std::process::Command::new("/usr/sbin/sshd")
        .arg("-T")
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut map = BTreeMap::new();
    for line in text.lines().take(10_000) {
        if let Some((k, v)) = line.trim().split_once(' ') {
            // Repeated keys (hostkey, listenaddress...) keep their first value.
            map.entry(k.to_ascii_lowercase())
                .or_insert_with(|| v.trim().to_owned());
        }
    }
    (!map.is_empty()).then_some(map)
}

pub(crate) fn collect(ctx: &mut Ctx<'_>) -> Option<BTreeMap<String, String>> {
    let installed = ctx.exists("/usr/sbin/sshd") || ctx.exists("/etc/ssh/sshd_config");
    if !installed {
        return None;
    }
    if let Some(map) = sshd_t(ctx) {
        return Some(map);
    }
    let mut settings = BTreeMap::new();
    let mut files_read = 0;
    parse_file(
        ctx,
        "/etc/ssh/sshd_config",
        0,
        &mut files_read,
        &mut settings,
    );
    apply_sshd_defaults(&mut settings);
    Some(settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::CollectOptions;

    #[test]
    fn first_value_wins_includes_come_in_place_and_match_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let ssh = dir.path().join("etc/ssh");
        std::fs::create_dir_all(ssh.join("sshd_config.d")).unwrap();
        std::fs::write(
            ssh.join("sshd_config"),
            "# comment\nInclude /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\n\
             PasswordAuthentication=yes\nMatch User bob\n  PermitEmptyPasswords yes\nMatch all\nX11Forwarding yes\n",
        )
        .unwrap();
        std::fs::write(
            ssh.join("sshd_config.d/50-cloud.conf"),
            "PasswordAuthentication no\n",
        )
        .unwrap();
        std::fs::write(
            ssh.join("sshd_config.d/10-root.conf"),
            "permitrootlogin \"no\"\nInclude nested.conf\n",
        )
        .unwrap();
        std::fs::write(
            ssh.join("nested.conf"),
            "MaxAuthTries 3\nInclude nested.conf\n",
        )
        .unwrap();
        std::fs::write(
            ssh.join("sshd_config.d/ignored.txt"),
            "PubkeyAuthentication no\n",
        )
        .unwrap();
        let opts = CollectOptions {
            root: dir.path().to_path_buf(),
            run_commands: false,
            ..CollectOptions::default()
        };
        let mut ctx = Ctx::new(&opts);
        let s = collect(&mut ctx).unwrap();
        assert_eq!(
            s["permitrootlogin"], "no",
            "the include comes before the main file's line"
        );
        assert_eq!(s["passwordauthentication"], "no");
        assert_eq!(s["maxauthtries"], "3");
        assert_eq!(
            s["permitemptypasswords"], "no",
            "Match blocks are not global"
        );
        assert_eq!(
            s["x11forwarding"], "yes",
            "Match all returns to global scope"
        );
        assert_eq!(s["pubkeyauthentication"], "yes");
    }

    #[test]
    fn absent_server_is_none_and_defaults_apply() {
        let dir = tempfile::tempdir().unwrap();
        let opts = CollectOptions {
            root: dir.path().to_path_buf(),
            ..CollectOptions::default()
        };
        assert_eq!(collect(&mut Ctx::new(&opts)), None);
        std::fs::create_dir_all(dir.path().join("etc/ssh")).unwrap();
        std::fs::write(dir.path().join("etc/ssh/sshd_config"), "").unwrap();
        let s = collect(&mut Ctx::new(&opts)).unwrap();
        assert_eq!(s["permitrootlogin"], "prohibit-password");
        assert_eq!(s["passwordauthentication"], "yes");
    }

    #[test]
    fn globs() {
        assert!(glob_match(b"*.conf", b"a.conf"));
        assert!(!glob_match(b"*.conf", b"a.conf.bak"));
        assert!(glob_match(b"a?c*", b"abcdef"));
        assert!(glob_match(b"*", b""));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}", p in "[a-c*?]{0,8}", n in "[a-c]{0,8}") {
            let mut m = BTreeMap::new();
            parse_sshd_config_text(&s, &mut m, &mut |_, _| {});
            let _ = glob_match(p.as_bytes(), n.as_bytes());
        }
    }
}
