//! OpenSSH server checks over the effective `sshd` settings (lower-case keys, as `sshd -T`
//! prints them; the agent applies OpenSSH's defaults when it parses the files itself).

use std::collections::BTreeMap;

use super::{Check, CheckSeverity, Outcome, setting};
use crate::inventory::Inventory;

const READS: &str = "/etc/ssh/sshd_config";

/// Runs `f` over the sshd settings, or not applicable without an SSH server.
fn with_sshd(inv: &Inventory, f: impl FnOnce(&BTreeMap<String, String>) -> Outcome) -> Outcome {
    match &inv.sshd {
        Some(s) => f(s),
        None => Outcome::NotApplicable("no SSH server is installed".into()),
    }
}

/// Inspector Classic SBP: disable root login over SSH.
pub(super) const ROOT_LOGIN: Check = Check {
    id: "PCS-SSH-ROOT-LOGIN",
    title: "Disable root login over SSH",
    severity: CheckSeverity::Medium,
    rationale: "Logging in directly as root leaves no trace of which administrator acted and gives an attacker who \
                guesses or steals root's credentials or key full control at once.",
    remediation: "Set `PermitRootLogin no` in /etc/ssh/sshd_config (before any Include that sets it), log in as an \
                  unprivileged user and use sudo, then reload sshd.",
    reads: READS,
    run: |inv| {
        with_sshd(inv, |s| match setting(s, "permitrootlogin") {
            Some(v) if v.eq_ignore_ascii_case("no") => Outcome::Pass,
            Some(v) => Outcome::Fail(format!(
                "The SSH server's effective PermitRootLogin is `{v}`: root can log in over SSH{}.",
                if v.eq_ignore_ascii_case("yes") {
                    " with a password"
                } else {
                    ""
                }
            )),
            None => Outcome::Fail(
                "PermitRootLogin is not set; OpenSSH then allows root to log in with a key.".into(),
            ),
        })
    },
};

/// Inspector Classic SBP: support SSH protocol version 2 only.
pub(super) const PROTOCOL_2: Check = Check {
    id: "PCS-SSH-PROTOCOL-2",
    title: "Support SSH protocol version 2 only",
    severity: CheckSeverity::Medium,
    rationale: "SSH protocol 1 has known cryptographic weaknesses that let an attacker decrypt or hijack sessions.",
    remediation: "Remove protocol 1 from the `Protocol` line of /etc/ssh/sshd_config (`Protocol 2`) or upgrade to \
                  OpenSSH 7.4 or later, which no longer supports protocol 1, then reload sshd.",
    reads: READS,
    run: |inv| {
        with_sshd(inv, |s| match setting(s, "protocol") {
            Some(v) if v.split(',').any(|p| p.trim() == "1") => Outcome::Fail(format!(
                "The SSH server allows protocol 1 (`Protocol {v}`)."
            )),
            _ => Outcome::Pass,
        })
    },
};

/// Inspector Classic SBP: disable password authentication over SSH.
pub(super) const PASSWORD_AUTH: Check = Check {
    id: "PCS-SSH-PASSWORD-AUTH",
    title: "Disable password authentication over SSH",
    severity: CheckSeverity::Medium,
    rationale: "Passwords can be guessed, sprayed and phished; a server that accepts them is exposed to brute-force \
                attacks from anywhere it is reachable. Keys or certificates cannot be guessed.",
    remediation: "Give every user an SSH key, then set `PasswordAuthentication no` (and \
                  `KbdInteractiveAuthentication no`) in /etc/ssh/sshd_config and reload sshd. If passwords must \
                  stay, restrict SSH to trusted source addresses.",
    reads: READS,
    run: |inv| {
        with_sshd(inv, |s| match setting(s, "passwordauthentication") {
            Some(v) if v.eq_ignore_ascii_case("no") => Outcome::Pass,
            Some(v) => Outcome::Fail(format!(
                "The SSH server's effective PasswordAuthentication is `{v}`: users can log in with a password."
            )),
            None => Outcome::Fail(
                "PasswordAuthentication is not set; OpenSSH then accepts passwords.".into(),
            ),
        })
    },
};

/// Empty passwords over SSH (OpenSCAP "Disable SSH Access via Empty Passwords").
pub(super) const EMPTY_PASSWORDS: Check = Check {
    id: "PCS-SSH-EMPTY-PASSWORDS",
    title: "Do not allow SSH logins to accounts with empty passwords",
    severity: CheckSeverity::High,
    rationale: "An account without a password is open to anyone who can reach the SSH port.",
    remediation: "Set `PermitEmptyPasswords no` in /etc/ssh/sshd_config, reload sshd, and lock accounts without a \
                  password (`passwd -l`).",
    reads: READS,
    run: |inv| {
        with_sshd(inv, |s| match setting(s, "permitemptypasswords") {
            Some(v) if v.eq_ignore_ascii_case("yes") => {
                Outcome::Fail("The SSH server's effective PermitEmptyPasswords is `yes`.".into())
            }
            _ => Outcome::Pass,
        })
    },
};

#[cfg(test)]
mod tests {
    use crate::checks::tests::{failed, hardened};

    fn with(key: &str, value: Option<&str>) -> Vec<String> {
        let mut inv = hardened();
        let s = inv.sshd.as_mut().unwrap();
        match value {
            Some(v) => s.insert(key.into(), v.into()),
            None => s.remove(key),
        };
        failed(&inv)
    }

    #[test]
    fn root_login() {
        assert!(with("permitrootlogin", Some("no")).is_empty());
        assert_eq!(with("permitrootlogin", Some("yes")), ["PCS-SSH-ROOT-LOGIN"]);
        assert_eq!(
            with("permitrootlogin", Some("prohibit-password")),
            ["PCS-SSH-ROOT-LOGIN"]
        );
        assert_eq!(with("permitrootlogin", None), ["PCS-SSH-ROOT-LOGIN"]);
    }

    #[test]
    fn protocol() {
        assert!(with("protocol", Some("2")).is_empty());
        assert_eq!(with("protocol", Some("2,1")), ["PCS-SSH-PROTOCOL-2"]);
        assert_eq!(with("protocol", Some("1")), ["PCS-SSH-PROTOCOL-2"]);
    }

    #[test]
    fn password_auth() {
        assert_eq!(
            with("passwordauthentication", Some("yes")),
            ["PCS-SSH-PASSWORD-AUTH"]
        );
        assert_eq!(
            with("passwordauthentication", None),
            ["PCS-SSH-PASSWORD-AUTH"]
        );
        assert!(with("passwordauthentication", Some("NO")).is_empty());
    }

    #[test]
    fn empty_passwords() {
        assert_eq!(
            with("permitemptypasswords", Some("yes")),
            ["PCS-SSH-EMPTY-PASSWORDS"]
        );
        assert!(with("permitemptypasswords", None).is_empty());
    }

    #[test]
    fn no_ssh_server_no_findings() {
        let mut inv = hardened();
        inv.sshd = None;
        assert!(failed(&inv).is_empty());
    }
}
