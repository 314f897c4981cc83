//! Host-level checks over the agent's `features`: a host firewall and automatic security
//! updates.

use super::{Check, CheckSeverity, Outcome, setting};
use crate::inventory::Inventory;

/// A host firewall is configured.
pub(super) const FIREWALL: Check = Check {
    id: "PCS-HOST-FIREWALL",
    title: "Enable a host firewall",
    severity: CheckSeverity::Medium,
    rationale: "Without a host firewall every service that listens on a public address is reachable by anyone who \
                can route to the host, including services meant for localhost or an internal network.",
    remediation: "Enable a default-deny inbound policy with ufw (`ufw default deny incoming && ufw enable`), \
                  firewalld (`systemctl enable --now firewalld`) or an nftables ruleset loaded at boot \
                  (`systemctl enable nftables`), allowing only the services the host offers.",
    reads: "/etc/nftables.conf",
    run: |inv: &Inventory| {
        match setting(&inv.features, "firewall") {
        None => Outcome::NotApplicable("the firewall state was not reported".into()),
        Some("none") => Outcome::Fail(
            "No host firewall is configured: ufw is not enabled, firewalld and nftables are not enabled at boot, and \
             no saved iptables rules were found."
                .into(),
        ),
        Some(_) => Outcome::Pass,
    }
    },
};

/// Security updates are installed automatically.
pub(super) const UNATTENDED_UPGRADES: Check = Check {
    id: "PCS-HOST-UNATTENDED-UPGRADES",
    title: "Install security updates automatically",
    severity: CheckSeverity::Low,
    rationale: "Most compromises use vulnerabilities for which a fix was already published; a host that waits for a \
                person to upgrade stays exposed in between.",
    remediation: "Debian/Ubuntu: `apt install unattended-upgrades` and set `APT::Periodic::Unattended-Upgrade \"1\";` \
                  (`dpkg-reconfigure -plow unattended-upgrades`). RHEL/Fedora: `dnf install dnf-automatic` and \
                  `systemctl enable --now dnf-automatic-install.timer`.",
    reads: "/etc/apt/apt.conf.d/20auto-upgrades",
    run: |inv: &Inventory| match setting(&inv.features, "unattended_upgrades") {
        None => {
            Outcome::NotApplicable("no apt or dnf automatic-update configuration applies".into())
        }
        Some("enabled") => Outcome::Pass,
        Some(v) => Outcome::Fail(format!(
            "Automatic security updates are {v}: neither unattended-upgrades nor dnf-automatic is active."
        )),
    },
};

#[cfg(test)]
mod tests {
    use crate::checks::tests::{failed, hardened};

    #[test]
    fn firewall() {
        let mut inv = hardened();
        inv.features.insert("firewall".into(), "none".into());
        assert_eq!(failed(&inv), ["PCS-HOST-FIREWALL"]);
        inv.features.insert("firewall".into(), "ufw".into());
        assert!(failed(&inv).is_empty());
    }

    #[test]
    fn unattended_upgrades() {
        let mut inv = hardened();
        inv.features
            .insert("unattended_upgrades".into(), "disabled".into());
        assert_eq!(failed(&inv), ["PCS-HOST-UNATTENDED-UPGRADES"]);
        inv.features.remove("unattended_upgrades");
        assert!(failed(&inv).is_empty(), "Alpine: not applicable");
    }
}
