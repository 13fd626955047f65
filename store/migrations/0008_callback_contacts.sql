-- Issue 17: a customer after a low rating may leave a number for the store manager to call back.
-- The response records only that a callback was asked for; the number itself is kept sealed
-- with HQ's public key (crypto_box_seal: the terminal cannot open it) in a table of its own, one
-- row per response, written in the response's transaction and deleted once HQ has acked the
-- response (the database runs with secure_delete on, so the freed cells are zeroed).
ALTER TABLE responses ADD COLUMN callback_requested INTEGER NOT NULL DEFAULT 0;
CREATE TABLE callback_contacts (
    response_id TEXT PRIMARY KEY REFERENCES responses(id) ON DELETE CASCADE,
    sealed TEXT NOT NULL   -- standard base64 of the sealed box, as it travels in the batch
) WITHOUT ROWID;
