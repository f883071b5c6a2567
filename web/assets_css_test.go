package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"coffre/vault"
	"coffre/web"
)

// TestBrowserStylesheetSubset shows key pages on a 360×740 phone screen with the
// stylesheet the pages get and with every rule of the DSFR, as before it was cut down,
// and compares the two pictures of each page pixel by pixel: cutting the stylesheet
// changes no page. With COFFRE_SCREENSHOTS set to a folder, both pictures of every page
// are left there.
func TestBrowserStylesheetSubset(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := newBrowser(t)
	full, _ := json.Marshal(string(web.FullStylesheet()))
	// The full stylesheet goes into the page as a <style>, which the pages' policy
	// forbids: the browser is told to let it through for this comparison.
	if _, err := chromedp.Call(br.ctx, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	// The font shows only when it is there at first paint (font-display: optional): it
	// comes from the browser's cache, as on any visit after the first.
	if _, err := chromedp.Call(br.ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: false}); err != nil {
		t.Fatal(err)
	}
	br.do("fetch the font", chromedp.Navigate(b.base+"/aide"))
	if _, err := chromedp.Run(br.ctx, chromedp.Evaluate[any](`document.fonts.load('1em Marianne')`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("COFFRE_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	compare := func(name string) {
		t.Helper()
		br.nl.idle(5 * 1e9)
		if _, err := chromedp.Run(br.ctx, chromedp.Evaluate[any](settled, chromedp.EvalAwaitPromise)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		served, err := chromedp.Run(br.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("%s: screenshot: %v", name, err)
		}
		if _, err := chromedp.Run(br.ctx, chromedp.Evaluate[any](`(css => {
			const s = document.createElement('style');
			s.textContent = css;
			document.querySelector('link[rel=stylesheet]').replaceWith(s);
			return document.fonts.ready.then(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))));
		})(`+string(full)+`)`, chromedp.EvalAwaitPromise)); err != nil {
			t.Fatalf("%s: full stylesheet: %v", name, err)
		}
		whole, err := chromedp.Run(br.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("%s: screenshot: %v", name, err)
		}
		file := strings.NewReplacer(" ", "-", "'", "", "(", "", ")", "").Replace(strings.ToLower(name))
		// Kept only for a person to look at when the comparison below fails.
		_ = os.WriteFile(filepath.Join(dir, file+"-servi.png"), served, 0o644)
		_ = os.WriteFile(filepath.Join(dir, file+"-dsfr-entier.png"), whole, 0o644)
		if n, err := differentPixels(served, whole); err != nil || n > 0 {
			t.Errorf("%s looks different with the served stylesheet: %d pixels differ (%v); see %s", name, n, err, dir)
		}
	}
	visit := func(name, url string) {
		t.Helper()
		br.do("open "+name, chromedp.Navigate(url))
		compare(name)
	}

	visit("Accueil", b.base+"/")
	visit("Se connecter", b.base+"/connexion")
	visit("Page introuvable", b.base+"/nulle-part")
	br.signup(b.base, "Amina", "le chat mange la pomme")
	id := ownerOf(t, b, "amina")
	caf := paper(t, b, id, vault.KindCAF, "Attestation CAF de mars")
	paper(t, b, id, vault.KindBanque, "RIB")
	visit("Mes papiers", b.base+"/papiers")
	visit("Le papier", b.base+"/papiers/"+caf.ID.String()+"?nouveau=1&w=blurry.0")
	visit("Ajouter un papier", b.base+"/papiers/ajouter")
	visit("Partager", b.base+"/partager")
	br.do("share",
		chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('input[name=doc]').forEach(c => { c.checked = true; })`),
		chromedp.Click(chromedp.CSS("#code")),
		chromedp.Click(chromedp.CSS("main form.cf-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#link-url")))
	compare("Lien créé")
	link, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.getElementById('link-url').value`))
	if err != nil {
		t.Fatal(err)
	}
	code, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.getElementById('link-code').textContent`))
	if err != nil {
		t.Fatal(err)
	}
	visit("Code du lien", link)
	br.do("give the code", chromedp.SendKeys(chromedp.CSS("#code"), code), chromedp.Click(chromedp.CSS("main form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("ul.cf-link-docs")))
	compare("Page du lien")
	visit("Historique", b.base+"/historique")
	visit("Mon compte", b.base+"/compte")
	visit("Connexion des agents", b.base+"/agent/connexion")
}

// differentPixels counts the pixels that differ between two PNG pictures of the same size.
func differentPixels(a, b []byte) (int, error) {
	ia, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		return 0, err
	}
	ib, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	if ia.Bounds() != ib.Bounds() {
		return ia.Bounds().Dx() * ia.Bounds().Dy(), fmt.Errorf("sizes %v and %v", ia.Bounds().Size(), ib.Bounds().Size())
	}
	n := 0
	r := ia.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if !samePixel(ia, ib, x, y) {
				n++
			}
		}
	}
	return n, nil
}

func samePixel(a, b image.Image, x, y int) bool {
	r1, g1, b1, a1 := a.At(x, y).RGBA()
	r2, g2, b2, a2 := b.At(x, y).RGBA()
	return r1 == r2 && g1 == g2 && b1 == b2 && a1 == a2
}
