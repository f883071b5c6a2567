-- +goose Up

-- verified_at is the last time the owner proved who they are in this session: signing
-- in, or typing their secret again. Adding or removing a passkey, and setting a secret
-- without typing the current one, require it to be recent. Sessions opened before this
-- migration count from their sign-in.
--
-- A session opened with a temporary code given at a desk has method 'temporary_code': it
-- may only choose the owner's own secret, and is replaced by a new session when it does.
ALTER TABLE sessions ADD COLUMN verified_at timestamptz;
UPDATE sessions SET verified_at = created_at;
ALTER TABLE sessions ALTER COLUMN verified_at SET NOT NULL, ALTER COLUMN verified_at SET DEFAULT now();
