//! The agent's persisted state: its id, the last sequence number it used and the inventory
//! the server last acknowledged, so a restarted agent sends a delta rather than everything.
//!
//! Kept as `state.json` in the state directory, written to a temporary file and renamed
//! (owner-only permissions): a crash leaves the old state or the new one, never half of one.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use portcullis_inspector_core::inventory::Inventory;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::AgentError;

/// Name of the state file inside the state directory.
pub const STATE_FILE: &str = "state.json";
/// Largest state file read (an inventory with many lockfiles stays far below).
const MAX_STATE_BYTES: u64 = 256 << 20;

/// What the server has acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Acknowledged {
    /// The acknowledged report's sequence number (the base of the next delta).
    pub sequence: u64,
    /// The inventory the server holds after that report.
    pub inventory: Inventory,
}

/// The agent's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentState {
    /// The agent's stable id.
    pub agent_id: String,
    /// The last sequence number used in a report (the next report uses one more).
    pub last_sequence: u64,
    /// The last acknowledged report, if any.
    pub acknowledged: Option<Acknowledged>,
}

impl AgentState {
    /// A fresh state for `agent_id`.
    pub fn new(agent_id: String) -> Self {
        AgentState {
            agent_id,
            last_sequence: 0,
            acknowledged: None,
        }
    }

    /// Loads the state from `dir`, `Ok(None)` when there is none yet.
    pub fn load(dir: &Path) -> Result<Option<AgentState>, AgentError> {
        let path = dir.join(STATE_FILE);
        let bytes = match std::fs::File::open(&path) {
            Ok(f) => {
                let mut buf = Vec::new();
                std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_STATE_BYTES), &mut buf)
                    .map_err(|source| AgentError::Io {
                        path: path.clone(),
                        source,
                    })?;
                buf
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(AgentError::Io { path, source }),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| AgentError::InvalidState {
                path,
                reason: e.to_string(),
            })
    }

    /// Writes the state to `dir` atomically (creating `dir` if needed).
    pub fn save(&self, dir: &Path) -> Result<(), AgentError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| AgentError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let tmp: PathBuf = dir.join(format!("{STATE_FILE}.tmp"));
        let json = serde_json::to_vec(self)?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io(&tmp))?;
        f.write_all(&json).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        let path = dir.join(STATE_FILE);
        std::fs::rename(&tmp, &path).map_err(io(&path))
    }
}

/// The agent id: a digest of `/etc/machine-id` under `root` (so reinstalling the agent keeps
/// the id and the machine id itself is not disclosed), else a random UUID.
pub fn derive_agent_id(root: &Path) -> String {
    let machine_id = ["etc/machine-id", "var/lib/dbus/machine-id"]
        .iter()
        .find_map(|p| std::fs::read_to_string(root.join(p)).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty() && s.len() <= 128);
    match machine_id {
        Some(id) => {
            let mut h = Sha256::new();
            h.update(b"portcullis-agent:");
            h.update(id.as_bytes());
            let digest = hex::encode(h.finalize());
            format!("host-{}", digest.get(..32).unwrap_or(&digest))
        }
        None => format!("host-{}", uuid::Uuid::new_v4().simple()),
    }
}

/// The state in `dir`, or a new one (with an id from [`derive_agent_id`]) when there is
/// none or it is unreadable (logged; the next report is then a full one).
pub fn load_or_init(dir: &Path, root: &Path) -> AgentState {
    match AgentState::load(dir) {
        Ok(Some(s)) if !s.agent_id.is_empty() => s,
        Ok(_) => AgentState::new(derive_agent_id(root)),
        Err(e) => {
            tracing::warn!(error = %e, "discarding the agent state");
            AgentState::new(derive_agent_id(root))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(AgentState::load(dir.path()).unwrap(), None);
        let mut s = AgentState::new("host-x".into());
        s.last_sequence = 7;
        s.acknowledged = Some(Acknowledged {
            sequence: 6,
            inventory: Inventory::default(),
        });
        s.save(dir.path()).unwrap();
        assert_eq!(AgentState::load(dir.path()).unwrap(), Some(s.clone()));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path().join(STATE_FILE))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(dir.path().join(STATE_FILE), b"{not json").unwrap();
        assert!(matches!(
            AgentState::load(dir.path()),
            Err(AgentError::InvalidState { .. })
        ));
        let fresh = load_or_init(dir.path(), dir.path());
        assert_eq!(fresh.last_sequence, 0);
        assert!(fresh.agent_id.starts_with("host-"));
    }

    #[test]
    fn machine_id_gives_a_stable_id() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/machine-id"),
            "0123456789abcdef0123456789abcdef\n",
        )
        .unwrap();
        let a = derive_agent_id(dir.path());
        assert_eq!(a, derive_agent_id(dir.path()));
        assert_eq!(a.len(), 5 + 32);
        assert!(!a.contains("0123456789abcdef"));
        let other = tempfile::tempdir().unwrap();
        assert_ne!(
            derive_agent_id(other.path()),
            derive_agent_id(other.path()),
            "random without machine-id"
        );
    }
}
