-- 14: responses range-partitioned by month on the id itself (issue 18). Ids are UUIDv7: their
-- first 48 bits are the terminal's Unix milliseconds, and PostgreSQL compares uuid bytewise, so a
-- month is the id range [floor(month start), floor(next month start)). The partition key is then
-- the primary key: PRIMARY KEY (id) stays legal and the same id always maps to the same partition,
-- so ON CONFLICT (id) keeps dedup exactly-once across partitions. Ids whose month has no partition
-- (a terminal clock far off, a non-v7 id) land in responses_default. segue-hq creates months ahead
-- (segue_ensure_response_months), drops old ones under [retention] (segue_drop_response_months),
-- and `segue-hq migrate` moves an existing table's rows (segue_partition_responses). An empty
-- responses table is turned into the partitioned layout here; one with rows is left for migrate.
-- Functions are CREATE OR REPLACE and the rest checks what exists, so this runs again safely.

-- The smallest UUIDv7 of Unix millisecond `ms`.
CREATE OR REPLACE FUNCTION segue_uuid_floor(ms bigint) RETURNS uuid LANGUAGE sql IMMUTABLE AS
$$ SELECT (lpad(to_hex(ms), 12, '0') || '00000000000000000000')::uuid $$;

-- True once responses is the partitioned table.
CREATE OR REPLACE FUNCTION segue_responses_partitioned() RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT COALESCE((SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass('responses')), false) $$;

-- Creates the partition of UTC month `m` (a month start) unless it exists: responses_pYYYYMM.
-- Rows of that month already in responses_default move into it (the default partition must hold
-- no row of an attached range).
CREATE OR REPLACE FUNCTION segue_add_response_month(m timestamp) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  part text := 'responses_p' || to_char(m, 'YYYYMM');
  lo uuid := segue_uuid_floor((extract(epoch FROM m) * 1000)::bigint);
  hi uuid := segue_uuid_floor((extract(epoch FROM m + interval '1 month') * 1000)::bigint);
