package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The budgets of every page, for a first visit on a prepaid plan (browser cache
// disabled while measuring): bytes as transferred (compressed), the person's own images
// excluded, and requests.
const (
	pageBudgetBytes    = 150 << 10
	pageBudgetRequests = 10
	chromiumPath       = "/usr/bin/chromium"
)

// netlog counts what the browser fetches for one page.
type netlog struct {
	mu        sync.Mutex
	inflight  map[network.RequestID]bool
	personal  map[network.RequestID]bool
	requests  int
	bytes     int64
	imgBytes  int64
	lastEvent time.Time
}

func (n *netlog) reset() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.inflight, n.personal = map[network.RequestID]bool{}, map[network.RequestID]bool{}
	n.requests, n.bytes, n.imgBytes = 0, 0, 0
	n.lastEvent = time.Now()
}

// personalImage tells the person's own pictures (thumbnails, pages), which the budget
// excludes.
func personalImage(u string) bool {
	return strings.Contains(u, "/vignette") || strings.Contains(u, "/fichier/")
}

func (n *netlog) event(ev any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		if strings.HasPrefix(e.Request.URL, "data:") {
			return
		}
		n.requests++
		n.inflight[e.RequestID] = true
		if personalImage(e.Request.URL) {
			n.personal[e.RequestID] = true
		}
	case *network.EventLoadingFinished:
		if n.personal[e.RequestID] {
			n.imgBytes += int64(e.EncodedDataLength)
		} else if n.inflight[e.RequestID] {
			n.bytes += int64(e.EncodedDataLength)
		}
		delete(n.inflight, e.RequestID)
	case *network.EventLoadingFailed:
		delete(n.inflight, e.RequestID)
	default:
		return
	}
	n.lastEvent = time.Now()
}

