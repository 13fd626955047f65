-- 11: callback cases. A response with callback_requested opens a case in the transaction that
-- stores it (one per response: response_id is unique). The sealed number is kept as the standard
-- base64 of its bytes until the retention pass erases it; HQ's secret key is never in the database.
-- Safe to run again: the column is added only when missing (see SqlStorage::migrate), the rest
-- is IF NOT EXISTS.
ALTER TABLE responses ADD COLUMN callback_requested boolean NOT NULL DEFAULT false;
CREATE TABLE IF NOT EXISTS cases (
  id                bigserial PRIMARY KEY,
  response_id       uuid NOT NULL UNIQUE,
  store_id          text NOT NULL,
  device_id         text NOT NULL,
  created_at        bigint NOT NULL,
  local_date        text COLLATE "C" NOT NULL,
  due_at            bigint NOT NULL,
  status            text NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'contacted', 'resolved', 'unreachable')),
  first_moved_at    bigint,
  closed_at         bigint,
  root_cause        text,
  contact_sealed    text,
  contact_erased_at bigint
);
CREATE INDEX IF NOT EXISTS cases_store_status ON cases(store_id, status);
CREATE INDEX IF NOT EXISTS cases_status_due ON cases(status, due_at);
CREATE INDEX IF NOT EXISTS cases_closed ON cases(closed_at);
CREATE TABLE IF NOT EXISTS case_events (
  id          bigserial PRIMARY KEY,
  case_id     bigint NOT NULL REFERENCES cases(id),
  at          bigint NOT NULL,
  actor       text NOT NULL,
  from_status text NOT NULL,
  to_status   text NOT NULL,
  note        text NOT NULL,
  root_cause  text
);
CREATE INDEX IF NOT EXISTS case_events_case ON case_events(case_id, at);