BEGIN
  IF to_regclass(part) IS NOT NULL THEN RETURN false; END IF;
  IF EXISTS (SELECT 1 FROM responses_default WHERE id >= lo AND id < hi) THEN
    ALTER TABLE responses DETACH PARTITION responses_default;
    EXECUTE format('CREATE TABLE %I PARTITION OF responses FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
    INSERT INTO responses SELECT * FROM responses_default WHERE id >= lo AND id < hi;
    DELETE FROM responses_default WHERE id >= lo AND id < hi;
    ALTER TABLE responses ATTACH PARTITION responses_default DEFAULT;
  ELSE
    EXECUTE format('CREATE TABLE %I PARTITION OF responses FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
  END IF;
  RETURN true;
END $$;

-- Partitions from `back` months before the UTC month of `now_ms` to `ahead` months after it; how
-- many were created. One node at a time (several segue-hq on one database run this at once).
CREATE OR REPLACE FUNCTION segue_ensure_response_months(now_ms bigint, back integer, ahead integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  cur timestamp := date_trunc('month', to_timestamp(now_ms / 1000.0) AT TIME ZONE 'UTC');
  made integer := 0;
BEGIN
  IF NOT segue_responses_partitioned() THEN RETURN 0; END IF;
  FOR i IN -back..ahead LOOP
    IF to_regclass('responses_p' || to_char(cur + make_interval(months => i), 'YYYYMM')) IS NULL THEN
      PERFORM pg_advisory_xact_lock(388622);
      IF segue_add_response_month(cur + make_interval(months => i)) THEN made := made + 1; END IF;
    END IF;
  END LOOP;
  RETURN made;
END $$;

-- Drops the month partitions more than `keep` whole months before the UTC month of `now_ms`
-- (keep = 1 in December: October and earlier go); returns their names. The default partition
-- is never dropped.
CREATE OR REPLACE FUNCTION segue_drop_response_months(now_ms bigint, keep integer)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  cutoff text := to_char(date_trunc('month', to_timestamp(now_ms / 1000.0) AT TIME ZONE 'UTC')
                         - make_interval(months => keep), 'YYYYMM');
  part text;
BEGIN
  IF NOT segue_responses_partitioned() THEN RETURN; END IF;
  PERFORM pg_advisory_xact_lock(388622);
  FOR part IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = 'responses'::regclass AND c.relname ~ '^responses_p[0-9]{6}$'
                AND substr(c.relname, 12) < cutoff ORDER BY c.relname
  LOOP
    EXECUTE format('DROP TABLE %I', part);
    RETURN NEXT part;
  END LOOP;
END $$;

-- Renames the unpartitioned responses (and its indexes) to responses_unpartitioned and creates
-- the partitioned responses in its place: the same columns, constraints and indexes (whatever
-- migrations added them), a default partition, and a partition for each month in which the old
-- table has ids from `back` months before `now_ms` to `ahead` after (found by walking the primary
-- key, one probe a month). Rows are not moved: `segue-hq migrate` copies them in batches.
CREATE OR REPLACE FUNCTION segue_partition_responses(now_ms bigint, back integer, ahead integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  cur timestamp := date_trunc('month', to_timestamp(now_ms / 1000.0) AT TIME ZONE 'UTC');
  first_month timestamp := cur - make_interval(months => back);
  last_month timestamp := cur + make_interval(months => ahead);
  r record;
  m timestamp;
  next_id uuid;
BEGIN
  IF segue_responses_partitioned() OR to_regclass('responses_unpartitioned') IS NOT NULL THEN RETURN; END IF;
  CREATE TEMP TABLE segue_old_indexes ON COMMIT DROP AS
    SELECT c.conname AS name, pg_get_constraintdef(c.oid) AS def, true AS is_constraint
      FROM pg_constraint c WHERE c.conrelid = 'responses'::regclass AND c.contype IN ('p', 'u')
    UNION ALL
    SELECT ic.relname, pg_get_indexdef(ix.indexrelid), false
      FROM pg_index ix JOIN pg_class ic ON ic.oid = ix.indexrelid
     WHERE ix.indrelid = 'responses'::regclass
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid);
  FOR r IN SELECT name FROM segue_old_indexes LOOP
    EXECUTE format('ALTER INDEX %I RENAME TO %I', r.name, left(r.name, 40) || '_unpartitioned');
  END LOOP;
  ALTER TABLE responses RENAME TO responses_unpartitioned;
  CREATE TABLE responses (LIKE responses_unpartitioned INCLUDING ALL EXCLUDING INDEXES) PARTITION BY RANGE (id);
  FOR r IN SELECT * FROM segue_old_indexes ORDER BY is_constraint DESC, name LOOP
    IF r.is_constraint THEN
      EXECUTE format('ALTER TABLE responses ADD CONSTRAINT %I %s', r.name, r.def);
    ELSE
      EXECUTE r.def;   -- "CREATE INDEX name ON public.responses ...": the new table now
    END IF;
  END LOOP;
  CREATE TABLE responses_default PARTITION OF responses DEFAULT;
  -- Months that hold ids, walking the primary key: one index probe per month found.
  m := first_month;
  LOOP
    SELECT id INTO next_id FROM responses_unpartitioned
     WHERE id >= segue_uuid_floor((extract(epoch FROM m) * 1000)::bigint) ORDER BY id LIMIT 1;
    EXIT WHEN next_id IS NULL;
    m := date_trunc('month', to_timestamp(('x' || replace(left(next_id::text, 13), '-', ''))::bit(48)::bigint / 1000.0)
                             AT TIME ZONE 'UTC');
    EXIT WHEN m > last_month;
    IF m < first_month THEN
      m := first_month;   -- ids older than that stay in the default partition
    ELSE
      PERFORM segue_add_response_month(m);
      m := m + interval '1 month';
    END IF;
  END LOOP;
  PERFORM segue_ensure_response_months(now_ms, 1, ahead);
END $$;

-- Where `segue-hq migrate` is: the last id copied (keyset order) and how many rows so far.
CREATE TABLE IF NOT EXISTS responses_migration (
  one        boolean PRIMARY KEY DEFAULT true CHECK (one),
  last_id    uuid,
  copied     bigint NOT NULL,
  total      bigint NOT NULL,
  started_at bigint NOT NULL
);

-- A new (or still empty) database gets the partitioned layout now.
DO $$
BEGIN
  IF NOT segue_responses_partitioned() AND to_regclass('responses_unpartitioned') IS NULL
     AND NOT EXISTS (SELECT 1 FROM responses) THEN
    PERFORM segue_partition_responses((extract(epoch FROM now()) * 1000)::bigint, 1, 3);
    DROP TABLE responses_unpartitioned;
  END IF;
END $$;
