-- Outbox counts kept by triggers in the same transaction as every change, so the pending
-- figure on the staff screen costs one row read even with a million responses waiting.
CREATE TABLE outbox_counts (
    state TEXT    NOT NULL PRIMARY KEY CHECK (state IN ('pending', 'synced', 'rejected')),
    n     INTEGER NOT NULL CHECK (n >= 0)
) WITHOUT ROWID;

INSERT INTO outbox_counts (state, n)
    SELECT s.state, (SELECT COUNT(*) FROM outbox o WHERE o.state = s.state)
    FROM (SELECT 'pending' AS state UNION ALL SELECT 'synced' UNION ALL SELECT 'rejected') s;

CREATE TRIGGER outbox_counts_insert AFTER INSERT ON outbox
BEGIN
    UPDATE outbox_counts SET n = n + 1 WHERE state = NEW.state;
END;

CREATE TRIGGER outbox_counts_delete AFTER DELETE ON outbox
BEGIN
    UPDATE outbox_counts SET n = n - 1 WHERE state = OLD.state;
END;

CREATE TRIGGER outbox_counts_update AFTER UPDATE OF state ON outbox
WHEN OLD.state <> NEW.state
BEGIN
    UPDATE outbox_counts SET n = n - 1 WHERE state = OLD.state;
    UPDATE outbox_counts SET n = n + 1 WHERE state = NEW.state;
END;
