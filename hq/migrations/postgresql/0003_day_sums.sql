-- 3: per-(store, local date) sums of the responses, kept by ingest, so that reads add up a row
-- per day instead of every response; backfilled here from the responses already stored. The
-- sums follow core::Tally::add: misuse counted apart, everything else over non-misuse only.
CREATE TABLE day_tallies (
  store_id   text NOT NULL,
  local_date text COLLATE "C" NOT NULL,
  counted bigint NOT NULL, star_sum bigint NOT NULL, satisfied bigint NOT NULL, partial bigint NOT NULL,
  misuse  bigint NOT NULL,
  segue_satisfactory_sum  bigint NOT NULL, segue_satisfactory_n  bigint NOT NULL,
  segue_efficient_sum     bigint NOT NULL, segue_efficient_n     bigint NOT NULL,
  segue_genuine_sum       bigint NOT NULL, segue_genuine_n       bigint NOT NULL,
  segue_understanding_sum bigint NOT NULL, segue_understanding_n bigint NOT NULL,
  segue_effective_sum     bigint NOT NULL, segue_effective_n     bigint NOT NULL,
  h00 bigint NOT NULL, h01 bigint NOT NULL, h02 bigint NOT NULL, h03 bigint NOT NULL, h04 bigint NOT NULL,
  h05 bigint NOT NULL, h06 bigint NOT NULL, h07 bigint NOT NULL, h08 bigint NOT NULL, h09 bigint NOT NULL,
  h10 bigint NOT NULL, h11 bigint NOT NULL, h12 bigint NOT NULL, h13 bigint NOT NULL, h14 bigint NOT NULL,
  h15 bigint NOT NULL, h16 bigint NOT NULL, h17 bigint NOT NULL, h18 bigint NOT NULL, h19 bigint NOT NULL,
  h20 bigint NOT NULL, h21 bigint NOT NULL, h22 bigint NOT NULL, h23 bigint NOT NULL,
  PRIMARY KEY (store_id, local_date)
);
CREATE INDEX day_tallies_date ON day_tallies(local_date);
CREATE TABLE day_tag_counts (
  store_id   text NOT NULL,
  local_date text COLLATE "C" NOT NULL,
  tag        text NOT NULL,
  n          bigint NOT NULL,
  PRIMARY KEY (store_id, local_date, tag)
);
CREATE INDEX day_tag_counts_date ON day_tag_counts(local_date);
INSERT INTO day_tallies
SELECT store_id, local_date,
       COUNT(*) FILTER (WHERE NOT misuse), COALESCE(SUM(stars) FILTER (WHERE NOT misuse), 0),
       COUNT(*) FILTER (WHERE NOT misuse AND stars >= 4), COUNT(*) FILTER (WHERE NOT misuse AND NOT complete),
       COUNT(*) FILTER (WHERE misuse),
       COALESCE(SUM(segue_satisfactory) FILTER (WHERE NOT misuse), 0), COUNT(segue_satisfactory) FILTER (WHERE NOT misuse),
       COALESCE(SUM(segue_efficient) FILTER (WHERE NOT misuse), 0), COUNT(segue_efficient) FILTER (WHERE NOT misuse),
       COALESCE(SUM(segue_genuine) FILTER (WHERE NOT misuse), 0), COUNT(segue_genuine) FILTER (WHERE NOT misuse),
       COALESCE(SUM(segue_understanding) FILTER (WHERE NOT misuse), 0), COUNT(segue_understanding) FILTER (WHERE NOT misuse),
       COALESCE(SUM(segue_effective) FILTER (WHERE NOT misuse), 0), COUNT(segue_effective) FILTER (WHERE NOT misuse),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 0), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 1),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 2), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 3),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 4), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 5),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 6), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 7),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 8), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 9),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 10), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 11),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 12), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 13),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 14), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 15),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 16), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 17),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 18), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 19),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 20), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 21),
       COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 22), COUNT(*) FILTER (WHERE NOT misuse AND local_hour = 23)
FROM responses GROUP BY store_id, local_date;
INSERT INTO day_tag_counts
SELECT r.store_id, r.local_date, t.tag, COUNT(*) FROM responses r
CROSS JOIN LATERAL jsonb_array_elements_text(r.tags) AS t(tag)
WHERE NOT r.misuse GROUP BY r.store_id, r.local_date, t.tag;
ANALYZE day_tallies;
ANALYZE day_tag_counts;
