-- The audit writer's hot path (KMS issue 3): fewer checks and index rows per stored event.
--
-- 1. `events.body` loses its `CHECK (json_valid(body))`: SQLite re-parsed every body into its
--    binary JSON form to answer it (about 3 % of the server's CPU under KMS load). The store
--    checks the text itself before it writes (`codec::check_event_json`), once, in Rust; every
--    other path stores text made by `serde_json`. SQLite cannot drop a CHECK in place, so the
--    table is rebuilt with the same rows, sequence numbers, high-water mark and indexes.
-- 2. `event_attrs` rows may cover a run of events: a row (stream, name, value, seq, last_seq)
--    says that every event of `stream` whose sequence number lies in `seq..=last_seq` carries
--    the attribute. A batch whose consecutive events share an attribute (the same caller, key
--    and operation at a busy API) stores one row for the run instead of one per event. A NULL
--    `last_seq` (every row written before this migration) covers `seq` alone.

CREATE TABLE events_new (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    stream  TEXT    NOT NULL,
    id      TEXT    NOT NULL,
    time_us INTEGER NOT NULL,
    body    TEXT    NOT NULL,
    UNIQUE (stream, id)
) STRICT;

INSERT INTO events_new (seq, stream, id, time_us, body)
    SELECT seq, stream, id, time_us, body FROM events ORDER BY seq;

-- Keep the high-water mark of the old table (a sequence number is never reused).
DELETE FROM sqlite_sequence WHERE name = 'events_new';
UPDATE sqlite_sequence SET name = 'events_new' WHERE name = 'events';

DROP TABLE events;

ALTER TABLE events_new RENAME TO events;

CREATE INDEX events_stream_seq ON events (stream, seq);
CREATE INDEX events_stream_time ON events (stream, time_us, seq);

ALTER TABLE event_attrs ADD COLUMN last_seq INTEGER;
