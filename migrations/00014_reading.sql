-- +goose Up

-- Papers that speak (issue 14): reading papers (OCR, opt-in), finding them (a blind
-- index), recognising them (suggestions the person confirms).

-- The owners who asked the service to read their papers, since when. No row: reading is
-- off, the default. Turning it off deletes the row and, in the same transaction, every
-- text read and every term taken from one. Storing a text locks the row (FOR SHARE), so
-- that a reading finishing while the person turns reading off leaves nothing behind.
CREATE TABLE reading_consents (
	owner_id  uuid PRIMARY KEY REFERENCES owners (id),
	since     timestamptz NOT NULL
);

-- What reading a paper found: its text and what recognition suggests (kind, dates, the
-- end of the document number), each sealed with the owner's data key and bound to the
-- document. A row with an empty text is a paper read in which nothing could be read (a
-- PDF without pictures): it is not read again. The suggestion stays until the person
-- confirms, corrects or dismisses it.
CREATE TABLE document_texts (
	document_id        uuid PRIMARY KEY REFERENCES documents (id),
	owner_id           uuid NOT NULL REFERENCES owners (id),
	text_sealed        bytea NOT NULL,
	suggestion_sealed  bytea,
	read_at            timestamptz NOT NULL
);
CREATE INDEX document_texts_owner_idx ON document_texts (owner_id);

-- The blind index: for each word of a paper's title, kind and text, a keyed hash of the
-- normalised word under a key derived from the owner's data key. A search hashes the
-- words typed the same way and looks them up here: the database answers without holding
-- a word in clear. See vault/doc.go for what it reveals.
CREATE TABLE search_terms (
	owner_id     uuid NOT NULL REFERENCES owners (id),
	term         bytea NOT NULL,
	document_id  uuid NOT NULL REFERENCES documents (id),
	PRIMARY KEY (owner_id, term, document_id)
);
CREATE INDEX search_terms_document_idx ON search_terms (document_id);
