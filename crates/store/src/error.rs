//! The one error type of the store crate.
//!
//! Callers branch on [`StoreError::ConditionFailed`] (a lost optimistic-concurrency race or a
//! violated precondition: map it to the service's conflict exception) and
//! [`StoreError::DuplicateEvent`]; every other variant is an internal failure whose details
//! belong in the log, not in an API response.

/// Everything that can go wrong when opening or using a [`Store`](crate::Store).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A write's [`Precondition`](crate::Precondition) did not hold (the item was present when
    /// it had to be absent, missing when it had to exist, or at another version). In a
    /// [`write_batch`](crate::Store::write_batch) this names the first failing operation and
    /// nothing was written.
    #[error("precondition failed for {collection}/{key}")]
    ConditionFailed {
        /// Collection of the item whose precondition failed.
        collection: String,
        /// Key of the item whose precondition failed.
        key: String,
    },

    /// [`append_event`](crate::Store::append_event) was given an event id that the stream
    /// already holds; the earlier event is kept unchanged.
    #[error("event {id} already exists in stream {stream}")]
    DuplicateEvent {
        /// The stream appended to.
        stream: String,
        /// The event id that was already present.
        id: String,
    },

    /// The store URL passed to [`open`](crate::open) is not one this crate understands.
    #[error("invalid store URL {url}: {reason}")]
    InvalidUrl {
        /// The URL with any password replaced by `***`.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A name, key or JSON value holds something that not every backend can store (today:
    /// the NUL character, which PostgreSQL text and JSONB reject). Rejected on every backend
    /// so that behaviour does not depend on the deployment.
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// Which argument was rejected ("key", "collection", "value", ...).
        what: &'static str,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// The database could not be reached or opened (bad path, refused connection, bad
    /// credentials).
    #[error("cannot open store {target}: {source}")]
    Connect {
        /// The database, with any password replaced by `***`.
        target: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },

    /// The database returned an error while serving a call (I/O failure, lost connection,
    /// timeout, constraint violation not covered by a more specific variant).
    #[error("store backend error: {0}")]
    Backend(#[from] sqlx::Error),

    /// Applying the embedded schema migrations failed, or the database holds migrations that
    /// this build does not know (it was opened by a newer Portcullis).
    #[error("store schema migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),

    /// A stored row could not be decoded (invalid JSON, negative version or sequence number,
    /// time out of range): the database was changed behind the store's back.
    #[error("corrupt {table} row {row}: {detail}")]
    Corrupt {
        /// The table holding the row.
        table: &'static str,
        /// Which row ("collection/key" or the sequence number).
        row: String,
        /// What could not be decoded.
        detail: String,
    },
}

impl StoreError {
    /// True for [`StoreError::ConditionFailed`]: the caller may re-read and retry.
    #[must_use]
    pub fn is_condition_failed(&self) -> bool {
        matches!(self, Self::ConditionFailed { .. })
    }

    /// Builds [`StoreError::ConditionFailed`] for one item.
    pub(crate) fn condition(collection: &str, key: &str) -> Self {
        Self::ConditionFailed {
            collection: collection.to_owned(),
            key: key.to_owned(),
        }
    }

    /// Builds [`StoreError::Corrupt`].
    pub(crate) fn corrupt(
        table: &'static str,
        row: impl Into<String>,
        detail: impl std::fmt::Display,
    ) -> Self {
        Self::Corrupt {
            table,
            row: row.into(),
            detail: detail.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn condition_failed_names_the_item() {
        let err = StoreError::condition("users", "alice");
        assert!(err.is_condition_failed());
        assert_eq!(err.to_string(), "precondition failed for users/alice");
    }

    #[test]
    fn other_errors_are_not_condition_failures() {
        let err = StoreError::InvalidInput {
            what: "key",
            reason: "contains NUL",
        };
        assert!(!err.is_condition_failed());
        assert_eq!(err.to_string(), "invalid key: contains NUL");
    }
}
