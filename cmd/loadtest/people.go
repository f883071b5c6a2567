package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pquerna/otp/totp"
)

// The people the load test plays, and what it remembers of what the service told them:
// the deposits acknowledged, the links and their limits, the documents delivered.

var kinds = []string{"caf", "impots", "identite", "domicile", "ressources", "sante"} //nolint:gochecknoglobals // a constant list

const redirectURI = "http://127.0.0.1:9/retour" // the téléservice's; never reached

func urlEscape(s string) string { return url.QueryEscape(s) }

// person is someone with a safe.
type person struct {
	login, secret string
	ip            string
	b             *browser
	signedUp      bool
	unsure        bool     // a sign-up was cut by a fault: the safe may exist
	docs          []ackDoc // deposits acknowledged, with the ID the service gave
	n             int      // deposits tried
}

type ackDoc struct{ id, title string }

// ledger is what the service acknowledged, for the final checks.
type ledger struct {
	mu       sync.Mutex
	deposits map[string]depositRecord // by title
	tried    int                      // deposits sent
	links    []linkRecord
	locks    []lockRecord
	grants   []grantRecord
	exports  map[string]int // login → exports acknowledged
	owners   map[string]bool
}

type depositRecord struct {
	login string
	id    string // "" when the response did not name it (agents' deposits)
	by    string // owner or aidant
}

// linkRecord is a link with a download limit and what its recipients got.
type linkRecord struct {
	token      string
	limit      int
	attempts   int
	successes  int
	unexpected int // attempts whose outcome is unknown (cut by a fault)
}

// lockRecord is a link whose code was guessed wrong by many recipients at once.
type lockRecord struct {
	token        string
	wrongTries   int
	rightRefused bool
}

type grantRecord struct {
	login     string
	delivered int
}

func newLedger() *ledger {
	return &ledger{deposits: map[string]depositRecord{}, exports: map[string]int{}, owners: map[string]bool{}}
}

// fixtures are the files people deposit.
type fixtures struct {
	photos []payload // single photos (phone pictures of papers)
	pages  []payload // photos of paper pages, sent several per deposit
	heic   []payload
	pdfs   []payload // multi-page PDFs
}

type payload struct {
	name string
	data []byte
}

var (
	docRE      = regexp.MustCompile(`/papiers/([0-9a-f-]{36})`)
	fileRE     = regexp.MustCompile(`/papiers/[0-9a-f-]{36}/fichier/([0-9a-f-]{36})`)
	tokenRE    = regexp.MustCompile(`id="link-url" value="[^"]*/p/([A-Za-z0-9_-]{43})"`)
	codeRE     = regexp.MustCompile(`id="link-code">(\d{6})<`)
	consentRE  = regexp.MustCompile(`name="doc" value="([0-9a-f-]{36})"`)
	accessRE   = regexp.MustCompile(`id="access-code">([a-z0-9-]+)<`)
	ownerRE    = regexp.MustCompile(`/agent/personnes/([0-9a-f-]{36})/`)
	lastOctets atomic.Int64 //nolint:gochecknoglobals // the counter that gives each simulated person a distinct address
)

// nextIP gives each new browser its own /24 of the loopback network.
func nextIP() string {
	n := lastOctets.Add(1)
	return fmt.Sprintf("127.%d.%d.%d", 1+n/250%250, n%250, 1+n/62500%250)
}

