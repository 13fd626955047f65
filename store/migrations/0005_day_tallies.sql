-- The staff screen's sums kept per store-local date and hour by triggers, in the same
-- transaction as every response, so a 30-day trend reads at most 720 small rows instead of
-- every response of the month (~40 000 on a busy terminal; see BENCHMARKS.md, staff screen).
-- The columns are exactly core::Tally's; counted = not misuse, as everywhere.
CREATE TABLE day_hour_tallies (
    local_date          TEXT    NOT NULL,
    local_hour          INTEGER NOT NULL CHECK (local_hour BETWEEN 0 AND 23),
    counted             INTEGER NOT NULL,
    star_sum            INTEGER NOT NULL,
    satisfied           INTEGER NOT NULL,
    satisfactory_sum    INTEGER NOT NULL,
    satisfactory_n      INTEGER NOT NULL,
    efficient_sum       INTEGER NOT NULL,
    efficient_n         INTEGER NOT NULL,
    genuine_sum         INTEGER NOT NULL,
    genuine_n           INTEGER NOT NULL,
    understanding_sum   INTEGER NOT NULL,
    understanding_n     INTEGER NOT NULL,
    effective_sum       INTEGER NOT NULL,
    effective_n         INTEGER NOT NULL,
    partial             INTEGER NOT NULL,
    misuse              INTEGER NOT NULL,
    PRIMARY KEY (local_date, local_hour)
) WITHOUT ROWID;

-- Reason tags of counted (not misuse) responses per store-local date.
CREATE TABLE day_tag_counts (
    local_date TEXT    NOT NULL,
    tag        TEXT    NOT NULL,
    n          INTEGER NOT NULL CHECK (n > 0),
    PRIMARY KEY (local_date, tag)
) WITHOUT ROWID;

INSERT INTO day_hour_tallies
    SELECT local_date, local_hour,
           SUM(misuse = 0),
           SUM(CASE WHEN misuse = 0 THEN stars ELSE 0 END),
           SUM(misuse = 0 AND stars >= 4),
           SUM(CASE WHEN misuse = 0 THEN COALESCE(segue_satisfactory, 0) ELSE 0 END),
           SUM(misuse = 0 AND segue_satisfactory IS NOT NULL),
           SUM(CASE WHEN misuse = 0 THEN COALESCE(segue_efficient, 0) ELSE 0 END),
           SUM(misuse = 0 AND segue_efficient IS NOT NULL),
           SUM(CASE WHEN misuse = 0 THEN COALESCE(segue_genuine, 0) ELSE 0 END),
           SUM(misuse = 0 AND segue_genuine IS NOT NULL),
           SUM(CASE WHEN misuse = 0 THEN COALESCE(segue_understanding, 0) ELSE 0 END),
           SUM(misuse = 0 AND segue_understanding IS NOT NULL),
           SUM(CASE WHEN misuse = 0 THEN COALESCE(segue_effective, 0) ELSE 0 END),
           SUM(misuse = 0 AND segue_effective IS NOT NULL),
           SUM(misuse = 0 AND complete = 0),
           SUM(misuse <> 0)
    FROM responses
    GROUP BY local_date, local_hour;

INSERT INTO day_tag_counts
    SELECT r.local_date, t.tag, COUNT(*)
    FROM responses r JOIN response_tags t ON t.response_id = r.id
    WHERE r.misuse = 0
    GROUP BY r.local_date, t.tag;

CREATE TRIGGER day_tallies_add AFTER INSERT ON responses
BEGIN
    INSERT INTO day_hour_tallies VALUES (
        NEW.local_date, NEW.local_hour,
        NEW.misuse = 0,
        CASE WHEN NEW.misuse = 0 THEN NEW.stars ELSE 0 END,
        NEW.misuse = 0 AND NEW.stars >= 4,
        CASE WHEN NEW.misuse = 0 THEN COALESCE(NEW.segue_satisfactory, 0) ELSE 0 END,
        NEW.misuse = 0 AND NEW.segue_satisfactory IS NOT NULL,
        CASE WHEN NEW.misuse = 0 THEN COALESCE(NEW.segue_efficient, 0) ELSE 0 END,
        NEW.misuse = 0 AND NEW.segue_efficient IS NOT NULL,
        CASE WHEN NEW.misuse = 0 THEN COALESCE(NEW.segue_genuine, 0) ELSE 0 END,
        NEW.misuse = 0 AND NEW.segue_genuine IS NOT NULL,
        CASE WHEN NEW.misuse = 0 THEN COALESCE(NEW.segue_understanding, 0) ELSE 0 END,
        NEW.misuse = 0 AND NEW.segue_understanding IS NOT NULL,
        CASE WHEN NEW.misuse = 0 THEN COALESCE(NEW.segue_effective, 0) ELSE 0 END,
        NEW.misuse = 0 AND NEW.segue_effective IS NOT NULL,
        NEW.misuse = 0 AND NEW.complete = 0,
        NEW.misuse <> 0)
    ON CONFLICT (local_date, local_hour) DO UPDATE SET
        counted = counted + excluded.counted,
        star_sum = star_sum + excluded.star_sum,
        satisfied = satisfied + excluded.satisfied,
        satisfactory_sum = satisfactory_sum + excluded.satisfactory_sum,
        satisfactory_n = satisfactory_n + excluded.satisfactory_n,
        efficient_sum = efficient_sum + excluded.efficient_sum,
        efficient_n = efficient_n + excluded.efficient_n,
        genuine_sum = genuine_sum + excluded.genuine_sum,
        genuine_n = genuine_n + excluded.genuine_n,
        understanding_sum = understanding_sum + excluded.understanding_sum,
        understanding_n = understanding_n + excluded.understanding_n,
        effective_sum = effective_sum + excluded.effective_sum,
        effective_n = effective_n + excluded.effective_n,
        partial = partial + excluded.partial,
        misuse = misuse + excluded.misuse;
