package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"coffre/ingest"
	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
)

// The pages of a share link, for the person at the counter: no account, the token in the
// URL is the key. Every unusable link — unknown, expired, revoked, used up, locked — gets
// the same page and status, so that nobody learns which links exist.

// linkHeaders keep link pages out of caches, referrers and search engines.
func linkHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Robots-Tag", "noindex, nofollow")
		next.ServeHTTP(w, r)
	})
}

func (h *handler) linkUnavailable(w http.ResponseWriter, r *http.Request) {
	h.fail(w, r, http.StatusNotFound, "link.unavailable")
}

// codeCookie names the cookie that keeps a link's code. It is scoped to the link's path,
// which a __Host- cookie cannot be: over TLS it is __Secure- instead.
func (h *handler) codeCookie() string {
	if h.cfg.BehindTLS {
		return "__Secure-coffre_code"
	}
	return "coffre_code"
}

// guessed checks and counts unknown link tokens from the request's network. It answers
// and returns true when the network must wait.
func (h *handler) tooManyGuesses(w http.ResponseWriter, r *http.Request) bool {
	err := h.accounts.CheckGuesses(r.Context(), "link", h.clientIP(r))
	if err == nil {
		return false
	}
	if _, locked := account.IsLocked(err); locked {
		h.fail(w, r, http.StatusTooManyRequests, "link.toomany")
	} else {
		h.serverError(w, r, err)
	}
	return true
}

func (h *handler) countGuess(r *http.Request) {
	if err := h.accounts.CountGuess(r.Context(), "link", h.clientIP(r)); err != nil {
		h.log.WarnContext(r.Context(), "count link guess", "err", err)
	}
}

// recipientLink resolves the link of the request. When the link has a code and the
// visitor has not given it yet, it shows the code form and returns false.
func (h *handler) recipientLink(w http.ResponseWriter, r *http.Request) (*sharing.Link, bool) {
	token := chi.URLParam(r, "token")
	ip := h.clientIP(r)
	if h.tooManyGuesses(w, r) {
		return nil, false
	}
	l, err := h.share.Resolve(r.Context(), token)
	if errors.Is(err, sharing.ErrUnavailable) {
		h.countGuess(r)
		h.linkUnavailable(w, r)
		return nil, false
	}
	if err != nil {
		h.serverError(w, r, err)
		return nil, false
	}
	l.Agent = h.linkAgent(r)
	if !l.HasCode {
		return l, true
	}
	c, err := r.Cookie(h.codeCookie())
	if err != nil || c.Value == "" {
		h.codeForm(w, r, http.StatusUnauthorized, "")
		return nil, false
	}
	switch err := h.share.CheckCode(r.Context(), l, token, c.Value, ip); {
	case err == nil:
		return l, true
	case errors.Is(err, sharing.ErrWrongCode):
		h.codeForm(w, r, http.StatusUnauthorized, "link.code.wrong")
	case errors.Is(err, sharing.ErrUnavailable):
		h.linkUnavailable(w, r)
	default:
		h.serverError(w, r, err)
	}
	return nil, false
}

// linkAgent is the agent signed in in the browser that opens a link, if any: an agent
// who shares papers under a mandate sees the link, and what they then open through it is
// journaled with them as actor (sharing.Link.Agent), not as "a link was used".
func (h *handler) linkAgent(r *http.Request) *sharing.Agent {
	c, err := r.Cookie(h.cookieName(agentCookie))
	if err != nil || c.Value == "" {
		return nil
	}
	as, err := h.share.AgentSessionByToken(r.Context(), c.Value)
	if err != nil {
		if !errors.Is(err, vault.ErrNotFound) {
			h.log.WarnContext(r.Context(), "link opened by an agent: session lookup", "err", err)
		}
		return nil
	}
	return as.Agent
}

// linkCodeView is the page asking a link's code: the link, by its token.
type linkCodeView struct {
	Token string
}

// linkCodeForm is the code said aloud, typed by the person the link was given to.
type linkCodeForm struct {
	Code string
}

// parseLinkCodeForm reads the code; the domain checks it, and counts the wrong ones.
func parseLinkCodeForm(r *http.Request) (linkCodeForm, error) {
	return linkCodeForm{Code: r.PostFormValue("code")}, nil
}

