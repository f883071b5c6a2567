package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"coffre/vault"
	"coffre/vault/account"
)

// Expiry reminders on « Mes papiers »: each paper whose expiry is near, from its first
// milestone until it is replaced or expired (vault.Reminders), with what to do; the
// person may dismiss one until its next milestone.

// remindersView is the reminders section of « Mes papiers ».
type remindersView struct {
	List []vault.Reminder
	// Channels: the service can send messages, so the section says where to ask for them.
	Channels bool
}

// reminders reads the owner's reminders for « Mes papiers », and leaves out of soon
// (the papers "to renew soon") those they show. A failure is logged and shows no
// reminder: the list itself must not fail for it.
func (h *handler) reminders(r *http.Request, now time.Time, soon []vault.Summary) (*remindersView, []vault.Summary) {
	list, err := h.vault.Reminders(r.Context(), h.ownerID(r), now, h.readerOf(r).zone)
	if err != nil {
		h.log.ErrorContext(r.Context(), "reminders", "err", err)
		return nil, soon
	}
	if len(list) == 0 {
		return nil, soon
	}
	shown := map[uuid.UUID]bool{}
	rd := h.readerOf(r)
	for i, rm := range list {
		shown[rm.DocumentID] = true
		list[i].Title = h.shownTitle(rd, rm.Title, rm.Kind, rm.Added)
	}
	rest := []vault.Summary{}
	for _, s := range soon {
		if !shown[s.ID] {
			rest = append(rest, s)
		}
	}
	return &remindersView{List: list, Channels: len(h.cfg.Channels) > 0}, rest
}

// dismissReminder hides a paper's reminder until its next milestone.
func (h *handler) dismissReminder(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		h.notFound(w, r)
		return
	}
	err = h.vault.DismissReminder(r.Context(), h.ownerID(r), id, h.actor(r), h.now(), h.readerOf(r).zone)
	switch {
	case errors.Is(err, vault.ErrNotFound):
		h.notFound(w, r)
	case err != nil:
		h.serverError(w, r, err)
	default:
		http.Redirect(w, r, "/papiers", http.StatusSeeOther)
	}
}

// messageSentence words a message sent to one of the owner's channels
// (account.ActionMessageSent): by which channel, and what it told. An entry it cannot
// read gets the general sentence.
func (h *handler) messageSentence(r *http.Request, e vault.Entry) string {
	m, ok := account.ParseMessageEntry(&e)
	key := "history.message_sent." + string(m.What)
	if !ok || !h.pages.cat.has(key) {
		return h.say(r, "history.message_sent")
	}
	channel := h.t(r, "history.channel."+string(m.Channel))
	if m.What == account.NoticeExpiry {
		if _, err := vault.ParseKind(string(m.Kind)); err != nil || m.Date.IsZero() {
			return h.say(r, "history.message_sent")
		}
		return h.say(r, key, channel, h.t(r, "reminder.subject."+string(m.Kind)), h.day(r, m.Date))
	}
	return h.say(r, key, channel, orDefault(m.Who, h.t(r, "history.actor.aidant")))
}

// day writes a date in the request's language, as the templates' date does.
func (h *handler) day(r *http.Request, t time.Time) string {
	return localeOf(requestLanguage(r)).Date(t)
}
