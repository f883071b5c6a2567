package vault

import (
	_ "embed" // the manifest's JSON Schema
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ManifestSchema is the JSON Schema (2020-12) of manifest.json, published with the code.
//
//go:embed manifest.schema.json
var ManifestSchema []byte

// The manifest, as published in manifest.schema.json.
type (
	manifest struct {
		Format     string             `json:"format"`
		OwnerID    uuid.UUID          `json:"owner_id"`
		ExportedAt string             `json:"exported_at"`
		Documents  []manifestDocument `json:"documents"`
		Journal    manifestJournal    `json:"journal"`
	}
	manifestDocument struct {
		ID          uuid.UUID      `json:"id"`
		Kind        Kind           `json:"kind"`
		KindLabel   string         `json:"kind_label"`
		Title       string         `json:"title"`
		IssuedOn    *string        `json:"issued_on"`
		ExpiresOn   *string        `json:"expires_on"`
		DepositedAt string         `json:"deposited_at"`
		Depositor   manifestActor  `json:"depositor"`
		Files       []manifestFile `json:"files"`
	}
	manifestActor struct {
		Kind ActorKind `json:"kind"`
		ID   string    `json:"id"`
	}
	manifestFile struct {
		Path         string  `json:"path"`
		Role         Role    `json:"role"`
		Position     int     `json:"position"`
		MediaType    string  `json:"media_type"`
		OriginalName *string `json:"original_name"`
		Size         int64   `json:"size"`
		SHA256       string  `json:"sha256"`
	}
	manifestJournal struct {
		Path           string  `json:"path"`
		Entries        int64   `json:"entries"`
		LastHash       string  `json:"last_hash"`
		CheckpointPath *string `json:"checkpoint_path"`
	}
)

func dateOrNil(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(time.DateOnly)
	return &s
}

func writeManifestJSON(w io.Writer, s *snapshot) error {
	m := manifest{
		Format: ExportFormat, OwnerID: s.owner, ExportedAt: s.at.Format(timeFormat),
		Documents: make([]manifestDocument, 0, len(s.docs)),
		Journal:   manifestJournal{Path: "journal.jsonl", Entries: s.headSeq, LastHash: hex.EncodeToString(s.headHash)},
	}
	if s.checkpoint != nil {
		p := "journal-checkpoint.json"
		m.Journal.CheckpointPath = &p
	}
	for _, d := range s.docs {
		md := manifestDocument{
			ID: d.ID, Kind: d.Kind, KindLabel: d.Kind.Label(), Title: d.Title,
			IssuedOn: dateOrNil(d.IssuedOn), ExpiresOn: dateOrNil(d.ExpiresOn),
			DepositedAt: d.CreatedAt.UTC().Format(timeFormat),
			Depositor:   manifestActor{Kind: d.Depositor.Kind, ID: d.Depositor.ID},
			Files:       make([]manifestFile, len(d.Blobs)),
		}
		for j, b := range d.Blobs {
			f := manifestFile{Path: d.paths[j], Role: b.Role, Position: b.Position, MediaType: b.MediaType, Size: b.Size, SHA256: hex.EncodeToString(b.SHA256)}
			if b.Name != "" {
				f.OriginalName = &b.Name
			}
			md.Files[j] = f
		}
		m.Documents = append(m.Documents, md)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(m)
}

// csvCell defuses a value a spreadsheet would run as a formula (CSV injection): a title
// such as "=HYPERLINK(…)" is shown as text. manifest.json keeps the exact value.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// writeManifestCSV writes manifest.csv with its column names and kind labels in lang;
// the columns and the other values are the same in every language.
func writeManifestCSV(w io.Writer, s *snapshot, lang string) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil { // so that Excel reads UTF-8
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(csvHeader(lang)); err != nil {
		return err
	}
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	for _, d := range s.docs {
		for j, b := range d.Blobs {
			if err := cw.Write([]string{d.ID.String(), string(d.Kind), kindLabel(lang, d.Kind), csvCell(d.Title),
				deref(dateOrNil(d.IssuedOn)), deref(dateOrNil(d.ExpiresOn)), d.CreatedAt.UTC().Format(timeFormat),
				string(d.Depositor.Kind), d.Depositor.ID, d.paths[j], string(b.Role), strconv.Itoa(b.Position),
				b.MediaType, csvCell(b.Name), strconv.FormatInt(b.Size, 10), hex.EncodeToString(b.SHA256)}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
