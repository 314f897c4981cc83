//! Host settings: `/etc/login.defs`, password quality (`pwquality.conf`, its `.d`, and the
//! arguments of the PAM password modules), runtime sysctls and CPU flags.

use std::collections::BTreeMap;

use super::{Ctx, setting_line};

/// Sysctls reported (runtime values from `/proc/sys`).
pub const SYSCTLS: [&str; 12] = [
    "kernel.randomize_va_space",
    "kernel.exec-shield",
    "kernel.kptr_restrict",
    "kernel.dmesg_restrict",
    "kernel.yama.ptrace_scope",
    "fs.suid_dumpable",
    "fs.protected_hardlinks",
    "fs.protected_symlinks",
    "net.ipv4.ip_forward",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.conf.all.accept_redirects",
    "net.ipv4.conf.all.send_redirects",
];

/// CPU flags reported (`nx` for DEP; the others harden the kernel).
pub const CPU_FLAGS: [&str; 4] = ["nx", "pae", "smep", "smap"];

/// PAM stacks searched for password-module arguments (Debian, RHEL, SUSE).
const PAM_FILES: [&str; 4] = [
    "/etc/pam.d/common-password",
    "/etc/pam.d/system-auth",
    "/etc/pam.d/password-auth",
    "/etc/pam.d/common-password-pc",
];

/// PAM modules whose `password` arguments are reported, as `<module>.<arg>`.
const PAM_MODULES: [&str; 4] = ["pam_pwquality", "pam_cracklib", "pam_unix", "pam_pwhistory"];

/// `/etc/login.defs` as lower-case keys (`pass_max_days` → `99999`).
pub(crate) fn login_defs(ctx: &mut Ctx<'_>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(text) = ctx.read("/etc/login.defs") {
        parse_login_defs(&text, &mut out);
    }
    out
}

/// Parses `KEY VALUE` lines; a later line for the same key wins (as `getdef` does).
pub fn parse_login_defs(text: &str, out: &mut BTreeMap<String, String>) {
    for (k, v) in text.lines().take(10_000).filter_map(setting_line) {
        out.insert(k.to_ascii_lowercase(), v.to_owned());
    }
}

/// pwquality settings (`key = value`, later files override earlier ones: the main file, then
/// `pwquality.conf.d/*.conf` in name order), plus PAM password-module arguments as
/// `pam_unix.remember`, `pam_pwquality.minlen`...
pub(crate) fn pwquality(ctx: &mut Ctx<'_>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut files = vec!["/etc/security/pwquality.conf".to_owned()];
    files.extend(
        ctx.list_dir("/etc/security/pwquality.conf.d", 256)
            .into_iter()
            .filter(|n| n.ends_with(".conf"))
            .map(|n| format!("/etc/security/pwquality.conf.d/{n}")),
    );
    for f in files {
        if let Some(text) = ctx.read(&f) {
            for (k, v) in text.lines().take(10_000).filter_map(setting_line) {
                out.insert(k.to_ascii_lowercase(), v.to_owned());
            }
        }
    }
    for f in PAM_FILES {
        if let Some(text) = ctx.read(f) {
            parse_pam_password(&text, &mut out);
        }
    }
    out
}

/// Reads the arguments of the known password modules from a PAM stack's `password` lines.
/// A flag argument (`use_authtok`) is stored with an empty value.
pub fn parse_pam_password(text: &str, out: &mut BTreeMap<String, String>) {
    for line in text.lines().take(10_000) {
        let line = line.trim();
        let mut words = line.split_whitespace();
        if words.next() != Some("password") {
            continue;
        }
        // The control is one word or a `[...]` group that may contain spaces.
        let mut control = words.next().unwrap_or_default().to_owned();
        while control.starts_with('[') && !control.ends_with(']') {
            match words.next() {
                Some(w) => control.push_str(w),
                None => break,
            }
        }
        let Some(module) = words.next() else {
            continue;
        };
        let module = module.rsplit('/').next().unwrap_or(module);
        let module = module.strip_suffix(".so").unwrap_or(module);
        if !PAM_MODULES.contains(&module) {
            continue;
        }
        out.insert(format!("{module}.present"), "yes".to_owned());
        for arg in words {
            let (k, v) = arg.split_once('=').unwrap_or((arg, ""));
            out.insert(format!("{module}.{}", k.to_ascii_lowercase()), v.to_owned());
        }
    }
}

/// Runtime values of [`SYSCTLS`] that exist on this host.
pub(crate) fn sysctls(ctx: &mut Ctx<'_>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for name in SYSCTLS {
        let path = format!("/proc/sys/{}", name.replace('.', "/"));
        if let Some(v) = ctx.read(&path) {
            out.insert(name.to_owned(), v.trim().to_owned());
        }
    }
    out
}

/// The flags of [`CPU_FLAGS`] the first CPU of `/proc/cpuinfo` reports, sorted.
pub(crate) fn cpu_flags(ctx: &mut Ctx<'_>) -> Vec<String> {
    ctx.read_limited("/proc/cpuinfo", 4 << 20)
        .map(|t| parse_cpu_flags(&t))
        .unwrap_or_default()
}

/// The interesting flags on the first `flags` line of a cpuinfo text.
pub fn parse_cpu_flags(text: &str) -> Vec<String> {
    let Some(line) = text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == "flags").then_some(v)
    }) else {
        return Vec::new();
    };
    let mut out: Vec<String> = line
        .split_whitespace()
        .filter(|f| CPU_FLAGS.contains(f))
        .map(str::to_owned)
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_defs_keys_are_lowercased() {
        let mut m = BTreeMap::new();
        parse_login_defs(
            "# x\nPASS_MAX_DAYS\t99999\nPASS_MIN_DAYS 0\nPASS_MAX_DAYS 90\n",
            &mut m,
        );
        assert_eq!(m["pass_max_days"], "90");
        assert_eq!(m["pass_min_days"], "0");
    }

    #[test]
    fn pam_arguments() {
        let mut m = BTreeMap::new();
        parse_pam_password(
            "password requisite pam_pwquality.so retry=3 minlen=14 dcredit=-1\n\
             password [success=1 default=ignore] pam_unix.so obscure use_authtok yescrypt remember=5\n\
             auth required pam_unix.so remember=99\npassword optional /lib/security/pam_gnome_keyring.so\n",
            &mut m,
        );
        assert_eq!(m["pam_pwquality.minlen"], "14");
        assert_eq!(m["pam_pwquality.dcredit"], "-1");
        assert_eq!(m["pam_unix.remember"], "5");
        assert_eq!(m["pam_unix.use_authtok"], "");
        assert!(!m.keys().any(|k| k.starts_with("pam_gnome")));
    }

    #[test]
    fn nx_flag() {
        let t = "processor\t: 0\nflags\t\t: fpu vme pae nx smep\nprocessor\t: 1\nflags : fpu\n";
        assert_eq!(parse_cpu_flags(t), vec!["nx", "pae", "smep"]);
        assert!(parse_cpu_flags("Features\t: fp asimd").is_empty());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") {
            let mut m = BTreeMap::new();
            parse_pam_password(&s, &mut m);
            parse_login_defs(&s, &mut m);
            let _ = parse_cpu_flags(&s);
        }
    }
}
