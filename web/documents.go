package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"coffre/ingest"
	"coffre/vault"
	"coffre/vault/account"
)

// expiresSoon is how far ahead "expires soon" looks: time enough to renew a residence
// permit appointment.
const expiresSoon = 60 * 24 * time.Hour

// perKind is how many papers of each kind "Mes papiers" shows; the rest are one tap away
// on the kind's own page. A phone on a prepaid plan gets a light page even for a safe of
// a thousand papers.
const perKind = 12

type docItem struct {
	vault.Summary
	Expired  bool
	Expiring bool
}

type kindGroup struct {
	Kind  vault.Kind
	Total int
	More  bool
	Docs  []docItem
}

func (h *handler) ownerID(r *http.Request) uuid.UUID { return stateOf(r).owner.ID }

// item is a paper as r's page lists it (items).
func (h *handler) item(r *http.Request, s vault.Summary, now time.Time) docItem {
	return h.items(r, []vault.Summary{s}, now)[0]
}

// items are papers as r's page lists them: each titled in the page's language when its
// title was given by default (shownTitle), and marked when it has expired or soon will
// at now. A paper has expired once its expiry day is over where the reader lives (the
// reminder says « expire aujourd'hui » that day). The reader and their day are read
// once for the whole list.
func (h *handler) items(r *http.Request, ss []vault.Summary, now time.Time) []docItem {
	rd := h.readerOf(r)
	today := vault.DayIn(now, rd.zone)
	out := make([]docItem, len(ss))
	for i, s := range ss {
		s.Title = h.shownTitle(rd, s.Title, s.Kind, s.CreatedAt)
		it := docItem{Summary: s}
		if s.ExpiresOn != nil {
			it.Expired = s.ExpiresOn.Before(today)
			it.Expiring = !it.Expired && s.ExpiresOn.Before(today.Add(expiresSoon))
		}
		out[i] = it
	}
	return out
}

func summary(d *vault.Document) vault.Summary {
	return vault.Summary{ID: d.ID, Kind: d.Kind, Title: d.Title, IssuedOn: d.IssuedOn, ExpiresOn: d.ExpiresOn,
		CreatedAt: d.CreatedAt, HasThumbnail: d.Blob(vault.RoleThumbnail) != nil}
}

// listView is « Mes papiers »: the papers by kind (one kind only with ?type=KIND), what
// expires soon and the reminders set on it.
type listView struct {
	Groups    []kindGroup
	Kind      vault.Kind // the one kind shown; "" for every kind
	Soon      []docItem
	Reminders *remindersView
}

// list is "Mes papiers": the documents grouped by kind, in the order kinds are shown
// everywhere, with what expires soon flagged. With ?type=KIND, every paper of one kind.
func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	now := h.now()
	if t := r.URL.Query().Get("type"); t != "" {
		kind, err := vault.ParseKind(t)
		if err != nil {
			h.notFound(w, r)
			return
		}
		docs, err := h.vault.DocumentsOfKind(r.Context(), h.ownerID(r), kind, 1000)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		groups := []kindGroup{{Kind: kind, Total: len(docs), Docs: h.items(r, docs, now)}}
		h.render(w, r, http.StatusOK, "list", view{Title: "list.title", Nav: "list", Data: listView{Groups: groups, Kind: kind}})
		return
	}
	shelves, soon, err := h.vault.Shelves(r.Context(), h.ownerID(r), perKind, vault.DayIn(now, h.readerOf(r).zone).Add(expiresSoon))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	groups := make([]kindGroup, len(shelves))
	for i, sh := range shelves {
		groups[i] = kindGroup{Kind: sh.Kind, Total: sh.Total, More: sh.Total > len(sh.Docs), Docs: h.items(r, sh.Docs, now)}
	}
	reminders, soon := h.reminders(r, now, soon)
	v := view{Title: "list.title", Nav: "list", Data: listView{Groups: groups, Soon: h.items(r, soon, now), Reminders: reminders}}
	if r.URL.Query().Get("supprime") == "1" {
		v.Notice = h.t(r, "delete.done")
	}
	h.render(w, r, http.StatusOK, "list", v)
}