// deposit sends one paper: a photo, several pages, a HEIC photo or a PDF.
func (lt *loadTest) deposit(ctx context.Context, p *person) {
	p.n++
	title := fmt.Sprintf("Papier %s n°%d", p.login, p.n)
	kind := kinds[rand.IntN(len(kinds))]
	var files []payload
	reqKind := "deposit photo"
	switch x := rand.IntN(10); {
	case x < 4 || len(lt.fx.pages) == 0:
		files = []payload{lt.fx.photos[rand.IntN(len(lt.fx.photos))]}
	case x < 6:
		reqKind = "deposit pages"
		for range 2 + rand.IntN(2) {
			files = append(files, lt.fx.pages[rand.IntN(len(lt.fx.pages))])
		}
	case x < 8 && len(lt.fx.pdfs) > 0:
		reqKind = "deposit pdf"
		files = []payload{lt.fx.pdfs[rand.IntN(len(lt.fx.pdfs))]}
	case len(lt.fx.heic) > 0:
		reqKind = "deposit heic"
		files = []payload{lt.fx.heic[rand.IntN(len(lt.fx.heic))]}
	default:
		files = []payload{lt.fx.photos[rand.IntN(len(lt.fx.photos))]}
	}
	body, ctype := multipartBody(p.b.tok, map[string]string{"kind": kind, "title": title}, files)
	lt.led.mu.Lock()
	lt.led.tried++
	lt.led.mu.Unlock()
	lt.inflight("deposit", +1)
	res := p.b.do(ctx, request{kind: reqKind, method: http.MethodPost, path: "/papiers/ajouter", body: body, ctype: ctype})
	lt.inflight("deposit", -1)
	if !p.b.check(res, http.StatusSeeOther) {
		return
	}
	m := docRE.FindStringSubmatch(res.header.Get("Location"))
	if m == nil {
		return
	}
	p.docs = append(p.docs, ackDoc{id: m[1], title: title})
	lt.led.mu.Lock()
	lt.led.deposits[title] = depositRecord{login: p.login, id: m[1], by: "owner"}
	lt.led.mu.Unlock()
}

// multipartBody is a deposit form: the CSRF token first, as the pages' forms send it.
func multipartBody(tok string, fields map[string]string, files []payload) ([]byte, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	// Writes into memory: none of them can fail.
	_ = mw.WriteField("csrf", tok)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	for _, f := range files {
		w, _ := mw.CreateFormFile("pages", f.name)
		_, _ = w.Write(f.data)
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// signUp opens the person's safe, or signs them in again with a new browser.
func (lt *loadTest) signIn(ctx context.Context, p *person) bool {
	if p.signedUp {
		p.b = lt.newBrowser(p.ip)
	}
	path := "/connexion"
	if !p.signedUp {
		path = "/inscription"
	}
	if _, ok := p.b.page(ctx, "sign-in page", path); !ok {
		return false
	}
	form := map[string][]string{"login": {p.login}, "secret": {p.secret}}
	kind := "sign in"
	if !p.signedUp {
		form["secret2"] = []string{p.secret}
		kind = "sign up"
	}
	want := []int{http.StatusSeeOther}
	if !p.signedUp && p.unsure {
		// A sign-up whose answer a fault cut may have opened the safe.
		want = append(want, http.StatusConflict)
	}
	res := p.b.form(ctx, kind, path, form)
	if !p.b.check(res, want...) {
		if res.err != nil || res.status >= 500 {
			// Cut by a fault: the safe may or may not exist; try the other way next.
			p.unsure = true
			p.signedUp = !p.signedUp
		}
		return false
	}
	if res.status == http.StatusConflict {
		p.signedUp, p.b.tok = true, ""
		return false
	}
	if !p.signedUp {
		p.signedUp = true
		lt.led.mu.Lock()
		lt.led.owners[p.login] = true
		lt.led.mu.Unlock()
	}
	_, ok := p.b.page(ctx, "list", "/papiers")
	return ok
}

// browse lists the papers, opens one and reads its file.
func (lt *loadTest) browse(ctx context.Context, p *person) {
	if _, ok := p.b.page(ctx, "list", "/papiers"); !ok || len(p.docs) == 0 {
		return
	}
	d := p.docs[rand.IntN(len(p.docs))]
	res, ok := p.b.page(ctx, "view", "/papiers/"+d.id)
	if !ok {
		return
	}
	m := fileRE.FindSubmatch(res.body)
	if m == nil {
		return
	}
	lt.inflight("download", +1)
	res = p.b.do(ctx, request{kind: "download", method: http.MethodGet, path: "/papiers/" + d.id + "/fichier/" + string(m[1]) + "?a=telecharger"})
	lt.inflight("download", -1)
	p.b.check(res, http.StatusOK)
}

// share makes a link to one or two papers, with a download limit and sometimes a code,
// then sends more recipients than the limit allows to it at once, across the instances.
func (lt *loadTest) share(ctx context.Context, p *person) {
	if len(p.docs) == 0 {
		return
	}
	d := p.docs[rand.IntN(len(p.docs))]
	limit := 1 + rand.IntN(3)
	withCode := rand.IntN(2) == 0
	form := map[string][]string{"doc": {d.id}, "lifetime": {"24h"}, "purpose": {"Dossier de logement"}, "limit": {fmt.Sprint(limit)}}
	if withCode {
		form["code"] = []string{"oui"}
	}
	res := p.b.form(ctx, "share", "/partager", form)
	if !p.b.check(res, http.StatusOK) {
		return
	}
	tm, cm := tokenRE.FindSubmatch(res.body), codeRE.FindSubmatch(res.body)
	if tm == nil || withCode && cm == nil {
		lt.rec.record(&result{kind: "share", instance: res.instance, status: res.status, body: []byte("no link in the page"), from: res.from, to: res.to}, false)
		return
	}
	token, code := string(tm[1]), ""
	if withCode {
		code = string(cm[1])
	}
	// A third of the links with a code are attacked instead: wrong codes from many
	// places at once; then the right one must not open it.
	if withCode && rand.IntN(3) == 0 {
		lt.attackCode(ctx, token, code)
		return
	}
	rec := linkRecord{token: token, limit: limit, attempts: limit + 2}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range rec.attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, known := lt.recipient(ctx, token, code, d.id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case !known:
				rec.unexpected++
			case got:
				rec.successes++
			}
		}()
	}
	wg.Wait()
	lt.led.mu.Lock()
	lt.led.links = append(lt.led.links, rec)
	lt.led.mu.Unlock()
}

