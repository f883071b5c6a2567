package web

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
)

const historyPage = 50

type historyLine struct {
	At       time.Time
	Sentence string
	Where    string // the network prefix, when known
	Alert    bool   // something the person should look at: a failed attempt
}

// sentence turns a journal entry into plain language: who did what to which paper.
// Messages are "history.<action>.you" when the owner acted, "history.<action>.link" when
// a share link did, "history.<action>.other" for anyone else, and "history.<action>",
// the passive form, when no form of the actor's kind exists (tell). The actor is named
// by history.actor.<kind>, or by the entry's detail (a structure's name, a link's
// purpose) or the name the page knows for them (names).
func (h *handler) sentence(r *http.Request, e vault.Entry, titles map[uuid.UUID]string, names map[string]string) string {
	// A copy given marked (watermark.go), or a link or grant whose copies will be: the
	// entry's private detail ends with the note, which the sentence tells apart.
	if i := strings.Index(e.Private, markNote); i >= 0 {
		text := strings.TrimSuffix(e.Private[i+len(markNote):], " »")
		e.Private = strings.TrimSuffix(e.Private[:i], " — ")
		said := "history.marked"
		if e.Action == sharing.ActionLinkCreated || e.Action == sharing.ActionGrantCreated {
			said = "history.willmark" // no copy given yet: those to come will be marked
		}
		return h.sentenceOf(r, e, titles, names) + " " + h.t(r, said, text)
	}
	return h.sentenceOf(r, e, titles, names)
}

// markNote starts what sharing.WatermarkNote writes.
const markNote = "copie marquée « "

func (h *handler) sentenceOf(r *http.Request, e vault.Entry, titles map[uuid.UUID]string, names map[string]string) string {
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
	action := string(e.Action)
	form, who := "other", orDefault(detail, h.t(r, "history.actor."+string(e.ActorKind)))
	switch e.ActorKind {
	case vault.ActorOwner:
		form, who = "you", h.t(r, "history.actor.owner")
	case vault.ActorLink:
		form, who = "link", detail // tell names an unnamed link
	}
	switch {
	case e.Action == account.ActionMessageSent:
		return h.messageSentence(r, e)
	case aidantEntry(e):
		return h.aidantSentence(r, e, detail, title, names)
	case e.Action == sharing.ActionLinkCreated, e.Action == sharing.ActionLinkRevoked:
		// What these concern is the link, named by its purpose.
		return h.tell(r, action, form, who, orDefault(detail, h.t(r, "links.nopurpose")))
	case e.Action == sharing.ActionGrantCreated, e.Action == sharing.ActionGrantRefused:
		return h.tell(r, action, form, who, orDefault(detail, h.t(r, "history.actor.client")))
	case e.Action == sharing.ActionDelivered:
		return h.say(r, "history.delivered", orDefault(detail, h.t(r, "history.actor.client")))
	case e.Action == sharing.ActionSubscribed, e.Action == sharing.ActionSubscriptionRefused, e.Action == sharing.ActionSubscriptionStopped:
		// What these concern is the organisation that deposits, by its name.
		return h.tell(r, action, form, who, orDefault(detail, h.t(r, "history.actor.client")))
	case e.Action == vault.ActionDeposit && e.ActorKind == vault.ActorClient:
		// « La CAF a déposé « Attestation de paiement – mars » ».
		return h.say(r, "history.deposit.client", who, title)
	case e.Action == vault.ActionDenied && e.OwnerDetail() == sharing.DeniedDeposit:
		// The detail says what was refused; the organisation is named by its ID.
		name, ok := names[e.ActorID]
		if !ok || e.ActorKind != vault.ActorClient {
			name = h.t(r, "history.actor."+string(e.ActorKind))
		}
		return h.say(r, "history.denied.deposit", name)
	case e.Action == account.ActionLoginFailed && detail == "locked":
		return h.say(r, "history.login_failed.locked")
	case e.Action == vault.ActionDenied && e.ActorKind == vault.ActorLink:
		return h.tell(r, action, form, who, title)
	case e.Action == account.ActionLoginFailed, e.Action == vault.ActionDenied, e.Action == vault.ActionIntegrity,
		e.Action == vault.ActionPurge, e.Action == vault.ActionKeyRotated, e.Action == vault.ActionOwnerCreated:
		return h.say(r, "history."+action, title)
	case e.Action == vault.ActionExport, e.Action == vault.ActionSafeClosed, e.Action == vault.ActionSafeReopened, e.Action == vault.ActionErased:
		return h.closureSentence(r, e, detail)
	case e.ActorKind == vault.ActorOwner && detail != "" && h.pages.cat.has("history."+action+".you."+detail):
		// How the owner signed in or proved it was them: "passkey", "franceconnect".
		return h.say(r, "history."+action+".you."+detail)
	}
	return h.tell(r, action, form, who, title)
}

