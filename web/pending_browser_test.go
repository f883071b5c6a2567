package web_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// countingBody counts the bytes of a request body as the server reads it.
type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// depositBytes serves b's pages again on another address, counting the bytes of the
// deposits' bodies (POST /papiers/ajouter) as the server receives them.
func depositBytes(t *testing.T, b *testBundle) (base string, sent *atomic.Int64) {
	t.Helper()
	sent = &atomic.Int64{}
	h := b.srv.Config.Handler
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/papiers/ajouter" {
			r.Body = countingBody{r.Body, sent}
		}
		h.ServeHTTP(w, r)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }() // ends with ErrServerClosed at Close, below
	t.Cleanup(func() { srv.Close() })
	return "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), sent
}

// TestBrowserAddPageNoJS builds a paper of two pages in Chromium with JavaScript off:
// « Ajouter une page » for the first, then the keyboard's Enter in the name field
// sends the paper (not another page, not "Retirer"). Every page passes axe-core and the
// budgets. Then it deposits the same 12-megapixel photo with JavaScript (made smaller on
// the phone) and without (sent as it is), and reports the bytes each sent.
func TestBrowserAddPageNoJS(t *testing.T) {
	t.Parallel()
	b := setup(t)
	base, sent := depositBytes(t, b)
	br := newBrowser(t)
	defer br.report()
	br.signup(base, "Amina", "le chat mange la pomme")
	dir := t.TempDir()
	file := func(name string, body []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p1, _ := paperPhoto(t, "23-avis_imposition.jpg")
	p2, _ := paperPhoto(t, "24-avis_imposition.jpg")
	big := jpegOf(t, phonePhoto12MP(t))

	// With JavaScript: the photo is made smaller on the phone before it is sent.
	br.visit("Ajouter un papier", base+"/papiers/ajouter")
	br.do("deposit a 12 MP photo with JavaScript",
		chromedp.SetUploadFiles(chromedp.CSS("#pages"), []string{file("12mp.jpg", big)}),
		chromedp.Poll[chromedp.Void](`document.querySelector('#page-list li[data-checked]')`, chromedp.WithPollingTimeout(60e9)),
		chromedp.Click(chromedp.CSS("#add-submit")))
	br.waitURL(`/papiers/[0-9a-f-]{36}\?`)
	withJS := sent.Swap(0)

	// Without JavaScript: the pages' scripts, all in files of their own, do not load
	// (the test's own probes still run).
	if _, err := chromedp.Call(br.ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: []*network.BlockPattern{{URLPattern: "*://*:*/*.js", Block: true}}}); err != nil {
		t.Fatal(err)
	}
	br.visit("Ajouter un papier (sans JavaScript)", base+"/papiers/ajouter")
	br.do("deposit a 12 MP photo without JavaScript",
		chromedp.SetUploadFiles(chromedp.CSS("#pages"), []string{file("12mp.jpg", big)}),
		chromedp.Click(chromedp.CSS("#add-submit")))
	br.waitURL(`/papiers/[0-9a-f-]{36}\?`)
	withoutJS := sent.Swap(0)
	t.Logf("a %d-byte 12 MP photo: %d bytes sent with JavaScript, %d without", len(big), withJS, withoutJS)
	if withoutJS < int64(len(big)) || withJS >= withoutJS/4 {
		t.Errorf("bytes sent for a %d-byte photo: %d with JavaScript, %d without", len(big), withJS, withoutJS)
	}

	// A paper of two pages, one photo at a time.
	br.visit("Ajouter un papier (sans JavaScript, page 1)", base+"/papiers/ajouter")
	br.do("page 1",
		chromedp.SetUploadFiles(chromedp.CSS("#pages"), []string{file("page1.jpg", p1)}),
		chromedp.Click(chromedp.CSS("label[for=kind-impots]")),
		chromedp.Click(chromedp.CSS("#add-page")),
		chromedp.WaitVisible(chromedp.CSS("#pages-waiting")))
	if s := br.text(); !strings.Contains(s, "La page 1 est prête") {
		t.Fatalf("after « Ajouter une page »: %s", s)
	}
	br.axeHere("Ajouter un papier (une page prête)")
	br.do("page 2, then Enter in the name field",
		chromedp.SetUploadFiles(chromedp.CSS("#pages"), []string{file("page2.jpg", p2)}),
		chromedp.SendKeys(chromedp.CSS("#title"), "Avis d'imposition 2025\r"))
	br.waitURL(`/papiers/[0-9a-f-]{36}\?`)
	if s := br.text(); !strings.Contains(s, "Votre papier est dans le coffre") || !strings.Contains(s, "Avis d'imposition 2025") {
		t.Fatalf("after sending the paper: %s", s)
	}
	docs, err := b.v.Documents(t.Context(), ownerOf(t, b, "amina"))
	if err != nil {
		t.Fatal(err)
	}
	pages := 0
	for _, d := range docs {
		if d.Title != "Avis d'imposition 2025" {
			continue
		}
		for _, bl := range d.Blobs {
			if bl.Role == "original" {
				pages++
			}
		}
	}
	if pages != 2 {
		t.Errorf("the paper has %d pages, want 2", pages)
	}
}

// TestBrowserPhotoBeforeScript: on a slow network a person may take the photo before
// upload.js has come; the page then lists it as soon as the script runs, with its check,
// as if it had been taken after (the browser's own field, which would have said so, is
// hidden where scripts run).
func TestBrowserPhotoBeforeScript(t *testing.T) {
	t.Parallel()
	b := setup(t)
	release := make(chan struct{})
	var once sync.Once
	h := b.srv.Config.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/upload.js") {
			<-release
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { once.Do(func() { close(release) }); srv.Close() })
	base := "http://localhost:" + strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	br := newBrowser(t)
	defer br.report()
	br.signup(base, "Amina", "le chat mange la pomme")
	raw, _ := paperPhoto(t, "23-avis_imposition.jpg")
	photo := filepath.Join(t.TempDir(), "avis.jpg")
	if err := os.WriteFile(photo, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	// Page.navigate returns once the page is on its way, without waiting for its scripts.
	if _, err := chromedp.Call(br.ctx, page.Navigate, page.NavigateParams{URL: base + "/papiers/ajouter"}); err != nil {
		t.Fatal(err)
	}
	br.do("take a photo before the script comes",
		chromedp.WaitReady(chromedp.CSS("#add-submit")),
		chromedp.SetUploadFiles(chromedp.CSS("#pages"), []string{photo}))
	if n, err := chromedp.Run(br.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#page-list li').length`)); err != nil || n != 0 {
		t.Fatalf("pages listed before the script: %d (%v)", n, err)
	}
	once.Do(func() { close(release) })
	br.do("the script lists the photo and checks it",
		chromedp.Poll[chromedp.Void](`document.querySelector('#page-list li[data-checked]')`, chromedp.WithPollingTimeout(60e9)))
	if n, err := chromedp.Run(br.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#page-list li').length`)); err != nil || n != 1 {
		t.Fatalf("pages listed: %d (%v), want 1", n, err)
	}
}