type addData struct {
	Kind  vault.Kind
	Title string
	// Pending is the sealed list of the pages taken one at a time, waiting to be sent
	// (pending.go); Waiting numbers them for the form.
	Pending string
	Waiting []int
}

func (h *handler) addForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := addData{Kind: vault.KindAutre, Title: q.Get("titre")}
	if k, err := vault.ParseKind(q.Get("type")); err == nil {
		d.Kind = k
	}
	h.render(w, r, http.StatusOK, "add", view{Title: "add.title", Nav: "add", Data: d})
}

// addForm is the deposit form once its stream is read (readUpload): the kind and title
// typed, the pages waiting, and which button was pressed; the pages sent stay in the
// upload.
type addForm struct {
	Kind    vault.Kind // KindAutre when none or not one of ours
	Title   string
	Pending string // the sealed list of the pages waiting (pending.go)
	Remove  string // « Retirer » pressed on this waiting page
	AddPage bool   // « Ajouter une page » pressed
}

// parseAddForm reads the deposit form's fields: a title not too long. A kind that is not
// one of ours is « Autre ».
func parseAddForm(up *upload) (addForm, error) {
	f := addForm{Kind: vault.KindAutre, Title: strings.TrimSpace(up.fields["title"]), Pending: up.fields["pending"],
		Remove: up.fields["retirer"], AddPage: up.fields["addpage"] != ""}
	if k, err := vault.ParseKind(up.fields["kind"]); err == nil {
		f.Kind = k
	}
	if utf8Len(f.Title) > vault.MaxTitleLen {
		return f, errors.New("edit.titlelong")
	}
	return f, nil
}

// add deposits a paper: the photos (or a PDF) go through ingest, then the originals, the
// PDF and the thumbnail into the vault in one deposit. Quality warnings do not stop the
// deposit: the document page shows them with "Reprendre la photo". The form's files are
// read into memory reserved from the ingest budget, never onto a disk (upload.go).
func (h *handler) add(w http.ResponseWriter, r *http.Request) {
	d := addData{Kind: vault.KindAutre}
	again := func(status int, msg string) {
		if wantsJSON(r) {
			writeJSON(w, status, map[string]string{"error": msg})
			return
		}
		h.render(w, r, status, "add", view{Title: "add.title", Nav: "add", Error: msg, Data: d})
	}
	res, done := h.admit(w, r, h.ownerID(r), again)
	if res == nil {
		return
	}
	defer done()
	up, ok := h.readPages(r, again)
	if !ok {
		return
	}
	f, ferr := parseAddForm(up)
	d.Title, d.Kind = f.Title, f.Kind
	// Pages taken one at a time without JavaScript (pending.go).
	waiting, err := h.openPending(r, f.Pending)
	if err != nil {
		again(http.StatusBadRequest, h.t(r, "error.badrequest"))
		return
	}
	if !h.showWaiting(r, &d, waiting, again) {
		return
	}
	if f.Remove != "" {
		h.removePage(w, r, &d, waiting, f.Remove, again)
		return
	}
	if f.AddPage {
		h.addPage(w, r, &d, waiting, up, again)
		return
	}
	var sent int64
	for _, p := range up.pages {
		sent += int64(len(p.body))
	}
	taken, ok := h.takePending(w, r, res, &d, waiting, sent, again)
	if !ok {
		return
	}
	up.pages = append(taken, up.pages...)
	if len(up.pages) == 0 {
		again(http.StatusUnprocessableEntity, h.noFile(r, up, "add.submit"))
		return
	}
	if ferr != nil {
		again(http.StatusUnprocessableEntity, h.refusalText(r, ferr))
		return
	}
	doc, result, err := h.deposit(r, res, d, up.pages)
	if err != nil {
		var ie ingestError
		if errors.As(err, &ie) {
			h.ingestFailed(w, r, ie.err, again)
			return
		}
		h.log.ErrorContext(r.Context(), "deposit failed", "err", err)
		again(http.StatusInternalServerError, h.t(r, "error.internal"))
		return
	}
	if err := h.vault.DropPending(r.Context(), h.ownerID(r), waiting); err != nil {
		h.log.WarnContext(r.Context(), "drop sent pages: left to the reaper", "err", err)
	}
	q := url.Values{"nouveau": {"1"}}
	var ws []string
	for _, wn := range result.Warnings {
		ws = append(ws, string(wn.Code)+"."+strconv.Itoa(wn.Page))
	}
	if len(ws) > 0 {
		q.Set("w", strings.Join(ws, ","))
	}
	to := "/papiers/" + doc.ID.String() + "?" + q.Encode()
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]string{"redirect": to})
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// ingestMessage is the sentence for what ingest refused, in the person's language.
func (h *handler) ingestMessage(r *http.Request, err error) string {
	return h.t(r, "ingest."+ingest.Code(err))
}

