-- +goose Up

-- Issuer deposits (issue 15, « Recevoir mes papiers »): an organisation (CAF, France
-- Travail, an employer, a bailleur) deposits papers into a safe through a subscription
-- the person consented to, with the same OAuth 2.0 machinery as « Choisir dans mon
-- coffre ».

-- The kinds of paper a registered client may deposit. A client may only deposit, only
-- ask for papers, or both.
ALTER TABLE clients ADD COLUMN deposit_kinds text[] NOT NULL DEFAULT '{}';
ALTER TABLE clients DROP CONSTRAINT clients_allowed_kinds_check;
ALTER TABLE clients ADD CONSTRAINT clients_kinds_check CHECK (cardinality(allowed_kinds) > 0 OR cardinality(deposit_kinds) > 0);

-- A person's standing consent that a client deposits papers of some kinds into their
-- safe, until they stop it (or close the safe). The kinds tell the person's situation
-- (a residence permit from a préfecture): sealed with the owner's data key. At most one
-- live subscription per client and owner: consenting again changes its kinds.
CREATE TABLE subscriptions (
	id            uuid PRIMARY KEY,
	client_id     text NOT NULL REFERENCES clients (id),
	owner_id      uuid NOT NULL REFERENCES owners (id),
	kinds_sealed  bytea NOT NULL,
	created_at    timestamptz NOT NULL,
	stopped_at    timestamptz
);
CREATE INDEX subscriptions_owner_idx ON subscriptions (owner_id, created_at DESC);
CREATE UNIQUE INDEX subscriptions_live_idx ON subscriptions (client_id, owner_id) WHERE stopped_at IS NULL;

-- The consent's single-use code goes back to the client through a grant row, like
-- « Choisir dans mon coffre »; exchanged, it names the subscription instead of papers.
ALTER TABLE grants ADD COLUMN subscription_id uuid REFERENCES subscriptions (id);

-- Each deposit made through a subscription, by the client's Idempotency-Key (only its
-- SHA-256 is kept): a retried request gets the same receipt and never makes a second
-- paper; the same key with another request is refused. request_sha256 is the SHA-256 of
-- the file and fields sent. Written in the deposit's transaction. The receipt names the
-- paper's kind: sealed.
CREATE TABLE subscription_deposits (
	subscription_id  uuid NOT NULL REFERENCES subscriptions (id),
	key_sha256       bytea NOT NULL CHECK (length(key_sha256) = 32),
	owner_id         uuid NOT NULL REFERENCES owners (id),
	request_sha256   bytea NOT NULL CHECK (length(request_sha256) = 32),
	document_id      uuid NOT NULL,
	receipt_sealed   bytea NOT NULL,
	created_at       timestamptz NOT NULL,
	PRIMARY KEY (subscription_id, key_sha256)
);
CREATE INDEX subscription_deposits_owner_idx ON subscription_deposits (owner_id);
