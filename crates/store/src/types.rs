//! The values that cross the [`Store`](crate::Store) trait: items, preconditions, batch
//! operations and events.

use time::OffsetDateTime;

/// A stored document: a JSON value under a key in a collection, with its version.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The item's key, unique within its collection.
    pub key: String,
    /// The document.
    pub value: serde_json::Value,
    /// 1 when the item was created, +1 on every write since (a delete and re-create starts
    /// again at 1).
    pub version: u64,
}

/// What must be true of the stored item for a write to go ahead (optimistic concurrency).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precondition {
    /// No condition: write unconditionally.
    #[default]
    None,
    /// The item must not exist (create-only).
    Absent,
    /// The item must exist (update-only).
    Exists,
    /// The item must exist at exactly this version (compare-and-swap after a read). Versions
    /// start at 1, so `Version(0)` never holds.
    Version(u64),
}

/// One write of an atomic [`write_batch`](crate::Store::write_batch).
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    /// Insert or replace an item, like [`put`](crate::Store::put).
    Put {
        /// Collection to write in.
        collection: String,
        /// Key of the item.
        key: String,
        /// The new document.
        value: serde_json::Value,
        /// Must hold before the write.
        cond: Precondition,
    },
    /// Remove an item, like [`delete`](crate::Store::delete).
    Delete {
        /// Collection to delete from.
        collection: String,
        /// Key of the item.
        key: String,
        /// Must hold before the delete.
        cond: Precondition,
    },
}

impl WriteOp {
    /// A [`WriteOp::Put`].
    pub fn put(collection: &str, key: &str, value: serde_json::Value, cond: Precondition) -> Self {
        Self::Put {
            collection: collection.to_owned(),
            key: key.to_owned(),
            value,
            cond,
        }
    }

    /// A [`WriteOp::Delete`].
    pub fn delete(collection: &str, key: &str, cond: Precondition) -> Self {
        Self::Delete {
            collection: collection.to_owned(),
            key: key.to_owned(),
            cond,
        }
    }

    /// The collection this operation writes to.
    pub fn collection(&self) -> &str {
        match self {
            Self::Put { collection, .. } | Self::Delete { collection, .. } => collection,
        }
    }

    /// The key this operation writes.
    pub fn key(&self) -> &str {
        match self {
            Self::Put { key, .. } | Self::Delete { key, .. } => key,
        }
    }
}

/// An event to append to a stream (an audit record, a finding).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// The event's own id (a CloudTrail `eventID`, a finding id); unique within its stream.
    pub id: String,
    /// When the event happened. Stored with microsecond precision (truncated toward the past).
    pub time: OffsetDateTime,
    /// Indexed lookup attributes, e.g. `("EventName", "CreateUser")`, `("Username", "alice")`.
    /// A name may appear several times with different values; exact duplicates are stored once.
    pub attrs: Vec<(String, String)>,
    /// The event itself.
    pub body: serde_json::Value,
}

/// An event whose body is already JSON text, for
/// [`append_events_json`](crate::Store::append_events_json): a writer that has serialized
/// its records once (for log files, say) stores the same text without building a
/// `serde_json::Value` tree first.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEventJson {
    /// The event's own id; unique within its stream.
    pub id: String,
    /// When the event happened (microsecond precision, truncated toward the past).
    pub time: OffsetDateTime,
    /// Indexed lookup attributes, as in [`NewEvent::attrs`].
    pub attrs: Vec<(String, String)>,
    /// The event itself: one JSON value as text. Text that is not valid JSON, or whose
    /// strings hold a NUL character (`\u0000`), is refused.
    pub body: JsonText,
}

/// One JSON value as text, for [`NewEventJson::body`]. Text made by
/// [`JsonText::serialize`] is serde_json's own output, so a store that keeps text as it is
/// does not parse it again to know it is JSON; text given as a string ([`From`]) is parsed
/// once when it is stored. Either way a NUL character in a string is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonText {
    text: String,
    /// Written by serde_json in [`JsonText::serialize`] (or a writer held to its output,
    /// [`JsonText::written`]): one JSON value by construction.
    serialized: bool,
}

impl JsonText {
    /// Serializes `value` with serde_json (compact).
    ///
    /// # Errors
    /// The value's `Serialize` failed (for instance a map with a key that is not a string).
    pub fn serialize<T: serde::Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::to_string(value).map(|text| Self {
            text,
            serialized: true,
        })
    }

    /// Text written by a JSON writer held to serde_json's output by its tests (the audit
    /// record's `portcullis_common::audit::CloudTrailRecord::to_json`): one JSON value by
    /// construction, so, like [`JsonText::serialize`]'s, it is not parsed again. Text from
    /// anywhere else goes through [`From`], which the store checks.
    pub fn written(text: String) -> Self {
        Self {
            text,
            serialized: true,
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The text, without a copy.
    pub fn into_string(self) -> String {
        self.text
    }

    /// Whether serde_json wrote this text, so it needs no parse to be known as JSON.
    pub(crate) fn is_serialized(&self) -> bool {
        self.serialized
    }
}

impl From<String> for JsonText {
    /// Text from elsewhere: the store checks that it is one JSON value.
    fn from(text: String) -> Self {
        Self {
            text,
            serialized: false,
        }
    }
}

impl From<&str> for JsonText {
    /// Text from elsewhere: the store checks that it is one JSON value.
    fn from(text: &str) -> Self {
        Self::from(text.to_owned())
    }
}

impl std::ops::Deref for JsonText {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

/// Which events [`query_events`](crate::Store::query_events) returns. Filters are ANDed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    /// Only events at or after this time (inclusive).
    pub start: Option<OffsetDateTime>,
    /// Only events at or before this time (inclusive).
    pub end: Option<OffsetDateTime>,
    /// Only events carrying this attribute (name, value), compared exactly.
    pub attr: Option<(String, String)>,
    /// Only events with a sequence number strictly below this one: pass the last `seq` of
    /// the previous page to get the next (older) page.
    pub before_seq: Option<u64>,
    /// At most this many events (0 returns none).
    pub limit: usize,
}

impl Default for EventQuery {
    /// No filters, the 50 newest events (CloudTrail's default page size).
    fn default() -> Self {
        Self {
            start: None,
            end: None,
            attr: None,
            before_seq: None,
            limit: 50,
        }
    }
}

impl EventQuery {
    /// The `limit` newest events, unfiltered.
    #[must_use]
    pub fn latest(limit: usize) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }
}

/// An event as stored, with the sequence number the store gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Position in the store's append order: strictly increasing across all streams.
    pub seq: u64,
    /// The event's id.
    pub id: String,
    /// When the event happened (UTC, microsecond precision).
    pub time: OffsetDateTime,
    /// The event itself.
    pub body: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_op_accessors_name_the_target() {
        let put = WriteOp::put(
            "users",
            "alice",
            serde_json::json!({}),
            Precondition::Absent,
        );
        let del = WriteOp::delete("groups", "admins", Precondition::Version(3));
        assert_eq!((put.collection(), put.key()), ("users", "alice"));
        assert_eq!((del.collection(), del.key()), ("groups", "admins"));
    }

    #[test]
    fn default_query_is_an_unfiltered_page_of_fifty() {
        let q = EventQuery::default();
        assert_eq!(q.limit, 50);
        assert!(q.start.is_none() && q.end.is_none() && q.attr.is_none() && q.before_seq.is_none());
        assert_eq!(EventQuery::latest(7).limit, 7);
    }

    #[test]
    fn default_precondition_is_unconditional() {
        assert_eq!(Precondition::default(), Precondition::None);
    }
}
