package web_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"coffre/vault"
)

// speechStub is the browser's speech synthesis as a test sees it, put in every page
// before its scripts: the voices arrive 100 ms after the page (as Chrome's do), speak
// records what it is given in window.__spoken, and cancel counts in window.__cancels and
// stops what was queued. The placeholder is the list of voices, as JSON; a list of null
// takes speech synthesis away from the browser altogether.
const speechStub = `(() => {
	const voices = %s;
	window.__spoken = [];
	window.__cancels = 0;
	if (voices === null) {
		Object.defineProperty(window, 'speechSynthesis', {value: undefined, configurable: true});
		return;
	}
	let loaded = false, queue = [];
	const listeners = [];
	const synth = {
		speaking: false, pending: false, paused: false, onvoiceschanged: null,
		getVoices() { return loaded ? voices.map(v => Object.assign({name: v.lang, localService: true, default: false, voiceURI: v.lang}, v)) : []; },
		speak(u) { queue.push(u); this.speaking = true; window.__spoken.push({text: u.text, lang: u.lang, voice: u.voice ? u.voice.lang : ''}); },
		cancel() { window.__cancels++; const q = queue; queue = []; this.speaking = false; q.forEach(u => u.onerror && setTimeout(() => u.onerror({error: 'interrupted'}))); },
		pause() {}, resume() {},
		addEventListener(type, f) { if (type === 'voiceschanged') listeners.push(f); },
		removeEventListener() {},
	};
	setTimeout(() => {
		loaded = true;
		listeners.forEach(f => f(new Event('voiceschanged')));
		if (synth.onvoiceschanged) synth.onvoiceschanged(new Event('voiceschanged'));
	}, 100);
	Object.defineProperty(window, 'speechSynthesis', {value: synth, configurable: true});
	window.SpeechSynthesisUtterance = function (text) { this.text = text; this.lang = ''; this.voice = null; this.rate = 1; };
})()`

// stubSpeech puts speechStub with voices (languages) in every page opened from now on,
// instead of the one put before; nil voices: no speech synthesis at all.
func (br *browser) stubSpeech(prev page.ScriptIdentifier, voices []string) page.ScriptIdentifier {
	br.t.Helper()
	if prev != "" {
		if _, err := chromedp.Call(br.ctx, page.RemoveScriptToEvaluateOnNewDocument, page.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: prev}); err != nil {
			br.t.Fatal(err)
		}
	}
	list := "null"
	if voices != nil {
		vs := make([]map[string]string, len(voices))
		for i, l := range voices {
			vs[i] = map[string]string{"lang": l}
		}
		b, _ := json.Marshal(vs)
		list = string(b)
	}
	res, err := chromedp.Call(br.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: fmt.Sprintf(speechStub, list)})
	if err != nil {
		br.t.Fatal(err)
	}
	return res.Identifier
}

type spoken struct {
	Text  string `json:"text"`
	Lang  string `json:"lang"`
	Voice string `json:"voice"`
}

// listenButton waits for the « Écouter » button of the page and returns its words, or
// "" when the page has none after its voices came.
func (br *browser) listenButton() string {
	br.t.Helper()
	time.Sleep(400 * time.Millisecond) // the stub's voices come 100 ms after the page
	label, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`(b => b ? b.textContent.trim() : '')(document.querySelector('.cf-listen'))`))
	if err != nil {
		br.t.Fatal(err)
	}
	return label
}