END;

-- Tags are written after their response in the same transaction (store::saveResponse).
CREATE TRIGGER day_tags_add AFTER INSERT ON response_tags
BEGIN
    INSERT INTO day_tag_counts (local_date, tag, n)
        SELECT r.local_date, NEW.tag, 1 FROM responses r WHERE r.id = NEW.response_id AND r.misuse = 0
    ON CONFLICT (local_date, tag) DO UPDATE SET n = n + 1;
END;

-- A deleted response takes its sums and its tags' counts with it. This runs before the row
-- goes, while its tags are still there; the cascade then deletes the tags, and day_tags_remove
-- no longer finds the parent, so nothing is subtracted twice.
CREATE TRIGGER day_tallies_remove BEFORE DELETE ON responses
BEGIN
    UPDATE day_hour_tallies SET
        counted = counted - (OLD.misuse = 0),
        star_sum = star_sum - CASE WHEN OLD.misuse = 0 THEN OLD.stars ELSE 0 END,
        satisfied = satisfied - (OLD.misuse = 0 AND OLD.stars >= 4),
        satisfactory_sum = satisfactory_sum - CASE WHEN OLD.misuse = 0 THEN COALESCE(OLD.segue_satisfactory, 0) ELSE 0 END,
        satisfactory_n = satisfactory_n - (OLD.misuse = 0 AND OLD.segue_satisfactory IS NOT NULL),
        efficient_sum = efficient_sum - CASE WHEN OLD.misuse = 0 THEN COALESCE(OLD.segue_efficient, 0) ELSE 0 END,
        efficient_n = efficient_n - (OLD.misuse = 0 AND OLD.segue_efficient IS NOT NULL),
        genuine_sum = genuine_sum - CASE WHEN OLD.misuse = 0 THEN COALESCE(OLD.segue_genuine, 0) ELSE 0 END,
        genuine_n = genuine_n - (OLD.misuse = 0 AND OLD.segue_genuine IS NOT NULL),
        understanding_sum = understanding_sum - CASE WHEN OLD.misuse = 0 THEN COALESCE(OLD.segue_understanding, 0) ELSE 0 END,
        understanding_n = understanding_n - (OLD.misuse = 0 AND OLD.segue_understanding IS NOT NULL),
        effective_sum = effective_sum - CASE WHEN OLD.misuse = 0 THEN COALESCE(OLD.segue_effective, 0) ELSE 0 END,
        effective_n = effective_n - (OLD.misuse = 0 AND OLD.segue_effective IS NOT NULL),
        partial = partial - (OLD.misuse = 0 AND OLD.complete = 0),
        misuse = misuse - (OLD.misuse <> 0)
    WHERE local_date = OLD.local_date AND local_hour = OLD.local_hour;
    DELETE FROM day_hour_tallies
    WHERE local_date = OLD.local_date AND local_hour = OLD.local_hour AND counted = 0 AND misuse = 0;
    -- Tags of one response are distinct (core::validate), but count them anyway.
    DELETE FROM day_tag_counts
    WHERE OLD.misuse = 0 AND local_date = OLD.local_date
      AND n <= (SELECT COUNT(*) FROM response_tags t WHERE t.response_id = OLD.id AND t.tag = day_tag_counts.tag);
    UPDATE day_tag_counts SET n = n - (SELECT COUNT(*) FROM response_tags t
                                       WHERE t.response_id = OLD.id AND t.tag = day_tag_counts.tag)
    WHERE OLD.misuse = 0 AND local_date = OLD.local_date
      AND tag IN (SELECT tag FROM response_tags WHERE response_id = OLD.id);
END;

CREATE TRIGGER day_tags_remove AFTER DELETE ON response_tags
BEGIN
    DELETE FROM day_tag_counts
    WHERE n = 1 AND tag = OLD.tag
      AND local_date = (SELECT r.local_date FROM responses r WHERE r.id = OLD.response_id AND r.misuse = 0);
    UPDATE day_tag_counts SET n = n - 1
    WHERE tag = OLD.tag
      AND local_date = (SELECT r.local_date FROM responses r WHERE r.id = OLD.response_id AND r.misuse = 0);
END;

-- A stored response is a fact: the sums above rely on it never changing in place.
CREATE TRIGGER responses_immutable BEFORE UPDATE OF
    local_date, local_hour, stars, segue_satisfactory, segue_efficient, segue_genuine,
    segue_understanding, segue_effective, complete, misuse ON responses
BEGIN
    SELECT RAISE(ABORT, 'stored responses are never changed in place');
END;

CREATE TRIGGER response_tags_immutable BEFORE UPDATE ON response_tags
BEGIN
    SELECT RAISE(ABORT, 'stored reason tags are never changed in place');
END;
