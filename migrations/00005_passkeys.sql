-- +goose Up

-- Passkeys (WebAuthn credentials) of owners. credential_id is what the authenticator
-- hands back at sign-in, so it is looked up by index; it is a random value that says
-- nothing of the person. Everything else (public key, sign count, flags, the name the
-- owner gave it) is sealed with the owner's data key.
CREATE TABLE passkeys (
	id                 uuid PRIMARY KEY,
	owner_id           uuid NOT NULL REFERENCES owners (id),
	credential_id      bytea NOT NULL UNIQUE,
	credential_sealed  bytea NOT NULL,
	created_at         timestamptz NOT NULL DEFAULT now(),
	last_used_at       timestamptz
);
CREATE INDEX passkeys_owner_idx ON passkeys (owner_id, created_at);

-- A WebAuthn ceremony in progress (the challenge between "begin" and "finish"), keyed by
-- the SHA-256 of the browser's cookie and the ceremony's purpose, so that any process can
-- finish what another began. Rows live two minutes.
CREATE TABLE webauthn_ceremonies (
	key         bytea PRIMARY KEY CHECK (length(key) = 32),
	data        bytea NOT NULL,
	expires_at  timestamptz NOT NULL
);
CREATE INDEX webauthn_ceremonies_expires_idx ON webauthn_ceremonies (expires_at);
