-- 14: nothing on SQLite: responses stays one table (partitioning by month is PostgreSQL's, see
-- docs/scaling.md); numbered so that both engines share kSchemaVersion.
SELECT 1;
