//! What an agent reports about its host, and the section-wise deltas it sends after the
//! first report.
//!
//! The agent collects an [`Inventory`]; the server keeps the last one per agent. After a
//! full report the agent sends an [`InventoryReport`] carrying only the sections that
//! changed since the sequence number the server acknowledged. A report whose base does not
//! match what the server holds is refused, and the agent answers with a full report.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::lockfile::{LockfileKind, Package};

/// Operating system facts (`/etc/os-release`, `uname`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsInfo {
    /// `ID` from os-release (`debian`, `ubuntu`, `alpine`, `rhel`...).
    pub id: String,
    /// `VERSION_ID` (`12`, `22.04`, `3.20.1`).
    pub version_id: String,
    /// `VERSION_CODENAME`, when present (`bookworm`).
    pub codename: Option<String>,
    /// `PRETTY_NAME`.
    pub pretty_name: String,
    /// Kernel release (`uname -r`).
    pub kernel_release: String,
    /// Machine architecture (`x86_64`, `aarch64`).
    pub arch: String,
}

/// A package installed by the system package manager.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InstalledPackage {
    /// Ecosystem, name and version (for Debian the ecosystem carries the release).
    pub package: Package,
    /// `dpkg`, `rpm` or `apk`.
    pub manager: String,
    /// The source package name when it differs (Debian `Source:`), which OSV records use.
    pub source_name: Option<String>,
}

/// A lockfile found under the agent's configured paths.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LockfileInventory {
    /// The lockfile's absolute path on the host.
    pub path: String,
    /// Its format.
    pub kind: LockfileKind,
    /// Registry packages it pins (Cargo: never path or workspace members).
    pub packages: Vec<Package>,
}

/// Transport protocol of a listening socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SocketProtocol {
    /// TCP (`/proc/net/tcp`, `/proc/net/tcp6`, state LISTEN).
    Tcp,
    /// UDP (`/proc/net/udp`, `/proc/net/udp6`, unconnected).
    Udp,
}

/// A socket listening on the host.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Listener {
    /// TCP or UDP.
    pub protocol: SocketProtocol,
    /// The bound address (`0.0.0.0`, `::`, `127.0.0.1`...).
    pub address: IpAddr,
    /// The bound port.
    pub port: u16,
    /// The owning process's name (`/proc/<pid>/comm`), when it could be read.
    pub process: Option<String>,
    /// The owning process id, when it could be read.
    pub pid: Option<u32>,
}

/// Ownership and mode of a file or directory the best-practice checks look at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PathMode {
    /// The path.
    pub path: String,
    /// `st_mode & 0o7777`.
    pub mode: u32,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// True for a directory.
    pub is_dir: bool,
}

/// Everything one agent knows about its host. Maps are keyed by lower-case setting names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// Operating system.
    pub os: OsInfo,
    /// System packages (dpkg, RPM, apk), sorted.
    pub packages: Vec<InstalledPackage>,
    /// Language lockfiles, sorted by path.
    pub lockfiles: Vec<LockfileInventory>,
    /// Listening sockets, sorted.
    pub listeners: Vec<Listener>,
    /// Effective `sshd` settings (`sshd -T` when available, else the parsed config);
    /// `None` when no SSH server is installed.
    pub sshd: Option<BTreeMap<String, String>>,
    /// `/etc/login.defs` settings.
    pub login_defs: BTreeMap<String, String>,
    /// `pam_pwquality` settings (`/etc/security/pwquality.conf` and its `.d`).
    pub pwquality: BTreeMap<String, String>,
    /// Sysctls of interest (`kernel.randomize_va_space`, `fs.suid_dumpable`...).
    pub sysctls: BTreeMap<String, String>,
    /// CPU flags of interest (`nx`), for the DEP check.
    pub cpu_flags: Vec<String>,
    /// Modes of system directories and files, plus world-writable entries found in system
    /// paths.
    pub paths: Vec<PathMode>,
    /// Host features the checks need: `firewall` (`nftables`, `iptables`, `ufw`,
    /// `firewalld` or absent), `unattended_upgrades` (`enabled`/`disabled`/absent)...
    pub features: BTreeMap<String, String>,
}

