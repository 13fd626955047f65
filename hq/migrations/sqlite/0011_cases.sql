-- 11: callback cases. A response with callback_requested opens a case in the transaction that
-- stores it (one per response: response_id is unique). The sealed number is kept as the standard
-- base64 of its bytes until the retention pass erases it; HQ's secret key is never in the database.
-- Safe to run again: the column is added only when missing (see SqlStorage::migrate), the rest
-- is IF NOT EXISTS.
ALTER TABLE responses ADD COLUMN callback_requested INTEGER NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS cases (
  id                INTEGER PRIMARY KEY,
  response_id       TEXT NOT NULL UNIQUE,
  store_id          TEXT NOT NULL,
  device_id         TEXT NOT NULL,
  created_at        INTEGER NOT NULL,
  local_date        TEXT NOT NULL,
  due_at            INTEGER NOT NULL,
  status            TEXT NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'contacted', 'resolved', 'unreachable')),
  first_moved_at    INTEGER,
  closed_at         INTEGER,
  root_cause        TEXT,
  contact_sealed    TEXT,
  contact_erased_at INTEGER
);
CREATE INDEX IF NOT EXISTS cases_store_status ON cases(store_id, status);
CREATE INDEX IF NOT EXISTS cases_status_due ON cases(status, due_at);
CREATE INDEX IF NOT EXISTS cases_closed ON cases(closed_at);
CREATE TABLE IF NOT EXISTS case_events (
  id          INTEGER PRIMARY KEY,
  case_id     INTEGER NOT NULL REFERENCES cases(id),
  at          INTEGER NOT NULL,
  actor       TEXT NOT NULL,
  from_status TEXT NOT NULL,
  to_status   TEXT NOT NULL,
  note        TEXT NOT NULL,
  root_cause  TEXT
);
CREATE INDEX IF NOT EXISTS case_events_case ON case_events(case_id, at);
