-- +goose Up

-- Issue 11: master keys retired only when nothing wraps to them; blob rows authenticated;
-- objects deleted only once no row can reference them.

-- An upload marker the reaper (or a purge) has claimed: its object is deleted once the
-- claim has committed, and a deposit can no longer settle it. Claimed markers are also
-- those of objects whose rows a purge has removed.
ALTER TABLE blob_uploads ADD COLUMN claimed_at timestamptz;
