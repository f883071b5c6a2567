package web_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/zitadel/oidc/v3/example/server/storage"

	"coffre/vault"
	"coffre/vault/account"
	"coffre/web"
)

// The budgets of every page, for a first visit on a prepaid plan (browser cache
// disabled while measuring): bytes as transferred (compressed), the person's own images
// excluded, and requests.
const (
	pageBudgetBytes    = 150 << 10
	pageBudgetRequests = 10
	// pageBudgetShift is the most a page may move while it loads (cumulative layout
	// shift, as Chromium reports it): a person about to tap a button must not see it jump.
	pageBudgetShift = 0.05
	chromiumPath    = "/usr/bin/chromium"
)

// mobileNetwork is the network every page is measured on: a phone on a weak 4G or a good
// 3G signal (Lighthouse's mobile profile: 150 ms round trip, 1.6 Mbit/s down, 750 kbit/s
// up), where late fonts and images move the page the most.
var mobileNetwork = network.Conditions{Latency: 150, DownloadThroughput: 1.6e6 / 8, UploadThroughput: 750e3 / 8} //nolint:gochecknoglobals // a constant profile

// layoutShifts is run in every page before its own scripts: it adds up the layout shifts
// not caused by the person (hadRecentInput) into session windows (at most 5 s, gaps under
// 1 s) and keeps the largest, which is how Chromium defines cumulative layout shift. It
// also keeps what moved, for the error message.
const layoutShifts = `(() => {
	let win = 0, first = 0, last = 0;
	window.__cls = 0;
	window.__moved = [];
	new PerformanceObserver(list => {
		for (const e of list.getEntries()) {
			if (e.hadRecentInput) continue;
			if (win && e.startTime - last < 1000 && e.startTime - first < 5000) {
				win += e.value;
			} else {
				win = e.value;
				first = e.startTime;
			}
			last = e.startTime;
			window.__cls = Math.max(window.__cls, win);
			for (const s of e.sources || []) {
				const n = s.node;
				window.__moved.push((n && n.nodeName ? n.nodeName.toLowerCase() + (n.id ? '#' + n.id : '') + (n.className && n.className.baseVal === undefined ? '.' + String(n.className).trim().split(/\s+/).join('.') : '') : '?') + ' ' + e.value.toFixed(3));
			}
		}
	}).observe({type: 'layout-shift', buffered: true});
})()`

// settled waits, in the page, for its fonts and for the images it loads (lazy ones only
// when they are in view): the last things that can move it.
const settled = `document.fonts.ready.then(() => {
	const loading = Array.from(document.images).filter(i => !i.complete && (i.loading !== 'lazy' || i.getBoundingClientRect().top < innerHeight));
	return Promise.all(loading.map(i => new Promise(r => { i.onload = i.onerror = r; })));
}).then(() => new Promise(r => setTimeout(r, 300)))`

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
	shift         float64
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

// browser is a headless Chromium on a 360×740 phone screen, with a fresh profile, that
// measures every page it visits and runs axe-core on it.
type browser struct {
	t       *testing.T
	ctx     context.Context
	nl      *netlog
	axe     []byte
	figures []pageFigures
	// otherLanguages: each page visited is also checked in them (false: only in the
	// language the test reads it in).
	otherLanguages bool
	shots          int // screenshots kept
}

// chromium is the one headless Chromium of the package's browser tests: started by the
// first test that needs it, stopped by TestMain. Each test drives a tab of its own in a
// browser context of its own (cookies, cache and storage apart: the test servers all
// live on localhost, and cookies do not tell ports apart), and at most browserTabs tests
// drive theirs at once: one Chromium per test, or a tab for every parallel test, would
// only share the same 2 cores slower and make the timings the tests measure flaky.
var chromium struct { //nolint:gochecknoglobals // one browser per test binary
	once sync.Once
	ctx  context.Context // the browser's first tab; tests open theirs beside it
	stop context.CancelFunc
	err  error
	dir  string
	tabs chan struct{}
}

// parallelTests is how many tests run at once by default: most of their time is spent
// waiting for PostgreSQL, MinIO or the browser, so more than the cores (go test's
// default) keeps the machine busy; the browser tests share browserTabs tabs among them.
const parallelTests = 4

// browserTabs is how many browser tests drive their tab at once.
const browserTabs = 2

// startChromium starts the shared browser once.
func startChromium() (context.Context, error) {
	chromium.once.Do(func() {
		chromium.tabs = make(chan struct{}, browserTabs)
		chromium.dir, chromium.err = os.MkdirTemp("", "coffre-chromium-")
		if chromium.err != nil {
			return
		}
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromiumOptions(), chromedp.UserDataDir(chromium.dir))...)
		ctx, cancel := chromedp.NewContext(allocCtx)
		chromium.ctx, chromium.stop = ctx, func() { cancel(); cancelAlloc() }
		// No timeout on the first call: it binds the browser's life to its context.
		chromium.err = chromedp.Do(ctx)
	})
	return chromium.ctx, chromium.err
}

