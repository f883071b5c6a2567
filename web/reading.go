package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/google/uuid"

	"coffre/vault"
)

// The switch of « Mon compte » that lets the service read the owner's papers (OCR), off
// until they turn it on; reader.go does the reading.

// readingForm is the switch's answer.
type readingForm struct {
	On bool
}

// parseReadingForm reads lecture=oui or lecture=non.
func parseReadingForm(r *http.Request) (readingForm, error) {
	switch r.PostFormValue("lecture") {
	case "oui":
		return readingForm{On: true}, nil
	case "non":
		return readingForm{On: false}, nil
	}
	return readingForm{}, errors.New("error.badrequest")
}

// readingSwitch is what « Mon compte » shows of the switch.
type readingSwitch struct {
	On bool
}

// setReading turns the reading of the owner's papers on (and queues the reading of those
// already in the safe) or off (every text read is erased at once).
func (h *handler) setReading(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Reading == nil {
		h.notFound(w, r)
		return
	}
	f, err := parseReadingForm(r)
	if err != nil {
		h.renderAccount(w, r, http.StatusBadRequest, h.refusalText(r, err), "")
		return
	}
	owner := h.ownerID(r)
	if err := h.vault.SetReading(r.Context(), owner, h.actor(r), f.On); err != nil {
		if errors.Is(err, vault.ErrClosed) { // closed meanwhile
			http.Redirect(w, r, "/compte/ferme", http.StatusSeeOther)
			return
		}
		h.serverError(w, r, err)
		return
	}
	to := "/compte?lecture=non#s-reading"
	if f.On {
		if err := h.cfg.Reading.QueueReading(r.Context(), owner); err != nil {
			h.log.WarnContext(r.Context(), "queue reading", "owner", owner, "err", err) // the sweep catches up
		}
		to = "/compte?lecture=oui#s-reading"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// readingNotice is the sentence shown after the switch moved.
func (h *handler) readingNotice(r *http.Request) string {
	switch r.URL.Query().Get("lecture") {
	case "oui":
		return h.t(r, "reading.turnedon")
	case "non":
		return h.t(r, "reading.turnedoff")
	}
	return ""
}

// readingOf is the switch as « Mon compte » shows it; nil when the service does not
// offer to read papers.
func (h *handler) readingOf(ctx context.Context, owner uuid.UUID) (*readingSwitch, error) {
	if h.cfg.Reading == nil {
		return nil, nil
	}
	on, err := h.vault.ReadsPapers(ctx, owner)
	if err != nil {
		return nil, err
	}
	return &readingSwitch{On: on}, nil
}

// queueReading asks for owner's papers to be read when they asked for it: after they
// turn reading on, after each deposit. A failure is logged and leaves the papers to the
// periodic sweep (cmd/coffre), which queues every owner with papers left to read.
func (h *handler) queueReading(ctx context.Context, owner uuid.UUID) {
	if h.cfg.Reading == nil {
		return
	}
	on, err := h.vault.ReadsPapers(ctx, owner)
	if err == nil && on {
		err = h.cfg.Reading.QueueReading(ctx, owner)
	}
	if err != nil {
		h.log.WarnContext(ctx, "queue reading", "owner", owner, "err", err)
	}
}
