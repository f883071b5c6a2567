package sharing

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// StructureKind is the legal kind of a structure.
type StructureKind string

// Structure kinds.
const (
	KindCCAS           StructureKind = "ccas"
	KindCIAS           StructureKind = "cias"
	KindFranceServices StructureKind = "france_services"
	KindAssociation    StructureKind = "association"
)

// Structure is a CCAS, CIAS, France Services or association.
type Structure struct {
	ID            uuid.UUID
	Name          string
	Kind          StructureKind
	SIRET         string
	Contact       string // address, phone, opening hours: printed on access cards
	CreatedAt     time.Time
	DeactivatedAt *time.Time
}

// NewStructure is what the operator registers.
type NewStructure struct {
	Name    string
	Kind    StructureKind
	SIRET   string
	Contact string
}

// ParseStructureKind checks a structure kind.
func ParseStructureKind(s string) (StructureKind, error) {
	switch k := StructureKind(s); k {
	case KindCCAS, KindCIAS, KindFranceServices, KindAssociation:
		return k, nil
	}
	return "", fmt.Errorf("structure kind %q is not ccas, cias, france_services or association: %w", s, ErrBadRequest)
}

// CreateStructure registers a structure (operator, from the command line).
func (s *Service) CreateStructure(ctx context.Context, ns NewStructure) (*Structure, error) {
	st := &Structure{ID: uuid.New(), Contact: strings.TrimSpace(ns.Contact)}
	var err error
	if st.Name, err = cleanText(ns.Name, maxStructureName, "name"); err != nil {
		return nil, fmt.Errorf("sharing: create structure: %w", err)
	}
	if st.Kind, err = ParseStructureKind(string(ns.Kind)); err != nil {
		return nil, fmt.Errorf("sharing: create structure: %w", err)
	}
	if st.SIRET, err = ParseSIRET(ns.SIRET); err != nil {
		return nil, fmt.Errorf("sharing: create structure: %w", err)
	}
	if utf8.RuneCountInString(st.Contact) > maxContact || !utf8.ValidString(st.Contact) {
		return nil, fmt.Errorf("sharing: create structure: contact longer than %d characters: %w", maxContact, ErrBadRequest)
	}
	err = s.db.QueryRow(ctx, `INSERT INTO structures (id, name, kind, siret, contact) VALUES ($1, $2, $3, $4, $5) RETURNING created_at`,
		st.ID, st.Name, st.Kind, st.SIRET, st.Contact).Scan(&st.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("sharing: create structure: %w", uniqueErr(err))
	}
	return st, nil
}

// Structure returns one structure.
func (s *Service) Structure(ctx context.Context, id uuid.UUID) (*Structure, error) {
	st := &Structure{}
	err := s.db.QueryRow(ctx, `SELECT id, name, kind, siret, contact, created_at, deactivated_at FROM structures WHERE id = $1`, id).
		Scan(&st.ID, &st.Name, &st.Kind, &st.SIRET, &st.Contact, &st.CreatedAt, &st.DeactivatedAt)
	if err != nil {
		return nil, fmt.Errorf("sharing: structure %s: %w", id, notFound(err))
	}
	return st, nil
}

// StructureBySIRET returns the structure with that SIRET (written with or without spaces).
func (s *Service) StructureBySIRET(ctx context.Context, siret string) (*Structure, error) {
	d, err := ParseSIRET(siret)
	if err != nil {
		return nil, fmt.Errorf("sharing: structure: %w", err)
	}
	var id uuid.UUID
	if err := s.db.QueryRow(ctx, `SELECT id FROM structures WHERE siret = $1`, d).Scan(&id); err != nil {
		return nil, fmt.Errorf("sharing: structure %s: %w", d, notFound(err))
	}
	return s.Structure(ctx, id)
}

// Joins of the structure s of an agent row a, or of a mandate row m: the reads of agents
// and mandates name their structure and count its deactivation.
const (
	structureOfAgent   = ` JOIN structures s ON s.id = a.structure_id `
	structureOfMandate = ` JOIN structures s ON s.id = m.structure_id `
)

// structureNameOf is the name of the structure whose ID is col, for a statement on
// another table that returns it.
func structureNameOf(col string) string {
	return `(SELECT name FROM structures WHERE id = ` + col + `)`
}
