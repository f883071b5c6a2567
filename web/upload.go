package web

import (
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strings"

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
}

type uploadFile struct {
	name string
	body []byte
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
		case p.FormName() == "pages":
			start := len(arena)
			if arena, err = appendPart(arena, p); err != nil {
				return nil, err
			}
			if len(arena) > start {
				up.pages = append(up.pages, uploadFile{name: p.FileName(), body: arena[start:len(arena):len(arena)]})
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

// admit reserves, from the ingest Budget, the memory a deposit request holds before it
// is processed: its body, and the originals kept from it. Processing then grows the
// reservation (ingest.Options.Reservation). It answers and returns nil when the request
// is too large or the service too busy.
func (h *handler) admit(w http.ResponseWriter, r *http.Request, again func(status int, msg string)) *ingest.Reservation {
	n := h.cfg.MaxUpload
	if r.ContentLength > h.cfg.MaxUpload {
		again(http.StatusRequestEntityTooLarge, h.t(r, "error.toolarge"))
		return nil
	}
	if r.ContentLength >= 0 {
		n = r.ContentLength
	}
	res, err := h.budget.Reserve(r.Context(), 2*n)
	if err != nil {
		h.refused(w, r, err, again)
		return nil
	}
	return res
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