// chromiumOptions are the flags of every Chromium the tests start.
func chromiumOptions() []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "fr-FR"), chromedp.Flag("accept-lang", "fr-FR,fr"),
		// Every tab runs as if it were the one in front: timers and animation frames as
		// a person using that page would have them.
		chromedp.Flag("disable-background-timer-throttling", true), chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.WindowSize(360, 740),
	}
}

// stopChromium stops the shared browser, if a test started it.
func stopChromium() {
	if chromium.stop != nil {
		chromium.stop()
	}
	if chromium.dir != "" {
		os.RemoveAll(chromium.dir)
	}
}

// TestMain runs the tests, at most parallelTests at once unless -parallel says otherwise,
// then stops the shared browser.
func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", strconv.Itoa(parallelTests)) // a flag of the testing package, with a number: cannot fail
	}
	code := m.Run()
	stopChromium()
	os.Exit(code)
}

// newBrowser gives the test a fresh tab of the shared Chromium, in a browser context of
// its own, on a 360×740 phone screen; it waits while other tests hold every tab.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	return openBrowser(t, false)
}

// newOwnBrowser is newBrowser in a Chromium of the test's own, for the tests that walk a
// page with the keyboard: the keyboard focus is the window's, and a tab beside others in
// the shared browser does not keep it.
func newOwnBrowser(t *testing.T) *browser {
	t.Helper()
	return openBrowser(t, true)
}

func openBrowser(t *testing.T, own bool) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("no Chromium at %s: run scripts/browser.sh (make test does)", chromiumPath)
	}
	axeSrc, err := os.ReadFile(filepath.Join("node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core missing: run scripts/assets.sh (make test does): %v", err)
	}
	root, err := startChromium()
	if err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	chromium.tabs <- struct{}{}
	var tab context.Context
	if own {
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromiumOptions(), chromedp.UserDataDir(t.TempDir()))...)
		t.Cleanup(cancelAlloc)
		tab, _ = chromedp.NewContext(allocCtx)
	} else {
		tab, _ = chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	}
	// A bound for a tab that hangs, not a speed check: the longest walk (TestBrowser) took
	// 210 s on a loaded two-core machine.
	ctx, cancelTimeout := context.WithTimeout(tab, 8*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		if err := chromedp.Cancel(tab); err != nil {
			t.Logf("close the browser: %v", err)
		}
		<-chromium.tabs
	})
	br := &browser{t: t, ctx: ctx, nl: &netlog{}, axe: axeSrc, otherLanguages: true}
	t.Cleanup(func() {
		if br.shots > 0 {
			t.Logf("%d screenshots of the pages in Arabic kept in %s", br.shots, screenshotDir(t, "ar"))
		}
	})
	br.do("start", chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2)))
	// Tabs side by side in one browser: each behaves as focused, or keyboard tests
	// would find the focus elsewhere.
	if _, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	br.nl.reset()
	if err := chromedp.Listen(ctx, br.nl.event); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	// Every page is measured as on a first visit.
	if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: layoutShifts}); err != nil {
		t.Fatal(err)
	}
	return br
}

// throttle puts the browser on the mobile network, or back on the test's own (off).
func (br *browser) throttle(on bool) {
	br.t.Helper()
	c := network.Conditions{Latency: 0, DownloadThroughput: -1, UploadThroughput: -1}
	if on {
		c = mobileNetwork
	}
	if _, err := chromedp.Call(br.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: []*network.Conditions{&c}}); err != nil {
		br.t.Fatal(err)
	}
}

func (br *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	br.t.Helper()
	if err := chromedp.Do(br.ctx, actions...); err != nil {
		br.t.Fatalf("%s: %v", what, err)
	}
}

func (br *browser) text() string {
	br.t.Helper()
	s, err := chromedp.Run(br.ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		br.t.Fatalf("read page: %v", err)
	}
	return s
}

func (br *browser) location() string {
	s, _ := chromedp.Run(br.ctx, chromedp.Location())
	return s
}

// waitURL waits for the page the last click leads to.
func (br *browser) waitURL(re string) string {
	br.t.Helper()
	rx := regexp.MustCompile(re)
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if u := br.location(); rx.MatchString(u) {
			br.nl.idle(5 * time.Second)
			return u
		}
	}
	br.t.Fatalf("never reached %s; at %s: %s", re, br.location(), br.text())
	return ""
}