type ingestError struct{ err error }

func (e ingestError) Error() string { return e.err.Error() }

// ingestFailed answers a deposit that ingest refused: with its sentence, or "busy, try
// again" (503) when the memory budget had no room for it.
func (h *handler) ingestFailed(w http.ResponseWriter, r *http.Request, err error, again func(status int, msg string)) {
	if errors.Is(err, ingest.ErrBusy) {
		h.refused(w, r, err, again)
		return
	}
	again(http.StatusUnprocessableEntity, h.ingestMessage(r, err))
}

// deposit runs ingest over the uploaded pages and puts everything in the vault.
func (h *handler) deposit(r *http.Request, res *ingest.Reservation, d addData, pages []uploadFile) (*vault.Document, *ingest.Result, error) {
	return h.depositWith(r, res, d, pages, func(nd vault.NewDocument) (*vault.Document, error) {
		return h.vault.Deposit(r.Context(), h.ownerID(r), h.actor(r), nd)
	})
}

// depositWith is deposit with the last step given: an agent's deposit goes through
// sharing.AgentDeposit (agent_papers.go). The pages are in memory covered by res, which
// ingest grows by what processing them needs. What the safe keeps of each file is
// ingest.Original: photos without their location and camera metadata, no original of
// HEIC and TIFF files.
func (h *handler) depositWith(r *http.Request, res *ingest.Reservation, d addData, pages []uploadFile, put func(vault.NewDocument) (*vault.Document, error)) (*vault.Document, *ingest.Result, error) {
	inputs := make([]io.Reader, len(pages))
	for i, p := range pages {
		inputs[i] = bytes.NewBuffer(p.body) // read in place by ingest
	}
	var pdf, thumb bytes.Buffer
	result, err := h.ingest.Process(r.Context(), inputs, ingest.Options{MaxBytes: h.cfg.MaxUpload, Reservation: res}, &pdf, &thumb)
	if err != nil {
		return nil, nil, ingestError{err}
	}
	title := d.Title
	if title == "" {
		title = h.defaultTitle(h.readerOf(r), d.Kind, h.now())
	}
	nd := vault.NewDocument{Kind: d.Kind, Title: title}
	nd.Proof = h.checkProof(r.Context(), res, pdf.Bytes(), result.MediaType == ingest.PDF)
	for _, p := range pages {
		kept, mt, keep, err := ingest.Original(p.body)
		if err != nil {
			return nil, nil, ingestError{err}
		}
		if keep {
			nd.Files = append(nd.Files, vault.File{Role: vault.RoleOriginal, MediaType: string(mt), Name: p.name, Body: bytes.NewReader(kept), Size: int64(len(kept))})
		}
	}
	nd.Files = append(nd.Files, vault.File{Role: vault.RoleRendition, MediaType: "application/pdf", Name: "document.pdf", Body: &pdf, Size: int64(pdf.Len())})
	if thumb.Len() > 0 {
		nd.Files = append(nd.Files, vault.File{Role: vault.RoleThumbnail, MediaType: "image/jpeg", Body: &thumb, Size: int64(thumb.Len())})
	}
	start := time.Now() // a duration for the metrics: the wall clock, not Config.Now
	doc, err := put(nd)
	h.metrics.stored(time.Since(start), err)
	if err != nil {
		return nil, nil, err
	}
	h.queueReading(r.Context(), doc.OwnerID)
	return doc, result, nil
}

