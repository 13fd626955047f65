-- 6: the chain's people: regions, the stores' names and regions, users with a role and scope,
-- their sessions (in the database, so that any HQ node accepts them), read tokens limited to a
-- region or store, and the audit log (which login throttling also counts failures in).
CREATE TABLE IF NOT EXISTS regions (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
-- A store's name and region beside it (not columns of stores: every statement here can run
-- again over tables it made, as the tests that rewind the recorded version do).
CREATE TABLE IF NOT EXISTS store_info (
  store_id  TEXT PRIMARY KEY REFERENCES stores(id),
  name      TEXT,
  region_id TEXT REFERENCES regions(id)
);
CREATE INDEX IF NOT EXISTS store_info_region ON store_info(region_id);
CREATE TABLE IF NOT EXISTS users (
  id            INTEGER PRIMARY KEY,
  email         TEXT NOT NULL UNIQUE,
  role          TEXT NOT NULL CHECK (role IN ('admin', 'region', 'store', 'viewer')),
  region_id     TEXT REFERENCES regions(id),
  store_id      TEXT REFERENCES stores(id),
  password_hash TEXT NOT NULL,
  disabled      INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL,
  CHECK ((role = 'region') = (region_id IS NOT NULL)),
  CHECK ((role = 'store') = (store_id IS NOT NULL))
);
CREATE TABLE IF NOT EXISTS sessions (
  token_hash TEXT PRIMARY KEY,
  user_id    INTEGER NOT NULL REFERENCES users(id),
  csrf_hash  TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
-- The scope of a read token limited to a region or a store (none: the whole chain).
CREATE TABLE IF NOT EXISTS token_scopes (
  token_hash TEXT PRIMARY KEY REFERENCES tokens(token_hash),
  region_id  TEXT REFERENCES regions(id),
  store_id   TEXT REFERENCES stores(id)
);
CREATE TABLE IF NOT EXISTS audit (
  id      INTEGER PRIMARY KEY,
  at      INTEGER NOT NULL,
  actor   TEXT NOT NULL,
  action  TEXT NOT NULL,
  subject TEXT NOT NULL,
  address TEXT NOT NULL,
  details TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_at ON audit(at);
CREATE INDEX IF NOT EXISTS audit_subject ON audit(action, subject, at);
CREATE INDEX IF NOT EXISTS audit_address ON audit(action, address, at);
