-- +goose Up

-- The kind of a paper tells a person's situation (a residence permit: immigration status).
-- It is now sealed with the owner's data key like titles (kind_sealed, bound to its
-- document), and lists filter after opening it. SQL has no key and cannot seal: this file
-- only makes room. 'coffre migrate' then seals every kind still in clear
-- (vault.SealClearKinds) and empties the clear column, and validates documents_kind_sealed,
-- which from now on refuses a clear kind in any new or changed row. A later migration can
-- drop the column kind, together with vault.SealClearKinds.
ALTER TABLE documents ALTER COLUMN kind DROP NOT NULL;
ALTER TABLE documents ADD COLUMN kind_sealed bytea;
ALTER TABLE documents ADD CONSTRAINT documents_kind_once CHECK ((kind IS NULL) <> (kind_sealed IS NULL));
ALTER TABLE documents ADD CONSTRAINT documents_kind_sealed CHECK (kind IS NULL) NOT VALID;
-- What is left to seal, for 'coffre migrate': empty once it has run.
CREATE INDEX documents_clear_kind_idx ON documents (id) WHERE kind IS NOT NULL;

-- Safes erased before this migration kept rows that identify or authenticate the person:
-- their FranceConnect identity (the next sign-in found it taken and failed), passkeys,
-- mandates, temporary codes, and the kind of their papers. vault.EraseDue now removes
-- them in the transaction that shreds the safe; here, those already erased. Nothing is
-- left to seal there: the kind is simply emptied.
DELETE FROM openid_identities WHERE owner_id IN (SELECT id FROM owners WHERE shredded_at IS NOT NULL);
DELETE FROM passkeys WHERE owner_id IN (SELECT id FROM owners WHERE shredded_at IS NOT NULL);
DELETE FROM access_codes WHERE owner_id IN (SELECT id FROM owners WHERE shredded_at IS NOT NULL);
DELETE FROM mandates WHERE owner_id IN (SELECT id FROM owners WHERE shredded_at IS NOT NULL);
UPDATE documents SET kind = NULL, kind_sealed = ''
WHERE kind IS NOT NULL AND owner_id IN (SELECT id FROM owners WHERE shredded_at IS NOT NULL);

-- Link purposes, sealed in links, were copied in clear into the journal's personal part.
-- The chain covers only a digest of that part, and erasing it is the one change the
-- journal allows: those copies go, with the IP prefix beside them. New entries keep the
-- purpose sealed (vault.Event.Private).
UPDATE journal SET personal = NULL
WHERE action IN ('link_created', 'link_revoked') AND personal IS NOT NULL
	AND position('"detail":'::bytea IN personal) > 0;

-- A database with no kind in clear (a new one) has nothing to wait for.
-- +goose StatementBegin
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM documents WHERE kind IS NOT NULL) THEN
		ALTER TABLE documents VALIDATE CONSTRAINT documents_kind_sealed;
	END IF;
END
$$;
-- +goose StatementEnd
