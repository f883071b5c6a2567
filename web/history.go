package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"coffre/sharing"
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
func (h *handler) sentence(r *http.Request, e vault.Entry, titles map[uuid.UUID]string, names map[string]string) string {
	detail := e.OwnerDetail()
	if n, ok := names[e.ActorID]; ok && (e.ActorKind == vault.ActorLink || e.ActorKind == vault.ActorClient) {
		detail = n
	}
	title := h.t(r, "history.deleted-paper")
	if e.DocumentID.Valid {
		if t, ok := titles[e.DocumentID.UUID]; ok {
			title = t
		}
	}
	switch {
	case aidantEntry(e):
		return h.aidantSentence(r, e, detail, title, names)
	case e.Action == sharing.ActionLinkCreated, e.Action == sharing.ActionLinkRevoked,
		e.Action == sharing.ActionGrantCreated, e.Action == sharing.ActionGrantRefused:
		return h.t(r, "history."+string(e.Action)+".you", detail)
	case e.Action == sharing.ActionLinkOpened, e.Action == sharing.ActionLinkCodeFailed, e.Action == sharing.ActionLinkLocked,
		e.Action == vault.ActionDenied && e.ActorKind == vault.ActorLink:
		return h.t(r, "history."+string(e.Action)+".link", orDefault(detail, h.t(r, "history.actor.link")))
	case e.Action == sharing.ActionDelivered:
		return h.t(r, "history.delivered", orDefault(detail, h.t(r, "history.actor.client")))
	case e.Action == vault.ActionLoginFailed && detail == "locked":
		return h.t(r, "history.login_failed.locked")
	case e.Action == vault.ActionLoginFailed, e.Action == vault.ActionDenied, e.Action == vault.ActionIntegrity,
		e.Action == vault.ActionPurge, e.Action == vault.ActionKeyRotated, e.Action == vault.ActionOwnerCreated:
		return h.t(r, "history."+string(e.Action), title)
	case e.Action == vault.ActionExport, e.Action == vault.ActionSafeClosed, e.Action == vault.ActionSafeReopened, e.Action == vault.ActionErased:
		return h.closureSentence(r, e, detail)
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
	names, err := h.actorNames(r)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if err := h.addAgentNames(r, entries, names); err != nil {
		h.serverError(w, r, err)
		return
	}
	lines := make([]historyLine, 0, len(entries))
	for _, e := range entries {
		ip, _ := e.PersonalData()
		lines = append(lines, historyLine{
			At: e.At, Sentence: h.sentence(r, e, titles, names), Where: ip,
			Alert: e.Action == vault.ActionLoginFailed || e.Action == vault.ActionDenied || e.Action == vault.ActionIntegrity,
		})
	}
	var next int64
	if len(entries) == historyPage {
		next = entries[len(entries)-1].Seq
	}
	h.render(w, r, http.StatusOK, "history", view{Title: "history.title", Nav: "history", Data: map[string]any{"Lines": lines, "Next": next}})
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// actorNames names the owner's links (by their purpose) and the téléservices, for the
// sentences of the history.
func (h *handler) actorNames(r *http.Request) (map[string]string, error) {
	names := map[string]string{}
	if h.share == nil {
		return names, nil
	}
	links, err := h.share.Links(r.Context(), h.ownerID(r))
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		names[l.ID.String()] = orDefault(l.Purpose, h.t(r, "links.nopurpose"))
	}
	clients, err := h.share.Clients(r.Context())
	if err != nil {
		return nil, err
	}
	for _, c := range clients {
		names[c.ID] = c.Name
	}
	return names, nil
}
