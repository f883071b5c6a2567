-- +goose Up

-- Issue 11: master keys retired only when nothing wraps to them; blob rows authenticated;
-- objects deleted only once no row can reference them.

-- Everything wrapped to a master key: owners' identities and data keys, agents' TOTP
-- secrets. A new table holding a secret wrapped to the master key joins this view, and
-- gets the master_key_wrap_guard trigger below.
CREATE VIEW master_key_uses (master_key_id, what, id) AS
	SELECT master_key_id, 'owner', id FROM owners WHERE identity_wrapped IS NOT NULL
	UNION ALL
	SELECT totp_master_key_id, 'agent', id FROM agents;
CREATE INDEX agents_totp_master_key_idx ON agents (totp_master_key_id);

-- A master key is retired only when nothing wraps to it any more, whoever runs the UPDATE.
-- The row lock this UPDATE takes waits for every transaction that is wrapping a secret to
-- this key (they hold FOR SHARE, below), and the check then sees what they committed.
-- +goose StatementBegin
CREATE FUNCTION master_key_retire_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.recipient IS DISTINCT FROM OLD.recipient THEN
		RAISE EXCEPTION 'master key %: the recipient of a key never changes', OLD.id
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF NEW.retired_at IS NOT NULL AND OLD.retired_at IS NULL
		AND EXISTS (SELECT 1 FROM master_key_uses WHERE master_key_id = OLD.id)
	THEN
		RAISE EXCEPTION 'master key % still wraps secrets: re-wrap them before retiring it', OLD.recipient
			USING ERRCODE = 'object_in_use';
	END IF;
	RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER master_keys_retire_guard BEFORE UPDATE ON master_keys
	FOR EACH ROW EXECUTE FUNCTION master_key_retire_guard();

-- Nothing is wrapped to a retired key. FOR SHARE holds off a retirement until the
-- wrapping transaction ends.
-- +goose StatementBegin
CREATE FUNCTION master_key_wrap_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	key_id   integer;
	retired  timestamptz;
BEGIN
	IF TG_TABLE_NAME = 'owners' THEN
		IF NEW.identity_wrapped IS NULL THEN
			RETURN NEW; -- shredded: nothing wrapped
		END IF;
		key_id := NEW.master_key_id;
	ELSE
		key_id := NEW.totp_master_key_id;
	END IF;
	SELECT retired_at INTO retired FROM master_keys WHERE id = key_id FOR SHARE;
	IF retired IS NOT NULL THEN
		RAISE EXCEPTION 'master key % is retired: wrap to the current key', key_id
			USING ERRCODE = 'object_in_use';
	END IF;
	RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER owners_master_key_wrap_guard
	BEFORE INSERT OR UPDATE OF master_key_id, identity_wrapped, data_key_wrapped ON owners
	FOR EACH ROW EXECUTE FUNCTION master_key_wrap_guard();
CREATE TRIGGER agents_master_key_wrap_guard
	BEFORE INSERT OR UPDATE OF totp_master_key_id, totp_wrapped ON agents
	FOR EACH ROW EXECUTE FUNCTION master_key_wrap_guard();

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
