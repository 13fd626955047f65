-- 13: what each terminal reports of its configuration in its batches: the survey version it
-- runs and why it refused the last definition HQ sent (null when it did not). One row per
-- device, replaced by each batch that says so; terminals older than this send nothing and have
-- no row. IF NOT EXISTS: the tests that turn a database back into an older version by hand
-- leave this table in place.
CREATE TABLE IF NOT EXISTS device_surveys (
  device_id      text PRIMARY KEY REFERENCES devices(id),
  survey_id      text NOT NULL,
  survey_version integer NOT NULL,
  config_error   text,
  reported_at    bigint NOT NULL
);