// recipient opens a link as someone at a counter: the code if there is one, then the
// download. It says whether the file came, and whether the outcome is known (a request
// cut by a fault leaves it unknown).
func (lt *loadTest) recipient(ctx context.Context, token, code, doc string) (got, known bool) {
	b := lt.newBrowser(nextIP())
	if code != "" {
		res, _ := b.page(ctx, "link code page", "/p/"+token, http.StatusUnauthorized, http.StatusNotFound)
		if res.err != nil || res.status >= 500 {
			return false, false
		}
		if res.status == http.StatusNotFound {
			return false, true // used up already
		}
		res = b.form(ctx, "link code", "/p/"+token, map[string][]string{"code": {code}})
		if !b.check(res, http.StatusSeeOther, http.StatusNotFound) {
			return false, false
		}
		if res.status == http.StatusNotFound {
			return false, true
		}
	}
	lt.inflight("download", +1)
	res := b.do(ctx, request{kind: "link download", method: http.MethodGet, path: "/p/" + token + "/document/" + doc + "?a=telecharger"})
	lt.inflight("download", -1)
	if !b.check(res, http.StatusOK, http.StatusNotFound) {
		return false, false
	}
	return res.status == http.StatusOK, true
}

// attackCode sends seven wrong codes at once from seven networks, then the right code.
func (lt *loadTest) attackCode(ctx context.Context, token, code string) {
	wrong := fmt.Sprintf("%06d", (mustAtoi(code)+1+rand.IntN(1000))%1000000)
	rec := lockRecord{token: token, wrongTries: 7}
	var wg sync.WaitGroup
	var cut atomic.Int32 // wrong codes whose answer a fault cut: maybe never counted
	for range rec.wrongTries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := lt.newBrowser(nextIP())
			if res, ok := b.page(ctx, "link code page", "/p/"+token, http.StatusUnauthorized, http.StatusNotFound); !ok || res.status != http.StatusUnauthorized {
				cut.Add(1)
				return
			}
			if !b.check(b.form(ctx, "link wrong code", "/p/"+token, map[string][]string{"code": {wrong}}), http.StatusUnauthorized, http.StatusNotFound) {
				cut.Add(1)
			}
		}()
	}
	wg.Wait()
	b := lt.newBrowser(nextIP())
	res, _ := b.page(ctx, "link code page", "/p/"+token, http.StatusUnauthorized, http.StatusNotFound)
	if res.status == http.StatusUnauthorized {
		res = b.form(ctx, "link code", "/p/"+token, map[string][]string{"code": {code}})
		if rec.wrongTries-int(cut.Load()) >= 5 {
			b.check(res, http.StatusNotFound) // locked: the right code must not open it
		} else {
			b.check(res, http.StatusNotFound, http.StatusSeeOther)
		}
	}
	rec.rightRefused = res.err == nil && res.status == http.StatusNotFound
	lt.led.mu.Lock()
	lt.led.locks = append(lt.led.locks, rec)
	lt.led.mu.Unlock()
}

func mustAtoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// pull is « Choisir dans mon coffre »: the téléservice sends the person to Coffre, the
// person picks papers and consents, the téléservice takes a token and fetches them,
// checking each file against the manifest and the Repr-Digest header.
func (lt *loadTest) pull(ctx context.Context, p *person) {
	if len(p.docs) == 0 {
		return
	}
	verifier := randomString()
	sum := sha256.Sum256([]byte(verifier))
	details, _ := json.Marshal([]map[string]any{{"type": "coffre_documents", "kinds": kinds, "purpose": "Demande d'aide au logement"}})
	q := url.Values{"client_id": {lt.cluster.clientID}, "redirect_uri": {redirectURI}, "response_type": {"code"},
		"state": {randomString()}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"authorization_details": {string(details)}}
	res, ok := p.b.page(ctx, "consent page", "/oauth/authorize?"+q.Encode())
	if !ok {
		return
	}
	ids := consentRE.FindAllSubmatch(res.body, -1)
	if len(ids) == 0 {
		return
	}
	form := map[string][]string{"q": {q.Encode()}, "decision": {"donner"}}
	rand.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	for i := 0; i < len(ids) && i < 2; i++ {
		form["doc"] = append(form["doc"], string(ids[i][1]))
	}
	res = p.b.form(ctx, "consent", "/oauth/authorize", form)
	if !p.b.check(res, http.StatusSeeOther) {
		return
	}
	back, err := url.Parse(res.header.Get("Location"))
	if err != nil || back.Query().Get("code") == "" {
		return
	}
	ts := lt.newBrowser(nextIP())
	tokForm := url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
	auth := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(lt.cluster.clientID) + ":" + url.QueryEscape(lt.cluster.clientSecret)))
	res = ts.do(ctx, request{kind: "api token", method: http.MethodPost, path: "/api/v1/oauth/token", body: []byte(tokForm.Encode()),
		ctype: "application/x-www-form-urlencoded", header: map[string]string{"Authorization": "Basic " + auth}})
	if !ts.check(res, http.StatusOK) {
		return
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(res.body, &tok) // a garbled answer leaves the token empty: the next request fails and counts
	bearer := map[string]string{"Authorization": "Bearer " + tok.AccessToken}
	res = ts.do(ctx, request{kind: "api manifest", method: http.MethodGet, path: "/api/v1/grant", header: bearer})
	if !ts.check(res, http.StatusOK) {
		return
	}
	var m struct {
		Documents []struct {
			SHA256    string `json:"sha256"`
			Href      string `json:"href"`
			Watermark string `json:"watermark"`
		} `json:"documents"`
	}
	_ = json.Unmarshal(res.body, &m) // a garbled answer lists no papers: the grant is recorded with none delivered
	delivered := 0
	for _, d := range m.Documents {
		res = ts.do(ctx, request{kind: "api download", method: http.MethodGet, path: d.Href, header: bearer})
		if !ts.check(res, http.StatusOK) {
			continue
		}
		sum := sha256.Sum256(res.body)
		// A watermarked copy is not the paper in the safe: the manifest's sha256 is the
		// clean paper's, and the download's Repr-Digest alone describes what came.
		clean := d.Watermark != "" || hex.EncodeToString(sum[:]) == d.SHA256
		if !clean || res.header.Get("Repr-Digest") != "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":" {
			lt.rec.record(&result{kind: "api download", instance: res.instance, status: res.status, body: []byte("SHA-256 differs from the manifest"), from: res.from, to: res.to}, false)
			continue
		}
		delivered++
	}
	lt.led.mu.Lock()
	lt.led.grants = append(lt.led.grants, grantRecord{login: p.login, delivered: delivered})
	lt.led.mu.Unlock()
}

