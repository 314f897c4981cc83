//! Operating system facts: `/etc/os-release` (fallback `/usr/lib/os-release`), the kernel
//! release from `/proc/sys/kernel/osrelease` and the architecture the agent was built for.

use std::collections::BTreeMap;

use portcullis_inspector_core::inventory::OsInfo;

use super::Ctx;

/// Parses os-release's shell-style `KEY=value` lines (values optionally quoted with `"` or
/// `'`, backslash escapes inside double quotes). Malformed lines are ignored.
pub fn parse_os_release(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines().take(256) {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let k = k.trim();
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        out.insert(k.to_owned(), unquote(v.trim()));
    }
    out
}

fn unquote(v: &str) -> String {
    if let Some(inner) = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        return inner.to_owned();
    }
    if let Some(inner) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else {
                out.push(c);
            }
        }
        return out;
    }
    v.to_owned()
}

/// Collects [`OsInfo`] and returns the raw os-release map too (its `ID_LIKE` picks the
/// package ecosystem).
pub(crate) fn collect(ctx: &mut Ctx<'_>) -> (OsInfo, BTreeMap<String, String>) {
    let text = ctx
        .read("/etc/os-release")
        .or_else(|| ctx.read("/usr/lib/os-release"))
        .unwrap_or_default();
    let rel = parse_os_release(&text);
    let get = |k: &str| rel.get(k).cloned().unwrap_or_default();
    let kernel_release = ctx
        .read("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let info = OsInfo {
        id: get("ID"),
        version_id: get("VERSION_ID"),
        codename: rel
            .get("VERSION_CODENAME")
            .filter(|s| !s.is_empty())
            .cloned(),
        pretty_name: get("PRETTY_NAME"),
        kernel_release,
        arch: std::env::consts::ARCH.to_owned(),
    };
    (info, rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_12_os_release() {
        let text = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n\
                    VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n\
                    # comment\ngarbage line\nX='single'\nY=\"a\\\"b\"\n";
        let m = parse_os_release(text);
        assert_eq!(m["ID"], "debian");
        assert_eq!(m["VERSION_ID"], "12");
        assert_eq!(m["PRETTY_NAME"], "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(m["X"], "single");
        assert_eq!(m["Y"], "a\"b");
        assert!(!m.contains_key("garbage line"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = parse_os_release(&s);
        }
    }
}
