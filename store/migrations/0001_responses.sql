-- Responses as the kiosk stores them, and their reason tags in the order chosen.
-- Time-ordered UUIDv7 text keys keep inserts at the right edge of the b-tree.
CREATE TABLE responses (
    id                  TEXT    NOT NULL PRIMARY KEY,
    store_id            TEXT    NOT NULL,
    device_id           TEXT    NOT NULL,
    survey_id           TEXT    NOT NULL,
    survey_version      INTEGER NOT NULL CHECK (survey_version >= 1),
    language            TEXT    NOT NULL,
    created_at_ms       INTEGER NOT NULL,
    local_date          TEXT    NOT NULL CHECK (length(local_date) = 10),
    local_hour          INTEGER NOT NULL CHECK (local_hour BETWEEN 0 AND 23),
    utc_offset_min      INTEGER NOT NULL CHECK (utc_offset_min BETWEEN -1440 AND 1440),
    stars               INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
    segue_satisfactory  INTEGER CHECK (segue_satisfactory BETWEEN 1 AND 5),
    segue_efficient     INTEGER CHECK (segue_efficient BETWEEN 1 AND 5),
    segue_genuine       INTEGER CHECK (segue_genuine BETWEEN 1 AND 5),
    segue_understanding INTEGER CHECK (segue_understanding BETWEEN 1 AND 5),
    segue_effective     INTEGER CHECK (segue_effective BETWEEN 1 AND 5),
    complete            INTEGER NOT NULL CHECK (complete IN (0, 1)),
    misuse              INTEGER NOT NULL CHECK (misuse IN (0, 1)),
    duration_ms         INTEGER NOT NULL CHECK (duration_ms >= 0)
) WITHOUT ROWID;

CREATE TABLE response_tags (
    response_id TEXT    NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL CHECK (position >= 0),
    tag         TEXT    NOT NULL,
    PRIMARY KEY (response_id, position)
) WITHOUT ROWID;

CREATE INDEX responses_by_local_date ON responses (local_date);
