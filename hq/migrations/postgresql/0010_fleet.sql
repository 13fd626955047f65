-- 10: enrolment codes (one-time, hashed), published survey versions (immutable) and their
-- assignments to the chain, a region or a store. Numbered 10 while schemas 5-9 are being written
-- on other branches. IF NOT EXISTS: the tests that turn a database back into an older version
-- by hand leave these tables in place.
CREATE TABLE IF NOT EXISTS enrolment_codes (
  code_hash  text PRIMARY KEY,
  device_id  text NOT NULL REFERENCES devices(id),
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  used_at    bigint
);
CREATE INDEX IF NOT EXISTS enrolment_codes_device ON enrolment_codes(device_id);
CREATE TABLE IF NOT EXISTS survey_versions (
  survey_id    text NOT NULL,
  version      integer NOT NULL,
  definition   text NOT NULL,
  published_at bigint NOT NULL,
  PRIMARY KEY (survey_id, version)
);
CREATE TABLE IF NOT EXISTS survey_assignments (
  scope_kind  text NOT NULL CHECK (scope_kind IN ('chain', 'region', 'store')),
  scope_id    text NOT NULL,
  survey_id   text NOT NULL,
  version     integer NOT NULL,
  assigned_at bigint NOT NULL,
  PRIMARY KEY (scope_kind, scope_id)
);