func (h *handler) codeForm(w http.ResponseWriter, r *http.Request, status int, msg string) {
	v := view{Title: "link.code.title", Data: linkCodeView{Token: chi.URLParam(r, "token")}}
	if msg != "" {
		v.Error = h.t(r, msg)
	}
	h.render(w, r, status, "link_code", v)
}

// linkCode takes the code said aloud. It is kept in a cookie scoped to this link only,
// and checked again at every request (wrong codes count towards the lock).
func (h *handler) linkCode(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	if h.tooManyGuesses(w, r) {
		return
	}
	l, err := h.share.Resolve(r.Context(), token)
	if errors.Is(err, sharing.ErrUnavailable) {
		h.countGuess(r)
		h.linkUnavailable(w, r)
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	f, _ := parseLinkCodeForm(r)
	switch err := h.share.CheckCode(r.Context(), l, token, f.Code, h.clientIP(r)); {
	case err == nil:
		http.SetCookie(w, &http.Cookie{Name: h.codeCookie(), Value: f.Code, Path: "/p/" + token,
			HttpOnly: true, Secure: h.cfg.BehindTLS, SameSite: http.SameSiteStrictMode, Expires: l.ExpiresAt})
		http.Redirect(w, r, "/p/"+token, http.StatusSeeOther)
	case errors.Is(err, sharing.ErrWrongCode):
		h.codeForm(w, r, http.StatusUnauthorized, "link.code.wrong")
	case errors.Is(err, sharing.ErrUnavailable):
		h.linkUnavailable(w, r)
	default:
		h.serverError(w, r, err)
	}
}

type recipientDoc struct {
	vault.Document
	File  *vault.Blob
	Thumb *vault.Blob
}

func (h *handler) recipientDocs(w http.ResponseWriter, r *http.Request, l *sharing.Link) ([]recipientDoc, bool) {
	docs, err := h.share.Documents(r.Context(), l)
	if err != nil {
		h.serverError(w, r, err)
		return nil, false
	}
	h.showTitles(r, docs)
	out := make([]recipientDoc, 0, len(docs))
	for i := range docs {
		rd := recipientDoc{Document: docs[i], File: delivered(&docs[i]), Thumb: docs[i].Blob(vault.RoleThumbnail)}
		if l.Watermark != "" {
			rd.Thumb = nil // a thumbnail would be a clean picture of the first page
		}
		out = append(out, rd)
	}
	return out, true
}

// linkView is the page a link opens: its papers, for whoever holds the link.
type linkView struct {
	Token string
	Link  *sharing.Link
	Docs  []recipientDoc
	// AgentReads tells that the one reading is, as far as we can tell, the agent
	// (agentReads): the warning of the desk speaks to them, not of them.
	AgentReads bool
}

// agentReads tells whether the one reading a link's page at the desk is, as far as we
// can tell, the agent themself: their session is open in this browser (l.Agent, set by
// recipientLink) and no person's is. A person signed in at the desk is the one reading,
// agent or not beside them; a browser with the mark of the desk and no agent's session
// may be anyone's, and the person is spoken to.
func agentReads(r *http.Request, l *sharing.Link) bool {
	return l.Agent != nil && stateOf(r).session == nil
}

func (h *handler) linkPage(w http.ResponseWriter, r *http.Request) {
	l, ok := h.recipientLink(w, r)
	if !ok {
		return
	}
	docs, ok := h.recipientDocs(w, r, l)
	if !ok {
		return
	}
	if err := h.share.Opened(r.Context(), l, h.clientIP(r)); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "link", view{Title: "link.title", Data: linkView{Token: chi.URLParam(r, "token"), Link: l, Docs: docs, AgentReads: agentReads(r, l)}})
}