// defaultTitle is the title of a paper deposited at t without one, in the language and
// the time of who deposits it: « Pièce d'identité du 3 mars 2026 ». A paper that still has it gets
// its recognised name instead, when the person confirms the suggestion (suggestion.go).
// The title is kept as plain text: the marks that isolate a text inserted into a
// right-to-left sentence are for pages, and a title is shown on pages of either direction
// (in a <bdi>) and names the downloaded file.
func (h *handler) defaultTitle(rd reader, k vault.Kind, t time.Time) string {
	return h.titleOn(rd.lang, k, t.In(rd.zone))
}

// titleOn is the default title of a paper of kind k added on day, in lang.
func (h *handler) titleOn(lang string, k vault.Kind, day time.Time) string {
	return unisolated.Replace(h.pages.cat.text(lang, "doc.defaulttitle", h.pages.cat.text(lang, "kind."+string(k)), localeOf(lang).Date(day)))
}

// shownTitle is the title of a paper on a page for rd. A title given by default
// (defaultTitle) is said in the page's language and dated in the reader's time,
// whichever language and time the page it was added from had: a paper added at the desk in French reads « شهادة CAF بتاريخ … » to a person
// who reads Arabic. A title a person wrote is shown as written. What is stored does not
// change: the API, search and the export keep the title the paper was given.
func (h *handler) shownTitle(rd reader, title string, k vault.Kind, added time.Time) string {
	if h.isDefaultTitle(title, k, added, rd.zone) {
		return h.defaultTitle(rd, k, added)
	}
	return title
}

// showTitles gives docs, loaded for r's page, the titles the page shows them by.
func (h *handler) showTitles(r *http.Request, docs []vault.Document) {
	rd := h.readerOf(r)
	for i := range docs {
		docs[i].Title = h.shownTitle(rd, docs[i].Title, docs[i].Kind, docs[i].CreatedAt)
	}
}

// unisolated takes out the marks of isolation (U+2068, U+2069).
var unisolated = strings.NewReplacer("\u2068", "", "\u2069", "") //nolint:gochecknoglobals // a fixed replacer

// isDefaultTitle tells whether title is the one given by default, in any language, on
// the day it was added in Paris (every title given before zones were offered) or in the
// reader's zone: the person may have changed language since the deposit, and a paper
// added in the evening in Martinique is dated the day before Paris's. Other zones' days
// are not tried: a title a person wrote with the day before or after would be taken for
// a default one and renamed. Titles given before they were plain text carry marks of
// isolation.
func (h *handler) isDefaultTitle(title string, k vault.Kind, t time.Time, zone *time.Location) bool {
	days := []time.Time{t.In(account.Location(account.Paris))}
	if there := t.In(orParis(zone)); !sameDay(there, days[0]) {
		days = append(days, there)
	}
	// Each holds the year it was given in, in its language's digits: most titles a
	// person writes are told apart here, before ten titles are written to compare.
	if !slices.ContainsFunc(days, func(d time.Time) bool {
		year := strconv.Itoa(d.Year())
		return slices.ContainsFunc(languages, func(l string) bool { return strings.Contains(title, localeOf(l).Digits(year)) })
	}) {
		return false
	}
	title = unisolated.Replace(title)
	// French wrote the first of a month « 1 » before « 1er ».
	first := strings.Replace(title, " 1 ", " 1er ", 1)
	for _, d := range days {
		for _, l := range languages {
			if s := h.titleOn(l, k, d); title == s || (d.Day() == 1 && first == s) {
				return true
			}
		}
	}
	return false
}

// sameDay tells whether a and b, each in its own zone, are on the same calendar day.
func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

func utf8Len(s string) int { return len([]rune(s)) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // our own views always encode; a failed write is a client gone
}

func (h *handler) failJSONOrPage(w http.ResponseWriter, r *http.Request, status int, msgID string) {
	if wantsJSON(r) {
		writeJSON(w, status, map[string]string{"error": h.t(r, msgID)})
		return
	}
	h.fail(w, r, status, msgID)
}

// loadDocument looks the {id} of the path up among the session owner's documents. A
// malformed ID, a missing document and another owner's document all give the same
// "not found" page (the vault journals the attempt).
func (h *handler) loadDocument(w http.ResponseWriter, r *http.Request) (*vault.Document, bool) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		h.notFound(w, r)
		return nil, false
	}
	d, err := h.vault.Document(r.Context(), h.ownerID(r), id, h.actor(r))
	if errors.Is(err, vault.ErrNotFound) {
		h.notFound(w, r)
		return nil, false
	}
	if err != nil {
		h.serverError(w, r, err)
		return nil, false
	}
	return d, true
}

