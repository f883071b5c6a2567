package web_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"coffre/ingest"
	"coffre/vault"
	"coffre/vault/account"
	"coffre/vault/vaulttest"
	"coffre/web"
)

// benchVault is a vault with direct access to its database, for bulk fixtures.
func benchVault(b *testing.B) (*vault.Vault, *pgxpool.Pool) {
	b.Helper()
	ctx := context.Background()
	db := vaulttest.DB(b)
	store, _ := vaulttest.S3Store(b)
	keyPath := filepath.Join(b.TempDir(), "master.key")
	if _, err := vault.GenerateMasterKey(keyPath); err != nil {
		b.Fatal(err)
	}
	keys, err := vault.LoadKeyring(keyPath)
	if err != nil {
		b.Fatal(err)
	}
	v, err := vault.New(ctx, vault.Config{DB: db, Blobs: store, Keys: keys})
	if err != nil {
		b.Fatal(err)
	}
	return v, db
}

// BenchmarkListPage times "Mes papiers" for an owner with 1,000 documents in a database
// of 1,000,000, as the server sees it (session lookup, query, decryption of the titles,
// template, compression), beside its two queries alone (vault.SessionByToken and
// vault.Shelves). It reports medians.
func BenchmarkListPage(b *testing.B) {
	ctx := context.Background()
	v, db := benchVault(b)
	accounts := account.New(account.Config{DB: db, Vault: v, SignUps: 1 << 20})
	owner, err := accounts.CreateAccount(ctx, "bench", "le chat mange la pomme", vault.System)
	if err != nil {
		b.Fatal(err)
	}
	// 999,000 documents of 999 other owners, written by the database itself. Their kinds
	// and titles are dummy bytes: nobody opens them here.
	start := time.Now()
	for _, q := range []string{
		`INSERT INTO owners (id, login, recipient, master_key_id)
		 SELECT gen_random_uuid(), 'other' || i, 'age1dummy', (SELECT min(id) FROM master_keys) FROM generate_series(1, 999) i`,
		`INSERT INTO documents (id, owner_id, kind_sealed, title_sealed, depositor_kind, depositor_id, created_at)
		 SELECT gen_random_uuid(), o.id, '\x01'::bytea, '\x01'::bytea, 'owner', o.id::text, now() - (i || ' seconds')::interval
		 FROM (SELECT id FROM owners WHERE login LIKE 'other%') o, generate_series(1, 1000) i`,
		`ANALYZE`,
	} {
		if _, err := db.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	// The owner's 1,000, through the vault, each with its thumbnail.
	thumb := bytes.Repeat([]byte{0xff}, 8<<10)
	kinds := vault.Kinds
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < 1000; i += 8 {
				exp := time.Now().AddDate(0, 0, i%400).Truncate(24 * time.Hour)
				_, err := v.Deposit(ctx, owner.ID, vault.System, vault.NewDocument{
					Kind: kinds[i%len(kinds)], Title: fmt.Sprintf("Papier numéro %d", i), ExpiresOn: &exp,
					Files: []vault.File{{Role: vault.RoleThumbnail, MediaType: "image/jpeg", Body: bytes.NewReader(thumb), Size: int64(len(thumb))}},
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	b.Logf("fixtures: 1,000,000 documents in %s", time.Since(start).Round(time.Second))

	h := web.New(web.Config{Ready: v, Vault: v, Accounts: accounts})
	token, _, err := accounts.CreateSession(ctx, owner.ID, "secret", "bench", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	req := func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/papiers", nil)
		r.AddCookie(&http.Cookie{Name: "coffre", Value: token})
		r.Header.Set("Accept-Encoding", "gzip")
		return r
	}
	// Warm up (keys cache, prepared statements) and check the page.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req())
	if rec.Code != http.StatusOK {
		b.Fatalf("list page: %d", rec.Code)
	}
	pageBytes := rec.Body.Len()

	var page, shelves, session []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req())
		page = append(page, time.Since(t0))
		t1 := time.Now()
		if _, _, err := v.Shelves(ctx, owner.ID, 12, time.Now().AddDate(0, 2, 0)); err != nil {
			b.Fatal(err)
		}
		shelves = append(shelves, time.Since(t1))
		t2 := time.Now()
		if _, err := accounts.SessionByToken(ctx, token, time.Hour); err != nil {
			b.Fatal(err)
		}
		session = append(session, time.Since(t2))
	}
	b.StopTimer()
	p50, s50, q50 := median(page), median(shelves), median(session)
	b.ReportMetric(float64(p50.Microseconds())/1000, "page-p50-ms")
	b.ReportMetric(float64(s50.Microseconds())/1000, "shelves-p50-ms")
	b.ReportMetric(float64(q50.Microseconds())/1000, "session-p50-ms")
	b.ReportMetric(float64(p50)/float64(s50+q50), "page/queries")
	b.ReportMetric(float64(pageBytes)/1024, "page-gzip-KB")
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// photo12MP draws a 4000×3000 photo of a sheet of paper on a dark table, JPEG-encoded
// like a phone camera's.
func photo12MP(b *testing.B) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4000, 3000))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.RGBA{60, 50, 45, 255}}, image.Point{}, draw.Src)
	sheet := image.Rect(700, 300, 3300, 2700)
	draw.Draw(img, sheet, &image.Uniform{color.RGBA{235, 232, 225, 255}}, image.Point{}, draw.Src)
	ink := &image.Uniform{color.RGBA{30, 30, 40, 255}}
	for y := 450; y < 2550; y += 70 {
		for x := 850; x < 3150; x += 120 {
			w := 40 + (x*7+y*3)%70
			draw.Draw(img, image.Rect(x, y, x+w, y+22), ink, image.Point{}, draw.Src)
		}
	}
	// Sensor noise, so that the JPEG weighs what a phone's does (a few megabytes).
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		if i%4 != 3 {
			v := int(img.Pix[i]) + rng.IntN(25) - 12
			img.Pix[i] = uint8(max(0, min(255, v)))
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkDepositHTTP deposits a 12 MP photo end to end (multipart over HTTP, session,
// CSRF, ingest, encryption, S3, PostgreSQL), beside ingest.Process alone on the same
// bytes: the ratio is what the web and the vault add.
func BenchmarkDepositHTTP(b *testing.B) {
	photo := photo12MP(b)
	if p := os.Getenv("COFFRE_BENCH_PHOTO"); p != "" {
		var err error
		if photo, err = os.ReadFile(p); err != nil {
			b.Fatal(err)
		}
	}
	tb := setup(b)
	c := tb.client(b)
	c.signup("bench", "le chat mange la pomme")
	tok := c.csrf("/papiers/ajouter")
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	// Writes into memory: none of them can fail.
	_ = mw.WriteField("csrf", tok)
	_ = mw.WriteField("kind", "caf")
	fw, _ := mw.CreateFormFile("pages", "photo.jpg")
	_, _ = fw.Write(photo)
	mw.Close()
	body := buf.Bytes()

	var httpT, ingestT time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		req, _ := http.NewRequest(http.MethodPost, c.base+"/papiers/ajouter", bytes.NewReader(body))
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := c.hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "/papiers/") {
			b.Fatalf("deposit: %d", resp.StatusCode)
		}
		httpT += time.Since(t0)

		t1 := time.Now()
		if _, err := ingest.Process(context.Background(), []io.Reader{bytes.NewReader(photo)}, ingest.Options{}, io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
		ingestT += time.Since(t1)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(httpT.Seconds()*1000/n, "http-ms/op")
	b.ReportMetric(ingestT.Seconds()*1000/n, "ingest-ms/op")
	b.ReportMetric(float64(httpT)/float64(ingestT), "http/ingest")
	b.ReportMetric(float64(len(photo))/(1<<20), "photo-MB")
}
