package web_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
)

// landmarksJS counts, in the page, what a screen reader's list of landmarks and headings
// shows: the banner, the navigation, the main part and the footer, and the h1.
const landmarksJS = `({
	banner: document.querySelectorAll('body > header, [role=banner]').length,
	nav: document.querySelectorAll('nav, [role=navigation]').length,
	main: document.querySelectorAll('main, [role=main]').length,
	footer: document.querySelectorAll('body > footer, [role=contentinfo]').length,
	h1: document.querySelectorAll('h1').length,
	lang: document.documentElement.lang,
	title: document.title,
})`

// focusRestJS records how every element that can take focus looks without it (its
// outline and shadow, its label's and their ::before and ::after), to tell afterwards
// whether focus shows; and lists, in the order of the page, the controls of <main> that
// Tab must reach: not hidden, not disabled, not taken out with tabindex=-1, and of a
// group of radio buttons only the checked one (or the first).
const focusRestJS = `(() => {
	const look = el => {
		const parts = [el, el.labels && el.labels[0]].filter(Boolean);
		return parts.flatMap(p => [null, '::before', '::after'].map(ps => { const s = getComputedStyle(p, ps); return s.outlineStyle + ' ' + s.outlineWidth + ' ' + s.outlineColor + '|' + s.boxShadow; })).join(';');
	};
	window.__look = look;
	window.__rest = new Map();
	const all = document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]');
	all.forEach(el => window.__rest.set(el, look(el)));
	const radios = new Set();
	return Array.from(document.querySelectorAll('main a[href], main button, main input, main select, main textarea, main summary, main [tabindex]')).filter(el => {
		if (el.disabled || el.tabIndex < 0 || el.type === 'hidden' || el.closest('[hidden], [inert]')) return false;
		if (getComputedStyle(el).visibility === 'hidden') return false;
		if (el.type === 'radio') {
			if (radios.has(el.name)) return false;
			const checked = el.form ? el.form.querySelector('input[type=radio][name="' + el.name + '"]:checked') : null;
			if (checked && checked !== el) return false;
			radios.add(el.name);
		}
		return true;
	}).map(el => el.id || el.outerHTML.slice(0, 80));
})()`

// focusedJS describes the focused element: where it is (which landmark), whether its
// focus shows (its look differs from its look at rest, and is not nothing), and where it
// is on the page.
const focusedJS = `(() => {
	const e = document.activeElement;
	if (!e || e === document.body || e === document.documentElement) return null;
	const now = window.__look(e), rest = window.__rest.get(e);
	const none = 'none 0px';
	const region = e.closest('.fr-skiplinks') ? 'skip' : e.closest('header') ? 'header' : e.closest('nav') ? 'nav' : e.closest('main') ? 'main' : e.closest('footer') ? 'footer' : 'other';
	const box = (e.labels && e.labels[0] && e.getBoundingClientRect().width <= 1 ? e.labels[0] : e).getBoundingClientRect();
	return {
		id: e.id || e.outerHTML.slice(0, 80),
		region: region,
		shows: rest !== undefined && now !== rest && !/^(none [^|]*\|none;?)+$/.test(now),
		look: now,
		top: box.top + scrollY, left: box.left + scrollX, width: box.width, height: box.height,
		fixed: getComputedStyle(e).position === 'fixed',
	};
})()`