// linkFile streams one document (or its thumbnail) of the link.
func (h *handler) linkFile(w http.ResponseWriter, r *http.Request) {
	l, ok := h.recipientLink(w, r)
	if !ok {
		return
	}
	id, err := uuid.Parse(chi.URLParam(r, "doc"))
	if err != nil {
		h.linkUnavailable(w, r)
		return
	}
	docs, ok := h.recipientDocs(w, r, l)
	if !ok {
		return
	}
	var d *recipientDoc
	for i := range docs {
		if docs[i].ID == id {
			d = &docs[i]
		}
	}
	thumb := r.URL.Query().Get("a") == "vignette"
	var blob *vault.Blob
	if d != nil {
		blob = d.File
		if thumb {
			blob = d.Thumb
		}
	}
	if blob == nil {
		// Journals the attempt, and refuses it: any other error is the journal's.
		if _, err := h.share.Open(r.Context(), l, id, uuid.Nil, h.clientIP(r), vault.ActionView, ""); !errors.Is(err, vault.ErrNotFound) {
			h.log.WarnContext(r.Context(), "journal a refused view", "err", err)
		}
		h.linkUnavailable(w, r)
		return
	}
	action, disposition := vault.ActionView, "inline"
	if r.URL.Query().Get("a") == "telecharger" {
		action, disposition = vault.ActionDownload, "attachment"
	}
	if l.Watermark != "" && !markable(blob) {
		h.fail(w, r, http.StatusConflict, "link.notmarkable")
		return
	}
	if l.Watermark != "" {
		// Reserved before the download is counted: a busy service counts nothing.
		res, err := h.budget.Reserve(r.Context(), markCost(blob.Size))
		if err != nil {
			h.refused(w, r, err, func(status int, msg string) {
				h.render(w, r, status, "error", view{Title: "error.title", Error: msg})
			})
			return
		}
		defer res.Release()
	}
	br, err := h.share.Open(r.Context(), l, id, blob.ID, h.clientIP(r), action, "")
	if err != nil {
		if errors.Is(err, sharing.ErrUnavailable) || errors.Is(err, vault.ErrNotFound) {
			h.linkUnavailable(w, r)
			return
		}
		h.serverError(w, r, err)
		return
	}
	defer br.Close()
	if l.Watermark != "" {
		b, err := h.watermarked(r.Context(), br, l.Watermark)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		h.send(w, "application/pdf", disposition, d.Title+".pdf", b)
		return
	}
	h.stream(w, br, disposition, d.Title+extension(br.MediaType))
}

// send writes a copy made for the recipient (a marked copy), like stream.
func (h *handler) send(w http.ResponseWriter, mt, disposition, name string, b []byte) {
	hd := w.Header()
	hd.Set("Content-Type", mt)
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	hd.Set("Cache-Control", "private, no-store")
	hd.Set("Content-Disposition", contentDisposition(disposition, name))
	_, _ = w.Write(b) // the client has gone: nothing left to tell it
}

// maxBundle bounds the one-PDF download: the parts are merged in memory.
const maxBundle = 60 << 20

// maxMergesPerLink bounds the merges of one link's papers in progress at once in a
// process: a link holder who starts downloads and never reads them holds one merge's
// memory at most, for as long as the export's pace allows.
const maxMergesPerLink = 1

