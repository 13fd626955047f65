-- Since migration 5 the staff screen's figures come from day_hour_tallies, and nothing reads
-- responses_stats any more. It still cost every tap a page write and took about a fifth of a
-- large terminal's file (72 of 372 MiB at 1 000 000 responses). An export by date walks
-- responses_by_created between the dates' bounds instead. The freed pages are reused by new
-- responses; the file does not shrink.
DROP INDEX responses_stats;
