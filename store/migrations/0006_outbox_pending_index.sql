-- The outbox's state index held every row; nearly all of them are synced for good and nothing
-- looks them up by state. Now only pending rows (the send order) and rejected ones (their list)
-- are indexed, so an ack deletes one index entry per response instead of moving it.
DROP INDEX outbox_by_state;
CREATE INDEX outbox_pending ON outbox (response_id) WHERE state = 'pending';
CREATE INDEX outbox_rejected ON outbox (response_id) WHERE state = 'rejected';