/// Sections of an [`Inventory`] that changed; `None` means unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryDelta {
    /// Operating system, if changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<OsInfo>,
    /// System packages, if changed (the whole new list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages: Option<Vec<InstalledPackage>>,
    /// Lockfiles, if changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lockfiles: Option<Vec<LockfileInventory>>,
    /// Listeners, if changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listeners: Option<Vec<Listener>>,
    /// SSH settings, if changed (`Some(None)`: the SSH server went away).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_or_null"
    )]
    pub sshd: Option<Option<BTreeMap<String, String>>>,
    /// login.defs, if changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_defs: Option<BTreeMap<String, String>>,
    /// pwquality, if changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pwquality: Option<BTreeMap<String, String>>,
    /// Sysctls, if changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sysctls: Option<BTreeMap<String, String>>,
    /// CPU flags, if changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_flags: Option<Vec<String>>,
    /// Path modes, if changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<PathMode>>,
    /// Features, if changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<BTreeMap<String, String>>,
}

/// A field that is present (even as `null`) deserializes to `Some`.
fn present_or_null<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

macro_rules! each_section {
    ($m:ident) => {
        $m!(os);
        $m!(packages);
        $m!(lockfiles);
        $m!(listeners);
        $m!(sshd);
        $m!(login_defs);
        $m!(pwquality);
        $m!(sysctls);
        $m!(cpu_flags);
        $m!(paths);
        $m!(features);
    };
}

impl Inventory {
    /// The sections of `self` that differ from `old`.
    pub fn diff(&self, old: &Inventory) -> InventoryDelta {
        let mut d = InventoryDelta::default();
        macro_rules! cmp {
            ($f:ident) => {
                if self.$f != old.$f {
                    d.$f = Some(self.$f.clone());
                }
            };
        }
        each_section!(cmp);
        d
    }

    /// Replaces the sections `delta` carries.
    pub fn apply(&mut self, delta: InventoryDelta) {
        macro_rules! set {
            ($f:ident) => {
                if let Some(v) = delta.$f {
                    self.$f = v;
                }
            };
        }
        each_section!(set);
    }

    /// Every package of the host, system and lockfile, for vulnerability matching.
    pub fn all_packages(&self) -> Vec<Package> {
        let mut out: Vec<Package> = self.packages.iter().map(|p| p.package.clone()).collect();
        for l in &self.lockfiles {
            out.extend(l.packages.iter().cloned());
        }
        out.sort();
        out.dedup();
        out
    }
}

impl InventoryDelta {
    /// True when no section changed.
    pub fn is_empty(&self) -> bool {
        *self == InventoryDelta::default()
    }
}

/// What the agent sends to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryReport {
    /// The agent's stable id (from `/etc/machine-id`, or generated and kept by the agent).
    pub agent_id: String,
    /// The host name.
    pub hostname: String,
    /// The agent's version.
    pub agent_version: String,
    /// When the inventory was collected (Unix seconds).
    pub collected_at: u64,
    /// This report's sequence number (1 for the first, +1 for each report sent).
    pub sequence: u64,
    /// The full inventory, or the changes since `base`.
    pub body: ReportBody,
    /// The cloud instance the host is, when the agent knows it (absent from older agents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<CloudIdentity>,
}

/// Which cloud instance a host is: how reports are linked to a network description.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudIdentity {
    /// The EC2-style instance id (`i-0abc…`).
    pub instance_id: String,
    /// The owning account, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The region, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

impl CloudIdentity {
    /// Longest instance id accepted.
    pub const MAX_INSTANCE_ID: usize = 64;

    /// An identity for `instance_id`, when it is 1–64 characters of `[A-Za-z0-9._:-]`.
    pub fn new(instance_id: &str) -> Option<Self> {
        Self::valid_instance_id(instance_id).then(|| Self {
            instance_id: instance_id.to_owned(),
            ..Self::default()
        })
    }