// visit loads a page cold on the mobile network, measures it (bytes, requests, layout
// shift) and runs axe-core on it.
func (br *browser) visit(name, url string) {
	br.t.Helper()
	t := br.t
	br.throttle(true)
	br.nl.reset()
	br.do("open "+name, chromedp.Navigate(url))
	br.nl.idle(20 * time.Second)
	if _, err := chromedp.Run(br.ctx, chromedp.Evaluate[any](settled, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("wait for %s to settle: %v", name, err)
	}
	br.nl.idle(20 * time.Second)
	br.throttle(false)
	br.nl.mu.Lock()
	f := pageFigures{name: name, requests: br.nl.requests, bytes: br.nl.bytes, images: br.nl.imgBytes}
	br.nl.mu.Unlock()
	shift, err := chromedp.Run(br.ctx, chromedp.Evaluate[struct {
		CLS   float64  `json:"cls"`
		Moved []string `json:"moved"`
	}](`({cls: window.__cls || 0, moved: window.__moved || []})`))
	if err != nil {
		t.Fatalf("layout shift of %s: %v", name, err)
	}
	f.shift = shift.CLS
	if f.shift > pageBudgetShift {
		t.Errorf("%s moves while it loads (layout shift %.3f, over %.2f): %v", name, f.shift, pageBudgetShift, shift.Moved)
	}
	if _, err := chromedp.Run(br.ctx, chromedp.Evaluate[any](string(br.axe)+";1")); err != nil {
		t.Fatalf("inject axe-core in %s: %v", name, err)
	}
	vs, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]axeViolation](axeRun, chromedp.EvalAwaitPromise))
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
	br.figures = append(br.figures, f)
	br.inOtherLanguages(name, url)
}

// otherLanguages are the languages every page visited is checked in besides the one the
// test reads it in: Arabic (right to left; a screenshot of each page is kept) and English.
var otherLanguages = []string{"ar", "en"} //nolint:gochecknoglobals // a constant list

// inOtherLanguages loads the page again in each of otherLanguages, with the lang cookie
// as the chooser sets it: axe-core must find nothing there either, the page must keep
// within the budget (the Arabic font included), say its language and direction, and
// show no message ID left untranslated. The loads happen in another tab, so that the
// test goes on where it was.
func (br *browser) inOtherLanguages(name, url string) {
	br.t.Helper()
	t := br.t
	if !br.otherLanguages {
		return
	}
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	// Each page once per run of the package: the browser tests visit many pages more
	// than once (every one signs up), and the checks in other languages are what costs.
	if _, seen := checkedPages.LoadOrStore(pageOf(u), true); seen {
		return
	}
	origin := u.Scheme + "://" + u.Host
	was := br.cookieLang(origin)
	// A tab of its own, in the same browser (same cookies): the test's tab stays on its
	// page, with what the test typed in it.
	tab, closeTab := chromedp.NewContext(br.ctx)
	defer closeTab()
	nl := &netlog{}
	nl.reset()
	if _, err := chromedp.Call(tab, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Listen(tab, nl.event); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tab, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab, chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2))); err != nil {
		t.Fatal(err)
	}
	for _, lang := range otherLanguages {
		if lang == was {
			continue
		}
		br.setLang(origin, lang)
		nl.reset()
		if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
			t.Fatalf("open %s in %s: %v", name, lang, err)
		}
		nl.idle(20 * time.Second)
		if _, err := chromedp.Run(tab, chromedp.Evaluate[any](settled, chromedp.EvalAwaitPromise)); err != nil {
			t.Fatalf("wait for %s (%s) to settle: %v", name, lang, err)
		}
		nl.idle(5 * time.Second)
		nl.mu.Lock()
		f := pageFigures{name: name + " (" + lang + ")", requests: nl.requests, bytes: nl.bytes, images: nl.imgBytes}
		nl.mu.Unlock()
		page, err := chromedp.Run(tab, chromedp.Evaluate[struct {
			Lang string `json:"lang"`
			Dir  string `json:"dir"`
			Text string `json:"text"`
		}](`({lang: document.documentElement.lang, dir: document.documentElement.dir, text: document.body.innerText})`))
		if err != nil {
			t.Fatalf("read %s (%s): %v", name, lang, err)
		}
		// A page served by Coffre says its language; a page from elsewhere (none today)
		// would be left alone.
		if page.Lang != lang {
			t.Errorf("%s in %s: <html lang=%q>", name, lang, page.Lang)
		}
		if want := map[bool]string{true: "rtl", false: "ltr"}[lang == "ar"]; page.Dir != want {
			t.Errorf("%s in %s: <html dir=%q>, want %q", name, lang, page.Dir, want)
		}
		for _, id := range messageIDs(t) {
			if strings.Contains(page.Text, id) {
				t.Errorf("%s in %s shows the message ID %s instead of its text", name, lang, id)
			}
		}
		if _, err := chromedp.Run(tab, chromedp.Evaluate[any](string(br.axe)+";1")); err != nil {
			t.Fatalf("inject axe-core in %s (%s): %v", name, lang, err)
		}
		vs, err := chromedp.Run(tab, chromedp.Evaluate[[]axeViolation](axeRun, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("axe-core on %s (%s): %v", name, lang, err)
		}
		for _, v := range vs {
			t.Errorf("%s in %s (%s): axe %s [%s] %s at %v", name, lang, url, v.ID, v.Impact, v.Help, v.Nodes)
		}
		f.violations = len(vs)
		if f.bytes > pageBudgetBytes {
			t.Errorf("%s in %s weighs %d bytes, over the %d budget", name, lang, f.bytes, pageBudgetBytes)
		}
		if f.requests > pageBudgetRequests {
			t.Errorf("%s in %s makes %d requests, over the %d budget", name, lang, f.requests, pageBudgetRequests)
		}
		if lang == "ar" {
			br.screenshot(tab, name)
		}
		br.figures = append(br.figures, f)
	}
	if was == "" {
		if _, err := chromedp.Call(br.ctx, network.DeleteCookies, network.DeleteCookiesParams{Name: "lang", URL: origin}); err != nil {
			t.Fatal(err)
		}
	} else {
		br.setLang(origin, was)
	}
}