type warningView struct {
	Page    int
	Message string
}

// docView is what the document and print pages show: the clean rendition (its PDF, and
// its first page as the thumbnail), never the originals.
type docView struct {
	Doc      docItem
	PDF      *vault.Blob
	New      bool
	Warnings []warningView
	// Suggestion is what recognition suggests, waiting for an answer; Reading says the
	// paper is being read (suggestion.go).
	Suggestion *suggestionView
	Reading    bool
	// Proof is what the paper's 2D-Doc said at deposit (proof.go); nil: it has none.
	Proof *proofView
}

func (h *handler) docView(r *http.Request, d *vault.Document) docView {
	return docView{Doc: h.item(r, summary(d), h.now()), PDF: d.Blob(vault.RoleRendition)}
}

func showable(mt string) bool {
	return mt == "image/jpeg" || mt == "image/png" || mt == "image/webp"
}

func (h *handler) document(w http.ResponseWriter, r *http.Request) {
	d, ok := h.loadDocument(w, r)
	if !ok {
		return
	}
	v := h.docView(r, d)
	q := r.URL.Query()
	v.New = q.Get("nouveau") == "1"
	if ws := q.Get("w"); ws != "" {
		for _, s := range strings.Split(ws, ",") {
			code, page, _ := strings.Cut(s, ".")
			n, _ := strconv.Atoi(page)
			msg := h.t(r, "warn."+code)
			if msg == "warn."+code {
				continue
			}
			v.Warnings = append(v.Warnings, warningView{Page: n + 1, Message: msg})
		}
	}
	v.Suggestion, v.Reading = h.readingView(r, d)
	proofs, err := h.vault.Proofs(r.Context(), d.OwnerID, []uuid.UUID{d.ID})
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	v.Proof = newProofView(proofs[d.ID])
	h.render(w, r, http.StatusOK, "document", view{Title: "doc.title", Nav: "list", Notice: h.suggestionNotice(r), Data: v})
}

// thumbnail serves a document's thumbnail for the owner's list (not journaled, see
// vault.OpenThumbnail).
func (h *handler) thumbnail(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		h.notFound(w, r)
		return
	}
	br, err := h.vault.OpenThumbnail(r.Context(), h.ownerID(r), id, h.actor(r))
	if err != nil {
		h.blobError(w, r, err)
		return
	}
	defer br.Close()
	if r.URL.Query().Get("taille") != "mini" || br.MediaType != "image/jpeg" {
		h.stream(w, br, "inline", "vignette.jpg")
		return
	}
	mini, err := ingest.Miniature(br, miniWidth)
	if err != nil {
		h.blobError(w, r, err)
		return
	}
	paperHeaders(w, "image/jpeg", int64(len(mini)), "inline", "vignette.jpg")
	_, _ = w.Write(mini) // a client gone is not an error of ours
}

// miniWidth is the width of the miniatures the share forms show at 40 CSS pixels
// (/papiers/{id}/vignette?taille=mini): 80 device pixels, for screens of two per CSS
// pixel.
const miniWidth = 80

// fileRequest reads /…/{id}/fichier/{blob}?a=…: which blob, and whether to view it
// (inline), download it (attachment) or print it — for the journal.
func fileRequest(r *http.Request) (doc, blob uuid.UUID, action vault.Action, disposition string, ok bool) {
	doc, err1 := uuid.Parse(chi.URLParam(r, "id"))
	blob, err2 := uuid.Parse(chi.URLParam(r, "blob"))
	action, disposition = vault.ActionView, "inline"
	switch r.URL.Query().Get("a") {
	case "telecharger":
		action, disposition = vault.ActionDownload, "attachment"
	case "imprimer":
		action = vault.ActionPrint
	}
	return doc, blob, action, disposition, err1 == nil && err2 == nil
}

