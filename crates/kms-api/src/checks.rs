//! Key state and key usage checks, with the exceptions AWS KMS gives.

use crate::error::{KmsError, Result};
use crate::model::{Key, KeyState};

/// Refuses cryptography unless the key is Enabled (`DisabledException`,
/// `KMSInvalidStateException`).
pub fn require_enabled(key: &Key) -> Result<()> {
    match key.state {
        KeyState::Enabled => Ok(()),
        KeyState::Disabled => Err(KmsError::Disabled(format!("{} is disabled.", key.arn()))),
        KeyState::PendingDeletion => Err(KmsError::InvalidState(format!(
            "{} is pending deletion.",
            key.arn()
        ))),
        KeyState::PendingImport => Err(KmsError::InvalidState(format!(
            "{} is pending import.",
            key.arn()
        ))),
    }
}

/// Refuses management operations on a key pending deletion (`KMSInvalidStateException`).
pub fn require_not_pending_deletion(key: &Key) -> Result<()> {
    if key.state == KeyState::PendingDeletion {
        return Err(KmsError::InvalidState(format!(
            "{} is pending deletion.",
            key.arn()
        )));
    }
    Ok(())
}

/// Refuses an operation that needs another key usage (`InvalidKeyUsageException`).
pub fn require_usage(key: &Key, usage: &str) -> Result<()> {
    if key.key_usage != usage {
        return Err(KmsError::InvalidKeyUsage(format!(
            "{} key usage is {} which is not valid for this operation.",
            key.arn(),
            key.key_usage
        )));
    }
    Ok(())
}

/// Refuses a symmetric-only operation on another spec (`InvalidKeyUsageException`).
pub fn require_symmetric_encryption(key: &Key) -> Result<()> {
    require_usage(key, "ENCRYPT_DECRYPT")?;
    if key.key_spec != "SYMMETRIC_DEFAULT" {
        return Err(KmsError::InvalidKeyUsage(format!(
            "{} key spec is {}, but this operation needs a symmetric encryption key.",
            key.arn(),
            key.key_spec
        )));
    }
    Ok(())
}
