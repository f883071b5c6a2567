-- +goose Up

-- Issue 11: master keys retired only when nothing wraps to them; blob rows authenticated;
-- objects deleted only once no row can reference them.

-- Each blob row carries an HMAC-SHA256, under a key derived from its owner's data key,
-- of its owner, document, id, role, position, media type, size and SHA-256 (see
-- vault/blobmac.go). Rows written from now on must have it; rows from before get theirs
-- once, at the first start of the vault after this migration (Vault.New), which journals
-- it in the service's chain; from then on a row without one is refused.
ALTER TABLE blobs ADD COLUMN mac bytea;
ALTER TABLE blobs ADD CONSTRAINT blobs_mac_required CHECK (mac IS NOT NULL AND length(mac) = 32) NOT VALID;
CREATE INDEX blobs_mac_missing_idx ON blobs (owner_id) WHERE mac IS NULL;

-- An upload marker the reaper (or a purge) has claimed: its object is deleted once the
-- claim has committed, and a deposit can no longer settle it. Claimed markers are also
-- those of objects whose rows a purge has removed.
ALTER TABLE blob_uploads ADD COLUMN claimed_at timestamptz;
