-- 2: alerts raised by the rules, one per (rule, subject, day), with their webhook delivery state.
CREATE TABLE alerts (
  id              INTEGER PRIMARY KEY,
  rule            TEXT NOT NULL,
  subject         TEXT NOT NULL,
  store_id        TEXT NOT NULL,
  device_id       TEXT,
  day             TEXT NOT NULL,
  raised_at       INTEGER NOT NULL,
  message         TEXT NOT NULL,
  details         TEXT NOT NULL,
  state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  delivered_at    INTEGER,
  last_error      TEXT NOT NULL DEFAULT '',
  UNIQUE (rule, subject, day)
);
CREATE INDEX alerts_due ON alerts(state, next_attempt_at);
CREATE INDEX responses_store_created ON responses(store_id, created_at);
