-- +goose Up

-- Papers that prove themselves and copies that leave marked (issue 15, parts 2 and 3).

-- What the 2D-Doc of a paper said when it was deposited: the verdict on its signature and
-- the facts it carries (a name, an income, an address), sealed with the owner's data key
-- and bound to the document like its title. NULL: the paper has no 2D-Doc that could be
-- read, or no trust list was configured when it was deposited.
ALTER TABLE documents ADD COLUMN proof_sealed bytea;

-- The watermark the person asked for on what a link or a téléservice receives (« Transmis
-- à l'agence Dupont le 3 mars 2026 pour un dossier de location »), sealed with the owner's
-- data key and bound to the link or grant. NULL: the copies go as they are in the safe.
ALTER TABLE links ADD COLUMN watermark_sealed bytea;
ALTER TABLE grants ADD COLUMN watermark_sealed bytea;
