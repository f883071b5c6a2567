-- +goose Up

-- Closing a safe (L.103 5°): the owner, or the operator on a written request, closes it;
-- everything stays readable through the recovery path (export, reopening) until
-- erase_after, then the erasure job crypto-shreds it and sets shredded_at.
ALTER TABLE owners
	ADD COLUMN closed_at   timestamptz,
	ADD COLUMN erase_after timestamptz,
	ADD CHECK ((closed_at IS NULL) = (erase_after IS NULL));
-- The erasure job walks the closed safes whose retention has run out.
CREATE INDEX owners_erase_idx ON owners (erase_after) WHERE erase_after IS NOT NULL AND shredded_at IS NULL;

-- A closed or erased safe takes no new document. The check lives in the database so that
-- every path that inserts a document obeys it; the owner row is locked FOR SHARE so that a
-- deposit and a closure committing at the same moment are serialised. SQLSTATE CF001 is
-- mapped to vault.ErrClosed.
-- +goose StatementBegin
CREATE FUNCTION documents_owner_open() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM owners WHERE id = NEW.owner_id AND closed_at IS NULL AND shredded_at IS NULL FOR SHARE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'safe % is closed: no new document', NEW.owner_id USING ERRCODE = 'CF001';
	END IF;
	RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER documents_owner_open BEFORE INSERT ON documents
	FOR EACH ROW EXECUTE FUNCTION documents_owner_open();

-- The export includes the latest signed checkpoint that covers the owner's chain.
CREATE INDEX journal_checkpoint_heads_owner_idx ON journal_checkpoint_heads (owner_id, checkpoint_id DESC);

-- Notices shown to every owner, such as the announced end of the service, with the link
-- to export their safe. The current notice is the newest one not cleared.
CREATE TABLE service_notices (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	message      text NOT NULL CHECK (message <> ''),
	shutdown_at  timestamptz NOT NULL,
	created_at   timestamptz NOT NULL DEFAULT now(),
	cleared_at   timestamptz
);
CREATE INDEX service_notices_current_idx ON service_notices (id DESC) WHERE cleared_at IS NULL;