// messageIDs are the IDs of the French catalogue: a text missing in a language and in
// French shows as its ID (catalogue.text).
func messageIDs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "vault", "i18n", "fr.json"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	return ids
}

// checkedPages are the pages already checked in otherLanguages, by pageOf.
var checkedPages sync.Map //nolint:gochecknoglobals // shared by the browser tests of the package

var (
	uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	capRE  = regexp.MustCompile(`/[A-Za-z0-9_-]{20,}`)
)

// pageOf names the page an address shows, whatever the paper, link or query: one
// template, one check.
func pageOf(u *neturl.URL) string {
	return capRE.ReplaceAllString(uuidRE.ReplaceAllString(u.Path, "{id}"), "/{token}")
}

// cookieLang is the value of the lang cookie for origin, or "".
func (br *browser) cookieLang(origin string) string {
	br.t.Helper()
	res, err := chromedp.Call(br.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{origin}})
	if err != nil {
		br.t.Fatalf("read cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == "lang" {
			return c.Value
		}
	}
	return ""
}

// setLang sets the lang cookie as the language chooser does.
func (br *browser) setLang(origin, lang string) {
	br.t.Helper()
	if _, err := chromedp.Call(br.ctx, network.SetCookie, network.SetCookieParams{Name: "lang", Value: lang, URL: origin}); err != nil {
		br.t.Fatalf("set lang cookie: %v", err)
	}
}

// screenshot keeps a picture of the whole page under screenshotDir, for a person who
// reads the language to review.
func (br *browser) screenshot(tab context.Context, name string) {
	br.t.Helper()
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100)) // PNG
	if err != nil {
		br.t.Fatalf("screenshot of %s: %v", name, err)
	}
	dir := screenshotDir(br.t, "ar")
	file := strings.NewReplacer(" ", "-", "'", "", "(", "", ")", "", ",", "", "/", "-").Replace(strings.ToLower(name))
	if err := os.WriteFile(filepath.Join(dir, br.t.Name()+"-"+file+".png"), png, 0o644); err != nil {
		br.t.Fatal(err)
	}
	br.shots++
}

