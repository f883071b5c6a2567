-- +goose Up

-- What an agent may do to someone's safe (issue 11).

-- Access recovery is a right of its own that the person ticks on the mandate, never
-- implied by another scope.
ALTER TABLE mandates DROP CONSTRAINT mandates_scopes_check;
ALTER TABLE mandates ADD CONSTRAINT mandates_scopes_check CHECK (cardinality(scopes) > 0
	AND scopes <@ ARRAY['deposit', 'read', 'share', 'recover']::text[]);

-- A desk unlock: the person typed their secret (or the code of their access card) on an
-- agent's screen, so that this agent, and only them, may find the safe and ask for a
-- mandate for a few minutes (sharing.DeskUnlockTTL). In PostgreSQL so that every
-- instance honours it; expired rows are purged.
CREATE TABLE desk_unlocks (
	agent_id    uuid NOT NULL REFERENCES agents (id),
	owner_id    uuid NOT NULL REFERENCES owners (id),
	expires_at  timestamptz NOT NULL,
	PRIMARY KEY (agent_id, owner_id)
);
CREATE INDEX desk_unlocks_expires_idx ON desk_unlocks (expires_at);

-- An access recovery after an identity check at the desk, for a person who never gave
-- the recovery right: the new temporary code (argon2id hash only) becomes the owner's
-- secret at effective_at, unless the owner cancels it before from a session of theirs.
-- What the agent checked (kind of identity document, last characters of its number) is
-- sealed with the owner's data key: a residence permit tells a person's status.
CREATE TABLE recoveries (
	id               uuid PRIMARY KEY,
	owner_id         uuid NOT NULL REFERENCES owners (id),
	code_hash        text NOT NULL,
	identity_sealed  bytea NOT NULL,
	requested_at     timestamptz NOT NULL DEFAULT now(),
	effective_at     timestamptz NOT NULL,
	code_expires_at  timestamptz NOT NULL,
	issued_by_kind   text NOT NULL,
	issued_by_id     text NOT NULL,
	issued_detail    text NOT NULL DEFAULT '',
	applied_at       timestamptz,
	cancelled_at     timestamptz,
	cancelled_by_kind text,
	cancelled_by_id  text,
	CHECK (applied_at IS NULL OR cancelled_at IS NULL),
	CHECK ((cancelled_at IS NULL) = (cancelled_by_kind IS NULL)),
	CHECK (effective_at > requested_at AND code_expires_at > effective_at)
);
-- At most one waiting recovery per safe; the owner's pages look it up on every request.
CREATE UNIQUE INDEX recoveries_pending_idx ON recoveries (owner_id) WHERE applied_at IS NULL AND cancelled_at IS NULL;
-- The job that applies recoveries whose wait is over.
CREATE INDEX recoveries_due_idx ON recoveries (effective_at) WHERE applied_at IS NULL AND cancelled_at IS NULL;
