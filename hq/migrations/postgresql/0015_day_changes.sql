-- 15: how many times each (date, store) day sums row changed, kept by the trigger that keeps
-- day_totals (migration 12), so that a reader that sees a date's count move can tell which
-- stores' rows changed and read only those again (hq/period_cache.*): a write to one store's
-- day costs the next chain-wide read a narrow look at the date, not all of its rows. Each row is
-- written only by the transactions that write the same day_tallies row, so it adds no row that
-- concurrent ingests of different stores share. Only ever counted up. Safe to run again (the
-- tests that turn a database back into an older version by hand): IF NOT EXISTS, OR REPLACE,
-- and the backfill leaves the rows already there.
CREATE TABLE IF NOT EXISTS day_changes (
  local_date text COLLATE "C" NOT NULL,
  store_id   text NOT NULL,
  changes    bigint NOT NULL,
  PRIMARY KEY (local_date, store_id)
);
INSERT INTO day_changes (local_date, store_id, changes)
SELECT local_date, store_id, 1 FROM day_tallies
ON CONFLICT (local_date, store_id) DO NOTHING;
CREATE OR REPLACE FUNCTION day_totals_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO day_totals (local_date, shard, changes) VALUES (NEW.local_date, hashtext(NEW.store_id) & 63, 1)
  ON CONFLICT (local_date, shard) DO UPDATE SET changes = day_totals.changes + 1;
  INSERT INTO day_changes (local_date, store_id, changes) VALUES (NEW.local_date, NEW.store_id, 1)
  ON CONFLICT (local_date, store_id) DO UPDATE SET changes = day_changes.changes + 1;
  RETURN NULL;
END
$$;
ANALYZE day_changes;
