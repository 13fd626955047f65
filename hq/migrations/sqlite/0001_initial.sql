-- 1: stores, devices, read tokens, responses, and the conflicts and rejections kept beside them.
CREATE TABLE stores (
  id         TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
);
CREATE TABLE devices (
  id              TEXT PRIMARY KEY,
  store_id        TEXT NOT NULL REFERENCES stores(id),
  name            TEXT NOT NULL,
  token_hash      TEXT NOT NULL UNIQUE,
  revoked         INTEGER NOT NULL DEFAULT 0,
  last_seen       INTEGER,
  last_pending    INTEGER,
  app_version     TEXT,
  clock_offset_ms INTEGER,
  created_at      INTEGER NOT NULL
);
CREATE INDEX devices_store ON devices(store_id);
CREATE TABLE tokens (
  id         INTEGER PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  role       TEXT NOT NULL CHECK (role IN ('read')),
  revoked    INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE TABLE responses (
  id                  TEXT PRIMARY KEY,
  store_id            TEXT NOT NULL,
  device_id           TEXT NOT NULL,
  survey_id           TEXT NOT NULL,
  survey_version      INTEGER NOT NULL,
  language            TEXT NOT NULL,
  created_at          INTEGER NOT NULL,
  local_date          TEXT NOT NULL,
  local_hour          INTEGER NOT NULL,
  utc_offset_min      INTEGER NOT NULL,
  stars               INTEGER NOT NULL,
  segue_satisfactory  INTEGER,
  segue_efficient     INTEGER,
  segue_genuine       INTEGER,
  segue_understanding INTEGER,
  segue_effective     INTEGER,
  tags                TEXT NOT NULL,
  complete            INTEGER NOT NULL,
  misuse              INTEGER NOT NULL,
  synthetic           INTEGER NOT NULL,
  duration_ms         INTEGER NOT NULL,
  received_at         INTEGER NOT NULL,
  batch_id            TEXT NOT NULL
);
CREATE INDEX responses_store_date ON responses(store_id, local_date);
CREATE INDEX responses_date ON responses(local_date);
CREATE TABLE conflicts (
  id          INTEGER PRIMARY KEY,
  response_id TEXT NOT NULL,
  device_id   TEXT NOT NULL,
  batch_id    TEXT NOT NULL,
  record      TEXT NOT NULL,
  record_hash TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  UNIQUE (response_id, record_hash)
);
CREATE INDEX conflicts_device ON conflicts(device_id);
CREATE TABLE rejections (
  id          INTEGER PRIMARY KEY,
  response_id TEXT NOT NULL,
  device_id   TEXT NOT NULL,
  batch_id    TEXT NOT NULL,
  reason      TEXT NOT NULL,
  record      TEXT NOT NULL,
  record_hash TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  UNIQUE (device_id, record_hash)
);
