-- Lookup attributes keyed the way they are read: (stream, name, value, seq) is the primary key,
-- so an attribute costs one B-tree insert instead of three (the old primary key, the lookup
-- index and the foreign-key probe of `events`). Events are never deleted, so the cascade the
-- foreign key offered had nothing to do; the store writes an event and its attributes in one
-- transaction.
CREATE TABLE event_attrs_new (
    stream TEXT    NOT NULL,
    name   TEXT    NOT NULL,
    value  TEXT    NOT NULL,
    seq    INTEGER NOT NULL,
    PRIMARY KEY (stream, name, value, seq)
) STRICT, WITHOUT ROWID;

INSERT INTO event_attrs_new (stream, name, value, seq)
    SELECT stream, name, value, seq FROM event_attrs;

DROP TABLE event_attrs;

ALTER TABLE event_attrs_new RENAME TO event_attrs;
