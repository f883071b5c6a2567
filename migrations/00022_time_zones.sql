-- +goose Up

-- The place whose time an owner reads dates and hours in (IANA zone names, as
-- account.TimeZones lists them): France and its overseas departments and territories.
-- NULL is not chosen yet: metropolitan France's.
ALTER TABLE accounts ADD COLUMN time_zone text CHECK (time_zone IN (
	'Europe/Paris', 'America/Guadeloupe', 'America/Martinique', 'America/Cayenne', 'Indian/Reunion',
	'Indian/Mayotte', 'America/Miquelon', 'Pacific/Tahiti', 'Pacific/Noumea', 'Pacific/Wallis'));
