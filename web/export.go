package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"coffre/vault"
)

// maxExports bounds the exports one process streams at once: each holds a database
// connection (a read-only snapshot) for as long as the person's phone takes to download.
const maxExports = 2

// exportStall is how long an export waits for a client that reads nothing (a phone that
// lost its signal) before giving up.
const exportStall = 2 * time.Minute

// noticeTTL is how long a process keeps the service notice before asking the database
// again: a shutdown is announced months ahead, so a minute late costs nothing, and every
// page is spared a query.
const noticeTTL = time.Minute

// recovery is the per-process state of export and closure: the export slots in use and
// the cached service notice. Its zero value is ready for use.
type recovery struct {
	mu        sync.Mutex
	exporting int
	notice    *vault.Notice // nil: no notice
	noticeAt  time.Time     // when notice was read; zero: never
}

// takeExport reserves an export slot; false when every slot is taken.
func (rc *recovery) takeExport() bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.exporting >= maxExports {
		return false
	}
	rc.exporting++
	return true
}

func (rc *recovery) releaseExport() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.exporting--
}

// shutdownNotice returns the announced end of the service, with its date in Paris time,
// or nil. A failed lookup is logged and shows no banner: the page itself matters more.
func (h *handler) shutdownNotice(ctx context.Context) *vault.Notice {
	rc := &h.recovery
	rc.mu.Lock()
	if !rc.noticeAt.IsZero() && time.Since(rc.noticeAt) < noticeTTL {
		n := rc.notice
		rc.mu.Unlock()
		return n
	}
	rc.mu.Unlock()
	n, err := h.vault.CurrentNotice(ctx)
	switch {
	case errors.Is(err, vault.ErrNotFound):
		n = nil
	case err != nil:
		h.log.Warn("service notice lookup failed", "err", err)
		return nil
	default:
		n.ShutdownAt = n.ShutdownAt.In(paris())
	}
	rc.mu.Lock()
	rc.notice, rc.noticeAt = n, time.Now()
	rc.mu.Unlock()
	return n
}

// exportData is what the export page shows and keeps of what was typed.
type exportData struct {
	Min         int
	Passphrase  string
	Passphrase2 string
}

// exportForm explains what the archive holds and offers the two ways to get it.
func (h *handler) exportForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "export", view{Title: "export.title", Nav: "account", Data: exportData{Min: vault.MinPassphraseLen}})
}

func (h *handler) exportAgain(w http.ResponseWriter, r *http.Request, status int, msg string, d exportData) {
	d.Min = vault.MinPassphraseLen
	h.render(w, r, status, "export", view{Title: "export.title", Nav: "account", Error: msg, Data: d})
}

// export streams the whole safe of the session's owner as one ZIP archive, encrypted
// with age when a passphrase is given. Nothing is buffered: vault.Export writes each file
// as it reads it. An error before the first byte gets the usual error page; after it, the
// connection is cut (http.ErrAbortHandler) so that no browser keeps a truncated archive
// as a finished download.
func (h *handler) export(w http.ResponseWriter, r *http.Request) {
	d := exportData{Passphrase: r.PostFormValue("passphrase"), Passphrase2: r.PostFormValue("passphrase2")}
	if r.PostFormValue("protect") == "1" {
		switch {
		case utf8.RuneCountInString(d.Passphrase) < vault.MinPassphraseLen:
			h.exportAgain(w, r, http.StatusUnprocessableEntity, h.t(r, "export.short", vault.MinPassphraseLen), d)
			return
		case d.Passphrase != d.Passphrase2:
			h.exportAgain(w, r, http.StatusUnprocessableEntity, h.t(r, "export.mismatch"), d)
			return
		}
	} else {
		d = exportData{}
	}
	if !h.recovery.takeExport() {
		w.Header().Set("Retry-After", "60")
		h.fail(w, r, http.StatusServiceUnavailable, "export.busy")
		return
	}
	defer h.recovery.releaseExport()

	name, ctype := "coffre-"+time.Now().In(paris()).Format(time.DateOnly)+".zip", "application/zip"
	if d.Passphrase != "" {
		name, ctype = name+".age", "application/octet-stream"
	}
	hd := w.Header()
	hd.Set("Content-Type", ctype)
	hd.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	hd.Set("Cache-Control", "no-store")
	sw := &startWriter{w: w, rc: http.NewResponseController(w)}
	// A connection that stalls frees its slot (and its database connection) after
	// exportStall; the deadline is lifted afterwards for the next request on the connection.
	defer sw.rc.SetWriteDeadline(time.Time{})
	_, err := h.vault.Export(r.Context(), h.ownerID(r), h.actor(r), sw, vault.ExportOptions{Passphrase: d.Passphrase})
	if err == nil {
		return
	}
	if sw.started {
		if r.Context().Err() != nil {
			h.log.Info("export interrupted: the client went away")
		} else {
			h.log.Error("export failed mid-stream", "err", err)
		}
		panic(http.ErrAbortHandler)
	}
	hd.Del("Content-Disposition")
	switch {
	case errors.Is(err, vault.ErrShortPassphrase):
		h.exportAgain(w, r, http.StatusUnprocessableEntity, h.t(r, "export.short", vault.MinPassphraseLen), d)
	case errors.Is(err, vault.ErrShredded):
		h.fail(w, r, http.StatusGone, "export.erased")
	default:
		h.serverError(w, r, err)
	}
}

// startWriter tells whether anything reached the client, that is whether the headers
// (200, attachment) are gone and an error can no longer be shown as a page.
type startWriter struct {
	w        io.Writer
	rc       *http.ResponseController
	started  bool
	extended time.Time // when the write deadline was last pushed back
}

func (s *startWriter) Write(p []byte) (int, error) {
	if len(p) > 0 {
		s.started = true
	}
	if now := time.Now(); now.Sub(s.extended) > time.Second {
		// Not supported by every ResponseWriter (test recorders): then no deadline.
		s.rc.SetWriteDeadline(now.Add(exportStall))
		s.extended = now
	}
	return s.w.Write(p)
}