// screenshotDir is where the screenshots of a language are kept after the run:
// $COFFRE_SCREENSHOTS/<lang>, or var/screenshots/<lang> at the root of the repository.
func screenshotDir(t *testing.T, lang string) string {
	t.Helper()
	root := os.Getenv("COFFRE_SCREENSHOTS")
	if root == "" {
		root = filepath.Join("..", "var", "screenshots")
	}
	dir, err := filepath.Abs(filepath.Join(root, lang))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// report logs the table of figures.
func (br *browser) report() {
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%-44s %9s %9s %12s %6s %5s\n", "page (cold cache, 360×740, mobile network)", "requests", "KB", "own images", "shift", "axe")
	for _, f := range br.figures {
		fmt.Fprintf(&sb, "%-44s %9d %9.1f %10.1fKB %6.3f %5d\n", f.name, f.requests, float64(f.bytes)/1024, float64(f.images)/1024, f.shift, f.violations)
	}
	br.t.Log(sb.String())
}

func (br *browser) signup(base, login, secret string) {
	br.t.Helper()
	br.visit("Créer mon coffre", base+"/inscription")
	br.do("sign up",
		chromedp.SendKeys(chromedp.CSS("#login"), login),
		chromedp.SendKeys(chromedp.CSS("#secret"), secret),
		chromedp.SendKeys(chromedp.CSS("#secret2"), secret),
		chromedp.Click(chromedp.CSS("main form button[type=submit]")))
	br.waitURL(`/papiers$`)
}

// TestBrowser walks an owner's whole path in headless Chromium on a 360×740 phone screen:
// create an account, log out and in, deposit a photo, see it listed, view it, print it,
// change it, delete it, read the history. On every page it runs axe-core (WCAG 2.1 A and
// AA: no violation allowed) and measures the page weight and requests.
func TestBrowser(t *testing.T) {
	t.Parallel()
	photo := sharedFixture(t, "exif-orientation/Portrait_6.jpg")
	b := setup(t)
	br := newBrowser(t)
	defer br.report()
	base := b.base

	// Create an account.
	br.visit("Accueil", base+"/")
	br.signup(base, "Amina", "le chat mange la pomme")
	br.visit("Mes papiers (vide)", base+"/papiers")
	if !strings.Contains(br.text(), "Votre coffre est vide") {
		t.Fatal("the new safe is not empty")
	}

	// Log out, log in.
	br.do("log out", chromedp.Click(chromedp.CSS("form[action='/deconnexion'] button")))
	br.waitURL(`/$`)
	br.visit("Se connecter", base+"/connexion")
	br.do("log in",
		chromedp.SendKeys(chromedp.CSS("#login"), "amina"),
		chromedp.SendKeys(chromedp.CSS("#secret"), "le chat mange la pomme"),
		chromedp.Click(chromedp.CSS("main form.cf-form button[type=submit]")))
	br.waitURL(`/papiers$`)

	// Deposit a photo, with the page's script (pages kept in memory, progress, JSON).
	br.visit("Ajouter un papier", base+"/papiers/ajouter")
	br.do("take a photo",
		chromedp.SetUploadFiles(chromedp.CSS("#pages"), []string{photo}),
		chromedp.WaitVisible(chromedp.CSS("#page-list li")),
		chromedp.Click(chromedp.CSS("label[for=kind-caf]")),
		chromedp.SendKeys(chromedp.CSS("#title"), "Attestation CAF de mars"))
	// The network drops while sending (the browser fails the first upload, as on a lost
	// 3G signal): the pages stay in memory, and "Réessayer l'envoi" sends them.
	var failed atomic.Bool
	if err := chromedp.Listen(br.ctx, func(ev any) {
		if e, ok := ev.(*fetch.EventRequestPaused); ok {
			// A request left paused by a failed call never arrives: the checks below fail.
			go func() {
				if failed.CompareAndSwap(false, true) {
					_, _ = chromedp.Call(br.ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: e.RequestID, ErrorReason: network.ErrorReasonInternetDisconnected})
					return
				}
				_, _ = chromedp.Call(br.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: e.RequestID})
			}()
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(br.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: "*/papiers/ajouter", RequestStage: fetch.RequestStageRequest}}}); err != nil {
		t.Fatal(err)
	}
	br.do("send, network drops", chromedp.Click(chromedp.CSS("#add-submit")), chromedp.WaitVisible(chromedp.CSS("#upload-error")))
	state, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]string](`[document.querySelector('#upload-error').textContent, document.querySelector('#add-submit').textContent, String(document.querySelectorAll('#page-list > ol > li').length)]`))
	if err != nil || !strings.Contains(state[0], "connexion a été coupée") || !strings.Contains(state[1], "Réessayer") || state[2] != "1" {
		t.Fatalf("after a network drop: %q %v", state, err)
	}
	if _, err := chromedp.Call(br.ctx, fetch.Disable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	br.do("retry", chromedp.Click(chromedp.CSS("#add-submit")))
	docURL := br.waitURL(`/papiers/[0-9a-f-]{36}\?`)
	if !strings.Contains(br.text(), "Votre papier est dans le coffre") {
		t.Fatalf("no confirmation after the deposit: %s", br.text())
	}
	doc := docURL[:strings.Index(docURL, "?")]
	br.visit("Le papier (après dépôt)", docURL)
	// The clean first page is shown, never the photo as it was sent.
	loaded, err := chromedp.Run(br.ctx, chromedp.Evaluate[bool](`(i => !!i && i.complete && i.naturalWidth > 0)(document.querySelector('img.cf-thumb[src$="/vignette"]')) && !document.querySelector('img[src*="/fichier/"]')`))
	if err != nil || !loaded {
		t.Errorf("the clean first page is not shown: %v", err)
	}
	// "Voir le document" opens the clean A4 PDF (journaled as viewed).
	viewed, err := chromedp.Run(br.ctx, chromedp.Evaluate[bool](`fetch(document.querySelector('.cf-actions a.fr-btn[href*="/fichier/"]').href).then(r => r.ok && r.headers.get('Content-Type') === 'application/pdf' && r.headers.get('Content-Disposition').startsWith('inline'))`, chromedp.EvalAwaitPromise))
	if err != nil || !viewed {
		t.Errorf("the document does not open as a PDF: %v", err)
	}

	// See it listed.
	br.visit("Mes papiers", base+"/papiers")
	if s := br.text(); !strings.Contains(s, "Attestation CAF de mars") || !strings.Contains(s, "Attestation CAF") {
		t.Fatalf("the list does not show the paper: %s", s)
	}
	br.visit("Mes papiers, un type", base+"/papiers?type=caf")
	br.visit("Le papier", doc)

	// Share it with two more papers; then the page the link opens, as a landlord or a
	// counter agent sees it on a phone. There the papers' pictures are what the visitor
	// came for: the budget counts them.
	amina := ownerOf(t, b, "amina")
	paper(t, b, amina, vault.KindBanque, "RIB")
	paper(t, b, amina, vault.KindDomicile, "Quittance de loyer de mars")
	br.visit("Partager", base+"/partager")
	br.do("share three papers",
		chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('input[name=doc]').forEach(c => { c.checked = true; })`),
		chromedp.Click(chromedp.CSS("main form.cf-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#link-url")))
	link, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.getElementById('link-url').value`))
	if err != nil || !strings.Contains(link, "/p/") {
		t.Fatalf("no link after sharing: %q %v", link, err)
	}
	br.visit("Page du lien (destinataire)", link)
	if f := br.figures[len(br.figures)-1]; f.bytes+f.images > pageBudgetBytes {
		t.Errorf("the link's page weighs %d bytes with its pictures, over the %d budget", f.bytes+f.images, pageBudgetBytes)
	}
	if s := br.text(); !strings.Contains(s, "Quittance de loyer de mars") || !strings.Contains(s, "Attestation CAF de mars") {
		t.Errorf("the link's page lacks a paper: %s", s)
	}
	// Each paper's name comes before its buttons (DSFR's card puts its title first).
	titleFirst, err := chromedp.Run(br.ctx, chromedp.Evaluate[bool](`Array.from(document.querySelectorAll('.cf-link-docs > li')).every(li =>
		li.querySelector('.fr-card__title').getBoundingClientRect().bottom <= li.querySelector('.cf-actions').getBoundingClientRect().top)`))
	if err != nil || !titleFirst {
		t.Errorf("on the link's page, a paper's buttons come before its name (%v)", err)
	}
	// On the owner's list of links, a link's name and papers come before its facts and
	// the button that stops it.
	br.visit("Partages", base+"/partages")
	nameFirst, err := chromedp.Run(br.ctx, chromedp.Evaluate[bool](`(() => {
		const cards = Array.from(document.querySelectorAll('main .fr-card'));
		return cards.length > 0 && cards.every(c => c.querySelector('.fr-card__desc').getBoundingClientRect().bottom <= c.querySelector('.cf-facts').getBoundingClientRect().top &&
			c.querySelector('.fr-card__title').getBoundingClientRect().bottom <= c.querySelector('form button').getBoundingClientRect().top);
	})()`))
	if err != nil || !nameFirst {
		t.Errorf("on « Partages », a link's facts or button come before its name (%v)", err)
	}
	br.visit("Imprimer", doc+"/imprimer")
	// "Imprimer" opens the clean A4 PDF (journaled as printed).
	printed, err := chromedp.Run(br.ctx, chromedp.Evaluate[bool](`fetch(document.querySelector('main a.fr-btn[href$="?a=imprimer"]').href).then(r => r.ok && r.headers.get('Content-Type') === 'application/pdf')`, chromedp.EvalAwaitPromise))
	if err != nil || !printed {
		t.Errorf("the print button does not open the PDF: %v", err)
	}
	br.visit("Modifier", doc+"/modifier")
	br.visit("Supprimer (confirmation)", doc+"/supprimer")
	br.do("delete", chromedp.Click(chromedp.CSS("main form button[type=submit]")))
	br.waitURL(`/papiers\?supprime=1$`)
	if !strings.Contains(br.text(), "Le papier a été supprimé") {
		t.Error("no notice after the deletion")
	}

	br.visit("Historique", base+"/historique")
	h := br.text()
	for _, want := range []string{"Vous avez supprimé", "Vous avez ajouté", "Vous avez imprimé", "Vous avez regardé", "Vous vous êtes connecté", "Votre coffre a été ouvert"} {
		if !strings.Contains(h, want) {
			t.Errorf("the history lacks %q", want)
		}
	}
	// « Recevoir mes papiers »: an organisation's request to deposit, then its
	// subscription on « Mon compte ».
	redirect := newLoopbackServer(t, http.NotFoundHandler()) + "/retour"
	caf := newIssuer(t, b, "CAF du Nord", redirect, vault.KindCAF)
	br.visit("Recevoir mes papiers (accord)", base+"/oauth/authorize?"+neturl.Values{"client_id": {caf.client.ID}, "redirect_uri": {redirect},
		"response_type": {"code"}, "code_challenge": {strings.Repeat("c", 43)}, "code_challenge_method": {"S256"},
		"authorization_details": {`[{"type":"coffre_deposit","kinds":["caf"]}]`}}.Encode())
	if !strings.Contains(br.text(), "«\u00a0CAF du Nord\u00a0» demande à mettre vos papiers dans votre coffre") {
		t.Errorf("the consent page does not say who will deposit: %s", br.text())
	}
	caf.subscribe(t, b, amina, redirect, vault.KindCAF)
	br.visit("Mon compte", base+"/compte")
	if !strings.Contains(br.text(), "Ils déposent dans mon coffre") || !strings.Contains(br.text(), "CAF du Nord") {
		t.Errorf("« Mon compte » does not show who deposits")
	}
	br.visit("Aide", base+"/aide")
	br.visit("Déclaration d'accessibilité", base+"/accessibilite")
	br.visit("Page introuvable", base+"/papiers/00000000-0000-0000-0000-000000000000")

	// Download everything, close the safe, sign in again to the closed page.
	br.visit("Télécharger tout mon coffre", base+"/compte/export")
	br.visit("Fermer mon coffre", base+"/compte/fermer")
	br.do("close the safe",
		chromedp.SendKeys(chromedp.CSS("#secret"), "le chat mange la pomme"),
		chromedp.Click(chromedp.CSS("form[action='/compte/fermer'] button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("a[href='/connexion'].fr-btn")))
	if s := br.text(); !strings.Contains(s, "Votre coffre est fermé") {
		t.Fatalf("after closing: %s", s)
	}
	br.visit("Se connecter (coffre fermé)", base+"/connexion")
	br.do("log in to the closed safe",
		chromedp.SendKeys(chromedp.CSS("#login"), "amina"),
		chromedp.SendKeys(chromedp.CSS("#secret"), "le chat mange la pomme"),
		chromedp.Click(chromedp.CSS("main form.cf-form button[type=submit]")))
	br.waitURL(`/compte/ferme$`)
	br.visit("Coffre fermé", base+"/compte/ferme")
}

// TestBrowserPasskey registers a passkey from Mon compte with Chromium's virtual
// authenticator (a phone's screen lock), logs out, and logs in with it.
func TestBrowserPasskey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := newBrowser(t)
	defer br.report()
	if _, err := chromedp.Call(br.ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(br.ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
		},
	}); err != nil {
		t.Fatal(err)
	}
	br.signup(b.base, "karim", "le chat mange la pomme")
	br.visit("Mon compte (clés d'accès)", b.base+"/compte")
	br.do("add a passkey", chromedp.WaitVisible(chromedp.CSS("#passkey-register button")), chromedp.Click(chromedp.CSS("#passkey-register button")))
	br.waitURL(`/compte\?cle=1$`)
	if s := br.text(); !strings.Contains(s, "Votre clé d'accès a été ajoutée") || !strings.Contains(s, "Retirer cette clé") {
		t.Fatalf("no passkey after registration: %s", s)
	}
	// Minutes later, adding or removing a passkey first asks who is there: the passkey
	// answers.
	b.clock.Advance(account.SessionReverify + time.Minute)
	br.visit("Mon compte (preuve ancienne)", b.base+"/compte")
	if s := br.text(); strings.Contains(s, "Ajouter une clé d'accès sur cet appareil") || !strings.Contains(s, "confirmez d'abord que c'est bien vous") {
		t.Fatalf("Mon compte offers to add a passkey without a recent proof: %s", s)
	}
	br.visit("Confirmer que c'est vous (clé d'accès)", b.base+"/compte/verifier?retour=/compte")
	br.do("confirm with the passkey", chromedp.WaitVisible(chromedp.CSS("#passkey-login button")), chromedp.Click(chromedp.CSS("#passkey-login button")))
	br.waitURL(`/compte$`)
	br.do("the passkey button is back", chromedp.WaitVisible(chromedp.CSS("#passkey-register button")))
	br.do("log out", chromedp.Click(chromedp.CSS("form[action='/deconnexion'] button")))
	br.waitURL(`/$`)
	br.visit("Se connecter (clé d'accès)", b.base+"/connexion")
	br.do("log in with the passkey", chromedp.WaitVisible(chromedp.CSS("#passkey-login button")), chromedp.Click(chromedp.CSS("#passkey-login button")))
	br.waitURL(`/papiers$`)
	br.visit("Historique (clé d'accès)", b.base+"/historique")
	if h := br.text(); !strings.Contains(h, "Vous avez ajouté une clé d'accès") || !strings.Contains(h, "Vous vous êtes connecté avec une clé d’accès") ||
		!strings.Contains(h, "Vous avez utilisé votre clé d'accès pour confirmer que c'est vous") {
		t.Errorf("history: %s", h)
	}
}