    /// Whether `id` is usable as an instance id (it becomes part of store keys).
    pub fn valid_instance_id(id: &str) -> bool {
        (1..=Self::MAX_INSTANCE_ID).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
    }

    /// Reads the fields Portcullis uses from an EC2 instance-identity document
    /// (`{"instanceId": …, "accountId": …, "region": …}`); `None` when it has no valid
    /// `instanceId`.
    pub fn from_identity_document(bytes: &[u8]) -> Option<Self> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Doc {
            instance_id: String,
            #[serde(default)]
            account_id: Option<String>,
            #[serde(default)]
            region: Option<String>,
        }
        if bytes.len() > 64 << 10 {
            return None;
        }
        let d: Doc = serde_json::from_slice(bytes).ok()?;
        let mut id = Self::new(&d.instance_id)?;
        id.account_id = d
            .account_id
            .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()));
        id.region = d.region.filter(|r| (1..=32).contains(&r.len()));
        Some(id)
    }
}

/// A full inventory or a delta against an acknowledged sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum ReportBody {
    /// Everything.
    Full {
        /// The inventory.
        inventory: Box<Inventory>,
    },
    /// Changed sections since the report with sequence `base`.
    Delta {
        /// The sequence number this delta applies to.
        base: u64,
        /// The changed sections (possibly none: a heartbeat).
        delta: Box<InventoryDelta>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::Ecosystem;

    fn inv() -> Inventory {
        Inventory {
            os: OsInfo {
                id: "debian".into(),
                version_id: "12".into(),
                ..OsInfo::default()
            },
            packages: vec![InstalledPackage {
                package: Package {
                    ecosystem: Ecosystem::Debian,
                    name: "openssl".into(),
                    version: "3.0.11-1~deb12u2".into(),
                    source: None,
                },
                manager: "dpkg".into(),
                source_name: None,
            }],
            ..Inventory::default()
        }
    }

    #[test]
    fn diff_then_apply_reproduces_the_new_inventory() {
        let old = inv();
        let mut new = old.clone();
        new.sysctls
            .insert("kernel.randomize_va_space".into(), "0".into());
        new.sshd = Some(BTreeMap::from([("permitrootlogin".into(), "yes".into())]));
        let d = new.diff(&old);
        assert!(d.packages.is_none() && d.os.is_none());
        assert!(d.sysctls.is_some() && d.sshd.is_some());
        let mut applied = old.clone();
        applied.apply(d);
        assert_eq!(applied, new);
        assert!(new.diff(&new).is_empty());
    }

    #[test]
    fn sshd_removal_is_a_change_and_survives_json() {
        let mut old = inv();
        old.sshd = Some(BTreeMap::new());
        let new = inv();
        let d = new.diff(&old);
        assert_eq!(d.sshd, Some(None));
        let report = InventoryReport {
            agent_id: "a".into(),
            hostname: "h".into(),
            agent_version: "0".into(),
            collected_at: 1,
            sequence: 2,
            body: ReportBody::Delta {
                base: 1,
                delta: Box::new(d),
            },
            cloud: CloudIdentity::new("i-0abc"),
        };
        let json = serde_json::to_string(&report).unwrap_or_default();
        let back: InventoryReport = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, report);
        // Older agents send no `cloud` member.
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.remove("cloud");
        }
        let old: InventoryReport = serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(old.cloud, None);
    }

    #[test]
    fn identity_documents() {
        let doc = br#"{"instanceId":"i-0123456789abcdef0","accountId":"111122223333","region":"eu-west-1","imageId":"ami-1"}"#;
        let id = CloudIdentity::from_identity_document(doc).unwrap_or_default();
        assert_eq!(id.instance_id, "i-0123456789abcdef0");
        assert_eq!(id.account_id.as_deref(), Some("111122223333"));
        assert_eq!(id.region.as_deref(), Some("eu-west-1"));
        assert!(CloudIdentity::from_identity_document(br#"{"instanceId":"a/b"}"#).is_none());
        assert!(CloudIdentity::from_identity_document(b"not json").is_none());
        assert!(CloudIdentity::new("").is_none());
    }
}
