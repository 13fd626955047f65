-- 5: reserved for storage step 2 (branch storage), which takes this number; this placeholder
-- only keeps the numbering whole on branch people and goes away when the two meet.
SELECT 1;
