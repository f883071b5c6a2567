-- +goose Up

-- "Is the safe open?" is one fact of the owner's row: neither closed nor erased. It used to
-- be spelt out in every query that needed it; the column says it once, so that vault, the
-- participants (through vault.SafeOpenSQL) and the database's own check below cannot
-- disagree. Adding a stored generated column rewrites the table once; its indexes are
-- rebuilt with it.
ALTER TABLE owners ADD COLUMN open boolean GENERATED ALWAYS AS (closed_at IS NULL AND shredded_at IS NULL) STORED;

-- The check that a closed or erased safe takes no new document (00003) reads the column.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION documents_owner_open() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM owners WHERE id = NEW.owner_id AND open FOR SHARE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'safe % is closed: no new document', NEW.owner_id USING ERRCODE = 'CF001';
	END IF;
	RETURN NEW;
END
$$;
-- +goose StatementEnd
