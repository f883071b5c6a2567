-- +goose Up

-- The MAC of the age header of a blob's object, read at deposit: unique to the file (it
-- is keyed by the file's random key), it binds the object to its row, so that another of
-- the owner's objects copied over this one is refused before any byte of it is read out,
-- whatever its length. Rows written before have none (NULL): they are read as before.
-- The row's MAC covers it when present.
ALTER TABLE blobs ADD COLUMN header_mac bytea;
