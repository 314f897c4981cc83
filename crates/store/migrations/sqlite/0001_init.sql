-- Portcullis store, SQLite schema v1.
-- Keys compare with SQLite's BINARY collation (byte order of UTF-8 = code point order),
-- which the prefix range queries rely on. Times are microseconds since the Unix epoch.

-- Versioned JSON documents, one row per (collection, key).
CREATE TABLE items (
    collection TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL CHECK (json_valid(value)),
    version    INTEGER NOT NULL CHECK (version > 0),
    updated_us INTEGER NOT NULL,
    PRIMARY KEY (collection, key)
) STRICT, WITHOUT ROWID;

-- Append-only event streams. AUTOINCREMENT guarantees a sequence number is never reused,
-- even after the newest rows are deleted.
CREATE TABLE events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    stream  TEXT    NOT NULL,
    id      TEXT    NOT NULL,
    time_us INTEGER NOT NULL,
    body    TEXT    NOT NULL CHECK (json_valid(body)),
    UNIQUE (stream, id)
) STRICT;

CREATE INDEX events_stream_seq ON events (stream, seq);
CREATE INDEX events_stream_time ON events (stream, time_us, seq);

-- Indexed lookup attributes of an event ("EventName" = "CreateUser", ...).
CREATE TABLE event_attrs (
    seq    INTEGER NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
    stream TEXT    NOT NULL,
    name   TEXT    NOT NULL,
    value  TEXT    NOT NULL,
    PRIMARY KEY (seq, name, value)
) STRICT, WITHOUT ROWID;

CREATE INDEX event_attrs_lookup ON event_attrs (stream, name, value, seq);
