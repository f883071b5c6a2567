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
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/google/uuid"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"coffre/ingest"
	"coffre/sharing"
	"coffre/vault"
)

// textPaper deposits a text PDF of two pages as it came from a public service.
func textPaper(t *testing.T, b *testBundle, owner uuid.UUID, kind vault.Kind, title string) (*vault.Document, []byte) {
	t.Helper()
	p := fpdf.New("P", "pt", "A4", "")
	p.SetFont("Helvetica", "", 12)
	for i := 0; i < 2; i++ {
		p.AddPage()
		p.Text(72, 100, "Attestation de paiement, page "+string(rune('1'+i)))
	}
	var out bytes.Buffer
	if err := p.Output(&out); err != nil {
		t.Fatal(err)
	}
	d, err := b.v.Deposit(context.Background(), owner, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}, vault.NewDocument{
		Kind: kind, Title: title, Files: []vault.File{{Role: vault.RoleRendition, MediaType: "application/pdf", Body: bytes.NewReader(out.Bytes()), Size: int64(out.Len())}}})
	if err != nil {
		t.Fatal(err)
	}
	return d, out.Bytes()
}

// pdfPages reads a PDF for the checks below.
func pdfPages(t *testing.T, b []byte) *model.Context {
	t.Helper()
	ctx, err := pdfcpu.Read(bytes.NewReader(b), model.NewDefaultConfiguration())
	if err != nil {
		t.Fatal(err)
	}
	if err := api.ValidateContext(ctx); err != nil {
		t.Fatal(err)
	}
	if err := api.OptimizeContext(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// stampedPages counts, for each page, the stamps (form XObjects) that carry text.
func stampedPages(t *testing.T, b []byte, text string) []int {
	t.Helper()
	ctx := pdfPages(t, b)
	out := make([]int, ctx.PageCount)
	for nr := 1; nr <= ctx.PageCount; nr++ {
		d, _, inh, err := ctx.PageDict(nr, false)
		if err != nil {
			t.Fatal(err)
		}
		res, _ := ctx.DereferenceDict(d["Resources"])
		if res == nil && inh != nil {
			res = inh.Resources
		}
		xo, _ := ctx.DereferenceDict(res["XObject"])
		for _, o := range xo {
			sd, _, err := ctx.DereferenceStreamDict(o)
			if err != nil || sd == nil || sd.NameEntry("Subtype") == nil || *sd.NameEntry("Subtype") != "Form" {
				continue
			}
			if err := sd.Decode(); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(sd.Content), text) {
				out[nr-1]++
			}
		}
	}
	return out
}

// pagePictures returns the picture bytes of each page (nil for a page without one).
func pagePictures(t *testing.T, b []byte) [][]byte {
	t.Helper()
	ctx := pdfPages(t, b)
	out := make([][]byte, ctx.PageCount)
	for nr := 1; nr <= ctx.PageCount; nr++ {
		imgs, err := pdfcpu.ExtractPageImages(ctx, nr, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range imgs {
			out[nr-1], _ = io.ReadAll(im)
		}
	}
	return out
}

// What a link or a téléservice receives carries the watermark on every page — burned
// into the picture of a photographed paper, stamped on each page of a text PDF — in the
// link's downloads, its all-in-one file and the API; the owner's copy stays clean; the
// receipt and the journal say what was written.
func TestWatermarkedShares(t *testing.T) {
	t.Parallel()
	b := setup(t)
	check := schemas(t)
	ctx := context.Background()
	c := b.client(t)
	c.signup("awa", "le chat mange la pomme")
	owner := mustOwner(t, b, "awa")
	card := paper(t, b, owner, vault.KindIdentite, "Carte d'identité")
	cardClean := readBlob(t, b, owner, card.ID, *card.Blob(vault.RoleRendition))
	caf, cafClean := textPaper(t, b, owner, vault.KindCAF, "Attestation CAF")

	// The owner shares both without saying anything of a mark: the identity card asks
	// for one by default.
	resp, page := c.post("/partager", url.Values{"csrf": {c.csrf("/partager")}, "doc": {card.ID.String(), caf.ID.String()},
		"lifetime": {"24h"}, "purpose": {"un dossier de location"}, "recipient": {"l'agence Dupont"}, "mark": {"auto"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("share: %d %s", resp.StatusCode, page)
	}
	want := ingest.WatermarkText("l'agence Dupont", "un dossier de location", time.Now().In(parisTZ(t)))
	if !strings.Contains(html.UnescapeString(page), "«\u00a0"+want+"\u00a0»") {
		t.Fatalf("the new link's page does not show the mark %q", want)
	}
	m := regexp.MustCompile(`localhost:[0-9]+/p/([A-Za-z0-9_-]{43})`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no link on the page")
	}
	token := m[1]
	// The same mark, burned: what ingest.Watermark makes of the clean copy.
	var burned bytes.Buffer
	if _, err := ingest.Watermark(ctx, bytes.NewReader(cardClean), want, ingest.Options{}, &burned); err != nil {
		t.Fatal(err)
	}
	burnedPics, cleanPics := pagePictures(t, burned.Bytes()), pagePictures(t, cardClean)
	if bytes.Equal(burnedPics[0], cleanPics[0]) {
		t.Fatal("the reference mark changed nothing")
	}
	checkCard := func(where string, pics [][]byte) {
		t.Helper()
		if len(pics) != 1 || !bytes.Equal(pics[0], burnedPics[0]) {
			t.Errorf("%s: the card's page is not the marked one", where)
		}
	}
	const stampText = "agence Dupont"
	checkText := func(where string, stamps []int) {
		t.Helper()
		if len(stamps) != 2 {
			t.Fatalf("%s: %d pages, want 2", where, len(stamps))
		}
		for i, n := range stamps {
			if n < 4 {
				t.Errorf("%s: page %d has %d stamps of the text, want it repeated", where, i+1, n)
			}
		}
	}

	// The link's page shows no thumbnail: it would be a clean picture.
	if _, page := c.get("/p/" + token); strings.Contains(page, "a=vignette") {
		t.Error("the page of a marked link shows thumbnails")
	}
	get := func(path string) []byte {
		t.Helper()
		resp, err := http.Get(b.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %.200s", path, resp.StatusCode, body)
		}
		return body
	}
	checkCard("link download", pagePictures(t, get("/p/"+token+"/document/"+card.ID.String()+"?a=telecharger")))
	checkText("link download", stampedPages(t, get("/p/"+token+"/document/"+caf.ID.String()+"?a=telecharger"), stampText))
	all := get("/p/" + token + "/tout.pdf")
	pics := pagePictures(t, all)
	stamps := stampedPages(t, all, stampText)
	if len(pics) != 3 {
		t.Fatalf("all-in-one: %d pages, want 3", len(pics))
	}
	// The link lists the papers newest first or by ID: find the card's page by its picture.
	cardPages := 0
	for i, p := range pics {
		switch {
		case p != nil:
			checkCard("all-in-one", [][]byte{p})
			cardPages++
		case stamps[i] < 4:
			t.Errorf("all-in-one: page %d has %d stamps", i+1, stamps[i])
		}
	}
	if cardPages != 1 {
		t.Errorf("all-in-one: %d pages of the card", cardPages)
	}
	if resp, _ := c.get("/p/" + token + "/document/" + card.ID.String() + "?a=vignette"); resp.StatusCode == http.StatusOK {
		t.Error("the clean thumbnail is given through a marked link")
	}

	// The API: the manifest says the copies are marked, the download is marked, its
	// digest and receipt are the marked copy's and name the text.
	resp, raw := apiGet(t, b, "/api/v1/links/"+token, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("manifest: %d %s", resp.StatusCode, raw)
	}
	check("Manifest", raw)
	var man struct {
		Documents []struct {
			ID        uuid.UUID `json:"id"`
			Href      string    `json:"href"`
			Watermark string    `json:"watermark"`
		} `json:"documents"`
	}
	if err := json.Unmarshal(raw, &man); err != nil {
		t.Fatalf("manifest: %v %s", err, raw)
	}
	pub := b.signing.Public().(ed25519.PublicKey)
	for _, d := range man.Documents {
		if d.Watermark != want {
			t.Errorf("manifest watermark %q", d.Watermark)
		}
		resp, body := apiGet(t, b, d.Href, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("api download: %d %s", resp.StatusCode, body)
		}
		if d.ID == card.ID {
			checkCard("api", pagePictures(t, body))
		} else {
			checkText("api", stampedPages(t, body, stampText))
		}
		sum := sha256.Sum256(body)
		if resp.Header.Get("Repr-Digest") != "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":" {
			t.Error("Repr-Digest is not the marked copy's")
		}
		rc, err := sharing.VerifyReceipt(resp.Header.Get("Coffre-Receipt"), pub)
		if err != nil || len(rc.Documents) != 1 || rc.Documents[0].Watermark != want || rc.Documents[0].SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("receipt %+v, %v", rc, err)
		}
	}

	// The owner's copies stay clean.
	if got := get2(t, c, "/papiers/"+card.ID.String()+"/fichier/"+card.Blob(vault.RoleRendition).ID.String()); !bytes.Equal(got, cardClean) {
		t.Error("the owner's card is not the clean one")
	}
	ownCAF := get2(t, c, "/papiers/"+caf.ID.String()+"/fichier/"+caf.Blob(vault.RoleRendition).ID.String())
	if !bytes.Equal(ownCAF, cafClean) {
		t.Error("the owner's attestation is not the clean one")
	}
	for i, n := range stampedPages(t, ownCAF, stampText) {
		if n > 0 {
			t.Errorf("the owner's page %d carries the mark", i+1)
		}
	}

	// The journal keeps the text of each marked download, sealed.
	entries, err := b.v.Journal(ctx, owner, 0, 200)
	if err != nil {
		t.Fatal(err)
	}
	marked := 0
	for _, e := range entries {
		if e.Action == vault.ActionDownload && e.Private == sharing.WatermarkNote(want) {
			marked++
		}
	}
	if marked < 6 { // two link downloads, two in the all-in-one, two through the API
		t.Errorf("%d downloads journaled as marked, want 6", marked)
	}

	_, history := c.get("/historique")
	history = html.UnescapeString(history)
	if !strings.Contains(history, "La copie portait le message «\u00a0"+want+"\u00a0».") {
		t.Error("the history does not say the copies were marked")
	}
	// The link's creation tells of copies to come, not of one given.
	if !regexp.MustCompile("Vous avez créé un lien de partage «\u00a0[^»]*»\\. Les copies porteront le message «\u00a0" + regexp.QuoteMeta(want) + "\u00a0»\\.").MatchString(history) {
		t.Error("the history does not say the link's copies will be marked")
	}
	if regexp.MustCompile("Vous avez créé un lien de partage «\u00a0[^»]*»\\. La copie portait").MatchString(history) {
		t.Error("the history says a copy was given when the link was created")
	}

	// A link of papers that are not identity papers is not marked by default.
	resp, page = c.post("/partager", url.Values{"csrf": {c.csrf("/partager")}, "doc": {caf.ID.String()}, "lifetime": {"24h"}, "mark": {"auto"}})
	if resp.StatusCode != http.StatusOK || strings.Contains(page, "Transmis") {
		t.Fatalf("share: %d", resp.StatusCode)
	}
	plain := regexp.MustCompile(`localhost:[0-9]+/p/([A-Za-z0-9_-]{43})`).FindStringSubmatch(page)[1]
	if got := get("/p/" + plain + "/document/" + caf.ID.String()); !bytes.Equal(got, cafClean) {
		t.Error("a link without mark does not give the paper as it is")
	}
}

// get2 reads a page of the signed-in client and fails on anything but 200.
func get2(t *testing.T, c *client, path string) []byte {
	t.Helper()
	resp, body := c.get(path)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d", path, resp.StatusCode)
	}
	return []byte(body)
}

func parisTZ(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// A téléservice the person marks the copies for on the consent page receives marked
// copies; the text names it.
func TestWatermarkedGrant(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	c := b.client(t)
	c.signup("awa", "le chat mange la pomme")
	owner := mustOwner(t, b, "awa")
	caf, cafClean := textPaper(t, b, owner, vault.KindCAF, "Attestation CAF")
	redirect := newLoopbackServer(t, http.NotFoundHandler()) + "/retour"
	client, _, err := b.share.AddClient(ctx, sharing.NewClient{Name: "CAF de Lille", RedirectURIs: []string{redirect}, AllowedKinds: []vault.Kind{vault.KindCAF}})
	if err != nil {
		t.Fatal(err)
	}
	verifier := strings.Repeat("v", 50)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {client.ID}, "redirect_uri": {redirect}, "response_type": {"code"}, "state": {"s"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"authorization_details": {`[{"type":"coffre_documents","kinds":["caf"]}]`}}.Encode()
	tok := c.csrf("/oauth/authorize?" + q)
	resp, body := c.post("/oauth/authorize", url.Values{"csrf": {tok}, "q": {q}, "decision": {"donner"}, "doc": {caf.ID.String()}, "mark": {"oui"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("consent: %d %s", resp.StatusCode, body)
	}
	back, _ := url.Parse(resp.Header.Get("Location"))
	access, _, err := b.share.Exchange(ctx, client, back.Query().Get("code"), verifier, redirect)
	if err != nil {
		t.Fatal(err)
	}
	resp, file := apiGet(t, b, "/api/v1/grant/documents/"+caf.ID.String(), http.Header{"Authorization": {"Bearer " + access}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("download: %d %s", resp.StatusCode, file)
	}
	for i, n := range stampedPages(t, file, "CAF de Lille") {
		if n < 4 {
			t.Errorf("page %d: %d stamps naming the téléservice", i+1, n)
		}
	}
	if bytes.Equal(file, cafClean) {
		t.Error("the téléservice got the clean paper")
	}
	rc, err := sharing.VerifyReceipt(resp.Header.Get("Coffre-Receipt"), b.signing.Public().(ed25519.PublicKey))
	if err != nil || !strings.HasPrefix(rc.Documents[0].Watermark, "Transmis à CAF de Lille le ") {
		t.Errorf("receipt %+v, %v", rc, err)
	}
}

// A paper deposited before renditions existed has no PDF to mark: a marked link or API
// answers that plainly, before the download is counted or journaled, never with a 500
// and never with the unmarked paper.
func TestNotMarkable(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	c := b.client(t)
	c.signup("oumar", "le chat mange la pomme")
	owner := mustOwner(t, b, "oumar")
	photo := []byte("\x89PNG\r\n\x1a\n an old paper kept as it came")
	old, err := b.v.Deposit(ctx, owner, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}, vault.NewDocument{
		Kind: vault.KindIdentite, Title: "Ancienne carte", Files: []vault.File{
			{Role: vault.RoleOriginal, MediaType: "image/png", Body: bytes.NewReader(photo), Size: int64(len(photo))}}})
	if err != nil {
		t.Fatal(err)
	}
	resp, page := c.post("/partager", url.Values{"csrf": {c.csrf("/partager")}, "doc": {old.ID.String()},
		"lifetime": {"24h"}, "recipient": {"la mairie"}, "mark": {"oui"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("share: %d %s", resp.StatusCode, page)
	}
	token := regexp.MustCompile(`localhost:[0-9]+/p/([A-Za-z0-9_-]{43})`).FindStringSubmatch(page)[1]

	resp, body := c.get("/p/" + token + "/document/" + old.ID.String() + "?a=telecharger")
	if resp.StatusCode != http.StatusConflict || !strings.Contains(html.UnescapeString(body), "ne peut pas être donné avec une marque") {
		t.Errorf("page download: %d, want 409 and the plain sentence", resp.StatusCode)
	}
	if bytes.Contains([]byte(body), photo) {
		t.Error("the paper was given unmarked")
	}
	resp, raw := apiGet(t, b, "/api/v1/links/"+token+"/documents/"+old.ID.String(), nil)
	if resp.StatusCode != http.StatusConflict || !bytes.Contains(raw, []byte("not_markable")) {
		t.Errorf("API download: %d %s, want 409 not_markable", resp.StatusCode, raw)
	}
	entries, err := b.v.Journal(ctx, owner, 0, 200)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Action == vault.ActionDownload || e.Action == vault.ActionView {
			t.Errorf("a copy that could not be made was journaled as %s", e.Action)
		}
	}
}
