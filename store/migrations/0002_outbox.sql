-- The outbox: one row per response that has to reach HQ. Responses stored before sync
-- existed start out pending, so the backlog is sent like any other.
CREATE TABLE outbox (
    response_id  TEXT    NOT NULL PRIMARY KEY REFERENCES responses (id) ON DELETE CASCADE,
    state        TEXT    NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'synced', 'rejected')),
    reason       TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    synced_at_ms INTEGER,
    CHECK ((state = 'synced') = (synced_at_ms IS NOT NULL))
) WITHOUT ROWID;

-- pendingBatch walks this in id order (time order for UUIDv7) without touching other states.
CREATE INDEX outbox_by_state ON outbox (state, response_id);

INSERT INTO outbox (response_id, state) SELECT id, 'pending' FROM responses;