// linkAll sends every PDF of the link as one PDF: many téléservices take a single file.
// It counts as one download of the link. The merge (ingest.MergePDFs) reserves its
// memory from the ingest budget (Budget.ReserveMerge), like a deposit, one merge per link at a time: when the service or the link is
// busy, the person is asked to try again in a minute (503) and the link's downloads are
// not counted. The file is sent at the export's pace (startWriter): a client that does
// not take it is cut off, and the memory comes back.
func (h *handler) linkAll(w http.ResponseWriter, r *http.Request) {
	l, ok := h.recipientLink(w, r)
	if !ok {
		return
	}
	docs, ok := h.recipientDocs(w, r, l)
	if !ok {
		return
	}
	var pdfs []recipientDoc
	var total int64
	for _, d := range docs {
		if d.File != nil && d.File.MediaType == "application/pdf" {
			pdfs = append(pdfs, d)
			total += d.File.Size
		}
	}
	if len(pdfs) == 0 {
		h.linkUnavailable(w, r)
		return
	}
	if total > maxBundle {
		h.fail(w, r, http.StatusRequestEntityTooLarge, "link.all.toolarge")
		return
	}
	marked := l.Watermark != ""
	if len(pdfs) > 1 || marked { // one clean part is streamed as it is
		again := func(status int, msg string) {
			if status == http.StatusRequestEntityTooLarge {
				msg = h.t(r, "link.all.toolarge")
			}
			h.render(w, r, status, "error", view{Title: "error.title", Error: msg})
		}
		if !h.merges.take(l.ID, maxMergesPerLink) {
			h.refused(w, r, ingest.ErrBusy, again)
			return
		}
		defer h.merges.release(l.ID)
		need := total
		if marked {
			// The marked copies are merged; the largest part is marked at a time.
			need = 2 * total
		}
		res, err := h.budget.ReserveMerge(r.Context(), need)
		if err == nil && marked {
			err = res.Grow(r.Context(), markCost(maxPart(pdfs)))
		}
		if err != nil {
			if res != nil {
				res.Release()
			}
			h.refused(w, r, err, again)
			return
		}
		defer res.Release()
	}
	switch err := h.share.CountBundle(r.Context(), l); {
	case errors.Is(err, sharing.ErrUnavailable):
		h.linkUnavailable(w, r)
		return
	case err != nil:
		h.serverError(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/pdf")
	hd.Set("Content-Disposition", contentDisposition("attachment", h.t(r, "link.all.filename")+".pdf"))
	// Sent at the export's pace from when the file is ready to go; the deadline is lifted
	// afterwards for the next request on the connection.
	rc := http.NewResponseController(w)
	// Unsupported by some ResponseWriters (test recorders): then there is none to lift.
	defer func() { _ = rc.SetWriteDeadline(time.Time{}) }()
	paced := func() *startWriter {
		return &startWriter{w: w, rc: rc, start: time.Now(), // pacing measures the network: the wall clock, not Config.Now
			grace: h.exportGrace(), rate: h.exportRate()}
	}
	if len(pdfs) == 1 && !marked {
		br, err := h.share.OpenUncounted(r.Context(), l, pdfs[0].ID, pdfs[0].File.ID, h.clientIP(r))
		if err != nil {
			hd.Del("Content-Disposition")
			h.serverError(w, r, err)
			return
		}
		defer br.Close()
		hd.Set("Content-Length", strconv.FormatInt(br.Size, 10))
		if _, err := io.Copy(paced(), br); err != nil {
			h.log.InfoContext(r.Context(), "all-in-one download interrupted", "err", err)
			panic(http.ErrAbortHandler)
		}
		return
	}
	parts := make([][]byte, 0, len(pdfs))
	for _, d := range pdfs {
		br, err := h.share.OpenUncounted(r.Context(), l, d.ID, d.File.ID, h.clientIP(r))
		if err != nil {
			hd.Del("Content-Disposition")
			h.serverError(w, r, err)
			return
		}
		var b []byte
		if marked {
			b, err = h.watermarked(r.Context(), br, l.Watermark)
		} else {
			b, err = readExactly(br)
		}
		br.Close()
		if err != nil {
			hd.Del("Content-Disposition")
			h.serverError(w, r, err)
			return
		}
		parts = append(parts, b)
	}
	if len(parts) == 1 { // one marked part: nothing to merge
		hd.Set("Content-Length", strconv.Itoa(len(parts[0])))
		if _, err := paced().Write(parts[0]); err != nil {
			h.log.Info("all-in-one download interrupted", "err", err)
			panic(http.ErrAbortHandler)
		}
		return
	}
	// Streamed as it is written, without a copy: an error after the first byte cuts
	// the connection, so that no truncated file passes for a whole one.
	sw := paced()
	if err := ingest.MergePDFs(r.Context(), parts, sw); err != nil {
		if sw.started {
			if r.Context().Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
				h.log.InfoContext(r.Context(), "all-in-one download interrupted: the client went away or fell behind")
			} else {
				h.log.ErrorContext(r.Context(), "all-in-one merge failed mid-stream", "err", err)
			}
			panic(http.ErrAbortHandler)
		}
		hd.Del("Content-Disposition")
		h.serverError(w, r, err)
	}
}

// maxPart is the size of the largest of the papers' files.
func maxPart(docs []recipientDoc) int64 {
	var n int64
	for _, d := range docs {
		n = max(n, d.File.Size)
	}
	return n
}

// readExactly reads a blob into a buffer of its size, and on to the end of the stream,
// where the SHA-256 is checked: no buffer grows and doubles on the way.
func readExactly(br *vault.BlobReader) ([]byte, error) {
	b := make([]byte, br.Size)
	if _, err := io.ReadFull(br, b); err != nil {
		return nil, err
	}
	var one [1]byte
	switch n, err := io.ReadFull(br, one[:]); {
	case n > 0:
		return nil, fmt.Errorf("blob %s: longer than its %d bytes: %w", br.ID, br.Size, vault.ErrIntegrity)
	case err != io.EOF:
		return nil, err
	}
	return b, nil
}
