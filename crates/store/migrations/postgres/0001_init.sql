-- Portcullis store, PostgreSQL schema v1.
-- Text columns use the "C" collation so that ordering and the prefix range queries follow
-- byte order of UTF-8 (= code point order), exactly as on SQLite, whatever the database's
-- locale. Times are microseconds since the Unix epoch, as on SQLite.

-- Versioned JSON documents, one row per (collection, key).
CREATE TABLE items (
    collection TEXT COLLATE "C" NOT NULL,
    key        TEXT COLLATE "C" NOT NULL,
    value      JSONB  NOT NULL,
    version    BIGINT NOT NULL CHECK (version > 0),
    updated_us BIGINT NOT NULL,
    PRIMARY KEY (collection, key)
);

-- Append-only event streams; seq comes from one sequence, so it is monotonic per store.
CREATE TABLE events (
    seq     BIGSERIAL PRIMARY KEY,
    stream  TEXT COLLATE "C" NOT NULL,
    id      TEXT COLLATE "C" NOT NULL,
    time_us BIGINT NOT NULL,
    body    JSONB  NOT NULL,
    UNIQUE (stream, id)
);

CREATE INDEX events_stream_seq ON events (stream, seq);
CREATE INDEX events_stream_time ON events (stream, time_us, seq);

-- Indexed lookup attributes of an event ("EventName" = "CreateUser", ...).
CREATE TABLE event_attrs (
    seq    BIGINT NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
    stream TEXT COLLATE "C" NOT NULL,
    name   TEXT COLLATE "C" NOT NULL,
    value  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (seq, name, value)
);

CREATE INDEX event_attrs_lookup ON event_attrs (stream, name, value, seq);
