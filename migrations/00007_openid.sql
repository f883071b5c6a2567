-- +goose Up

-- Identities from an OpenID Connect provider (FranceConnect): one per owner. The provider's
-- subject is looked up by the SHA-256 of issuer and subject, so the table holds no
-- identifier in clear; the identity pivot claims (names, birth date and place, gender)
-- are sealed with the owner's data key.
CREATE TABLE openid_identities (
	subject_sha256  bytea PRIMARY KEY CHECK (length(subject_sha256) = 32),
	owner_id        uuid NOT NULL UNIQUE REFERENCES owners (id),
	claims_sealed   bytea NOT NULL,
	created_at      timestamptz NOT NULL DEFAULT now(),
	last_login_at   timestamptz NOT NULL DEFAULT now()
);