// tell words action done by who to what, in form ("you", "link" or "other"): the
// message of that form, a link falling back to "other", then the passive form. A
// message "you" or passive is told what; the others who, then what.
func (h *handler) tell(r *http.Request, action, form, who, what string) string {
	forms := []string{form}
	if form == "link" {
		forms = append(forms, "other")
	}
	for _, f := range forms {
		if key := "history." + action + "." + f; h.pages.cat.has(key) {
			switch {
			case f == "you":
				return h.say(r, key, what)
			case f == "link":
				// « Votre lien « … » a été ouvert »: the link by its purpose.
				return h.say(r, key, orDefault(who, h.t(r, "links.nopurpose")), what)
			case form == "link":
				return h.say(r, key, orDefault(who, h.t(r, "history.actor.link")), what)
			}
			return h.say(r, key, who, what)
		}
	}
	return h.say(r, "history."+action, what)
}

// say formats the history message key with the first arguments its text uses: a
// message may leave out what the entry names ("Vous vous êtes connecté." names no
// paper), in one language and not in another. A message missing from the catalogue
// gives history.unknown (TestHistorySentences catches it). The sentence starts with a
// capital, whatever name it starts with.
func (h *handler) say(r *http.Request, key string, args ...string) string {
	if !h.pages.cat.has(key) {
		h.log.WarnContext(r.Context(), "history: no message", "key", key)
		key, args = "history.unknown", nil
	}
	lang := requestLanguage(r)
	text := h.pages.cat.text(lang, key)
	n := strings.Count(text, "%") - 2*strings.Count(text, "%%")
	vals := make([]any, 0, n)
	for i := 0; i < n && i < len(args); i++ {
		vals = append(vals, args[i])
	}
	s := h.pages.cat.text(lang, key, vals...)
	if c, size := utf8.DecodeRuneInString(s); c != utf8.RuneError {
		s = string(unicode.ToUpper(c)) + s[size:]
	}
	return s
}

// historyView is « Historique »: a page of lines, newest first, and where the next page
// starts (0: none).
type historyView struct {
	Lines []historyLine
	Next  int64
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
	h.showTitles(r, docs)
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
			At: e.At, Sentence: h.sentence(r, e, titles, names), Where: networkShown(ip),
			Alert: e.Action == account.ActionLoginFailed || e.Action == vault.ActionDenied || e.Action == vault.ActionIntegrity,
		})
	}
	var next int64
	if len(entries) == historyPage {
		next = entries[len(entries)-1].Seq
	}
	h.render(w, r, http.StatusOK, "history", view{Title: "history.title", Nav: "history", Data: historyView{Lines: lines, Next: next}})
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

// networkShown writes the network prefix the journal keeps (an IPv4 /24, an IPv6 /48) as
// a person can read it: the address's known part, and « … » for the rest it does not
// keep, « 203.0.113.… » rather than « 203.0.113.0/24 ». Any other prefix is left as it is.
func networkShown(prefix string) string {
	p, err := netip.ParsePrefix(prefix)
	if err != nil {
		return prefix
	}
	a := p.Masked().Addr().Unmap()
	switch {
	case a.Is4() && p.Bits() == 24:
		b := a.As4()
		return fmt.Sprintf("%d.%d.%d.…", b[0], b[1], b[2])
	case a.Is6() && p.Bits() == 48:
		b := a.As16()
		return fmt.Sprintf("%x:%x:%x:…", uint16(b[0])<<8|uint16(b[1]), uint16(b[2])<<8|uint16(b[3]), uint16(b[4])<<8|uint16(b[5]))
	}
	return prefix
}
