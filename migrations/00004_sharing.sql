-- +goose Up

-- Share links (capability URLs). Only the SHA-256 of the 256-bit token is stored, so a
-- copy of the database opens no link. The purpose label is personal: sealed with the
-- owner's data key like titles.
CREATE TABLE links (
	id                 uuid PRIMARY KEY,
	owner_id           uuid NOT NULL REFERENCES owners (id),
	token_sha256       bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
	purpose_sealed     bytea NOT NULL,
	created_by_kind    text NOT NULL,
	created_by_id      text NOT NULL,
	created_at         timestamptz NOT NULL,
	expires_at         timestamptz NOT NULL,
	max_downloads      integer CHECK (max_downloads > 0),
	downloads          integer NOT NULL DEFAULT 0 CHECK (downloads >= 0),
	-- SHA-256(token || code): the 6-digit code cannot be brute-forced offline without the
	-- token, which is not stored.
	code_sha256        bytea CHECK (length(code_sha256) = 32),
	code_failures      integer NOT NULL DEFAULT 0,
	revoked_at         timestamptz,
	CHECK (max_downloads IS NULL OR downloads <= max_downloads)
);
CREATE INDEX links_owner_idx ON links (owner_id, created_at DESC);

CREATE TABLE link_documents (
	link_id      uuid NOT NULL REFERENCES links (id),
	document_id  uuid NOT NULL REFERENCES documents (id),
	PRIMARY KEY (link_id, document_id)
);

-- Téléservices registered for "Choisir dans mon coffre" (OAuth 2.0 confidential clients).
-- A client secret is 256 random bits: its SHA-256 is enough to check it, and a copy of
-- the database gives no usable secret. Clients that authenticate with private_key_jwt
-- register their public keys (JWKS) instead.
CREATE TABLE clients (
	id             text PRIMARY KEY,
	name           text NOT NULL CHECK (name <> ''),
	redirect_uris  text[] NOT NULL CHECK (cardinality(redirect_uris) > 0),
	allowed_kinds  text[] NOT NULL CHECK (cardinality(allowed_kinds) > 0),
	auth_method    text NOT NULL CHECK (auth_method IN ('client_secret_basic', 'client_secret_post', 'private_key_jwt')),
	secret_sha256  bytea,
	jwks           jsonb,
	created_at     timestamptz NOT NULL DEFAULT now(),
	removed_at     timestamptz,
	CHECK ((auth_method = 'private_key_jwt') = (jwks IS NOT NULL)),
	CHECK ((auth_method <> 'private_key_jwt') = (secret_sha256 IS NOT NULL))
);

-- What an owner gave a client: chosen documents, through a single-use authorization code
-- (bound to the PKCE challenge and redirect URI) then a short-lived access token. Only
-- hashes of the code and the token are stored.
CREATE TABLE grants (
	id               uuid PRIMARY KEY,
	client_id        text NOT NULL REFERENCES clients (id),
	owner_id         uuid NOT NULL REFERENCES owners (id),
	documents        uuid[] NOT NULL,
	redirect_uri     text NOT NULL,
	code_challenge   text NOT NULL,
	code_sha256      bytea NOT NULL UNIQUE,
	code_expires_at  timestamptz NOT NULL,
	code_used_at     timestamptz,
	token_sha256     bytea UNIQUE,
	token_expires_at timestamptz,
	created_at       timestamptz NOT NULL,
	revoked_at       timestamptz
);
CREATE INDEX grants_owner_idx ON grants (owner_id, created_at DESC);

-- private_key_jwt assertions are single-use: their jti is remembered until they expire.
CREATE TABLE client_assertions (
	client_id   text NOT NULL,
	jti         text NOT NULL,
	expires_at  timestamptz NOT NULL,
	PRIMARY KEY (client_id, jti)
);
CREATE INDEX client_assertions_expiry_idx ON client_assertions (expires_at);
