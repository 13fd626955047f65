-- 16: per-database secrets. "enrolment_code" keys the hashes of enrolment codes (HMAC-SHA-256),
-- so a copy of enrolment_codes alone does not let the 10^12 codes be tried offline against it;
-- codes issued before (plain SHA-256) still work until they expire. The key is made by the first
-- segue-hq that needs it. IF NOT EXISTS: the tests that rewind the recorded version run it again.
CREATE TABLE IF NOT EXISTS database_keys (
  name       text PRIMARY KEY,
  value      text NOT NULL,
  created_at bigint NOT NULL
);