// file streams one blob of a document: view (inline), download (attachment) or print.
func (h *handler) file(w http.ResponseWriter, r *http.Request) {
	id, blob, action, disposition, ok := fileRequest(r)
	if !ok {
		h.notFound(w, r)
		return
	}
	br, err := h.vault.Open(r.Context(), h.ownerID(r), id, blob, h.actor(r), action)
	if err != nil {
		h.blobError(w, r, err)
		return
	}
	defer br.Close()
	name := "document"
	if d, err := h.vault.Document(r.Context(), h.ownerID(r), id, h.actor(r)); err == nil {
		name = h.shownTitle(h.readerOf(r), d.Title, d.Kind, d.CreatedAt)
	}
	h.stream(w, br, disposition, name+extension(br.MediaType))
}

func (h *handler) blobError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, vault.ErrNotFound) {
		h.notFound(w, r)
		return
	}
	if errors.Is(err, vault.ErrIntegrity) {
		h.log.ErrorContext(r.Context(), "blob integrity", "err", err)
		h.fail(w, r, http.StatusInternalServerError, "error.integrity")
		return
	}
	h.serverError(w, r, err)
}

func extension(mt string) string {
	switch mt {
	case "application/pdf":
		return ".pdf"
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/webp":
		return ".webp"
	case "image/heic":
		return ".heic"
	case "image/tiff":
		return ".tif"
	}
	return ""
}

// stream writes a decrypted blob. Only renditions (the clean PDF) and images are shown
// inline; an original is always a download: what is shown and printed is the clean
// rendition, and an original PDF was never sanitised. Anything else is a download too,
// so no stored file can run as a page of this site.
func (h *handler) stream(w http.ResponseWriter, br *vault.BlobReader, disposition, name string) {
	mt := br.MediaType
	if br.Role == vault.RoleOriginal {
		disposition = "attachment"
	}
	if !showable(mt) && mt != "application/pdf" {
		mt, disposition = "application/octet-stream", "attachment"
	}
	paperHeaders(w, mt, br.Size, disposition, name)
	if _, err := io.Copy(w, br); err != nil {
		// Headers are gone: the connection is cut, which the browser shows as a failed
		// download rather than as a whole file.
		h.log.Error("stream blob", "blob", br.ID, "err", err, "request_id", w.Header().Get(requestIDHeader))
		panic(http.ErrAbortHandler)
	}
}

// paperHeaders are the headers of a response carrying a paper, or a picture of one: kept
// in no cache.
func paperHeaders(w http.ResponseWriter, mt string, size int64, disposition, name string) {
	hd := w.Header()
	hd.Set("Content-Type", mt)
	hd.Set("Content-Length", strconv.FormatInt(size, 10))
	hd.Set("Cache-Control", "private, no-store")
	hd.Set("Content-Disposition", contentDisposition(disposition, name))
}

// contentDisposition names the file in ASCII and, for accents, in RFC 5987 UTF-8, with
// no mark of isolation (an Arabic paper's title given by default once carried some).
func contentDisposition(disp, name string) string {
	name = unisolated.Replace(name)
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '/' {
			return '_'
		}
		return r
	}, name)
	return fmt.Sprintf(`%s; filename="%s"; filename*=UTF-8''%s`, disp, ascii, url.PathEscape(name))
}

func (h *handler) print(w http.ResponseWriter, r *http.Request) {
	d, ok := h.loadDocument(w, r)
	if !ok {
		return
	}
	h.render(w, r, http.StatusOK, "print", view{Title: "print.title", Nav: "list", Data: h.docView(r, d)})
}

type editData struct {
	ID        uuid.UUID
	Title     string
	Kind      vault.Kind
	IssuedOn  string
	ExpiresOn string
	// Suggestion: the form corrects what recognition suggested, and saving it answers
	// the suggestion (« Corriger », suggestion.go).
	Suggestion bool
}

func (h *handler) editForm(w http.ResponseWriter, r *http.Request) {
	d, ok := h.loadDocument(w, r)
	if !ok {
		return
	}
	e := editData{ID: d.ID, Title: h.shownTitle(h.readerOf(r), d.Title, d.Kind, d.CreatedAt), Kind: d.Kind}
	if d.IssuedOn != nil {
		e.IssuedOn = d.IssuedOn.Format(time.DateOnly)
	}
	if d.ExpiresOn != nil {
		e.ExpiresOn = d.ExpiresOn.Format(time.DateOnly)
	}
	if r.URL.Query().Get("proposition") == "1" {
		h.suggestedEdit(r, d, &e)
	}
	h.render(w, r, http.StatusOK, "edit", view{Title: "edit.title", Nav: "list", Data: e})
}

