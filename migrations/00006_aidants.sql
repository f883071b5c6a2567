-- +goose Up

-- Aidants (issue 6): structures (CCAS, CIAS, France Services, associations), their
-- agents, the mandates owners give them, and the temporary codes agents hand out.

-- A structure is a legal person identified by its SIRET (14 digits; the Luhn check, and
-- La Poste's exception, are verified by sharing.ParseSIRET before any insert).
CREATE TABLE structures (
	id              uuid PRIMARY KEY,
	name            text NOT NULL CHECK (name <> ''),
	kind            text NOT NULL CHECK (kind IN ('ccas', 'cias', 'france_services', 'association')),
	siret           char(14) NOT NULL UNIQUE CHECK (siret ~ '^[0-9]{14}$'),
	contact         text NOT NULL DEFAULT '',
	created_at      timestamptz NOT NULL DEFAULT now(),
	deactivated_at  timestamptz
);

-- Agents sign in with a login, a password (argon2id PHC string, the owners' scheme) and a
-- TOTP code. The TOTP secret is age-encrypted to the master key like owner identities
-- (totp_master_key_id says to which), never stored in clear; totp_last_step is the last
-- accepted 30-second step, so that a code is never accepted twice. Agents' names are
-- professional, not owners' personal data: they stay clear (but out of logs).
CREATE TABLE agents (
	id                    uuid PRIMARY KEY,
	structure_id          uuid NOT NULL REFERENCES structures (id),
	login                 text NOT NULL UNIQUE,
	display_name          text NOT NULL CHECK (display_name <> ''),
	role                  text NOT NULL CHECK (role IN ('agent', 'referent')),
	password_hash         text NOT NULL,
	password_must_change  boolean NOT NULL DEFAULT true,
	totp_wrapped          bytea NOT NULL,
	totp_master_key_id    integer NOT NULL REFERENCES master_keys (id),
	totp_last_step        bigint,
	oidc_issuer           text,
	oidc_subject          text,
	created_by            text NOT NULL,
	created_at            timestamptz NOT NULL DEFAULT now(),
	last_login_at         timestamptz,
	deactivated_at        timestamptz,
	UNIQUE (oidc_issuer, oidc_subject),
	CHECK ((oidc_issuer IS NULL) = (oidc_subject IS NULL))
);
CREATE INDEX agents_structure_idx ON agents (structure_id, display_name);

-- Agent sessions, apart from owners' so that owner sessions stay untouched. Only the
-- token's SHA-256 is stored. verified_at is the last time the password and TOTP were
-- checked: sensitive actions require it to be recent.
CREATE TABLE agent_sessions (
	id            uuid PRIMARY KEY,
	token_sha256  bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
	agent_id      uuid NOT NULL REFERENCES agents (id),
	created_at    timestamptz NOT NULL DEFAULT now(),
	last_seen_at  timestamptz NOT NULL DEFAULT now(),
	verified_at   timestamptz NOT NULL DEFAULT now(),
	expires_at    timestamptz NOT NULL
);
CREATE INDEX agent_sessions_agent_idx ON agent_sessions (agent_id);
CREATE INDEX agent_sessions_expires_idx ON agent_sessions (expires_at);

-- A mandate: an owner lets every agent of a structure act for them, within scopes, for a
-- fixed duration. consent_method and consent_text_version are the evidence of consent;
-- a mandate confirmed from the owner's phone is pending (confirmed_at NULL) until then.
CREATE TABLE mandates (
	id                    uuid PRIMARY KEY,
	owner_id              uuid NOT NULL REFERENCES owners (id),
	structure_id          uuid NOT NULL REFERENCES structures (id),
	scopes                text[] NOT NULL CHECK (cardinality(scopes) > 0
		AND scopes <@ ARRAY['deposit', 'read', 'share']::text[]),
	duration              text NOT NULL CHECK (duration IN ('1d', '1m', '6m', '12m')),
	created_at            timestamptz NOT NULL DEFAULT now(),
	starts_at             timestamptz,
	expires_at            timestamptz,
	consent_method        text NOT NULL CHECK (consent_method IN ('secret', 'passkey', 'phone')),
	consent_text_version  text NOT NULL CHECK (consent_text_version <> ''),
	granted_by_agent      uuid REFERENCES agents (id),
	confirmed_at          timestamptz,
	revoked_at            timestamptz,
	revoked_by_kind       text,
	revoked_by_id         text,
	CHECK ((confirmed_at IS NULL) = (starts_at IS NULL) AND (starts_at IS NULL) = (expires_at IS NULL)),
	CHECK ((revoked_at IS NULL) = (revoked_by_kind IS NULL))
);
-- Authorize looks up the live mandates of one owner for one structure on every request.
CREATE INDEX mandates_owner_idx ON mandates (owner_id, structure_id) WHERE revoked_at IS NULL;
-- Expiry notices and the structure's lists and dashboard.
CREATE INDEX mandates_expiry_idx ON mandates (expires_at) WHERE revoked_at IS NULL;
CREATE INDEX mandates_structure_idx ON mandates (structure_id, starts_at);

-- Safes an agent opened for someone at the desk: what the dashboard counts as "opened"
-- (and, with owners.activated_at, "activated"). Nothing personal: two IDs and a date.
CREATE TABLE assisted_openings (
	owner_id      uuid PRIMARY KEY REFERENCES owners (id),
	structure_id  uuid NOT NULL REFERENCES structures (id),
	agent_id      uuid NOT NULL REFERENCES agents (id),
	opened_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assisted_openings_structure_idx ON assisted_openings (structure_id, opened_at);

-- A safe is activated when its owner signs in by themselves for the first time
-- (IGAS 2019: only a quarter of assisted safes ever were).
ALTER TABLE owners ADD COLUMN activated_at timestamptz;

-- A temporary code an agent handed to the owner (new safe, or access recovery). The code
-- itself is the account's secret (accounts.secret_hash, argon2id: hash only); this row
-- says until when it is valid, that it must be changed at the next sign-in, and whether
-- the owner must be told at that sign-in that an agent reset their access.
CREATE TABLE access_codes (
	owner_id        uuid PRIMARY KEY REFERENCES owners (id),
	expires_at      timestamptz NOT NULL,
	must_change     boolean NOT NULL DEFAULT true,
	recovery        boolean NOT NULL,
	notify_pending  boolean NOT NULL,
	issued_by_kind  text NOT NULL,
	issued_by_id    text NOT NULL,
	issued_detail   text NOT NULL DEFAULT '',
	issued_at       timestamptz NOT NULL DEFAULT now()
);

-- Dashboard figures count what a structure's agents did, from the documents, links and
-- journal rows they wrote: these partial indexes keep those counts off full scans.
CREATE INDEX documents_aidant_idx ON documents (depositor_id, created_at) WHERE depositor_kind = 'aidant';
CREATE INDEX links_aidant_idx ON links (created_by_id, created_at) WHERE created_by_kind = 'aidant';
CREATE INDEX journal_aidant_idx ON journal (actor_id, at) WHERE actor_kind = 'aidant';
