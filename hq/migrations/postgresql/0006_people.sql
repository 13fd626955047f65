-- 6: the chain's people: regions, the stores' names and regions, users with a role and scope,
-- their sessions (in the database, so that any HQ node accepts them), read tokens limited to a
-- region or store, and the audit log (which login throttling also counts failures in).
CREATE TABLE IF NOT EXISTS regions (
  id         text PRIMARY KEY,
  name       text NOT NULL,
  created_at bigint NOT NULL
);
-- A store's name and region beside it (not columns of stores: every statement here can run
-- again over tables it made, as the tests that rewind the recorded version do).
CREATE TABLE IF NOT EXISTS store_info (
  store_id  text PRIMARY KEY REFERENCES stores(id),
  name      text,
  region_id text REFERENCES regions(id)
);
CREATE INDEX IF NOT EXISTS store_info_region ON store_info(region_id);
CREATE TABLE IF NOT EXISTS users (
  id            bigserial PRIMARY KEY,
  email         text NOT NULL UNIQUE,
  role          text NOT NULL CHECK (role IN ('admin', 'region', 'store', 'viewer')),
  region_id     text REFERENCES regions(id),
  store_id      text REFERENCES stores(id),
  password_hash text NOT NULL,
  disabled      boolean NOT NULL DEFAULT false,
  created_at    bigint NOT NULL,
  CHECK ((role = 'region') = (region_id IS NOT NULL)),
  CHECK ((role = 'store') = (store_id IS NOT NULL))
);
CREATE TABLE IF NOT EXISTS sessions (
  token_hash text PRIMARY KEY,
  user_id    bigint NOT NULL REFERENCES users(id),
  csrf_hash  text NOT NULL,
  created_at bigint NOT NULL,
  last_seen  bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
-- The scope of a read token limited to a region or a store (none: the whole chain).
CREATE TABLE IF NOT EXISTS token_scopes (
  token_hash text PRIMARY KEY REFERENCES tokens(token_hash),
  region_id  text REFERENCES regions(id),
  store_id   text REFERENCES stores(id)
);
CREATE TABLE IF NOT EXISTS audit (
  id      bigserial PRIMARY KEY,
  at      bigint NOT NULL,
  actor   text NOT NULL,
  action  text NOT NULL,
  subject text NOT NULL,
  address text NOT NULL,
  details text NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_at ON audit(at);
CREATE INDEX IF NOT EXISTS audit_subject ON audit(action, subject, at);
CREATE INDEX IF NOT EXISTS audit_address ON audit(action, address, at);
