package web

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"coffre/ingest"
	"coffre/vault"
)

// « Ajouter une page », without JavaScript: a paper of several pages is built one photo
// at a time. Each press sends the page just taken; it waits in the vault, encrypted to
// the owner, as a pending page (vault.PutPending: no paper, reaped if never sent), and
// the form comes back with a hidden field, pending, that says which pages wait: their
// keys, sizes and SHA-256, sealed with the owner's data key (vault.Seal), so that nobody
// else can name a page and nobody can change one. « Mettre dans mon coffre » then sends
// the waiting pages and the last photo as one paper. With JavaScript the pages wait in
// the phone instead (upload.js), and the button only opens the camera again.

// pendingPlace is where the pending field is sealed to (vault.Seal).
const pendingPlace = "pending-pages"

// maxPendingPages bounds a paper built one page at a time: the sealed list must fit in a
// form field (maxField), 56 bytes a page.
const maxPendingPages = 50

const pendingRecord = 16 + 8 + 32

var errBadPending = errors.New("web: pending pages field not sealed for this owner")

// sealPending writes the list of waiting pages for the form.
func (h *handler) sealPending(r *http.Request, pages []vault.PendingPage) (string, error) {
	if len(pages) == 0 {
		return "", nil
	}
	buf := make([]byte, 0, pendingRecord*len(pages))
	for _, p := range pages {
		buf = append(buf, p.ID[:]...)
		buf = binary.BigEndian.AppendUint64(buf, uint64(p.Size))
		buf = append(buf, p.SHA256...)
	}
	sealed, err := h.vault.Seal(r.Context(), h.ownerID(r), buf, pendingPlace)
	if err != nil {
		return "", fmt.Errorf("web: seal pending pages: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// openPending reads the list of waiting pages a form sent back.
func (h *handler) openPending(r *http.Request, field string) ([]vault.PendingPage, error) {
	if field == "" {
		return nil, nil
	}
	sealed, err := base64.RawURLEncoding.DecodeString(field)
	if err != nil {
		return nil, errBadPending
	}
	buf, err := h.vault.Unseal(r.Context(), h.ownerID(r), sealed, pendingPlace)
	if err != nil || len(buf)%pendingRecord != 0 || len(buf)/pendingRecord > maxPendingPages {
		return nil, errBadPending
	}
	pages := make([]vault.PendingPage, 0, len(buf)/pendingRecord)
	for ; len(buf) > 0; buf = buf[pendingRecord:] {
		pages = append(pages, vault.PendingPage{ID: uuid.UUID(buf[:16]), Size: int64(binary.BigEndian.Uint64(buf[16:24])), SHA256: buf[24:56]})
	}
	return pages, nil
}

// pendingSize is the bytes the waiting pages hold.
func pendingSize(pages []vault.PendingPage) int64 {
	var n int64
	for _, p := range pages {
		n += p.Size
	}
	return n
}

// addPage keeps the photos of this request as waiting pages and shows the form again,
// ready for the next page.
func (h *handler) addPage(w http.ResponseWriter, r *http.Request, d *addData, waiting []vault.PendingPage, up *upload, again func(int, string)) {
	if len(up.pages) == 0 {
		again(http.StatusUnprocessableEntity, h.t(r, "add.nopage"))
		return
	}
	if len(waiting)+len(up.pages) > maxPendingPages {
		again(http.StatusUnprocessableEntity, h.ingestMessage(r, ingest.ErrTooManyPages))
		return
	}
	total := pendingSize(waiting)
	for _, p := range up.pages {
		mt, err := ingest.Sniff(p.body[:min(len(p.body), ingest.SniffLen)])
		if err != nil {
			again(http.StatusUnprocessableEntity, h.ingestMessage(r, err))
			return
		}
		if mt == ingest.PDF {
			again(http.StatusUnprocessableEntity, h.ingestMessage(r, ingest.ErrMixedTypes))
			return
		}
		total += int64(len(p.body))
	}
	if total > h.cfg.MaxUpload {
		again(http.StatusRequestEntityTooLarge, h.t(r, "error.toolarge"))
		return
	}
	for _, p := range up.pages {
		pp, err := h.vault.PutPending(r.Context(), h.ownerID(r), p.body)
		if err != nil {
			h.log.ErrorContext(r.Context(), "keep a waiting page", "err", err)
			again(http.StatusInternalServerError, h.t(r, "error.internal"))
			return
		}
		waiting = append(waiting, pp)
	}
	if !h.showWaiting(r, d, waiting, again) {
		return
	}
	h.render(w, r, http.StatusOK, "add", view{Title: "add.title", Nav: "add", Notice: h.t(r, "add.pageadded", len(waiting)), Data: *d})
}

// removePage takes one waiting page out of the paper.
func (h *handler) removePage(w http.ResponseWriter, r *http.Request, d *addData, waiting []vault.PendingPage, which string, again func(int, string)) {
	i, err := strconv.Atoi(which)
	if err != nil || i < 0 || i >= len(waiting) {
		again(http.StatusBadRequest, h.t(r, "error.badrequest"))
		return
	}
	if err := h.vault.DropPending(r.Context(), h.ownerID(r), waiting[i:i+1]); err != nil {
		h.log.WarnContext(r.Context(), "drop a waiting page: left to the reaper", "err", err)
	}
	waiting = append(waiting[:i:i], waiting[i+1:]...)
	if !h.showWaiting(r, d, waiting, again) {
		return
	}
	h.render(w, r, http.StatusOK, "add", view{Title: "add.title", Nav: "add", Data: *d})
}

// showWaiting puts the waiting pages into the form's data.
func (h *handler) showWaiting(r *http.Request, d *addData, waiting []vault.PendingPage, again func(int, string)) bool {
	field, err := h.sealPending(r, waiting)
	if err != nil {
		h.log.ErrorContext(r.Context(), "seal waiting pages", "err", err)
		again(http.StatusInternalServerError, h.t(r, "error.internal"))
		return false
	}
	d.Pending, d.Waiting = field, nil
	for i := range waiting {
		d.Waiting = append(d.Waiting, i+1)
	}
	return true
}

// takePending reads the waiting pages back for the deposit, into memory reserved from
// the ingest budget. A page no longer there (reaped after the upload grace, or sent
// already: a form sent twice) is said so, and the form comes back with the pages that
// remain.
func (h *handler) takePending(w http.ResponseWriter, r *http.Request, res *ingest.Reservation, d *addData, waiting []vault.PendingPage, more int64, again func(int, string)) ([]uploadFile, bool) {
	if len(waiting) == 0 {
		return nil, true
	}
	if pendingSize(waiting)+more > h.cfg.MaxUpload {
		again(http.StatusRequestEntityTooLarge, h.t(r, "error.toolarge"))
		return nil, false
	}
	// The pages, and the originals kept from them.
	if err := res.Grow(r.Context(), 2*pendingSize(waiting)); err != nil {
		h.refused(w, r, err, again)
		return nil, false
	}
	pages := make([]uploadFile, 0, len(waiting))
	kept := make([]vault.PendingPage, 0, len(waiting))
	for _, p := range waiting {
		body, err := h.vault.ReadPending(r.Context(), h.ownerID(r), p)
		if errors.Is(err, vault.ErrNotFound) {
			continue
		}
		if err != nil {
			h.log.ErrorContext(r.Context(), "read a waiting page", "err", err)
			again(http.StatusInternalServerError, h.t(r, "error.internal"))
			return nil, false
		}
		kept = append(kept, p)
		pages = append(pages, uploadFile{name: "page-" + strconv.Itoa(len(pages)+1), body: body})
	}
	if len(kept) < len(waiting) {
		if h.showWaiting(r, d, kept, again) {
			again(http.StatusUnprocessableEntity, h.t(r, "add.pendinggone"))
		}
		return nil, false
	}
	return pages, true
}
