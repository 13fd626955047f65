-- 5: refused records and conflicts are kept bounded (issue 21): the first 4 KiB of each, the full
-- length of those that were cut (record_hash stays the SHA-256 of the whole record), and per
-- device and HQ day (UTC) how many were kept and how many only counted. Read tokens remember when
-- they were last used (written at most once a minute). Tables of their own, created only if
-- missing, so that running this again on its own result changes nothing.
CREATE TABLE IF NOT EXISTS refusal_days (
  device_id text NOT NULL,
  day       text COLLATE "C" NOT NULL,
  kept      bigint NOT NULL,
  dropped   bigint NOT NULL,
  PRIMARY KEY (device_id, day)
);
CREATE TABLE IF NOT EXISTS rejection_lengths (
  rejection_id bigint PRIMARY KEY,
  record_bytes bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS conflict_lengths (
  conflict_id  bigint PRIMARY KEY,
  record_bytes bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS token_use (
  token_id     bigint PRIMARY KEY,
  last_used_at bigint NOT NULL
);