// listen presses « Écouter » on the page and returns what was said; it checks that the
// button says « Arrêter » meanwhile, and that pressing it again stops the speech.
func (br *browser) listen(name, start, stop string) []spoken {
	br.t.Helper()
	t := br.t
	if got := br.listenButton(); got != start {
		t.Fatalf("%s: the listen button says %q, want %q", name, got, start)
	}
	first, err := chromedp.Run(br.ctx, chromedp.Evaluate[bool](`document.querySelector('main').firstElementChild === document.querySelector('.cf-listen')`))
	if err != nil || !first {
		t.Errorf("%s: the listen button is not the first thing in <main> (%v)", name, err)
	}
	br.do("press "+start, chromedp.Evaluate[chromedp.Void](`window.__spoken = []; window.__cancels = 0`), chromedp.Click(chromedp.CSS(".cf-listen")))
	said, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]spoken](`window.__spoken`))
	if err != nil {
		t.Fatal(err)
	}
	if got := br.listenButton(); got != stop {
		t.Errorf("%s: while speaking, the button says %q, want %q", name, got, stop)
	}
	br.do("press "+stop, chromedp.Click(chromedp.CSS(".cf-listen")))
	state, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]any](`[window.__cancels, window.speechSynthesis.speaking]`))
	if err != nil || state[0].(float64) < 1 || state[1] != false {
		t.Errorf("%s: %q did not stop the speech: %v %v", name, stop, state, err)
	}
	if got := br.listenButton(); got != start {
		t.Errorf("%s: after stopping, the button says %q, want %q", name, got, start)
	}
	return said
}

// checkSaid checks that what was said is the page's main text in lang with a voice of
// voice, and says its title, then each of want, in that order (the reading order).
func checkSaid(t *testing.T, name string, said []spoken, lang, voice, h1 string, want ...string) {
	t.Helper()
	if len(said) == 0 {
		t.Errorf("%s: nothing was said", name)
		return
	}
	var all []string
	for _, s := range said {
		if s.Lang != lang || s.Voice != voice {
			t.Errorf("%s: %q said in %q with a %q voice, want %q with %q", name, s.Text, s.Lang, s.Voice, lang, voice)
		}
		all = append(all, s.Text)
	}
	text := strings.Join(all, " | ")
	at := 0
	for _, w := range append([]string{h1}, want...) {
		i := strings.Index(text[at:], w)
		if i < 0 {
			t.Errorf("%s: %q not said (or not in order) in %q", name, w, text)
			continue
		}
		at += i + len(w)
	}
	for _, never := range []string{"Écouter", "Arrêter", "Listen", "Stop"} {
		if strings.Contains(text, never) {
			t.Errorf("%s: the button's own words were read: %q", name, text)
		}
	}
}

