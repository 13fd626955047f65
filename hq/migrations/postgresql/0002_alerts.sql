-- 2: alerts raised by the rules, one per (rule, subject, day), with their webhook delivery state.
CREATE TABLE alerts (
  id              bigserial PRIMARY KEY,
  rule            text NOT NULL,
  subject         text NOT NULL,
  store_id        text NOT NULL,
  device_id       text,
  day             text COLLATE "C" NOT NULL,
  raised_at       bigint NOT NULL,
  message         text NOT NULL,
  details         text NOT NULL,
  state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at bigint NOT NULL,
  delivered_at    bigint,
  last_error      text NOT NULL DEFAULT '',
  UNIQUE (rule, subject, day)
);
CREATE INDEX alerts_due ON alerts(state, next_attempt_at);
CREATE INDEX responses_store_created ON responses(store_id, created_at);
