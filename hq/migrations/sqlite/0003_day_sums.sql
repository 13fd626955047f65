-- 3: per-(store, local date) sums of the responses, kept by ingest, so that reads add up a row
-- per day instead of every response; backfilled here from the responses already stored. The
-- sums follow core::Tally::add: misuse counted apart, everything else over non-misuse only.
CREATE TABLE day_tallies (
  store_id   TEXT NOT NULL,
  local_date TEXT NOT NULL,
  counted INTEGER NOT NULL, star_sum INTEGER NOT NULL, satisfied INTEGER NOT NULL, partial INTEGER NOT NULL,
  misuse  INTEGER NOT NULL,
  segue_satisfactory_sum  INTEGER NOT NULL, segue_satisfactory_n  INTEGER NOT NULL,
  segue_efficient_sum     INTEGER NOT NULL, segue_efficient_n     INTEGER NOT NULL,
  segue_genuine_sum       INTEGER NOT NULL, segue_genuine_n       INTEGER NOT NULL,
  segue_understanding_sum INTEGER NOT NULL, segue_understanding_n INTEGER NOT NULL,
  segue_effective_sum     INTEGER NOT NULL, segue_effective_n     INTEGER NOT NULL,
  h00 INTEGER NOT NULL, h01 INTEGER NOT NULL, h02 INTEGER NOT NULL, h03 INTEGER NOT NULL, h04 INTEGER NOT NULL,
  h05 INTEGER NOT NULL, h06 INTEGER NOT NULL, h07 INTEGER NOT NULL, h08 INTEGER NOT NULL, h09 INTEGER NOT NULL,
  h10 INTEGER NOT NULL, h11 INTEGER NOT NULL, h12 INTEGER NOT NULL, h13 INTEGER NOT NULL, h14 INTEGER NOT NULL,
  h15 INTEGER NOT NULL, h16 INTEGER NOT NULL, h17 INTEGER NOT NULL, h18 INTEGER NOT NULL, h19 INTEGER NOT NULL,
  h20 INTEGER NOT NULL, h21 INTEGER NOT NULL, h22 INTEGER NOT NULL, h23 INTEGER NOT NULL,
  PRIMARY KEY (store_id, local_date)
) WITHOUT ROWID;
CREATE INDEX day_tallies_date ON day_tallies(local_date);
CREATE TABLE day_tag_counts (
  store_id   TEXT NOT NULL,
  local_date TEXT NOT NULL,
  tag        TEXT NOT NULL,
  n          INTEGER NOT NULL,
  PRIMARY KEY (store_id, local_date, tag)
) WITHOUT ROWID;
CREATE INDEX day_tag_counts_date ON day_tag_counts(local_date);
INSERT INTO day_tallies
SELECT store_id, local_date,
       SUM(misuse = 0), SUM(CASE WHEN misuse = 0 THEN stars ELSE 0 END), SUM(misuse = 0 AND stars >= 4),
       SUM(misuse = 0 AND complete = 0), SUM(misuse != 0),
       COALESCE(SUM(CASE WHEN misuse = 0 THEN segue_satisfactory END), 0), COUNT(CASE WHEN misuse = 0 THEN segue_satisfactory END),
       COALESCE(SUM(CASE WHEN misuse = 0 THEN segue_efficient END), 0), COUNT(CASE WHEN misuse = 0 THEN segue_efficient END),
       COALESCE(SUM(CASE WHEN misuse = 0 THEN segue_genuine END), 0), COUNT(CASE WHEN misuse = 0 THEN segue_genuine END),
       COALESCE(SUM(CASE WHEN misuse = 0 THEN segue_understanding END), 0), COUNT(CASE WHEN misuse = 0 THEN segue_understanding END),
       COALESCE(SUM(CASE WHEN misuse = 0 THEN segue_effective END), 0), COUNT(CASE WHEN misuse = 0 THEN segue_effective END),
       SUM(misuse = 0 AND local_hour = 0), SUM(misuse = 0 AND local_hour = 1), SUM(misuse = 0 AND local_hour = 2),
       SUM(misuse = 0 AND local_hour = 3), SUM(misuse = 0 AND local_hour = 4), SUM(misuse = 0 AND local_hour = 5),
       SUM(misuse = 0 AND local_hour = 6), SUM(misuse = 0 AND local_hour = 7), SUM(misuse = 0 AND local_hour = 8),
       SUM(misuse = 0 AND local_hour = 9), SUM(misuse = 0 AND local_hour = 10), SUM(misuse = 0 AND local_hour = 11),
       SUM(misuse = 0 AND local_hour = 12), SUM(misuse = 0 AND local_hour = 13), SUM(misuse = 0 AND local_hour = 14),
       SUM(misuse = 0 AND local_hour = 15), SUM(misuse = 0 AND local_hour = 16), SUM(misuse = 0 AND local_hour = 17),
       SUM(misuse = 0 AND local_hour = 18), SUM(misuse = 0 AND local_hour = 19), SUM(misuse = 0 AND local_hour = 20),
       SUM(misuse = 0 AND local_hour = 21), SUM(misuse = 0 AND local_hour = 22), SUM(misuse = 0 AND local_hour = 23)
FROM responses GROUP BY store_id, local_date;
INSERT INTO day_tag_counts
SELECT r.store_id, r.local_date, t.value, COUNT(*) FROM responses r, json_each(r.tags) t
WHERE r.misuse = 0 GROUP BY r.store_id, r.local_date, t.value;