// TestBrowserListen presses « Écouter » on every page a person reads, with the browser's
// speech synthesis replaced by a stub: the main text is said in the page's language,
// with a voice of that language, in reading order, without what is hidden or
// aria-hidden and without the form controls. Where there is no speech synthesis, no
// voice for the language, or no JavaScript, there is no button.
func TestBrowserListen(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := newBrowser(t)
	defer br.report()
	base := b.base
	stub := br.stubSpeech("", []string{"fr-CA", "fr-FR", "en-US", "de-DE"})
	h1 := func() string {
		s, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.querySelector('main h1').textContent.replace(/\s+/g, ' ').trim()`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	br.visit("Accueil (écouter)", base+"/")
	// What is said has plain spaces (listen.js makes every space one), French's « ? » too.
	checkSaid(t, "Accueil", br.listen("Accueil", "Écouter", "Arrêter"), "fr", "fr-FR", h1(),
		"Gardez vos papiers en sécurité", "Se connecter", "Créer mon coffre", "Comment ça marche ?", "Prenez votre papier en photo")

	br.signup(base, "Amina", "le chat mange la pomme")
	amina := ownerOf(t, b, "amina")
	d := paper(t, b, amina, vault.KindCAF, "Attestation CAF de mars")
	paper(t, b, amina, vault.KindDomicile, "Quittance de loyer de mars")

	br.visit("Mes papiers (écouter)", base+"/papiers")
	said := br.listen("Mes papiers", "Écouter", "Arrêter")
	checkSaid(t, "Mes papiers", said, "fr", "fr-FR", h1(), "Chercher un papier", "Quittance de loyer de mars")
	checkSaid(t, "Mes papiers", said, "fr", "fr-FR", h1(), "Chercher un papier", "Attestation CAF de mars")

	// A paper, with hidden parts put in its page: none of them is read, nor a field's value.
	br.visit("Le papier (écouter)", base+"/papiers/"+d.ID.String())
	br.do("hide parts", chromedp.Evaluate[chromedp.Void](`(() => {
		const m = document.querySelector('main');
		const add = (f) => { const p = document.createElement('p'); p.textContent = 'caché'; f(p); m.appendChild(p); };
		add(p => { p.hidden = true; });
		add(p => p.setAttribute('aria-hidden', 'true'));
		add(p => { p.style.display = 'none'; });
		add(p => { p.style.visibility = 'hidden'; });
		const i = document.createElement('input'); i.value = 'caché'; i.setAttribute('aria-label', 'x'); m.appendChild(i);
		const s = document.createElement('select'); s.setAttribute('aria-label', 'x'); s.add(new Option('caché')); m.appendChild(s);
		const t = document.createElement('textarea'); t.setAttribute('aria-label', 'x'); t.value = 'caché'; m.appendChild(t);
	})()`))
	said = br.listen("Le papier", "Écouter", "Arrêter")
	checkSaid(t, "Le papier", said, "fr", "fr-FR", h1(), "Attestation CAF")
	for _, s := range said {
		if strings.Contains(s.Text, "caché") {
			t.Errorf("Le papier: a hidden part or a field was read: %q", s.Text)
		}
	}

	br.visit("Historique (écouter)", base+"/historique")
	checkSaid(t, "Historique", br.listen("Historique", "Écouter", "Arrêter"), "fr", "fr-FR", h1(), "Vous avez ajouté")

	// The share result: the link's field is a form control, read by its label only.
	br.visit("Partager", base+"/partager")
	br.do("share two papers",
		chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('input[name=doc]').forEach(c => { c.checked = true; })`),
		chromedp.Click(chromedp.CSS("main form.cf-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#link-url")))
	link, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.getElementById('link-url').value`))
	if err != nil || !strings.Contains(link, "/p/") {
		t.Fatalf("no link after sharing: %q %v", link, err)
	}
	br.nl.idle(5 * time.Second)
	br.axeHere("Lien créé")
	said = br.listen("Lien créé", "Écouter", "Arrêter")
	checkSaid(t, "Lien créé", said, "fr", "fr-FR", h1(), "Le lien")
	for _, s := range said {
		if strings.Contains(s.Text, "/p/") {
			t.Errorf("Lien créé: the link's field was read: %q", s.Text)
		}
	}

	// The recipient's page, in English: the page's language decides the voice.
	br.do("English", chromedp.Navigate(base+"/langue/en?retour=/"))
	br.visit("Page du lien, en anglais (écouter)", link)
	checkSaid(t, "Page du lien (en)", br.listen("Page du lien (en)", "Listen", "Stop"), "en", "en-US", h1(),
		"Quittance de loyer de mars", "Attestation CAF de mars")
	br.do("French", chromedp.Navigate(base+"/langue/fr?retour=/"))

	// No voice for the page's language: no button.
	stub = br.stubSpeech(stub, []string{"de-DE", "en-GB"})
	br.visit("Mes papiers (pas de voix française)", base+"/papiers")
	if got := br.listenButton(); got != "" {
		t.Errorf("without a French voice, the page shows %q", got)
	}
	// No speech synthesis at all: no button, and no error.
	stub = br.stubSpeech(stub, nil)
	br.visit("Mes papiers (pas de synthèse vocale)", base+"/papiers")
	if got := br.listenButton(); got != "" {
		t.Errorf("without speech synthesis, the page shows %q", got)
	}
	loaded, err := chromedp.Run(br.ctx, chromedp.Evaluate[[]string](`performance.getEntriesByType('resource').filter(e => e.name.endsWith('listen.js')).map(e => e.name)`))
	if err != nil || len(loaded) != 1 {
		t.Errorf("the page did not load listen.js: %v %v", loaded, err)
	}
	// Without JavaScript: no button, whatever the browser can say.
	br.stubSpeech(stub, []string{"fr-FR"})
	if _, err := chromedp.Call(br.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	br.do("open Mes papiers without JavaScript", chromedp.Navigate(base+"/papiers"))
	if _, err := chromedp.Call(br.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false}); err != nil {
		t.Fatal(err)
	}
	n, err := chromedp.Run(br.ctx, chromedp.Evaluate[int](`document.querySelectorAll('.cf-listen').length`))
	if err != nil || n != 0 {
		t.Errorf("without JavaScript, the page has %d listen buttons (%v)", n, err)
	}
}
