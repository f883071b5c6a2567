package vault

import "fmt"

// Kind is the type of a supporting document (pièce justificative). The set is closed: the
// database refuses any other value, and téléservices ask for documents by kind.
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
