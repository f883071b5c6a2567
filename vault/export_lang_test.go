package vault_test

import (
	"archive/zip"
	"context"
	"encoding/csv"
	"io"
	"strings"
	"testing"

	"coffre/vault"
)

// zipTexts reads every entry of the archive at p that is not a document's file.
func zipTexts(t *testing.T, p string) map[string]string {
	t.Helper()
	zr, err := zip.OpenReader(p)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	texts := map[string]string{}
	for _, f := range zr.File {
		if strings.HasPrefix(f.Name, "documents/") {
			continue
		}
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		texts[f.Name] = string(b)
	}
	return texts
}

// The export speaks the owner's language where a person reads it: the notice beside
// LISEZMOI.txt (one document is not "1 documents": the numbers follow a label), and
// manifest.csv's column names and kind labels. The columns' order and values, and
// manifest.json, stay the same in every language; an unknown language is French.
func TestExportLanguage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	owner, by := b.owner(t)
	pdf := pdfOf("titre")
	if _, err := b.v.Deposit(context.Background(), owner, by, vault.NewDocument{Kind: vault.KindTitreSejour, Title: "Titre de séjour",
		Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "application/pdf", Name: "titre.pdf", Body: strings.NewReader(string(pdf)), Size: int64(len(pdf))}}}); err != nil {
		t.Fatal(err)
	}
	f := &exportFixture{owner: owner, by: by}
	for _, c := range []struct {
		lang, notice, header, kind, count string
	}{
		{"", "", "type (libellé)", "Titre de séjour", ""},
		{"xx", "", "type (libellé)", "Titre de séjour", ""},
		{"fr", "", "type (libellé)", "Titre de séjour", ""},
		{"uk", "LISEZMOI-uk.txt", "тип (назва)", "Посвідка на проживання (titre de séjour)", "Кількість документів: 1. Кількість файлів: 1."},
		{"ar", "LISEZMOI-ar.txt", "النوع (الاسم)", "بطاقة إقامة", "عدد الوثائق: 1. عدد الملفات: 1."},
		{"ro", "LISEZMOI-ro.txt", "tip (denumire)", "", "Număr de documente: 1. Număr de fișiere: 1."},
	} {
		p, _ := exportTo(t, b, f, vault.ExportOptions{Lang: c.lang})
		texts := zipTexts(t, p)
		var notices []string
		for name := range texts {
			if strings.HasPrefix(name, "LISEZMOI-") {
				notices = append(notices, name)
			}
		}
		if c.notice == "" && len(notices) > 0 || c.notice != "" && (len(notices) != 1 || notices[0] != c.notice) {
			t.Errorf("%q: notices %v, want %q", c.lang, notices, c.notice)
		}
		if c.notice != "" && !strings.Contains(texts[c.notice], c.count) {
			t.Errorf("%q: the notice does not count one document: %s", c.lang, texts[c.notice])
		}
		if !strings.Contains(texts["LISEZMOI.txt"], "Nombre de documents\u00a0: 1.") {
			t.Errorf("%q: LISEZMOI.txt is not the French one", c.lang)
		}
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(texts["manifest.csv"], "\uFEFF"))).ReadAll()
		if err != nil || len(rows) != 2 || len(rows[0]) != 16 {
			t.Fatalf("%q: manifest.csv: %v %v", c.lang, err, rows)
		}
		if rows[0][2] != c.header || rows[0][15] != "sha256" || rows[1][1] != string(vault.KindTitreSejour) || rows[1][10] != string(vault.RoleOriginal) {
			t.Errorf("%q: manifest.csv header %q, row %q", c.lang, rows[0], rows[1])
		}
		if c.kind != "" && rows[1][2] != c.kind {
			t.Errorf("%q: kind label %q, want %q", c.lang, rows[1][2], c.kind)
		}
		if !strings.Contains(texts["manifest.json"], `"kind_label": "Titre de séjour"`) {
			t.Errorf("%q: manifest.json's label changed", c.lang)
		}
	}
}