// TestBrowserFranceConnect signs in through the FranceConnect button against a real
// OpenID Connect provider started by the test, and checks the sign-in page with the
// button under axe-core.
func TestBrowserFranceConnect(t *testing.T) {
	t.Parallel()
	issuer, _ := oidcProvider(t)
	b := setup(t, func(c *web.Config) {
		storage.RegisterClients(storage.WebClient("coffre-browser", "client-secret", c.BaseURL+"/connexion/franceconnect/retour"))
		c.OpenID = &web.OpenIDConfig{Issuer: issuer, ClientID: "coffre-browser", ClientSecret: "client-secret",
			Scopes: []string{"profile", "given_name", "family_name", "birthdate", "gender", "birthplace", "birthcountry"}}
	})
	br := newBrowser(t)
	defer br.report()
	br.visit("Se connecter (FranceConnect)", b.base+"/connexion")
	br.do("FranceConnect", chromedp.Click(chromedp.CSS("a.fr-connect")))
	br.waitURL(`/login/username`)
	br.do("provider's form",
		chromedp.SendKeys(chromedp.CSS("#username"), "test-user@localhost"),
		chromedp.SendKeys(chromedp.CSS("#password"), "verysecure"),
		chromedp.Click(chromedp.CSS("button[type=submit]")))
	br.waitURL(b.base + `/papiers$`)
	if !strings.Contains(br.text(), "Votre coffre est vide") {
		t.Fatalf("after FranceConnect: %s", br.text())
	}
	br.visit("Historique (FranceConnect)", b.base+"/historique")
	if !strings.Contains(br.text(), "Vous vous êtes connecté avec FranceConnect") {
		t.Error("the FranceConnect sign-in is not in the history")
	}
}