// editForm is what the edit form sends, checked: Typed keeps it as typed, to show again
// with a refusal.
type editForm struct {
	Typed               editData
	Kind                vault.Kind
	IssuedOn, ExpiresOn *time.Time
}

// parseEditForm reads the edit form: a known kind, a title neither empty nor too long,
// dates as the date fields send them (or none), the end not before the start.
func parseEditForm(r *http.Request) (editForm, error) {
	f := editForm{Typed: editData{Title: strings.TrimSpace(r.PostFormValue("title")), Kind: vault.Kind(r.PostFormValue("kind")),
		IssuedOn: r.PostFormValue("issued_on"), ExpiresOn: r.PostFormValue("expires_on"), Suggestion: r.PostFormValue("proposition") == "1"}}
	kind, err := vault.ParseKind(string(f.Typed.Kind))
	if err != nil {
		return f, errors.New("edit.kind")
	}
	f.Kind = kind
	if f.Typed.Title == "" {
		return f, errors.New("edit.titleempty")
	}
	if utf8Len(f.Typed.Title) > vault.MaxTitleLen {
		return f, errors.New("edit.titlelong")
	}
	issued, err1 := parseDate(f.Typed.IssuedOn)
	expires, err2 := parseDate(f.Typed.ExpiresOn)
	if err1 != nil || err2 != nil {
		return f, errors.New("edit.date")
	}
	if issued != nil && expires != nil && expires.Before(*issued) {
		return f, errors.New("edit.dateorder")
	}
	f.IssuedOn, f.ExpiresOn = issued, expires
	return f, nil
}

func (h *handler) edit(w http.ResponseWriter, r *http.Request) {
	d, ok := h.loadDocument(w, r)
	if !ok {
		return
	}
	f, err := parseEditForm(r)
	e := f.Typed
	e.ID = d.ID
	bad := func(msg string) {
		h.render(w, r, http.StatusUnprocessableEntity, "edit", view{Title: "edit.title", Nav: "list", Error: msg, Data: e})
	}
	if err != nil {
		bad(h.refusalText(r, err))
		return
	}
	u := vault.Update{Kind: &f.Kind, Title: &e.Title, ClearDates: true, IssuedOn: f.IssuedOn, ExpiresOn: f.ExpiresOn, SettleSuggestion: e.Suggestion}
	if _, err := h.vault.UpdateDocument(r.Context(), h.ownerID(r), d.ID, h.actor(r), u); err != nil {
		if errors.Is(err, vault.ErrInvalid) {
			bad(h.t(r, "edit.invalid"))
			return
		}
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/papiers/"+d.ID.String(), http.StatusSeeOther)
}

func parseDate(s string) (*time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func (h *handler) deleteForm(w http.ResponseWriter, r *http.Request) {
	d, ok := h.loadDocument(w, r)
	if !ok {
		return
	}
	h.render(w, r, http.StatusOK, "delete", view{Title: "delete.title", Nav: "list", Data: d})
}

func (h *handler) delete(w http.ResponseWriter, r *http.Request) {
	d, ok := h.loadDocument(w, r)
	if !ok {
		return
	}
	if err := h.vault.DeleteDocument(r.Context(), h.ownerID(r), d.ID, h.actor(r)); err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/papiers?supprime=1", http.StatusSeeOther)
}

// retake removes a document that the person wants to photograph again, and brings back
// the add form with what they had chosen.
func (h *handler) retake(w http.ResponseWriter, r *http.Request) {
	d, ok := h.loadDocument(w, r)
	if !ok {
		return
	}
	if err := h.vault.DeleteDocument(r.Context(), h.ownerID(r), d.ID, h.actor(r)); err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/papiers/ajouter?"+url.Values{"type": {string(d.Kind)}, "titre": {d.Title}}.Encode(), http.StatusSeeOther)
}
