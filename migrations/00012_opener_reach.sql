-- +goose Up

-- The structure that opened a safe at its desk reaches it (sharing.Authorize: find it,
-- ask for a mandate, a new code after an identity check) until the owner ends that: by
-- ending a mandate of that structure, or from « Mes aidants ». Ended, it stays ended.
ALTER TABLE assisted_openings ADD COLUMN reach_ended_at timestamptz;
