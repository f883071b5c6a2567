-- +goose Up

-- A blob row written before header MACs whose object failed the check that would have
-- bound it (the bind_old_blobs job) is marked: its failure is journaled in its owner's
-- history once, not again by each process after each restart, and the job does not read
-- its object again. The row itself is left as it was: it still fails on a read.
ALTER TABLE blobs ADD COLUMN header_bind_failed_at timestamptz;

-- The rows the job looks for, so that it finds them (or that none is left) without
-- reading the whole table: new rows never enter this index, and old ones leave it as they
-- are bound.
CREATE INDEX blobs_unbound_idx ON blobs (id) WHERE header_mac IS NULL AND header_bind_failed_at IS NULL;
