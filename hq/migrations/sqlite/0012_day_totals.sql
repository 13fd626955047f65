-- 12: how many times each date's day sums changed, kept by triggers on day_tallies, so that a
-- reader can tell with one small query which dates changed since it last read them: the
-- chain-wide reads (/stores, /regions) keep recent dates' sums in memory (hq/period_cache.*) and
-- read a date again only when its count moved. Only ever counted up, so a changed date never
-- shows the count a reader saw before. Numbered 12 while 11 is written on another branch. Safe
-- to run again (the tests that turn a database back into an older version by hand): IF NOT
-- EXISTS, and the backfill adds to what is there.
CREATE TABLE IF NOT EXISTS day_totals (
  local_date TEXT NOT NULL,
  shard      INTEGER NOT NULL,
  changes    INTEGER NOT NULL,
  PRIMARY KEY (local_date, shard)
) WITHOUT ROWID;
INSERT INTO day_totals (local_date, shard, changes)
SELECT local_date, 0, COUNT(*) FROM day_tallies WHERE true GROUP BY local_date
ON CONFLICT (local_date, shard) DO UPDATE SET changes = day_totals.changes + excluded.changes;
-- SQLite has one writer at a time: one row per date (shard 0) is contended by nobody.
CREATE TRIGGER IF NOT EXISTS day_totals_on_insert AFTER INSERT ON day_tallies BEGIN
  INSERT INTO day_totals (local_date, shard, changes) VALUES (NEW.local_date, 0, 1)
  ON CONFLICT (local_date, shard) DO UPDATE SET changes = changes + 1;
END;
CREATE TRIGGER IF NOT EXISTS day_totals_on_update AFTER UPDATE ON day_tallies BEGIN
  INSERT INTO day_totals (local_date, shard, changes) VALUES (NEW.local_date, 0, 1)
  ON CONFLICT (local_date, shard) DO UPDATE SET changes = changes + 1;
END;