type focusStop struct {
	ID     string  `json:"id"`
	Region string  `json:"region"`
	Shows  bool    `json:"shows"`
	Look   string  `json:"look"`
	Top    float64 `json:"top"`
	Left   float64 `json:"left"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
	Fixed  bool    `json:"fixed"`
}

// checkLandmarks checks the page has one banner, one main part, one footer, a
// navigation, one h1, a language and a title.
func (br *browser) checkLandmarks(name string) {
	br.t.Helper()
	lm, err := chromedp.Run(br.ctx, chromedp.Evaluate[struct {
		Banner, Nav, Main, Footer, H1 int
		Lang, Title                   string
	}](landmarksJS))
	if err != nil {
		br.t.Fatal(err)
	}
	if lm.Banner != 1 || lm.Main != 1 || lm.Footer != 1 || lm.Nav < 1 || lm.H1 != 1 || lm.Lang == "" || lm.Title == "" {
		br.t.Errorf("%s: landmarks %+v, want one banner, main, footer and h1, a nav, a language and a title", name, lm)
	}
}

// tabThrough presses Tab from the top of the page until focus leaves it, and checks
// that every stop shows its focus, that the stops go skip link, header, navigation,
// main, footer, that within <main> they reach each control in the page's order, and
// that this order goes down the screen. It returns the stops.
func (br *browser) tabThrough(name string) []focusStop {
	br.t.Helper()
	t := br.t
	want, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]string](focusRestJS))
	if err != nil {
		t.Fatal(err)
	}
	br.do("start from the top", chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)`))
	var stops []focusStop
	for i := 0; i < 150; i++ {
		br.do("Tab", chromedp.KeyEvent(kb.Tab))
		s, err := chromedp.Run(br.ctx, chromedp.Evaluate[*focusStop](focusedJS))
		if err != nil {
			t.Fatal(err)
		}
		if s == nil || (len(stops) > 0 && s.ID == stops[0].ID) {
			break
		}
		stops = append(stops, *s)
	}
	order := map[string]int{"skip": 0, "header": 1, "nav": 2, "main": 3, "footer": 4}
	var inMain []string
	last, lastTop := -1, -1.0
	for _, s := range stops {
		if !s.Shows {
			t.Errorf("%s: focus does not show on %s (%s)", name, s.ID, s.Look)
		}
		if s.Width == 0 || s.Height == 0 {
			t.Errorf("%s: focus goes to %s, which is not on the screen", name, s.ID)
		}
		r, ok := order[s.Region]
		if !ok {
			t.Errorf("%s: focus goes to %s, outside every landmark", name, s.ID)
		} else if r < last {
			t.Errorf("%s: focus goes back to the %s (%s) after the %s", name, s.Region, s.ID, stops[0].Region)
		}
		last = max(last, r)
		if s.Region != "main" {
			continue
		}
		inMain = append(inMain, s.ID)
		// The « Écouter » button stays in a corner of the screen, first in <main>.
		if s.Fixed {
			continue
		}
		if s.Top < lastTop-1 {
			t.Errorf("%s: focus goes up the page, to %s (at %.0f px, after %.0f px)", name, s.ID, s.Top, lastTop)
		}
		lastTop = s.Top
	}
	if len(stops) == 0 || stops[0].Region != "skip" {
		t.Errorf("%s: the first Tab does not reach « Aller au contenu»: %+v", name, stops)
	}
	if strings.Join(inMain, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: Tab reaches in <main>:\n%s\nwant:\n%s", name, strings.Join(inMain, "\n"), strings.Join(want, "\n"))
	}
	return stops
}

func hasStop(stops []focusStop, what string) bool {
	for _, s := range stops {
		if strings.Contains(s.ID, what) {
			return true
		}
	}
	return false
}

