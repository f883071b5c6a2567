package web

import (
	"net/http"
	"time"

	"coffre/sharing"
)

// « Ils déposent dans mon coffre », on « Mon compte »: the organisations the person lets
// deposit papers into their safe (issuer_api.go), each with a button to stop it.

// subscriptionsView is the section of « Mon compte »; nil hides it (no sharing service).
type subscriptionsView struct {
	List    []subscriptionItem
	Stopped bool // one was just stopped
}

type subscriptionItem struct {
	sharing.Subscription
	Since *time.Time
}

func (h *handler) subscriptionsOf(r *http.Request) (*subscriptionsView, error) {
	if h.share == nil {
		return nil, nil
	}
	list, err := h.share.Subscriptions(r.Context(), h.ownerID(r))
	if err != nil {
		return nil, err
	}
	v := &subscriptionsView{Stopped: r.URL.Query().Get("depot") == "arrete"}
	for _, s := range list {
		v.List = append(v.List, subscriptionItem{Subscription: s, Since: &s.CreatedAt})
	}
	return v, nil
}

// stopSubscription stops one of the owner's subscriptions; another owner's is not found.
func (h *handler) stopSubscription(w http.ResponseWriter, r *http.Request) {
	h.endOwned(w, r, "sub", h.share.StopSubscription, "/compte?depot=arrete#s-deposits")
}
