package web

import (
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"coffre/ingest"
)

// Deposits arrive as multipart bodies. No byte of a paper may touch a disk in clear, and
// Request.ParseMultipartForm writes every file part beyond its memory threshold to the
// temporary directory: so a multipart body is never parsed into a form here. The csrf
// middleware takes the body's parts as a stream (streamParts) and reads the token from
// the first part (the forms put it first) unless the X-CSRF-Token header carries it; the
// deposit handler then reads the remaining parts into memory it has reserved from the
// ingest Budget (readUpload). Any later call to ParseMultipartForm fails instead of
// spilling. Every deposit path — an owner's form, an agent's, and any to come (issuers) —
// goes through admit, readUpload and depositWith, and so shares the one Budget.

type partsKey struct{}

// streamParts returns r with its multipart body opened as a stream of parts, or r as it
// is when the body is not multipart.
func streamParts(r *http.Request) (*http.Request, error) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		return r, nil
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return r, err
	}
	return r.WithContext(context.WithValue(r.Context(), partsKey{}, mr)), nil
}

// partsOf is the multipart stream of the request, or nil.
func partsOf(r *http.Request) *multipart.Reader {
	mr, _ := r.Context().Value(partsKey{}).(*multipart.Reader)
	return mr
}

// A client must send a request body at uploadMinRate on average, after uploadGrace for
// the first bytes, or be cut off: a deposit's share of the ingest budget (twice its
// announced size) and any body's memory are held only as long as the bytes really come.
// 16 KB/s is the export's pace (export.go): a 40 MB deposit has 42 minutes, a phone
// photo of 4 MB four.
const (
	uploadGrace   = 30 * time.Second
	uploadMinRate = 16 << 10 // bytes per second
)

// pacedBody is a request body read against a deadline: each read must end no later than
// the time by which a client sending rate bytes per second, after grace, has sent what
// was read so far; a slower client's read times out, and the handler answers or the
// connection ends. Once the body is read to its end the deadline is lifted: the server
// watches the connection for a client gone while the handler works, and that must not
// time out. After a timeout it stays: what the server would read of the rest fails too.
type pacedBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	start time.Time
	grace time.Duration
	rate  int64 // bytes per second
	read  int64
	done  bool
}

func (p *pacedBody) Read(b []byte) (int, error) {
	if !p.done {
		// Not supported by every ResponseWriter (test recorders): then no deadline.
		_ = p.rc.SetReadDeadline(p.start.Add(p.grace + time.Duration(p.read*int64(time.Second)/p.rate)))
	}
	n, err := p.ReadCloser.Read(b)
	p.read += int64(n)
	if errors.Is(err, io.EOF) && !p.done {
		p.done = true
		_ = p.rc.SetReadDeadline(time.Time{}) // as above: unsupported means there is none to lift
	}
	return n, err
}

// uploadGrace and uploadRate are the pace of request bodies, shortened in tests through
// Config.
func (h *handler) uploadGrace() time.Duration {
	if h.cfg.UploadGrace > 0 {
		return h.cfg.UploadGrace
	}
	return uploadGrace
}

func (h *handler) uploadRate() int64 {
	if h.cfg.UploadMinRate > 0 {
		return h.cfg.UploadMinRate
	}
	return uploadMinRate
}

// maxField bounds a form field that is not a file (a title is 200 characters at most).
const maxField = 4 << 10

// formToken is the CSRF token a form sent: its "csrf" field, which a multipart form must
// send first, before any file.
func formToken(r *http.Request) string {
	mr := partsOf(r)
	if mr == nil {
		return r.PostFormValue("csrf")
	}
	p, err := mr.NextPart()
	if err != nil || p.FormName() != "csrf" || p.FileName() != "" {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(p, maxField))
	return string(b)
}

// upload is a deposit form read from its multipart stream: the fields, and the pages in
// memory, in the order sent.
type upload struct {
	fields map[string]string
	pages  []uploadFile
	empty  bool // a file was chosen but had no bytes: not the same as no file
}

type uploadFile struct {
	name string
	body []byte
}

// noFile is the sentence for a form to add a paper that came without a page: the file
// chosen was empty, or none was, and then it names the form's button (button, a
// message).
func (h *handler) noFile(r *http.Request, up *upload, button string) string {
	if up.empty {
		return h.t(r, "add.empty")
	}
	return h.t(r, "add.nofile", h.t(r, button))
}

