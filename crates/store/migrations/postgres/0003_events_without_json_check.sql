-- The audit writer's hot path (KMS issue 3), matching SQLite's migration 3.
--
-- `events.body` is JSONB, which PostgreSQL parses on input anyway: it had no separate check
-- to drop. `event_attrs` rows may now cover a run of events: a row (stream, name, value, seq,
-- last_seq) says that every event of `stream` whose sequence number lies in `seq..=last_seq`
-- carries the attribute (one row per run of consecutive events sharing it, instead of one per
-- event). A NULL `last_seq` (every row written before this migration) covers `seq` alone, so
-- the column is added without rewriting the table.
ALTER TABLE event_attrs ADD COLUMN last_seq BIGINT;
