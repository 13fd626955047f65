-- 12: how many times each date's day sums changed, kept by a trigger on day_tallies, so that a
-- reader can tell with one small query which dates changed since it last read them: the
-- chain-wide reads (/stores, /regions) keep recent dates' sums in memory (hq/period_cache.*) and
-- read a date again only when its count moved. Only ever counted up, so a changed date never
-- shows the count a reader saw before. Numbered 12 while 11 is written on another branch. Safe
-- to run again (the tests that turn a database back into an older version by hand): IF NOT
-- EXISTS, OR REPLACE, and the backfill adds to what is there.
CREATE TABLE IF NOT EXISTS day_totals (
  local_date text NOT NULL,
  shard      integer NOT NULL,
  changes    bigint NOT NULL,
  PRIMARY KEY (local_date, shard)
);
INSERT INTO day_totals (local_date, shard, changes)
SELECT local_date, 0, COUNT(*) FROM day_tallies GROUP BY local_date
ON CONFLICT (local_date, shard) DO UPDATE SET changes = day_totals.changes + excluded.changes;
-- 64 rows a date, chosen by store: concurrent ingests (one store each) of the same day wait on
-- each other's row only when their stores share a shard. A batch touches one store, so one
-- shard, its dates in ascending order (the order the day sums are upserted in): no lock cycle.
CREATE OR REPLACE FUNCTION day_totals_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO day_totals (local_date, shard, changes) VALUES (NEW.local_date, hashtext(NEW.store_id) & 63, 1)
  ON CONFLICT (local_date, shard) DO UPDATE SET changes = day_totals.changes + 1;
  RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS day_totals_count ON day_tallies;
CREATE TRIGGER day_totals_count AFTER INSERT OR UPDATE ON day_tallies
  FOR EACH ROW EXECUTE FUNCTION day_totals_count();