// readUpload reads the rest of a deposit's multipart stream. The pages are read into one
// buffer of the body's declared size (or max bytes when undeclared), which the caller
// has reserved: no copy grows and doubles on the way. Empty file parts (a form sent
// without a file) are skipped.
func readUpload(r *http.Request, max int64) (*upload, error) {
	mr := partsOf(r)
	if mr == nil {
		return nil, http.ErrNotMultipart
	}
	size := max
	if r.ContentLength >= 0 && r.ContentLength < max {
		size = r.ContentLength
	}
	arena := make([]byte, 0, size)
	up := &upload{fields: map[string]string{}}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return up, nil
		}
		if err != nil {
			return nil, err
		}
		switch {
		case p.FormName() == "pages" || p.FormName() == "file": // file: an issuer's (issuer_api.go)
			start := len(arena)
			if arena, err = appendPart(arena, p); err != nil {
				return nil, err
			}
			switch {
			case len(arena) > start:
				up.pages = append(up.pages, uploadFile{name: p.FileName(), body: arena[start:len(arena):len(arena)]})
			case p.FileName() != "":
				up.empty = true
			}
		case p.FileName() != "":
			// Another file: not one of ours; NextPart skips it.
		default:
			b, err := io.ReadAll(io.LimitReader(p, maxField))
			if err != nil {
				return nil, err
			}
			if _, seen := up.fields[p.FormName()]; !seen {
				up.fields[p.FormName()] = string(b)
			}
		}
	}
}

// appendPart reads a part into the free capacity of buf. A body larger than it declared
// cannot happen (net/http stops at Content-Length); an undeclared one larger than the
// buffer is over the upload limit.
func appendPart(buf []byte, p io.Reader) ([]byte, error) {
	for {
		var n int
		var err error
		if len(buf) < cap(buf) {
			n, err = p.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
		} else {
			var one [1]byte
			if n, err = p.Read(one[:]); n > 0 {
				return buf, &http.MaxBytesError{Limit: int64(cap(buf))}
			}
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// maxDepositsPerSafe bounds the deposits into one safe that a process admits at once,
// whoever sends them (the owner, agents): one account cannot hold the whole budget with
// uploads it never finishes.
const maxDepositsPerSafe = 2

// slots counts, in this process, the pieces of work in progress per safe or per link
// (deposits, merges of a link's papers). Its zero value is ready for use.
type slots struct {
	mu    sync.Mutex
	inUse map[uuid.UUID]int
}

// take reserves one of the max slots of key; false when all are taken.
func (s *slots) take(key uuid.UUID, max int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inUse[key] >= max {
		return false
	}
	if s.inUse == nil {
		s.inUse = map[uuid.UUID]int{}
	}
	s.inUse[key]++
	return true
}

func (s *slots) release(key uuid.UUID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inUse[key]--; s.inUse[key] <= 0 {
		delete(s.inUse, key)
	}
}

// admit reserves, from the ingest Budget, the memory a deposit request into owner's safe
// holds before it is processed: its body, and the originals kept from it. Processing then
// grows the reservation (ingest.Options.Reservation). It answers and returns nil when the
// request is too large, the safe has maxDepositsPerSafe deposits in progress, or the
// service is too busy; otherwise done gives everything back.
func (h *handler) admit(w http.ResponseWriter, r *http.Request, owner uuid.UUID, again func(status int, msg string)) (res *ingest.Reservation, done func()) {
	n := h.cfg.MaxUpload
	if r.ContentLength > h.cfg.MaxUpload {
		again(http.StatusRequestEntityTooLarge, h.t(r, "error.toolarge"))
		return nil, nil
	}
	if r.ContentLength >= 0 {
		n = r.ContentLength
	}
	if !h.deposits.take(owner, maxDepositsPerSafe) {
		h.refused(w, r, ingest.ErrBusy, again)
		return nil, nil
	}
	res, err := h.budget.Reserve(r.Context(), 2*n)
	if err != nil {
		h.deposits.release(owner)
		h.refused(w, r, err, again)
		return nil, nil
	}
	return res, func() {
		res.Release()
		h.deposits.release(owner)
	}
}

// refused answers a deposit the Budget could not take: busy (503, try again in a
// minute), or larger than the whole budget (413).
func (h *handler) refused(w http.ResponseWriter, r *http.Request, err error, again func(status int, msg string)) {
	switch {
	case errors.Is(err, ingest.ErrBusy):
		w.Header().Set("Retry-After", "60")
		again(http.StatusServiceUnavailable, h.t(r, "error.busy"))
	case errors.Is(err, ingest.ErrTooLarge):
		again(http.StatusRequestEntityTooLarge, h.t(r, "error.toolarge"))
	default: // the client went away while waiting
		again(http.StatusBadRequest, h.t(r, "error.badrequest"))
	}
}

// readPages reads the deposit form after admission; a body that could not be read gets
// its sentence through again.
func (h *handler) readPages(r *http.Request, again func(status int, msg string)) (*upload, bool) {
	up, err := readUpload(r, h.cfg.MaxUpload)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			again(http.StatusRequestEntityTooLarge, h.t(r, "error.toolarge"))
		} else {
			again(http.StatusBadRequest, h.t(r, "error.badrequest"))
		}
		return nil, false
	}
	return up, true
}
