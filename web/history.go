package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"coffre/vault"
)

const historyPage = 50

type historyLine struct {
	At       time.Time
	Sentence string
	Where    string // the network prefix, when known
	Alert    bool   // something the person should look at: a failed attempt
}

// sentence turns a journal entry into plain language: who did what to which paper.
// Messages are "history.<action>.you" when the owner acted and "history.<action>.other"
// otherwise, with the actor named by history.actor.<kind> (or the entry's detail, such as
// a structure's name or a link's purpose).
func (h *handler) sentence(r *http.Request, e vault.Entry, titles map[uuid.UUID]string) string {
	_, detail := e.PersonalData()
	title := h.t(r, "history.deleted-paper")
	if e.DocumentID.Valid {
		if t, ok := titles[e.DocumentID.UUID]; ok {
			title = t
		}
	}
	switch {
	case e.Action == vault.ActionLoginFailed && detail == "locked":
		return h.t(r, "history.login_failed.locked")
	case e.Action == vault.ActionLoginFailed, e.Action == vault.ActionDenied, e.Action == vault.ActionIntegrity,
		e.Action == vault.ActionPurge, e.Action == vault.ActionKeyRotated, e.Action == vault.ActionOwnerCreated:
		return h.t(r, "history."+string(e.Action), title)
	case e.Action == vault.ActionLogin && e.ActorKind == vault.ActorOwner && (detail == "passkey" || detail == "franceconnect"):
		return h.t(r, "history.login.you."+detail)
	case e.ActorKind == vault.ActorOwner:
		return h.t(r, "history."+string(e.Action)+".you", title)
	case e.ActorKind == vault.ActorLink:
		name := detail
		if name == "" {
			name = h.t(r, "history.actor.link")
		}
		return h.t(r, "history."+string(e.Action)+".link", name, title)
	}
	who := detail
	if who == "" {
		who = h.t(r, "history.actor."+string(e.ActorKind))
	}
	return h.t(r, "history."+string(e.Action)+".other", who, title)
}

func (h *handler) history(w http.ResponseWriter, r *http.Request) {
	before, _ := strconv.ParseInt(r.URL.Query().Get("avant"), 10, 64)
	entries, err := h.vault.Journal(r.Context(), h.ownerID(r), before, historyPage)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	docs, err := h.vault.Documents(r.Context(), h.ownerID(r))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	titles := make(map[uuid.UUID]string, len(docs))
	for _, d := range docs {
		titles[d.ID] = d.Title
	}
	lines := make([]historyLine, 0, len(entries))
	for _, e := range entries {
		ip, _ := e.PersonalData()
		lines = append(lines, historyLine{
			At: e.At, Sentence: h.sentence(r, e, titles), Where: ip,
			Alert: e.Action == vault.ActionLoginFailed || e.Action == vault.ActionDenied || e.Action == vault.ActionIntegrity,
		})
	}
	var next int64
	if len(entries) == historyPage {
		next = entries[len(entries)-1].Seq
	}
	h.render(w, r, http.StatusOK, "history", view{Title: "history.title", Nav: "history", Data: map[string]any{"Lines": lines, "Next": next}})
}