// idle waits until nothing has been in flight for 300 ms.
func (n *netlog) idle(timeout time.Duration) {
	end := time.Now().Add(timeout)
	for time.Now().Before(end) {
		n.mu.Lock()
		quiet := len(n.inflight) == 0 && time.Since(n.lastEvent) > 300*time.Millisecond
		n.mu.Unlock()
		if quiet {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type pageFigures struct {
	name          string
	requests      int
	bytes, images int64
	violations    int
}

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

const axeRun = `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
	.then(r => r.violations.map(v => ({id: v.id, impact: v.impact || '', help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))`

// TestBrowser walks an owner's whole path in headless Chromium on a 360×740 phone screen:
// create an account, log out and in, deposit a photo, see it listed, view it, print it,
// change it, delete it, read the history. On every page it runs axe-core (WCAG 2.1 A and
// AA: no violation allowed) and measures the page weight and requests.
func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("no Chromium at %s: run scripts/browser.sh (make test does)", chromiumPath)
	}
	axeSrc, err := os.ReadFile(filepath.Join("node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core missing: run scripts/assets.sh (make test does): %v", err)
	}
	photo := sharedFixture(t, "exif-orientation/Portrait_6.jpg")
	b := setup(t)

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "fr-FR"), chromedp.Flag("accept-lang", "fr-FR,fr"),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(360, 740))
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelTimeout()

	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	do("start", chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2)))
	var nl netlog
	nl.reset()
	if err := chromedp.Listen(ctx, nl.event); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		t.Fatal(err)
	}

	var figures []pageFigures
	text := func() string {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		if err != nil {
			t.Fatalf("read page: %v", err)
		}
		return s
	}
	location := func() string {
		s, _ := chromedp.Run(ctx, chromedp.Location())
		return s
	}
	// waitURL waits for the page the last click leads to.
	waitURL := func(re string) string {
		t.Helper()
		rx := regexp.MustCompile(re)
		for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			if u := location(); rx.MatchString(u) {
				nl.idle(5 * time.Second)
				return u
			}
		}
		t.Fatalf("never reached %s; at %s: %s", re, location(), text())
		return ""
	}
	// visit loads a page cold, measures it and runs axe-core on it.
	visit := func(name, url string) {
		t.Helper()
		nl.reset()
		do("open "+name, chromedp.Navigate(url))
		nl.idle(10 * time.Second)
		nl.mu.Lock()
		f := pageFigures{name: name, requests: nl.requests, bytes: nl.bytes, images: nl.imgBytes}
		nl.mu.Unlock()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](string(axeSrc)+";1")); err != nil {
			t.Fatalf("inject axe-core in %s: %v", name, err)
		}
		vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](axeRun, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("axe-core on %s: %v", name, err)
		}
		for _, v := range vs {
			t.Errorf("%s (%s): axe %s [%s] %s at %v", name, url, v.ID, v.Impact, v.Help, v.Nodes)
		}
		f.violations = len(vs)
		if f.bytes > pageBudgetBytes {
			t.Errorf("%s weighs %d bytes, over the %d budget", name, f.bytes, pageBudgetBytes)
		}
		if f.requests > pageBudgetRequests {
			t.Errorf("%s makes %d requests, over the %d budget", name, f.requests, pageBudgetRequests)
		}
		figures = append(figures, f)
	}
	defer func() {
		var sb strings.Builder
		fmt.Fprintf(&sb, "\n%-28s %9s %9s %12s %5s\n", "page (cold cache, 360×740)", "requests", "KB", "own images", "axe")
		for _, f := range figures {
			fmt.Fprintf(&sb, "%-28s %9d %9.1f %10.1fKB %5d\n", f.name, f.requests, float64(f.bytes)/1024, float64(f.images)/1024, f.violations)
		}
		t.Log(sb.String())
	}()
	base := b.srv.URL

	// Create an account.
	visit("Accueil", base+"/")
	visit("Créer mon coffre", base+"/inscription")
	do("sign up",
		chromedp.SendKeys(chromedp.CSS("#login"), "Amina"),
		chromedp.SendKeys(chromedp.CSS("#secret"), "le chat mange la pomme"),
		chromedp.SendKeys(chromedp.CSS("#secret2"), "le chat mange la pomme"),
		chromedp.Click(chromedp.CSS("main form button[type=submit]")))
	waitURL(`/papiers$`)
	visit("Mes papiers (vide)", base+"/papiers")
	if !strings.Contains(text(), "Votre coffre est vide") {
		t.Fatal("the new safe is not empty")
	}

	// Log out, log in.
	do("log out", chromedp.Click(chromedp.CSS("form[action='/deconnexion'] button")))
	waitURL(`/$`)
	visit("Se connecter", base+"/connexion")
	do("log in",
		chromedp.SendKeys(chromedp.CSS("#login"), "amina"),
		chromedp.SendKeys(chromedp.CSS("#secret"), "le chat mange la pomme"),
		chromedp.Click(chromedp.CSS("main form button[type=submit]")))
	waitURL(`/papiers$`)

	// Deposit a photo, with the page's script (pages kept in memory, progress, JSON).
	visit("Ajouter un papier", base+"/papiers/ajouter")
	do("take a photo",
		chromedp.SetUploadFiles(chromedp.CSS("#pages"), []string{photo}),
		chromedp.WaitVisible(chromedp.CSS("#page-list li")),
		chromedp.Click(chromedp.CSS("label[for=kind-caf]")),
		chromedp.SendKeys(chromedp.CSS("#title"), "Attestation CAF de mars"),
		chromedp.Click(chromedp.CSS("#add-submit")))
	docURL := waitURL(`/papiers/[0-9a-f-]{36}\?`)
	if !strings.Contains(text(), "Votre papier est dans le coffre") {
		t.Fatalf("no confirmation after the deposit: %s", text())
	}
	doc := docURL[:strings.Index(docURL, "?")]
	visit("Le papier (après dépôt)", docURL)
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`Array.from(document.querySelectorAll('.cf-pages img')).every(i => i.complete && i.naturalWidth > 0) && document.querySelectorAll('.cf-pages img').length > 0`))
	if err != nil || !loaded {
		t.Errorf("the page images are not shown: %v", err)
	}

	// See it listed.
	visit("Mes papiers", base+"/papiers")
	if s := text(); !strings.Contains(s, "Attestation CAF de mars") || !strings.Contains(s, "Attestation CAF") {
		t.Fatalf("the list does not show the paper: %s", s)
	}
	visit("Le papier", doc)
	visit("Imprimer", doc+"/imprimer")
	if visible, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.getElementById('print-button').hidden`)); !visible {
		t.Error("the print button is not shown")
	}
	visit("Modifier", doc+"/modifier")
	visit("Supprimer (confirmation)", doc+"/supprimer")
	do("delete", chromedp.Click(chromedp.CSS("main form button[type=submit]")))
	waitURL(`/papiers\?supprime=1$`)
	if !strings.Contains(text(), "Le papier a été supprimé") {
		t.Error("no notice after the deletion")
	}

	visit("Historique", base+"/historique")
	h := text()
	for _, want := range []string{"Vous avez supprimé", "Vous avez ajouté", "Vous avez imprimé", "Vous avez regardé", "Vous vous êtes connecté", "Votre coffre a été ouvert"} {
		if !strings.Contains(h, want) {
			t.Errorf("the history lacks %q", want)
		}
	}
	visit("Mon compte", base+"/compte")
	visit("Aide", base+"/aide")
	visit("Déclaration d'accessibilité", base+"/accessibilite")
	visit("Page introuvable", base+"/papiers/00000000-0000-0000-0000-000000000000")
}
