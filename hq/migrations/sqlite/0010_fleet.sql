-- 10: enrolment codes (one-time, hashed), published survey versions (immutable) and their
-- assignments to the chain, a region or a store. Numbered 10 while schemas 5-9 are being written
-- on other branches. IF NOT EXISTS: the tests that turn a database back into an older version
-- by hand leave these tables in place.
CREATE TABLE IF NOT EXISTS enrolment_codes (
  code_hash  TEXT PRIMARY KEY,
  device_id  TEXT NOT NULL REFERENCES devices(id),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at    INTEGER
);
CREATE INDEX IF NOT EXISTS enrolment_codes_device ON enrolment_codes(device_id);
CREATE TABLE IF NOT EXISTS survey_versions (
  survey_id    TEXT NOT NULL,
  version      INTEGER NOT NULL,
  definition   TEXT NOT NULL,
  published_at INTEGER NOT NULL,
  PRIMARY KEY (survey_id, version)
);
CREATE TABLE IF NOT EXISTS survey_assignments (
  scope_kind  TEXT NOT NULL CHECK (scope_kind IN ('chain', 'region', 'store')),
  scope_id    TEXT NOT NULL,
  survey_id   TEXT NOT NULL,
  version     INTEGER NOT NULL,
  assigned_at INTEGER NOT NULL,
  PRIMARY KEY (scope_kind, scope_id)
);
