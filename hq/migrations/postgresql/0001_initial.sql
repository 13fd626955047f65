-- 1: stores, devices, read tokens, responses, and the conflicts and rejections kept beside them.
-- Dates are text in the "C" collation so that ranges and ordering are plain byte comparisons, as in SQLite.
CREATE TABLE stores (
  id         text PRIMARY KEY,
  created_at bigint NOT NULL
);
CREATE TABLE devices (
  id              text PRIMARY KEY,
  store_id        text NOT NULL REFERENCES stores(id),
  name            text NOT NULL,
  token_hash      text NOT NULL UNIQUE,
  revoked         boolean NOT NULL DEFAULT false,
  last_seen       bigint,
  last_pending    bigint,
  app_version     text,
  clock_offset_ms bigint,
  created_at      bigint NOT NULL
);
CREATE INDEX devices_store ON devices(store_id);
CREATE TABLE tokens (
  id         bigserial PRIMARY KEY,
  token_hash text NOT NULL UNIQUE,
  role       text NOT NULL CHECK (role IN ('read')),
  revoked    boolean NOT NULL DEFAULT false,
  created_at bigint NOT NULL
);
CREATE TABLE responses (
  id                  uuid PRIMARY KEY,
  store_id            text NOT NULL,
  device_id           text NOT NULL,
  survey_id           text NOT NULL,
  survey_version      integer NOT NULL,
  language            text NOT NULL,
  created_at          bigint NOT NULL,
  local_date          text COLLATE "C" NOT NULL,
  local_hour          smallint NOT NULL,
  utc_offset_min      smallint NOT NULL,
  stars               smallint NOT NULL,
  segue_satisfactory  smallint,
  segue_efficient     smallint,
  segue_genuine       smallint,
  segue_understanding smallint,
  segue_effective     smallint,
  tags                jsonb NOT NULL,
  complete            boolean NOT NULL,
  misuse              boolean NOT NULL,
  synthetic           boolean NOT NULL,
  duration_ms         bigint NOT NULL,
  received_at         bigint NOT NULL,
  batch_id            uuid NOT NULL
);
CREATE INDEX responses_store_date ON responses(store_id, local_date);
CREATE INDEX responses_date ON responses(local_date);
CREATE TABLE conflicts (
  id          bigserial PRIMARY KEY,
  response_id uuid NOT NULL,
  device_id   text NOT NULL,
  batch_id    uuid NOT NULL,
  record      text NOT NULL,
  record_hash text NOT NULL,
  received_at bigint NOT NULL,
  UNIQUE (response_id, record_hash)
);
CREATE INDEX conflicts_device ON conflicts(device_id);
CREATE TABLE rejections (
  id          bigserial PRIMARY KEY,
  response_id text NOT NULL,
  device_id   text NOT NULL,
  batch_id    uuid NOT NULL,
  reason      text NOT NULL,
  record      text NOT NULL,
  record_hash text NOT NULL,
  received_at bigint NOT NULL,
  UNIQUE (device_id, record_hash)
);
