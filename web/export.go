package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"coffre/vault"
	"coffre/vault/account"
	"coffre/vault/i18n"
)

// maxExports bounds the exports one process streams at once: each holds a database
// connection (a read-only snapshot) for as long as the person's phone takes to download.
// A safe has one export at a time, so that one account cannot take every slot.
const maxExports = 2

// A client must take the archive at exportMinRate on average, after exportGrace for the
// first bytes: a phone that lost its signal, or a client that reads slowly on purpose,
// frees its slot (and its database connection) rather than holding it for hours. 16 KB/s
// is an eighth of a weak 3G link; a 50 MB safe then has at least 55 minutes.
const (
	exportGrace   = 2 * time.Minute
	exportMinRate = 16 << 10 // bytes per second
)

// noticeTTL is how long a process keeps the service notice before asking the database
// again: a shutdown is announced months ahead, so a minute late costs nothing, and every
// page is spared a query.
const noticeTTL = time.Minute

// recovery is the per-process state of export and closure: the export slots in use, by
// safe, and the cached service notice. Its zero value is ready for use.
type recovery struct {
	mu        sync.Mutex
	exporting map[uuid.UUID]bool
	notice    *vault.Notice // nil: no notice
	noticeAt  time.Time     // when notice was read; zero: never
}

// takeExport reserves an export slot for owner's safe: errExportRunning when that safe is
// being exported already, errExportsBusy when every slot is taken.
func (rc *recovery) takeExport(owner uuid.UUID) error {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	switch {
	case rc.exporting[owner]:
		return errExportRunning
	case len(rc.exporting) >= maxExports:
		return errExportsBusy
	}
	if rc.exporting == nil {
		rc.exporting = map[uuid.UUID]bool{}
	}
	rc.exporting[owner] = true
	return nil
}

func (rc *recovery) releaseExport(owner uuid.UUID) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	delete(rc.exporting, owner)
}

var (
	errExportRunning = errors.New("web: this safe is being exported already")
	errExportsBusy   = errors.New("web: every export slot is taken")
)

// shutdownNotice returns the announced end of the service, with its date in Paris time,
// or nil. A failed lookup is logged and shows no banner: the page itself matters more.
func (h *handler) shutdownNotice(ctx context.Context) *vault.Notice {
	rc := &h.recovery
	rc.mu.Lock()
	if !rc.noticeAt.IsZero() && h.now().Sub(rc.noticeAt) < noticeTTL {
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
		h.log.WarnContext(ctx, "service notice lookup failed", "err", err)
		return nil
	}
	rc.mu.Lock()
	rc.notice, rc.noticeAt = n, h.now()
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
// exportRequest is what the export form sends: a passphrase, typed twice, when the
// archive is to be protected; none otherwise.
type exportRequest struct {
	Protect                 bool
	Passphrase, Passphrase2 string
}

// parseExportForm reads the export form: a protected archive needs a passphrase long
// enough, typed twice the same.
func parseExportForm(r *http.Request) (exportRequest, error) {
	if r.PostFormValue("protect") != "1" {
		return exportRequest{}, nil
	}
	f := exportRequest{Protect: true, Passphrase: r.PostFormValue("passphrase"), Passphrase2: r.PostFormValue("passphrase2")}
	switch {
	case utf8.RuneCountInString(f.Passphrase) < vault.MinPassphraseLen:
		return f, refuse("export.short", vault.MinPassphraseLen)
	case f.Passphrase != f.Passphrase2:
		return f, errors.New("export.mismatch")
	}
	return f, nil
}

func (h *handler) export(w http.ResponseWriter, r *http.Request) {
	f, err := parseExportForm(r)
	d := exportData{Passphrase: f.Passphrase, Passphrase2: f.Passphrase2}
	if err != nil {
		h.exportAgain(w, r, http.StatusUnprocessableEntity, h.refusalText(r, err), d)
		return
	}
	owner := h.ownerID(r)
	switch err := h.recovery.takeExport(owner); {
	case errors.Is(err, errExportRunning):
		w.Header().Set("Retry-After", "60")
		h.fail(w, r, http.StatusTooManyRequests, "export.running")
		return
	case err != nil:
		w.Header().Set("Retry-After", "60")
		h.fail(w, r, http.StatusServiceUnavailable, "export.busy")
		return
	}
	defer h.recovery.releaseExport(owner)

	name, ctype := "coffre-"+h.localNow(r).Format(time.DateOnly)+".zip", "application/zip"
	if d.Passphrase != "" {
		name, ctype = name+".age", "application/octet-stream"
	}
	hd := w.Header()
	hd.Set("Content-Type", ctype)
	hd.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	hd.Set("Cache-Control", "no-store")
	sw := &startWriter{w: w, rc: http.NewResponseController(w), start: time.Now(), // pacing measures the network: the wall clock, not Config.Now
		grace: h.exportGrace(), rate: h.exportRate()}
	// A client slower than exportMinRate frees its slot (and its database connection);
	// the deadline is lifted afterwards for the next request on the connection.
	// Unsupported by some ResponseWriters (test recorders): then there is none to lift.
	defer func() { _ = sw.rc.SetWriteDeadline(time.Time{}) }()
	zone := h.requestZone(r)
	_, err = h.vault.Export(r.Context(), owner, h.actor(r), sw, vault.ExportOptions{Passphrase: f.Passphrase, Lang: requestLanguage(r),
		Zone: account.Location(zone), ZoneName: i18n.Text("fr", account.TimeZoneLabel(zone))})
	if err == nil {
		return
	}
	if sw.started {
		if r.Context().Err() != nil {
			h.log.InfoContext(r.Context(), "export interrupted: the client went away")
		} else {
			h.log.ErrorContext(r.Context(), "export failed mid-stream", "err", err)
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
// (200, attachment) are gone and an error can no longer be shown as a page. With a rate,
// it also makes every write wait no later than the time by which a client taking rate
// bytes per second, after grace, has taken those bytes: a slower client's write times out.
type startWriter struct {
	w       io.Writer
	rc      *http.ResponseController
	started bool

	start   time.Time
	grace   time.Duration
	rate    int64 // bytes per second; 0: no deadline
	written int64
}

func (s *startWriter) Write(p []byte) (int, error) {
	if len(p) > 0 {
		s.started = true
	}
	if s.rate > 0 {
		due := s.start.Add(s.grace + time.Duration((s.written+int64(len(p)))*int64(time.Second)/s.rate))
		// Not supported by every ResponseWriter (test recorders): then no deadline.
		_ = s.rc.SetWriteDeadline(due)
	}
	n, err := s.w.Write(p)
	s.written += int64(n)
	return n, err
}

// exportGrace and exportRate are the export's pace (see exportMinRate), shortened in
// tests through Config.
func (h *handler) exportGrace() time.Duration {
	if h.cfg.ExportGrace > 0 {
		return h.cfg.ExportGrace
	}
	return exportGrace
}

func (h *handler) exportRate() int64 {
	if h.cfg.ExportMinRate > 0 {
		return h.cfg.ExportMinRate
	}
	return exportMinRate
}
