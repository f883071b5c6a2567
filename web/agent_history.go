package web

import (
	"net/http"
	"strings"

	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
)

// How the owner's history tells what aidants did: "Mme D. (CCAS de Lille) a ajouté « … »".

// addAgentNames adds to names the label of every agent acting in entries.
func (h *handler) addAgentNames(r *http.Request, entries []vault.Entry, names map[string]string) error {
	if h.share == nil {
		return nil
	}
	var ids []string
	for _, e := range entries {
		if e.ActorKind == vault.ActorAidant {
			ids = append(ids, e.ActorID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	labels, err := h.share.AgentLabels(r.Context(), ids)
	if err != nil {
		return err
	}
	for id, l := range labels {
		names[id] = l
	}
	return nil
}

// aidantEntry tells the entries aidantSentence words: every entry of an agent, and the
// mandate entries whoever acted.
func aidantEntry(e vault.Entry) bool {
	switch e.Action {
	case sharing.ActionMandateGranted, sharing.ActionMandatePending, sharing.ActionMandateConfirmed, sharing.ActionMandateRevoked,
		sharing.ActionMandateEnded, account.ActionRecoveryCancelled:
		return true
	}
	return e.ActorKind == vault.ActorAidant
}

// aidantSentence words an entry of aidantEntry. The domain writes the agent's label first
// in the detail ("Mme D. (CCAS de Lille) — …"); the current label wins when known.
func (h *handler) aidantSentence(r *http.Request, e vault.Entry, detail, title string, names map[string]string) string {
	switch {
	case e.Action == sharing.ActionMandateEnded: // the detail is the structure's name
		return h.say(r, "history.mandate_ended", orDefault(detail, h.t(r, "history.actor.aidant")))
	case e.Action == account.ActionRecoveryCancelled && e.ActorKind != vault.ActorAidant: // the detail names who asked
		if e.ActorKind == vault.ActorOwner {
			return h.say(r, "history.recovery_cancelled.you", orDefault(detail, h.t(r, "history.actor.aidant")))
		}
		return h.say(r, "history.recovery_cancelled", orDefault(detail, h.t(r, "history.actor.aidant")))
	}
	action := string(e.Action)
	if e.ActorKind == vault.ActorOwner && h.pages.cat.has("history."+action+".you") {
		return h.say(r, "history."+action+".you", title)
	}
	who, rest, _ := strings.Cut(detail, " — ")
	if e.Action == sharing.ActionLinkCreated || e.Action == vault.ActionDeposit {
		who, rest = "", detail
	}
	if n, ok := names[e.ActorID]; ok {
		who = n
	}
	if who == "" {
		who = h.t(r, "history.actor.aidant")
	}
	if _, err := uuid.Parse(rest); err == nil {
		// A link of the owner, used in a browser where an agent is signed in
		// (sharing.Link.Agent): named by its purpose.
		link := orDefault(names[rest], h.t(r, "links.nopurpose"))
		switch e.Action {
		case sharing.ActionLinkOpened:
			return h.say(r, "history.link_opened.aidant", who, link)
		case vault.ActionView, vault.ActionDownload:
			return h.say(r, "history."+action+".aidant_link", who, title, link)
		}
	}
	switch e.Action {
	case vault.ActionDenied:
		if rest == "" {
			return h.say(r, "history.denied")
		}
		sc, ok := sharing.ScopeOfVerb(rest)
		if ok && sc == sharing.ScopeUnlock {
			// The person types their password on the agent's screen: a wrong one is
			// most often theirs, not the agent's attempt.
			return h.say(r, "history.denied.unlock", who)
		}
		if ok {
			rest = h.t(r, "history.scope."+string(sc))
		}
		return h.say(r, "history.denied.aidant", who, rest)
	case sharing.ActionLinkCreated:
		return h.say(r, "history.link_created.other", who, orDefault(rest, h.t(r, "links.nopurpose")))
	}
	return h.tell(r, action, "other", who, title)
}
