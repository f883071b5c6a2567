package web_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"html"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"coffre/ingest"
	"coffre/sharing"
	"coffre/vault"
	"coffre/web"
)

// paper deposits a small real document (PDF rendition and thumbnail made by ingest)
// straight into owner's safe.
func paper(t *testing.T, b *testBundle, owner uuid.UUID, kind vault.Kind, title string) *vault.Document {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 420, 594))
	for i := range img.Pix {
		img.Pix[i] = 250
	}
	for y := 60; y < 540; y += 24 {
		for x := 40; x < 380; x++ {
			img.SetGray(x, y, color.Gray{Y: 20})
		}
	}
	var src, pdf, thumb bytes.Buffer
	if err := png.Encode(&src, img); err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.Process(context.Background(), []io.Reader{bytes.NewReader(src.Bytes())}, ingest.Options{}, &pdf, &thumb); err != nil {
		t.Fatal(err)
	}
	d, err := b.v.Deposit(context.Background(), owner, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}, vault.NewDocument{
		Kind: kind, Title: title, Files: []vault.File{
			{Role: vault.RoleOriginal, MediaType: "image/png", Body: bytes.NewReader(src.Bytes()), Size: int64(src.Len())},
			{Role: vault.RoleRendition, MediaType: "application/pdf", Body: bytes.NewReader(pdf.Bytes()), Size: int64(pdf.Len())},
			{Role: vault.RoleThumbnail, MediaType: "image/jpeg", Body: bytes.NewReader(thumb.Bytes()), Size: int64(thumb.Len())},
		}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func ownerOf(t *testing.T, b *testBundle, login string) uuid.UUID {
	t.Helper()
	o, err := b.v.OwnerByLogin(context.Background(), login)
	if err != nil {
		t.Fatal(err)
	}
	return o.ID
}

var (
	// A link's address, not the same letters inside the QR code's base64, which comes
	// first on the page (base64 has no ':').
	tokenRE = regexp.MustCompile(`https?://[^/"\s]+/p/([A-Za-z0-9_-]{43})`)
	codeRE  = regexp.MustCompile(`id="link-code">([0-9]{6})<`)
)

func TestShareLinkPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	owner := b.client(t)
	owner.signup("fatou", "le chat mange la pomme")
	id := ownerOf(t, b, "fatou")
	caf := paper(t, b, id, vault.KindCAF, "Attestation CAF")
	rib := paper(t, b, id, vault.KindBanque, "RIB")

	tok := owner.csrf("/papiers/" + caf.ID.String() + "/partager")
	resp, body := owner.post("/partager", url.Values{"csrf": {tok}, "doc": {caf.ID.String(), rib.ID.String()},
		"purpose": {"CAF – aide au logement"}, "lifetime": {"24h"}, "limit": {"0"}, "code": {"oui"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "data:image/png;base64,") {
		t.Fatalf("create link: %d", resp.StatusCode)
	}
	token := tokenRE.FindStringSubmatch(body)[1]
	code := codeRE.FindStringSubmatch(body)[1]
	for _, want := range []string{"sms:?&amp;body=", "mailto:?subject="} {
		if !strings.Contains(body, want) {
			t.Errorf("link page lacks %q", want)
		}
	}
	// The code is said aloud: the ready-made messages carry the link, never the code.
	for _, m := range regexp.MustCompile(`(?:sms:\?&amp;body=|mailto:\?subject=)[^"]*`).FindAllString(body, -1) {
		if strings.Contains(m, code) || !strings.Contains(m, token) {
			t.Errorf("a ready-made message carries the code, or no link: %s", m)
		}
	}

	// The ready-made SMS has plain spaces (a no-break one would make it cost twice as
	// much); the e-mail keeps French's.
	// sms: bodies are only percent-decoded (RFC 5724): a space written "+" shows as one.
	rawSMS := strings.TrimPrefix(html.UnescapeString(regexp.MustCompile(`sms:\?&amp;body=[^"]*`).FindString(body)), "sms:?&body=")
	sms, err := url.PathUnescape(rawSMS)
	if err != nil || strings.Contains(rawSMS, "+") || !strings.Contains(sms, "avec ce lien : http") || strings.ContainsAny(sms, "\u00a0\u202f") {
		t.Errorf("the ready-made SMS: %q %v", rawSMS, err)
	}
	if mail := regexp.MustCompile(`mailto:\?subject=[^"]*`).FindString(body); !strings.Contains(mail, "lien%C2%A0%3A%20http") {
		t.Errorf("the ready-made e-mail: %s", mail)
	}

	// Someone at a counter, with no account.
	desk := b.client(t)
	resp, body = desk.get("/p/" + token)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `name="code"`) {
		t.Fatalf("link with code, no code given: %d", resp.StatusCode)
	}
	for h, want := range map[string]string{"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	ctok := csrfRE.FindStringSubmatch(body)[1]
	wrong := "000000"
	if wrong == code {
		wrong = "111111"
	}
	if resp, body = desk.post("/p/"+token, url.Values{"csrf": {ctok}, "code": {wrong}}); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "pas le bon") {
		t.Fatalf("wrong code: %d", resp.StatusCode)
	}
	if resp, _ = desk.post("/p/"+token, url.Values{"csrf": {ctok}, "code": {code}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("right code: %d", resp.StatusCode)
	}
	resp, body = desk.get("/p/" + token)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Attestation CAF") || !strings.Contains(body, "RIB") || !strings.Contains(html.UnescapeString(body), "CAF – aide au logement") {
		t.Fatalf("link page: %d", resp.StatusCode)
	}
	resp, body = desk.get("/p/" + token + "/document/" + caf.ID.String() + "?a=telecharger")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "%PDF") || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download: %d %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
	}
	if resp, _ = desk.get("/p/" + token + "/document/" + caf.ID.String() + "?a=vignette"); resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("thumbnail: %d", resp.StatusCode)
	}
	resp, body = desk.get("/p/" + token + "/tout.pdf")
	if n, err := api.PageCount(strings.NewReader(body), nil); resp.StatusCode != http.StatusOK || err != nil || n != 2 {
		t.Fatalf("all as one PDF: %d, %d pages (%v), want 2", resp.StatusCode, n, err)
	}
	// A document of the owner that was not shared, through this link.
	other := paper(t, b, id, vault.KindImpots, "Avis d'imposition")
	if resp, _ = desk.get("/p/" + token + "/document/" + other.ID.String()); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unshared document: %d", resp.StatusCode)
	}

	// The owner sees the link, stops it; then it looks like any unknown link.
	resp, body = owner.get("/partages")
	if resp.StatusCode != http.StatusOK || !strings.Contains(html.UnescapeString(body), "CAF – aide au logement") {
		t.Fatalf("links page: %d", resp.StatusCode)
	}
	links, _ := b.share.Links(context.Background(), id)
	rtok := owner.csrf("/partages")
	if resp, _ = owner.post("/partages/"+links[0].ID.String()+"/revoquer", url.Values{"csrf": {rtok}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	unknownToken := strings.Repeat("A", 43)
	_, unknown := desk.get("/p/" + unknownToken)
	resp, revoked := desk.get("/p/" + token)
	// The pages differ only by the address they were asked at.
	if resp.StatusCode != http.StatusNotFound || strings.ReplaceAll(revoked, token, unknownToken) != unknown {
		t.Fatalf("revoked link: %d, same page as an unknown link: %v", resp.StatusCode, revoked == unknown)
	}
	if resp, _ = desk.get("/p/pas-un-jeton"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("malformed token: %d", resp.StatusCode)
	}

	// Everything is in the owner's history, in plain words.
	_, body = owner.get("/historique")
	body = html.UnescapeString(body)
	for _, want := range []string{
		"Vous avez créé un lien de partage «\u00a0CAF – aide au logement\u00a0»",
		"Votre lien «\u00a0CAF – aide au logement\u00a0» a été ouvert",
		"Un mauvais code a été saisi pour votre lien «\u00a0CAF – aide au logement\u00a0»",
		"Votre lien «\u00a0CAF – aide au logement\u00a0» a servi à télécharger «\u00a0Attestation CAF\u00a0»",
		"Votre lien «\u00a0CAF – aide au logement\u00a0» a servi à essayer d'ouvrir un papier non partagé",
		"Vous avez arrêté le lien de partage «\u00a0CAF – aide au logement\u00a0»",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("history lacks %q", want)
		}
	}

	// Another owner cannot share Fatou's papers nor stop her links.
	mallory := b.client(t)
	mallory.signup("mallory", "un autre secret bien long")
	mtok := mallory.csrf("/partager")
	if resp, _ = mallory.post("/partager", url.Values{"csrf": {mtok}, "doc": {caf.ID.String()}, "lifetime": {"24h"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("sharing someone else's paper: %d", resp.StatusCode)
	}
	if resp, _ = mallory.post("/partages/"+links[0].ID.String()+"/revoquer", url.Values{"csrf": {mtok}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("revoking someone else's link: %d", resp.StatusCode)
	}
	if resp, _ = owner.post("/partager", url.Values{"doc": {caf.ID.String()}, "lifetime": {"24h"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("share without CSRF token: %d", resp.StatusCode)
	}
}

// schemas compiles the response schemas of the OpenAPI document kept in the repository.
func schemas(t *testing.T) func(name string, body []byte) {
	t.Helper()
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("https://coffre.example/openapi.json", doc); err != nil {
		t.Fatal(err)
	}
	return func(name string, body []byte) {
		t.Helper()
		sch, err := c.Compile("https://coffre.example/openapi.json#/components/schemas/" + name)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: not JSON: %s", name, body)
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("response does not match %s: %v\n%s", name, err, body)
		}
	}
}

func apiGet(t *testing.T, b *testBundle, path string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.srv.URL+path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// checkDelivery checks a download as a téléservice must: the Repr-Digest and the signed
// receipt match the bytes.
func checkDelivery(t *testing.T, b *testBundle, resp *http.Response, body []byte, doc uuid.UUID) {
	t.Helper()
	sum := sha256.Sum256(body)
	if got, want := resp.Header.Get("Repr-Digest"), "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":"; got != want {
		t.Fatalf("Repr-Digest %q, want %q", got, want)
	}
	r, err := sharing.VerifyReceipt(resp.Header.Get("Coffre-Receipt"), b.signing.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatalf("receipt: %v", err)
	}
	if len(r.Documents) != 1 || r.Documents[0].ID != doc || r.Documents[0].SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("receipt %+v does not attest these bytes", r)
	}
}

func TestLinkAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	check := schemas(t)
	ctx := context.Background()
	o, err := b.v.CreateOwner(ctx, "", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	d := paper(t, b, o.ID, vault.KindCAF, "Attestation CAF")
	c, err := b.share.CreateLink(ctx, o.ID, vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String()},
		sharing.NewLink{Documents: []uuid.UUID{d.ID}, Purpose: "CAF", WithCode: true, MaxDownloads: 2})
	if err != nil {
		t.Fatal(err)
	}
	resp, body := apiGet(t, b, "/api/v1/links/"+c.Token, nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("manifest without code: %d", resp.StatusCode)
	}
	check("Error", body)
	withCode := http.Header{"Coffre-Code": {c.Code}}
	resp, body = apiGet(t, b, "/api/v1/links/"+c.Token, withCode)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("manifest: %d %s", resp.StatusCode, body)
	}
	check("Manifest", body)
	var m struct {
		Documents []struct {
			ID     uuid.UUID `json:"id"`
			SHA256 string    `json:"sha256"`
			Href   string    `json:"href"`
		} `json:"documents"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("manifest: %v %s", err, body)
	}
	if len(m.Documents) != 1 || m.Documents[0].SHA256 != hex.EncodeToString(d.Blob(vault.RoleRendition).SHA256) {
		t.Fatalf("manifest %s", body)
	}
	resp, file := apiGet(t, b, m.Documents[0].Href, withCode)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("download: %d", resp.StatusCode)
	}
	checkDelivery(t, b, resp, file, d.ID)

	// The download limit holds under concurrency: one download is left, eight race for it.
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := apiGet(t, b, m.Documents[0].Href, withCode)
			mu.Lock()
			defer mu.Unlock()
			if resp.StatusCode == http.StatusOK {
				ok++
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d concurrent downloads succeeded with one left, want 1", ok)
	}

	for name, path := range map[string]string{
		"unknown token":   "/api/v1/links/" + strings.Repeat("B", 43),
		"malformed token": "/api/v1/links/abc",
		"used-up link":    "/api/v1/links/" + c.Token,
	} {
		resp, body := apiGet(t, b, path, withCode)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
		check("Error", body)
	}
	resp, body = apiGet(t, b, "/api/v1/openapi.json", nil)
	if raw, _ := os.ReadFile("openapi.json"); resp.StatusCode != http.StatusOK || !bytes.Equal(body, raw) {
		t.Fatalf("served OpenAPI document differs from the repository's")
	}
	resp, body = apiGet(t, b, "/.well-known/jwks.json", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("jwks: %d", resp.StatusCode)
	}
	check("JWKS", body)
}

func TestChoisirDansMonCoffreOverHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	check := schemas(t)
	ctx := context.Background()
	// The téléservice's redirect endpoint: the test follows no redirect, it reads them.
	ts := http.NewServeMux()
	ts.HandleFunc("/retour", func(w http.ResponseWriter, r *http.Request) {})
	tsrv := newLoopbackServer(t, ts)
	redirect := tsrv + "/retour"
	client, secret, err := b.share.AddClient(ctx, sharing.NewClient{Name: "CAF de Lille", RedirectURIs: []string{redirect}, AllowedKinds: []vault.Kind{vault.KindCAF}})
	if err != nil {
		t.Fatal(err)
	}
	person := b.client(t)
	person.signup("binta", "le chat mange la pomme")
	id := ownerOf(t, b, "binta")
	caf := paper(t, b, id, vault.KindCAF, "Attestation CAF")
	paper(t, b, id, vault.KindImpots, "Avis d'imposition")

	verifier := strings.Repeat("v", 50)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {client.ID}, "redirect_uri": {redirect}, "response_type": {"code"}, "state": {"s1"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"authorization_details": {`[{"type":"coffre_documents","kinds":["caf"],"purpose":"Aide au logement"}]`}}
	resp, body := person.get("/oauth/authorize?" + q.Encode())
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "CAF de Lille") || !strings.Contains(body, "Attestation CAF") || strings.Contains(body, "Avis d") {
		t.Fatalf("consent page: %d", resp.StatusCode)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+tsrv) {
		t.Fatalf("CSP does not let the answer go back: %s", csp)
	}
	ctok := csrfRE.FindStringSubmatch(body)[1]
	resp, _ = person.post("/oauth/authorize", url.Values{"csrf": {ctok}, "q": {q.Encode()}, "decision": {"donner"}, "doc": {caf.ID.String()}})
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), redirect+"?") || loc.Query().Get("state") != "s1" || code == "" {
		t.Fatalf("approval: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	tokenRequest := func(code string) (*http.Response, []byte) {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}}
		req, _ := http.NewRequest(http.MethodPost, b.srv.URL+"/api/v1/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(client.ID, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	resp, tb := tokenRequest(code)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %s", resp.StatusCode, tb)
	}
	check("TokenResponse", tb)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(tb, &tok); err != nil {
		t.Fatalf("token: %v %s", err, tb)
	}
	bearer := http.Header{"Authorization": {"Bearer " + tok.AccessToken}}
	resp, mb := apiGet(t, b, "/api/v1/grant", bearer)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("grant manifest: %d %s", resp.StatusCode, mb)
	}
	check("Manifest", mb)
	resp, file := apiGet(t, b, "/api/v1/grant/documents/"+caf.ID.String(), bearer)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("grant document: %d", resp.StatusCode)
	}
	checkDelivery(t, b, resp, file, caf.ID)

	// A replayed code is refused and kills the token it gave.
	if resp, body := tokenRequest(code); resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "invalid_grant") {
		t.Fatalf("replayed code: %d %s", resp.StatusCode, body)
	}
	if resp, body := apiGet(t, b, "/api/v1/grant", bearer); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("token after replay: %d", resp.StatusCode)
	} else {
		check("Error", body)
	}

	// Refusing sends access_denied back.
	q.Set("state", "s2")
	_, body = person.get("/oauth/authorize?" + q.Encode())
	ctok = csrfRE.FindStringSubmatch(body)[1]
	resp, _ = person.post("/oauth/authorize", url.Values{"csrf": {ctok}, "q": {q.Encode()}, "decision": {"refuser"}})
	if loc, _ := url.Parse(resp.Header.Get("Location")); resp.StatusCode != http.StatusSeeOther || loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "s2" {
		t.Fatalf("refusal: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// An unregistered redirect URI is never followed.
	bad := url.Values{}
	for k, v := range q {
		bad[k] = v
	}
	bad.Set("redirect_uri", "https://evil.example/")
	if resp, _ := person.get("/oauth/authorize?" + bad.Encode()); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("open redirect attempt: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Signed out: sign in first, then back to the request.
	fresh := b.client(t)
	resp, _ = fresh.get("/oauth/authorize?" + q.Encode())
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/connexion" {
		t.Fatalf("signed out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	ltok := fresh.csrf("/connexion")
	resp, _ = fresh.post("/connexion", url.Values{"csrf": {ltok}, "login": {"binta"}, "secret": {"le chat mange la pomme"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/oauth/authorize?") {
		t.Fatalf("after sign-in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, hist := person.get("/historique")
	if !strings.Contains(html.UnescapeString(hist), "Vous avez donné des papiers à «\u00a0CAF de Lille\u00a0»") {
		t.Error("history lacks the consent")
	}
	if !strings.Contains(html.UnescapeString(hist), "CAF de Lille a téléchargé «\u00a0Attestation CAF\u00a0»") {
		t.Error("history lacks the téléservice's download")
	}
}

// Everything as one PDF counts as one download of the link, whatever the number of papers.
func TestBundleCountsOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o, err := b.v.CreateOwner(ctx, "", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	a := paper(t, b, o.ID, vault.KindCAF, "A")
	c2 := paper(t, b, o.ID, vault.KindCAF, "B")
	c, err := b.share.CreateLink(ctx, o.ID, vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String()},
		sharing.NewLink{Documents: []uuid.UUID{a.ID, c2.ID}, MaxDownloads: 1})
	if err != nil {
		t.Fatal(err)
	}
	desk := b.client(t)
	if resp, body := desk.get("/p/" + c.Token + "/tout.pdf"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "%PDF") {
		t.Fatalf("first bundle: %d", resp.StatusCode)
	}
	if resp, _ := desk.get("/p/" + c.Token + "/tout.pdf"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("second bundle with a limit of 1: %d", resp.StatusCode)
	}
}

// Over TLS the code cookie, scoped to the link's path, cannot be a __Host- cookie.
func TestCodeCookieBehindTLS(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *web.Config) { c.BehindTLS = true })
	ctx := context.Background()
	o, _ := b.v.CreateOwner(ctx, "", vault.System)
	d := paper(t, b, o.ID, vault.KindCAF, "A")
	c, err := b.share.CreateLink(ctx, o.ID, vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String()}, sharing.NewLink{Documents: []uuid.UUID{d.ID}, WithCode: true})
	if err != nil {
		t.Fatal(err)
	}
	desk := b.client(t)
	_, body := desk.get("/p/" + c.Token)
	tok := csrfRE.FindStringSubmatch(body)[1]
	resp, _ := desk.post("/p/"+c.Token, url.Values{"csrf": {tok}, "code": {c.Code}})
	if sc := resp.Header.Get("Set-Cookie"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(sc, "__Secure-coffre_code=") || !strings.Contains(sc, "Path=/p/"+c.Token) {
		t.Fatalf("code cookie behind TLS: %d %q", resp.StatusCode, sc)
	}
}

// TestReadyMadeMessagesRightToLeft: on a page in Arabic, the link's ready-made SMS and
// e-mail carry its address without the page's marks of isolation, which a phone would
// take into the address it makes a link of.
func TestReadyMadeMessagesRightToLeft(t *testing.T) {
	t.Parallel()
	b := setup(t)
	owner := b.client(t)
	owner.signup("amina", "le chat mange la pomme")
	caf := paper(t, b, ownerOf(t, b, "amina"), vault.KindCAF, "Attestation CAF")
	owner.get("/langue/ar")
	tok := owner.csrf("/papiers/" + caf.ID.String() + "/partager")
	resp, body := owner.post("/partager", url.Values{"csrf": {tok}, "doc": {caf.ID.String()},
		"lifetime": {"24h"}, "limit": {"0"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `dir="rtl"`) {
		t.Fatalf("create link in Arabic: %d", resp.StatusCode)
	}
	token := tokenRE.FindStringSubmatch(body)[1]
	for _, re := range []string{`sms:\?&amp;body=[^"]*`, `mailto:\?subject=[^"]*`} {
		raw := html.UnescapeString(regexp.MustCompile(re).FindString(body))
		m, err := url.PathUnescape(raw)
		if err != nil || !strings.Contains(m, "/p/"+token) || strings.ContainsAny(m, "\u2066\u2067\u2068\u2069") || strings.Contains(raw, "+") {
			t.Errorf("a ready-made message in Arabic: %q %v", raw, err)
		}
	}
}

// TestLinksOpenedOnce: the list of links says « Ouvert une fois », never « 1 fois ».
func TestLinksOpenedOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	owner := b.client(t)
	owner.signup("fatou", "le chat mange la pomme")
	id := ownerOf(t, b, "fatou")
	caf := paper(t, b, id, vault.KindCAF, "Attestation CAF")
	c, err := b.share.CreateLink(ctx, id, vault.Actor{Kind: vault.ActorOwner, ID: id.String()}, sharing.NewLink{Documents: []uuid.UUID{caf.ID}, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Ouvert une fois", "Ouvert 2 fois"} {
		l, err := b.share.Resolve(ctx, c.Token)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.share.CountBundle(ctx, l); err != nil {
			t.Fatal(err)
		}
		if _, body := owner.get("/partages"); !strings.Contains(body, want) || strings.Contains(body, "Ouvert 1 fois") {
			t.Errorf("the list of links does not read %q", want)
		}
	}
}
