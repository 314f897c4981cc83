//! Host features the checks need, read from configuration (no command is run, so the agent
//! answers the same as root or not):
//!
//! * `firewall`: `ufw` (`/etc/ufw/ufw.conf` `ENABLED=yes`), `firewalld` (enabled unit),
//!   `nftables` (enabled unit and a ruleset with a chain), `iptables` (saved rules with at
//!   least one `-A` rule), or `none`.
//! * `unattended_upgrades`: `enabled` / `disabled` on apt hosts (`APT::Periodic::Unattended-Upgrade`
//!   set to a non-zero value in `/etc/apt/apt.conf{,.d/*}` and the `unattended-upgrade`
//!   program present) and dnf hosts (an enabled `dnf-automatic` timer); absent elsewhere.

use std::collections::BTreeMap;

use super::Ctx;

const SYSTEMD: &str = "/etc/systemd/system";
const APT_KEY: &str = "APT::Periodic::Unattended-Upgrade";

pub(crate) fn collect(ctx: &mut Ctx<'_>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert("firewall".to_owned(), firewall(ctx).to_owned());
    if let Some(u) = unattended_upgrades(ctx) {
        out.insert("unattended_upgrades".to_owned(), u.to_owned());
    }
    out
}

fn unit_enabled(ctx: &mut Ctx<'_>, target: &str, unit_prefix: &str) -> bool {
    ctx.list_dir(&format!("{SYSTEMD}/{target}.wants"), 1_024)
        .iter()
        .any(|n| n.starts_with(unit_prefix))
}

fn firewall(ctx: &mut Ctx<'_>) -> &'static str {
    if let Some(conf) = ctx.read("/etc/ufw/ufw.conf") {
        let enabled = conf.lines().any(|l| {
            l.trim()
                .strip_prefix("ENABLED=")
                .is_some_and(|v| v.trim_matches(['"', '\'']).eq_ignore_ascii_case("yes"))
        });
        if enabled {
            return "ufw";
        }
    }
    if unit_enabled(ctx, "multi-user.target", "firewalld.service") {
        return "firewalld";
    }
    if unit_enabled(ctx, "sysinit.target", "nftables.service")
        || unit_enabled(ctx, "multi-user.target", "nftables.service")
    {
        let has_chain = ctx
            .read("/etc/nftables.conf")
            .or_else(|| ctx.read("/etc/sysconfig/nftables.conf"))
            .is_some_and(|t| {
                t.lines()
                    .map(str::trim)
                    .any(|l| !l.starts_with('#') && l.starts_with("chain "))
            });
        if has_chain {
            return "nftables";
        }
    }
    for saved in ["/etc/iptables/rules.v4", "/etc/sysconfig/iptables"] {
        if ctx
            .read(saved)
            .is_some_and(|t| t.lines().any(|l| l.trim_start().starts_with("-A ")))
        {
            return "iptables";
        }
    }
    "none"
}

/// The value of `APT::Periodic::Unattended-Upgrade` in flat apt.conf syntax (last one wins).
pub fn apt_unattended_value(text: &str) -> Option<String> {
    let mut value = None;
    for line in text.lines() {
        let line = line.trim();
        let Some(rest) = line
            .get(..APT_KEY.len())
            .filter(|p| p.eq_ignore_ascii_case(APT_KEY))
            .and_then(|_| line.get(APT_KEY.len()..))
        else {
            continue;
        };
        let v = rest.trim().trim_end_matches(';').trim().trim_matches('"');
        value = Some(v.to_owned());
    }
    value
}

fn unattended_upgrades(ctx: &mut Ctx<'_>) -> Option<&'static str> {
    if ctx.exists("/etc/apt") {
        let mut files = vec!["/etc/apt/apt.conf".to_owned()];
        files.extend(
            ctx.list_dir("/etc/apt/apt.conf.d", 1_024)
                .into_iter()
                .map(|n| format!("/etc/apt/apt.conf.d/{n}")),
        );
        let mut value = None;
        for f in files {
            if let Some(v) = ctx.read(&f).and_then(|t| apt_unattended_value(&t)) {
                value = Some(v);
            }
        }
        let on = value.is_some_and(|v| v.parse::<i64>().is_ok_and(|n| n != 0) || v == "always");
        let program = ctx.exists("/usr/bin/unattended-upgrade");
        return Some(if on && program { "enabled" } else { "disabled" });
    }
    if ctx.exists("/etc/dnf") || ctx.exists("/etc/yum.repos.d") {
        let on = unit_enabled(ctx, "timers.target", "dnf-automatic");
        return Some(if on { "enabled" } else { "disabled" });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::CollectOptions;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (p, s) in files {
            let p = dir.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, s).unwrap();
        }
        dir
    }

    fn features(files: &[(&str, &str)]) -> BTreeMap<String, String> {
        let dir = tree(files);
        let opts = CollectOptions {
            root: dir.path().to_path_buf(),
            ..CollectOptions::default()
        };
        collect(&mut Ctx::new(&opts))
    }

    #[test]
    fn firewalls() {
        assert_eq!(features(&[])["firewall"], "none");
        assert_eq!(
            features(&[("etc/ufw/ufw.conf", "ENABLED=no\n")])["firewall"],
            "none"
        );
        assert_eq!(
            features(&[("etc/ufw/ufw.conf", "# x\nENABLED=yes\n")])["firewall"],
            "ufw"
        );
        let nft = [
            (
                "etc/systemd/system/sysinit.target.wants/nftables.service",
                "",
            ),
            (
                "etc/nftables.conf",
                "flush ruleset\ntable inet filter {\n  chain input {\n  }\n}\n",
            ),
        ];
        assert_eq!(features(&nft)["firewall"], "nftables");
        assert_eq!(
            features(&nft[1..])["firewall"],
            "none",
            "a ruleset that is not loaded at boot"
        );
        assert_eq!(
            features(&[(
                "etc/iptables/rules.v4",
                "*filter\n-A INPUT -j DROP\nCOMMIT\n"
            )])["firewall"],
            "iptables"
        );
    }

    #[test]
    fn unattended() {
        assert!(!features(&[]).contains_key("unattended_upgrades"));
        let on = [
            (
                "etc/apt/apt.conf.d/20auto-upgrades",
                "APT::Periodic::Update-Package-Lists \"1\";\nAPT::Periodic::Unattended-Upgrade \"1\";\n",
            ),
            ("usr/bin/unattended-upgrade", ""),
        ];
        assert_eq!(features(&on)["unattended_upgrades"], "enabled");
        assert_eq!(
            features(&on[..1])["unattended_upgrades"],
            "disabled",
            "program missing"
        );
        let off = [
            on[0],
            on[1],
            (
                "etc/apt/apt.conf.d/99off",
                "apt::periodic::unattended-upgrade \"0\";\n",
            ),
        ];
        assert_eq!(
            features(&off)["unattended_upgrades"],
            "disabled",
            "the later file wins"
        );
        assert_eq!(
            features(&[("etc/dnf/dnf.conf", "")])["unattended_upgrades"],
            "disabled"
        );
    }
}
