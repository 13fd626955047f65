-- Settings and events (PIN hash, sync status, recovery report); the `synthetic` flag for
-- demo data; indexes shaped for the staff screen and the export.
CREATE TABLE meta (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

ALTER TABLE responses ADD COLUMN synthetic INTEGER NOT NULL DEFAULT 0 CHECK (synthetic IN (0, 1));

-- A day's tally reads only this index (covering): no table lookups on a large store.
DROP INDEX responses_by_local_date;
CREATE INDEX responses_stats ON responses (
    local_date, local_hour, misuse, complete, stars,
    segue_satisfactory, segue_efficient, segue_genuine, segue_understanding, segue_effective);

-- Export and forEachResponse stream in creation order.
CREATE INDEX responses_by_created ON responses (created_at_ms);
