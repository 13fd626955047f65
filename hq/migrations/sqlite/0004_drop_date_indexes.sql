-- 4: reports read the day sums since version 3 and the export walks the ids, so nothing reads
-- these two any more; each cost every ingested record two more index entries.
DROP INDEX IF EXISTS responses_store_date;
DROP INDEX IF EXISTS responses_date;