// TestBrowserHistory shows the history on a 360×740 phone screen in every language:
// every line, and its number if the list shows one, lies inside the screen, and nothing
// is wider than it. With COFFRE_SCREENSHOTS set to a folder, it leaves a screenshot there for a
// person to look at.
func TestBrowserHistory(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := newBrowser(t)
	defer br.report()
	br.signup(b.base, "Amina", "le chat mange la pomme")
	ctx := context.Background()
	id := ownerOf(t, b, "amina")
	paper(t, b, id, vault.KindCAF, "Attestation CAF de mars")
	you := vault.Actor{Kind: vault.ActorOwner, ID: id.String()}
	// Enough lines for two-digit numbers on the first page.
	for i := range 30 {
		ev := vault.Event{Actor: you, Action: account.ActionLogin}
		if i%3 == 0 {
			ev = vault.Event{Actor: vault.Actor{Kind: vault.ActorVisitor, ID: "-"}, Action: account.ActionLoginFailed}
		}
		if err := b.v.Record(ctx, id, ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, lang := range []string{"fr", "en"} {
		br.do("language "+lang, chromedp.Navigate(b.base+"/langue/"+lang+"?retour=/historique"))
		br.waitURL(`/historique$`)
		br.visit("Historique ("+lang+")", b.base+"/historique")
		if dir := os.Getenv("COFFRE_SCREENSHOTS"); dir != "" {
			png, err := chromedp.Run(br.ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "historique-"+lang+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if h := br.text(); strings.Contains(h, "%!") || strings.Contains(h, "history.") {
			t.Errorf("[%s] the history shows a garbled sentence: %s", lang, h)
		}
		wide, err := chromedp.Run(br.ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		if err != nil || wide > 360 {
			t.Errorf("[%s] the history is %d px wide on a 360 px screen: %v", lang, wide, err)
		}
		lines, markers := historyBoxes(t, br)
		if len(lines) < 30 {
			t.Fatalf("[%s] %d history lines laid out", lang, len(lines))
		}
		for i, m := range append(lines, markers...) {
			if m[0] < 0 || m[1] > 360 {
				t.Errorf("[%s] box %d of the history (lines, then list numbers) spans x = %.1f to %.1f: cut by the edge of a 360 px screen", lang, i+1, m[0], m[1])
			}
		}
		// The page that asks for the secret again before a change of credential.
		br.visit("Confirmer que c'est vous ("+lang+")", b.base+"/compte/verifier?retour=/compte")
	}
}

// historyBoxes returns the left and right edges, in CSS pixels, of the lines of the
// history and of their list markers (::marker, the numbers DSFR gives ordered lists),
// as the browser laid them out.
func historyBoxes(t *testing.T, br *browser) (lines, markers [][2]float64) {
	t.Helper()
	depth, pierce := int64(-1), true
	doc, err := chromedp.Call(br.ctx, dom.GetDocument, dom.GetDocumentParams{Depth: &depth, Pierce: &pierce})
	if err != nil {
		t.Fatal(err)
	}
	edges := func(id cdp.NodeID) [2]float64 {
		box, err := chromedp.Call(br.ctx, dom.GetBoxModel, dom.GetBoxModelParams{NodeID: id})
		if err != nil {
			t.Fatalf("box model: %v", err)
		}
		q := box.Model.Border
		return [2]float64{min(q[0], q[6]), max(q[2], q[4])}
	}
	var walk func(n *cdp.Node, inHistory bool)
	walk = func(n *cdp.Node, inHistory bool) {
		for i := 0; n.NodeName == "OL" && i+1 < len(n.Attributes); i += 2 {
			if n.Attributes[i] == "class" && strings.Contains(" "+n.Attributes[i+1]+" ", " cf-history ") {
				inHistory = true
			}
		}
		if inHistory && n.NodeName == "LI" {
			lines = append(lines, edges(n.NodeID))
			for _, p := range n.PseudoElements {
				if p.PseudoType == cdp.PseudoTypeMarker {
					markers = append(markers, edges(p.NodeID))
				}
			}
		}
		for _, c := range n.Children {
			walk(c, inHistory)
		}
	}
	walk(doc.Root, false)
	return lines, markers
}
