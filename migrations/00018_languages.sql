-- +goose Up

-- Coffre speaks ten languages (issue 16): an owner may choose any of them, by its BCP 47
-- code as web/i18n/<code>.json names it (account.Languages).
ALTER TABLE accounts DROP CONSTRAINT accounts_language_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_language_check
	CHECK (language IN ('fr', 'en', 'ar', 'uk', 'ru', 'fa-AF', 'ps', 'es', 'ro', 'pt'));
