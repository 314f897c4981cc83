-- Lookup attributes keyed the way they are read: (stream, name, value, seq) is the primary key,
-- so an attribute costs one index insert instead of two plus the foreign-key probe of `events`.
-- Events are never deleted, so the cascade the foreign key offered had nothing to do; the store
-- writes an event and its attributes in one transaction.
ALTER TABLE event_attrs DROP CONSTRAINT event_attrs_seq_fkey;
ALTER TABLE event_attrs DROP CONSTRAINT event_attrs_pkey;
DROP INDEX event_attrs_lookup;
ALTER TABLE event_attrs ADD PRIMARY KEY (stream, name, value, seq);