// pressOn moves focus with Tab to the element id and presses key on it.
func (br *browser) pressOn(id, key string) {
	br.t.Helper()
	for i := 0; i < 150; i++ {
		s, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ''`))
		if err != nil {
			br.t.Fatal(err)
		}
		if s == id {
			br.do("press on "+id, chromedp.KeyEvent(key))
			return
		}
		br.do("Tab", chromedp.KeyEvent(kb.Tab))
	}
	br.t.Fatalf("Tab never reaches #%s", id)
}

// liveText is the text of the live region (role=status or alert, or aria-live) that
// holds the element sel, "" when it is in none.
func (br *browser) liveText(sel string) string {
	br.t.Helper()
	s, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`(e => { const r = e && e.closest('[role=status], [role=alert], [aria-live=polite], [aria-live=assertive]'); return r ? r.textContent.replace(/\s+/g, ' ').trim() : ''; })(document.querySelector(`+"`"+sel+"`"+`))`))
	if err != nil {
		br.t.Fatal(err)
	}
	return s
}

// TestBrowserKeyboard goes through deposit, share and history with the keyboard only,
// as a person who cannot use a mouse or who uses a screen reader: every page has its
// landmarks and one h1; Tab reaches every control, in order, with a visible focus; the
// deposit's photo check and progress are said in live regions; and each step is done
// with Tab, the arrows, Space and Enter.
func TestBrowserKeyboard(t *testing.T) {
	t.Parallel()
	photo := sharedFixture(t, "exif-orientation/Portrait_6.jpg")
	b := setup(t)
	br := newOwnBrowser(t)
	defer br.report()
	base := b.base
	// The pages a person reads have their « Écouter » button: it takes the focus too.
	br.stubSpeech("", []string{"fr-FR"})
	br.signup(base, "Amina", "le chat mange la pomme")
	amina := ownerOf(t, b, "amina")
	paper(t, b, amina, vault.KindBanque, "RIB")

	// Deposit.
	br.visit("Ajouter un papier (clavier)", base+"/papiers/ajouter")
	br.checkLandmarks("Ajouter un papier")
	br.tabThrough("Ajouter un papier")
	br.do("choose a photo", chromedp.SetUploadFiles(chromedp.CSS("#pages"), []string{photo}))
	br.do("wait for the photo check", chromedp.Poll[chromedp.Void](`document.querySelector('#page-list li[data-checked]')`, chromedp.WithPollingTimeout(60*time.Second)))
	if s := br.liveText("#upload-status"); !strings.Contains(s, "Page 1") {
		t.Errorf("the photo check is not said in a live region: %q", s)
	}
	br.tabThrough("Ajouter un papier (une photo)")
	// The kinds are radio buttons: Tab reaches the group, the arrows choose.
	br.do("top", chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`))
	kinds, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]string](`(() => {
		const all = Array.from(document.querySelectorAll('input[name=kind]'));
		const at = Math.max(0, all.findIndex(r => r.checked));
		return [all[at].id, all[(at + 1) % all.length].value];
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	br.pressOn(kinds[0], kb.ArrowRight)
	kind, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`(document.querySelector('input[name=kind]:checked') || {}).value || ''`))
	if err != nil || kind != kinds[1] {
		t.Errorf("the arrow key chose %q, want %q (%v)", kind, kinds[1], err)
	}
	br.pressOn("title", "Attestation au clavier")
	// The sending is held until the page has said it is sending.
	var held atomic.Value
	if err := chromedp.Listen(br.ctx, func(ev any) {
		if e, ok := ev.(*fetch.EventRequestPaused); ok {
			held.Store(e.RequestID)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(br.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: "*/papiers/ajouter", RequestStage: fetch.RequestStageRequest}}}); err != nil {
		t.Fatal(err)
	}
	br.pressOn("add-submit", kb.Enter)
	for end := time.Now().Add(10 * time.Second); held.Load() == nil && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
	}
	if s := br.liveText("#upload-status"); !strings.Contains(s, "Envoi en cours") {
		t.Errorf("the sending is not said in a live region: %q", s)
	}
	if id, ok := held.Load().(fetch.RequestID); ok {
		if _, err := chromedp.Call(br.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: id}); err != nil {
			t.Fatal(err)
		}
	} else {
		t.Fatal("the deposit was never sent")
	}
	if _, err := chromedp.Call(br.ctx, fetch.Disable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	br.waitURL(`/papiers/[0-9a-f-]{36}\?`)
	if s := br.text(); !strings.Contains(s, "Votre papier est dans le coffre") || !strings.Contains(s, "Attestation au clavier") {
		t.Fatalf("after the deposit by keyboard: %s", s)
	}

	// Share.
	br.visit("Partager (clavier)", base+"/partager")
	br.checkLandmarks("Partager")
	stops := br.tabThrough("Partager")
	var boxes []string
	for _, s := range stops {
		if strings.HasPrefix(s.ID, "doc-") {
			boxes = append(boxes, s.ID)
		}
	}
	if len(boxes) != 2 {
		t.Fatalf("Tab reaches %d papers to share, want 2", len(boxes))
	}
	br.do("top", chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`))
	for _, id := range boxes {
		br.pressOn(id, " ")
	}
	br.do("to the button", chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`))
	for i := 0; i < 60; i++ {
		s, _ := chromedp.Run(br.ctx, chromedp.Evaluate[bool](`document.activeElement.matches('main form button[type=submit]')`))
		if s {
			break
		}
		br.do("Tab", chromedp.KeyEvent(kb.Tab))
	}
	br.do("Enter", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#link-url")))
	br.nl.idle(5 * time.Second)
	br.axeHere("Lien créé (clavier)")
	br.checkLandmarks("Lien créé")
	if stops := br.tabThrough("Lien créé"); !hasStop(stops, "cf-listen") {
		t.Errorf("Tab does not reach « Écouter » on the share result")
	}
	n, err := chromedp.Run(br.ctx, chromedp.Evaluate[int](`document.querySelectorAll('main .cf-actions a, main .cf-actions button:not([hidden])').length`))
	if err != nil || n < 3 {
		t.Errorf("the share result has %d actions (%v)", n, err)
	}

	// History.
	br.visit("Historique (clavier)", base+"/historique")
	br.checkLandmarks("Historique")
	if stops := br.tabThrough("Historique"); !hasStop(stops, "cf-listen") {
		t.Errorf("Tab does not reach « Écouter » on the history")
	}
	// « Aller au contenu » takes the focus to the main part.
	br.do("skip link", chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Enter))
	if in, err := chromedp.Run(br.ctx, chromedp.Evaluate[bool](`document.activeElement === document.querySelector('main')`)); err != nil || !in {
		t.Errorf("« Aller au contenu » does not take the focus to the main part (%v)", err)
	}
	if s := br.text(); !strings.Contains(s, "Vous avez ajouté «\u00a0Attestation au clavier\u00a0»") || !strings.Contains(s, "Vous avez créé un lien de partage") {
		t.Errorf("the history lacks the deposit or the share: %s", s)
	}
}

// overflowJS tells what does not fit the screen's width (the page scrolls sideways) and
// what cuts its text (an element that hides what overflows it, with more text than room).
const overflowJS = `(() => {
	const out = [];
	const de = document.documentElement;
	if (de.scrollWidth > innerWidth + 1) {
		const wide = Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > innerWidth + 1 && getComputedStyle(e).position !== 'absolute');
		out.push('the page is ' + de.scrollWidth + ' px wide: ' + wide.slice(0, 3).map(e => e.outerHTML.slice(0, 80)).join(' | '));
	}
	document.querySelectorAll('main *, header *, footer *, nav *').forEach(e => {
		const s = getComputedStyle(e);
		if (!/hidden|clip/.test(s.overflowX + s.overflowY) || e.closest('.fr-sr-only, .fr-skiplinks') || e.matches('.fr-sr-only')) return;
		if ((e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1) && e.textContent.trim()) out.push('cut: ' + e.outerHTML.slice(0, 80));
	});
	return out;
})()`

// textSpacingJS sets the text spacing WCAG 1.4.12 asks pages to bear (RGAA 10.12), in a
// stylesheet made by script (the page's CSP forbids inline styles).
const textSpacingJS = `(() => {
	const s = new CSSStyleSheet();
	s.replaceSync('* { line-height: 1.5 !important; letter-spacing: .12em !important; word-spacing: .16em !important; } p { margin-bottom: 2em !important; }');
	document.adoptedStyleSheets = [...document.adoptedStyleSheets, s];
})()`

// TestBrowserReflow shows the pages on a screen 320 pixels wide (a phone at 200 % zoom,
// RGAA 10.4 and 10.11), then with the larger text spacing of RGAA 10.12: nothing makes
// the page scroll sideways and no text is cut.
func TestBrowserReflow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := newOwnBrowser(t)
	base := b.base
	br.signup(base, "Amina", "le chat mange la pomme")
	amina := ownerOf(t, b, "amina")
	d := paper(t, b, amina, vault.KindTitreSejour, "Titre de séjour pluriannuel, carte recto verso de la préfecture")
	c, err := b.share.CreateLink(t.Context(), amina, vault.Actor{Kind: vault.ActorOwner, ID: amina.String()},
		sharing.NewLink{Documents: []uuid.UUID{d.ID}, Purpose: "Dossier de logement social auprès du bailleur"})
	if err != nil {
		t.Fatal(err)
	}
	link := base + "/p/" + c.Token
	br.do("320 px", chromedp.EmulateViewport(320, 640, chromedp.EmulateScale(2)))
	for _, p := range []string{"/", "/aide", "/accessibilite", "/papiers", "/papiers/" + d.ID.String(), "/papiers/ajouter", "/partager",
		"/partages", "/historique", "/compte", "/papiers/" + d.ID.String() + "/modifier", link} {
		u := p
		if !strings.HasPrefix(u, "http") {
			u = base + p
		}
		br.do("open "+p, chromedp.Navigate(u))
		br.nl.idle(5 * time.Second)
		for _, spacing := range []bool{false, true} {
			if spacing {
				br.do("text spacing", chromedp.Evaluate[chromedp.Void](textSpacingJS))
			}
			bad, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]string](overflowJS))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range bad {
				t.Errorf("%s at 320 px (text spacing %v): %s", p, spacing, s)
			}
		}
	}
}
