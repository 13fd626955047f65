-- 15: how many times each (date, store) day sums row changed, kept by triggers on day_tallies
-- beside day_totals' (migration 12), so that a reader that sees a date's count move can tell
-- which stores' rows changed and read only those again (hq/period_cache.*): a write to one
-- store's day costs the next chain-wide read a narrow look at the date, not all of its rows.
-- Only ever counted up. Safe to run again (the tests that turn a database back into an older
-- version by hand): IF NOT EXISTS, and the backfill leaves the rows already there.
CREATE TABLE IF NOT EXISTS day_changes (
  local_date TEXT NOT NULL,
  store_id   TEXT NOT NULL,
  changes    INTEGER NOT NULL,
  PRIMARY KEY (local_date, store_id)
) WITHOUT ROWID;
INSERT INTO day_changes (local_date, store_id, changes)
SELECT local_date, store_id, 1 FROM day_tallies WHERE true
ON CONFLICT (local_date, store_id) DO NOTHING;
CREATE TRIGGER IF NOT EXISTS day_changes_on_insert AFTER INSERT ON day_tallies BEGIN
  INSERT INTO day_changes (local_date, store_id, changes) VALUES (NEW.local_date, NEW.store_id, 1)
  ON CONFLICT (local_date, store_id) DO UPDATE SET changes = changes + 1;
END;
CREATE TRIGGER IF NOT EXISTS day_changes_on_update AFTER UPDATE ON day_tallies BEGIN
  INSERT INTO day_changes (local_date, store_id, changes) VALUES (NEW.local_date, NEW.store_id, 1)
  ON CONFLICT (local_date, store_id) DO UPDATE SET changes = changes + 1;
END;