func randomString() string {
	b := make([]byte, 32)
	for i := range b {
		b[i] = byte(rand.IntN(256))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// export downloads the whole safe, reading at rate bytes per second (0: as fast as it
// comes), and checks the archive.
func (lt *loadTest) export(ctx context.Context, p *person, kind string, rate int) {
	if _, ok := p.b.page(ctx, "export page", "/compte/export"); !ok {
		return
	}
	var buf bytes.Buffer
	read := func(r io.Reader) error {
		if rate <= 0 {
			_, err := io.Copy(&buf, r)
			return err
		}
		return slowCopy(ctx, &buf, r, rate)
	}
	body := []byte("csrf=" + urlEscape(p.b.tok))
	res := p.b.do(ctx, request{kind: kind, method: http.MethodPost, path: "/compte/export", body: body, ctype: "application/x-www-form-urlencoded", read: read})
	if res.err == nil && res.status == http.StatusOK {
		if _, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len())); err != nil {
			res.err = fmt.Errorf("the archive does not open: %w", err)
		}
	}
	if p.b.check(res, http.StatusOK) {
		lt.led.mu.Lock()
		lt.led.exports[p.login]++
		lt.led.mu.Unlock()
	}
}

// slowCopy reads r at rate bytes per second, as a phone on a weak signal.
func slowCopy(ctx context.Context, w io.Writer, r io.Reader, rate int) error {
	chunk := make([]byte, max(rate/10, 512))
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	until, _ := ctx.Value(slowKey{}).(time.Time)
	for {
		if !until.IsZero() && time.Now().After(until) {
			_, err := io.Copy(w, r)
			return err
		}
		n, err := io.ReadFull(r, chunk)
		if _, werr := w.Write(chunk[:n]); werr != nil {
			return werr
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// agent plays a CCAS agent at the desk: signs in with TOTP, opens safes for people who
// come, takes their mandate, and deposits their papers.
func (lt *loadTest) agent(ctx context.Context, deadline time.Time) {
	b := lt.newBrowser(nextIP())
	if !lt.agentSignIn(ctx, b) {
		return
	}
	for i := 1; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
		login := fmt.Sprintf("aide.%d", i)
		if _, ok := b.page(ctx, "agent page", "/agent/ouvrir"); !ok {
			time.Sleep(time.Second)
			continue
		}
		res := b.form(ctx, "agent open safe", "/agent/ouvrir", map[string][]string{"login": {login}})
		if !b.check(res, http.StatusOK) {
			time.Sleep(time.Second)
			continue
		}
		am, om := accessRE.FindSubmatch(res.body), ownerRE.FindSubmatch(res.body)
		if am == nil || om == nil {
			continue
		}
		lt.led.mu.Lock()
		lt.led.owners[login] = true
		lt.led.mu.Unlock()
		owner := string(om[1])
		// The card's code is no consent: the person signs in with it and chooses their
		// own secret on their phone, then types it at the agent's desk.
		secret := fmt.Sprintf("ma phrase à moi pour le coffre, numéro %d", i)
		if !lt.chooseSecret(ctx, login, string(am[1]), secret) {
			continue
		}
		mpath := "/agent/personnes/" + owner + "/mandat"
		res = b.form(ctx, "agent mandate", mpath, map[string][]string{"scope": {"read", "deposit"}, "duration": {"6m"}, "secret": {secret}})
		if !b.check(res, http.StatusOK) {
			continue
		}
		for n := 1; n <= 2; n++ {
			title := fmt.Sprintf("Papier %s n°%d (aidant)", login, n)
			files := []payload{lt.fx.pages[rand.IntN(len(lt.fx.pages))]}
			body, ctype := multipartBody(b.tok, map[string]string{"kind": "caf", "title": title}, files)
			lt.led.mu.Lock()
			lt.led.tried++
			lt.led.mu.Unlock()
			lt.inflight("deposit", +1)
			res = b.do(ctx, request{kind: "agent deposit", method: http.MethodPost, path: "/agent/personnes/" + owner + "/ajouter", body: body, ctype: ctype})
			lt.inflight("deposit", -1)
			if b.check(res, http.StatusSeeOther) {
				lt.led.mu.Lock()
				lt.led.deposits[title] = depositRecord{login: login, by: "aidant"}
				lt.led.mu.Unlock()
			}
		}
		b.page(ctx, "agent papers", "/agent/personnes/"+owner+"/papiers")
	}
}

// chooseSecret is a person signing in for the first time with the code of the access
// card an agent printed: the service asks them to choose their own secret at once.
func (lt *loadTest) chooseSecret(ctx context.Context, login, code, secret string) bool {
	o := lt.newBrowser(nextIP())
	if _, ok := o.page(ctx, "sign-in page", "/connexion"); !ok {
		return false
	}
	res := o.form(ctx, "card sign in", "/connexion", map[string][]string{"login": {login}, "secret": {code}})
	if !o.check(res, http.StatusSeeOther) {
		return false
	}
	if _, ok := o.page(ctx, "choose secret page", "/compte/code"); !ok {
		return false
	}
	res = o.form(ctx, "choose secret", "/compte/code", map[string][]string{"code": {code}, "secret": {secret}, "secret2": {secret}})
	return o.check(res, http.StatusSeeOther)
}

func (lt *loadTest) agentSignIn(ctx context.Context, b *browser) bool {
	if _, ok := b.page(ctx, "agent page", "/agent/connexion"); !ok {
		return false
	}
	code, err := totp.GenerateCode(lt.cluster.agentTOTP, time.Now())
	if err != nil {
		return false
	}
	res := b.form(ctx, "agent sign in", "/agent/connexion", map[string][]string{"login": {lt.cluster.agentLogin}, "password": {lt.cluster.agentPass}, "code": {code}})
	if !b.check(res, http.StatusSeeOther) {
		return false
	}
	if res.header.Get("Location") == "/agent/mot-de-passe" {
		next := "le guichet de charge ouvre à neuf heures"
		res = b.form(ctx, "agent sign in", "/agent/mot-de-passe", map[string][]string{"current": {lt.cluster.agentPass}, "password": {next}, "password2": {next}})
		if !b.check(res, http.StatusSeeOther) {
			return false
		}
		lt.cluster.agentPass = next
	}
	_, ok := b.page(ctx, "agent page", "/agent")
	return ok
}

// slowDownload reads the largest file of a person's papers at rate bytes per second.
func (lt *loadTest) slowDownload(ctx context.Context, p *person, rate int) {
	if len(p.docs) == 0 {
		return
	}
	d := p.docs[0]
	res, ok := p.b.page(ctx, "view", "/papiers/"+d.id)
	if !ok {
		return
	}
	m := fileRE.FindSubmatch(res.body)
	if m == nil {
		return
	}
	read := func(r io.Reader) error { return slowCopy(ctx, io.Discard, r, rate) }
	res = p.b.do(ctx, request{kind: "slow download", method: http.MethodGet, path: "/papiers/" + d.id + "/fichier/" + string(m[1]) + "?a=telecharger", read: read})
	p.b.check(res, http.StatusOK)
}
