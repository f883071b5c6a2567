-- +goose Up

-- Messages outside the app (issue 14). Nothing here is readable without the owner's key:
-- addresses, codes and devices are sealed with the owner's data key; what stays clear is
-- what the jobs query (dates, IDs, the kind of a channel).

-- The channels an owner may add to be told of things: at most one e-mail address and one
-- mobile number (E.164), each verified by a 6-digit code before any message goes to it.
-- The code is sealed, not hashed: six digits hashed would be found back from a dump in a
-- second. code_attempts counts wrong codes for the current code (locked at 5).
CREATE TABLE channels (
	id              uuid PRIMARY KEY,
	owner_id        uuid NOT NULL REFERENCES owners (id),
	kind            text NOT NULL CHECK (kind IN ('email', 'sms')),
	address_sealed  bytea NOT NULL,
	code_sealed     bytea,
	code_expires_at timestamptz,
	code_attempts   integer NOT NULL DEFAULT 0,
	verified_at     timestamptz,
	created_at      timestamptz NOT NULL,
	UNIQUE (owner_id, kind)
);

-- What owners were told of, once each: an expiry milestone of a paper, a mandate given
-- or ending, a new device… The key names the event (IDs and dates, nothing else); the
-- first transaction to insert it sends the messages, every later one finds it there,
-- whatever the process and however often the jobs run.
CREATE TABLE notices (
	owner_id   uuid NOT NULL REFERENCES owners (id),
	key        text NOT NULL,
	created_at timestamptz NOT NULL,
	PRIMARY KEY (owner_id, key)
);
CREATE INDEX notices_created_idx ON notices (created_at);

-- The kinds of device (browser and system, sealed) an owner signed in from lately, to
-- tell them of a sign-in from a new one.
CREATE TABLE known_devices (
	id            uuid PRIMARY KEY,
	owner_id      uuid NOT NULL REFERENCES owners (id),
	device_sealed bytea NOT NULL,
	last_seen_at  timestamptz NOT NULL
);
CREATE INDEX known_devices_owner_idx ON known_devices (owner_id);

-- Expiry reminders an owner dismissed on « Mes papiers »: one milestone of one expiry
-- date of one paper; the next milestone shows again.
CREATE TABLE dismissed_reminders (
	document_id  uuid NOT NULL REFERENCES documents (id),
	owner_id     uuid NOT NULL REFERENCES owners (id),
	expires_on   date NOT NULL,
	milestone    integer NOT NULL CHECK (milestone > 0),
	dismissed_at timestamptz NOT NULL,
	PRIMARY KEY (document_id, expires_on, milestone)
);
CREATE INDEX dismissed_reminders_owner_idx ON dismissed_reminders (owner_id);

-- Whether the owner wants a message when one of their share links is opened for the
-- first time (off unless they turn it on).
ALTER TABLE accounts ADD COLUMN notify_link_opened boolean NOT NULL DEFAULT false;
