-- +goose Up

-- How an owner signs in with an identifier and a secret, and their preferences. The secret
-- is kept only as an argon2id hash (PHC string: algorithm, parameters, salt, hash). The
-- login itself stays in owners.login, clear, because sign-in looks it up by index.
CREATE TABLE accounts (
	owner_id     uuid PRIMARY KEY REFERENCES owners (id),
	secret_hash  text,
	language     text NOT NULL DEFAULT 'fr' CHECK (language IN ('fr', 'en')),
	updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Server-side sessions. The cookie carries a random 256-bit token; only its SHA-256 is
-- stored, so a database dump opens no session. id is what the owner's "my sessions" page
-- names a session by. device_sealed (the browser's description) is sealed with the
-- owner's data key like every other personal metadata.
CREATE TABLE sessions (
	id             uuid PRIMARY KEY,
	token_sha256   bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
	owner_id       uuid NOT NULL REFERENCES owners (id),
	method         text NOT NULL,
	device_sealed  bytea,
	created_at     timestamptz NOT NULL DEFAULT now(),
	last_seen_at   timestamptz NOT NULL DEFAULT now(),
	expires_at     timestamptz NOT NULL
);
CREATE INDEX sessions_owner_idx ON sessions (owner_id, created_at DESC);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- Failed sign-in counters, shared by every 'coffre serve' process. key is the SHA-256 of
-- "login:<identifier>" or "ip:<prefix>": nothing personal in clear.
CREATE TABLE login_throttle (
	key           bytea PRIMARY KEY CHECK (length(key) = 32),
	failures      integer NOT NULL,
	window_start  timestamptz NOT NULL,
	locked_until  timestamptz
);
