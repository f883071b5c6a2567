-- +goose Up

-- Master key recipients (age), newest first. The identities themselves never enter the
-- database: only their public recipients, so that a process started with the wrong key
-- file can refuse to run.
CREATE TABLE master_keys (
	id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	recipient   text NOT NULL UNIQUE,
	created_at  timestamptz NOT NULL DEFAULT now(),
	retired_at  timestamptz
);

-- Owners of safes. identity_wrapped is the owner's age X25519 identity and data_key_wrapped
-- the key that seals their metadata, both age-encrypted to the master recipient named by
-- master_key_id. Destroying both (crypto-shredding) makes every blob unreadable.
CREATE TABLE owners (
	id                uuid PRIMARY KEY,
	login             text UNIQUE,
	recipient         text NOT NULL,
	identity_wrapped  bytea,
	data_key_wrapped  bytea,
	master_key_id     integer NOT NULL REFERENCES master_keys (id),
	created_at        timestamptz NOT NULL DEFAULT now(),
	shredded_at       timestamptz,
	CHECK ((identity_wrapped IS NULL) = (data_key_wrapped IS NULL))
);
-- Rotation walks the owners still wrapped to an old master key.
CREATE INDEX owners_master_key_idx ON owners (master_key_id, id) WHERE identity_wrapped IS NOT NULL;

CREATE TABLE documents (
	id              uuid PRIMARY KEY,
	owner_id        uuid NOT NULL REFERENCES owners (id),
	kind            text NOT NULL CHECK (kind IN (
		'identite', 'titre_sejour', 'domicile', 'ressources', 'impots', 'caf',
		'france_travail', 'sante', 'famille', 'logement', 'banque', 'autre')),
	-- Title sealed with the owner's data key (XChaCha20-Poly1305): a dump reveals no title.
	title_sealed    bytea NOT NULL,
	issued_on       date,
	expires_on      date,
	depositor_kind  text NOT NULL,
	depositor_id    text NOT NULL,
	created_at      timestamptz NOT NULL,
	deleted_at      timestamptz,
	purged_at       timestamptz
);
CREATE INDEX documents_owner_idx ON documents (owner_id, created_at DESC, id) WHERE deleted_at IS NULL;
CREATE INDEX documents_expiry_idx ON documents (expires_on) WHERE deleted_at IS NULL AND expires_on IS NOT NULL;
CREATE INDEX documents_purge_idx ON documents (deleted_at) WHERE deleted_at IS NOT NULL AND purged_at IS NULL;

-- Encrypted objects in the blob store. The id is the object key: random, nothing personal.
CREATE TABLE blobs (
	id            uuid PRIMARY KEY,
	document_id   uuid NOT NULL REFERENCES documents (id),
	owner_id      uuid NOT NULL REFERENCES owners (id),
	role          text NOT NULL CHECK (role IN ('original', 'rendition', 'thumbnail')),
	position      integer NOT NULL,
	media_type    text NOT NULL,
	size          bigint NOT NULL CHECK (size >= 0),
	sha256        bytea NOT NULL CHECK (length(sha256) = 32),
	name_sealed   bytea,
	created_at    timestamptz NOT NULL,
	UNIQUE (document_id, role, position)
);
CREATE INDEX blobs_owner_idx ON blobs (owner_id);

-- An upload in progress: written (and committed) before the first byte goes to the blob
-- store, removed in the transaction that records the blob. What stays here past the grace
-- period is an orphan object for the reaper: a crash leaves an orphan, never a row
-- pointing at nothing.
CREATE TABLE blob_uploads (
	id          uuid PRIMARY KEY,
	started_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX blob_uploads_started_idx ON blob_uploads (started_at);

-- The journal: one SHA-256 hash chain per owner (owner_id all zeros: the service's own
-- chain). hash = SHA-256(prev_hash || canonical entry). personal holds what must be erased
-- at the end of retention (IP prefix, free text); the chain covers only its digest, so
-- erasing it keeps the chain verifiable.
CREATE TABLE journal (
	owner_id         uuid NOT NULL,
	seq              bigint NOT NULL CHECK (seq > 0),
	at               timestamptz NOT NULL,
	actor_kind       text NOT NULL,
	actor_id         text NOT NULL,
	action           text NOT NULL,
	document_id      uuid,
	personal         bytea,
	personal_sha256  bytea NOT NULL,
	prev_hash        bytea NOT NULL,
	hash             bytea NOT NULL,
	PRIMARY KEY (owner_id, seq)
);
CREATE INDEX journal_document_idx ON journal (document_id) WHERE document_id IS NOT NULL;

-- The head of each chain, locked by every append so that each chain stays linear while
-- different owners append in parallel.
CREATE TABLE journal_heads (
	owner_id          uuid PRIMARY KEY,
	seq               bigint NOT NULL,
	hash              bytea NOT NULL,
	checkpointed_seq  bigint NOT NULL DEFAULT 0
);
-- The next checkpoint signs only the chains that moved since the last one.
CREATE INDEX journal_heads_pending_idx ON journal_heads (owner_id) WHERE seq > checkpointed_seq;

-- The database itself refuses to rewrite history. The only change allowed is erasing the
-- personal part of an entry (end of retention); everything the chain covers stays.
-- +goose StatementBegin
CREATE FUNCTION journal_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE'
		AND NEW.personal IS NULL
		AND (NEW.owner_id, NEW.seq, NEW.at, NEW.actor_kind, NEW.actor_id, NEW.action,
			NEW.document_id, NEW.personal_sha256, NEW.prev_hash, NEW.hash)
		IS NOT DISTINCT FROM (OLD.owner_id, OLD.seq, OLD.at, OLD.actor_kind, OLD.actor_id,
			OLD.action, OLD.document_id, OLD.personal_sha256, OLD.prev_hash, OLD.hash)
	THEN
		RETURN NEW;
	END IF;
	RAISE EXCEPTION 'journal is append-only: % refused', TG_OP
		USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE ON journal
	FOR EACH ROW EXECUTE FUNCTION journal_guard();
CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON journal
	FOR EACH STATEMENT EXECUTE FUNCTION journal_guard();

-- Signed checkpoints (Ed25519 service key). Each one lists the heads of the chains that moved
-- since the previous one, and its digest covers the previous digest: the checkpoints form a
-- chain of their own, so no entry before a signed head can be rewritten unnoticed.
CREATE TABLE journal_checkpoints (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at          timestamptz NOT NULL,
	chains      bigint NOT NULL,
	prev_digest bytea NOT NULL,
	digest      bytea NOT NULL,
	public_key  bytea NOT NULL,
	signature   bytea NOT NULL
);
CREATE TABLE journal_checkpoint_heads (
	checkpoint_id  bigint NOT NULL REFERENCES journal_checkpoints (id),
	owner_id       uuid NOT NULL,
	seq            bigint NOT NULL,
	hash           bytea NOT NULL,
	PRIMARY KEY (checkpoint_id, owner_id)
);
-- +goose StatementBegin
CREATE FUNCTION checkpoint_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'checkpoints are append-only: % refused', TG_OP
		USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON journal_checkpoints
	FOR EACH ROW EXECUTE FUNCTION checkpoint_guard();
CREATE TRIGGER checkpoint_heads_append_only BEFORE UPDATE OR DELETE ON journal_checkpoint_heads
	FOR EACH ROW EXECUTE FUNCTION checkpoint_guard();
