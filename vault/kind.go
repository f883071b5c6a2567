package vault

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Kind is the type of a supporting document (pièce justificative), and téléservices ask
// for documents by kind. The set is closed and this file is the one place that knows it:
// ParseKind checks every kind written, and every kind opened.
//
// A kind says a person's situation (a residence permit tells immigration status), so it
// is sealed in the database with the owner's data key like titles, bound to its document;
// lists open it and filter in Go (an owner has hundreds of papers, not millions).
type Kind string

// The kinds of supporting documents, following what French public services ask for.
const (
	KindIdentite      Kind = "identite"       // carte d'identité, passeport
	KindTitreSejour   Kind = "titre_sejour"   // titre de séjour, récépissé
	KindDomicile      Kind = "domicile"       // justificatif de domicile
	KindRessources    Kind = "ressources"     // bulletin de salaire, ressources
	KindImpots        Kind = "impots"         // avis d'imposition
	KindCAF           Kind = "caf"            // attestation CAF
	KindFranceTravail Kind = "france_travail" // attestation France Travail
	KindSante         Kind = "sante"          // carte Vitale, attestation de droits
	KindFamille       Kind = "famille"        // livret de famille, acte de naissance
	KindLogement      Kind = "logement"       // quittance de loyer, bail
	KindBanque        Kind = "banque"         // RIB
	KindAutre         Kind = "autre"
)

// Kinds lists every kind in the order a person is shown them.
var Kinds = []Kind{ //nolint:gochecknoglobals // a constant list
	KindIdentite, KindTitreSejour, KindDomicile, KindRessources, KindImpots, KindCAF,
	KindFranceTravail, KindSante, KindFamille, KindLogement, KindBanque, KindAutre,
}

var kindLabels = map[Kind]string{ //nolint:gochecknoglobals // a constant table
	KindIdentite:      "Pièce d'identité",
	KindTitreSejour:   "Titre de séjour",
	KindDomicile:      "Justificatif de domicile",
	KindRessources:    "Ressources, bulletin de salaire",
	KindImpots:        "Avis d'imposition",
	KindCAF:           "Attestation CAF",
	KindFranceTravail: "Attestation France Travail",
	KindSante:         "Santé, carte Vitale",
	KindFamille:       "Famille, livret de famille",
	KindLogement:      "Logement, quittance de loyer",
	KindBanque:        "Banque, RIB",
	KindAutre:         "Autre papier",
}

// kindSearch are the words that find the papers of each kind in a search (search_terms.go),
// beside its label: the names people give these papers, in French and in English.
var kindSearch = map[Kind]string{ //nolint:gochecknoglobals // a constant table
	KindIdentite:      "carte nationale d'identité CNI passeport identity card passport",
	KindTitreSejour:   "carte de séjour carte de résident récépissé residence permit",
	KindDomicile:      "facture proof of address bill",
	KindRessources:    "fiche de paie salaire payslip income",
	KindImpots:        "impôts revenus tax notice",
	KindCAF:           "allocations familiales",
	KindFranceTravail: "Pôle emploi chômage",
	KindSante:         "attestation de droits assurance maladie health",
	KindFamille:       "acte de naissance mariage family birth certificate",
	KindLogement:      "bail loyer housing rent receipt",
	KindBanque:        "relevé d'identité bancaire IBAN bank details",
	KindAutre:         "other",
}

// kindSearchWords is the text a kind is found by: its label and kindSearch.
func kindSearchWords(k Kind) string { return kindLabels[k] + " " + kindSearch[k] }

// ParseKind returns the Kind named s, or an ErrInvalid error.
func ParseKind(s string) (Kind, error) {
	k := Kind(s)
	if _, ok := kindLabels[k]; !ok {
		return "", fmt.Errorf("unknown document kind %q: %w", s, ErrInvalid)
	}
	return k, nil
}

// Label is the kind's name in plain French.
func (k Kind) Label() string { return kindLabels[k] }

func kindAD(owner, doc uuid.UUID) string { return "kind:" + owner.String() + ":" + doc.String() }

// sealKind seals the kind of document doc of owner.
func sealKind(dataKey []byte, owner, doc uuid.UUID, k Kind) ([]byte, error) {
	if _, err := ParseKind(string(k)); err != nil {
		return nil, err
	}
	return seal(dataKey, []byte(k), kindAD(owner, doc))
}

// openKind opens what sealKind sealed. A value moved from another document, or naming no
// known kind, is an integrity error.
func openKind(dataKey []byte, owner, doc uuid.UUID, sealed []byte) (Kind, error) {
	if sealed == nil {
		return "", fmt.Errorf("document %s kind: not sealed yet (run 'coffre migrate'): %w", doc, ErrIntegrity)
	}
	b, err := open(dataKey, sealed, kindAD(owner, doc))
	if err != nil {
		return "", fmt.Errorf("document %s kind: %w", doc, err)
	}
	k, err := ParseKind(string(b))
	if err != nil {
		return "", fmt.Errorf("document %s kind: %w", doc, ErrIntegrity)
	}
	return k, nil
}

// sealBatch is how many documents SealClearKinds seals per transaction.
const sealBatch = 500

// SealClearKinds seals the kind of every document written before migration 9 and empties
// the clear column, then validates the constraint that keeps it empty (ValidateSealedKinds).
// 'coffre migrate' runs it after the SQL migrations. It returns how many documents it
// changed; running it again, or from several processes at once, is safe. The documents
// of an erased safe have no key left: their kind is simply emptied.
func (v *Vault) SealClearKinds(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := v.sealKinds(ctx)
		total += n
		if err != nil {
			return total, fmt.Errorf("vault: seal kinds: %w", err)
		}
		if n == 0 {
			break
		}
	}
	return total, ValidateSealedKinds(ctx, v.db)
}

func (v *Vault) sealKinds(ctx context.Context) (int, error) {
	type clear struct {
		id, owner uuid.UUID
		kind      string
	}
	n := 0
	err := pgx.BeginFunc(ctx, v.db, func(tx pgx.Tx) error {
		// FOR UPDATE, not SKIP LOCKED: a row another process is sealing is waited for,
		// then skipped once its kind is gone, so no process stops while rows remain.
		rows, err := clearKindRows(ctx, tx, sealBatch)
		if err != nil {
			return err
		}
		batch, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (clear, error) {
			var c clear
			return c, row.Scan(&c.id, &c.owner, &c.kind)
		})
		if err != nil {
			return err
		}
		for _, c := range batch {
			sealed := []byte{}
			_, dataKey, err := v.ownerKeys(ctx, c.owner)
			switch {
			case errors.Is(err, ErrShredded):
			case err != nil:
				return fmt.Errorf("document %s: %w", c.id, err)
			default:
				if sealed, err = sealKind(dataKey, c.owner, c.id, Kind(c.kind)); err != nil {
					return fmt.Errorf("document %s: %w", c.id, err)
				}
			}
			if err := sealDocumentKind(ctx, tx, c.id, sealed); err != nil {
				return fmt.Errorf("document %s: %w", c.id, err)
			}
		}
		n = len(batch)
		return nil
	})
	return n, err
}
