package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"coffre/vault"
	"coffre/vault/account"
)

// « Recevoir des messages » on « Mon compte »: the owner adds an e-mail address or a
// mobile number, types the code it received, and may remove it; and chooses whether to be
// told when a share link is first opened. The kinds offered are those the service can
// send (Config.Channels).

// messagesView is the section's data.
type messagesView struct {
	Kinds      []channelView
	LinkNotice bool
}

// channelView is one kind of channel and the owner's channel of that kind, if any.
type channelView struct {
	Kind    account.ChannelKind
	Channel *account.Channel
	Shown   string // the address as the person reads it
}

// messagesView reads the owner's channels for « Mon compte »; nil when the service
// sends no message.
func (h *handler) messagesView(r *http.Request, a *account.Account) (*messagesView, error) {
	if len(h.cfg.Channels) == 0 {
		return nil, nil
	}
	list, err := h.accounts.Channels(r.Context(), h.ownerID(r))
	if err != nil {
		return nil, err
	}
	v := &messagesView{LinkNotice: a.NotifyLinkOpened}
	for _, k := range h.cfg.Channels {
		cv := channelView{Kind: k}
		for i := range list {
			if list[i].Kind == k {
				cv.Channel = &list[i]
				cv.Shown = list[i].Address
				if k == account.ChannelSMS {
					cv.Shown = account.NationalMobile(list[i].Address)
				}
			}
		}
		v.Kinds = append(v.Kinds, cv)
	}
	return v, nil
}

// messagesNotice is the sentence after a change, named in the query (?messages=…).
func (h *handler) messagesNotice(r *http.Request) string {
	switch r.URL.Query().Get("messages") {
	case "code":
		return h.t(r, "messages.codesent")
	case "ok":
		return h.t(r, "messages.verified")
	case "retire":
		return h.t(r, "messages.removed")
	case "liens":
		return h.t(r, "messages.saved")
	}
	return ""
}

// channelKind reads the kind of channel in the path: one the service sends, or false.
func (h *handler) channelKind(r *http.Request) (account.ChannelKind, bool) {
	k, err := account.ParseChannelKind(chi.URLParam(r, "kind"))
	return k, err == nil && slices.Contains(h.cfg.Channels, k)
}

// channelForm is what the add form sends: the address typed.
type channelForm struct {
	Kind    account.ChannelKind
	Address string
}

// parseChannelForm reads the add form; an empty address is refused with a sentence
// (account.AddChannel checks the rest).
func parseChannelForm(r *http.Request, kind account.ChannelKind) (channelForm, error) {
	f := channelForm{Kind: kind, Address: strings.TrimSpace(r.PostFormValue("address"))}
	if f.Address == "" {
		return f, errors.New("messages.empty." + string(kind))
	}
	return f, nil
}

// codeForm is what the code form sends.
type codeForm struct {
	Kind account.ChannelKind
	Code string
}

// parseCodeForm reads the code typed, spaces allowed ("123 456"); anything but six
// digits is refused with a sentence.
func parseCodeForm(r *http.Request, kind account.ChannelKind) (codeForm, error) {
	code := strings.Join(strings.Fields(r.PostFormValue("code")), "")
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return codeForm{Kind: kind}, errors.New("messages.codeform")
	}
	return codeForm{Kind: kind, Code: code}, nil
}

// linkNoticeForm is the switch « Me prévenir quand un lien est ouvert ».
type linkNoticeForm struct {
	On bool
}

// parseLinkNoticeForm reads the switch: links=1 is on, anything else off.
func parseLinkNoticeForm(r *http.Request) (linkNoticeForm, error) {
	return linkNoticeForm{On: r.PostFormValue("links") == "1"}, nil
}

// afterMessages sends the person back to the section with what happened.
func afterMessages(w http.ResponseWriter, r *http.Request, what string) {
	http.Redirect(w, r, "/compte?messages="+what+"#s-messages", http.StatusSeeOther)
}

// addChannel adds a channel and sends it a code.
func (h *handler) addChannel(w http.ResponseWriter, r *http.Request) {
	kind, ok := h.channelKind(r)
	if !ok {
		h.notFound(w, r)
		return
	}
	f, err := parseChannelForm(r, kind)
	if err != nil {
		h.renderAccount(w, r, http.StatusUnprocessableEntity, h.refusalText(r, err), "")
		return
	}
	_, err = h.accounts.AddChannel(r.Context(), h.ownerID(r), f.Kind, f.Address, h.clientIP(r))
	if h.channelFailed(w, r, err) {
		return
	}
	afterMessages(w, r, "code")
}

// resendCode sends a new code to the channel waiting for one.
func (h *handler) resendCode(w http.ResponseWriter, r *http.Request) {
	kind, ok := h.channelKind(r)
	if !ok {
		h.notFound(w, r)
		return
	}
	if h.channelFailed(w, r, h.accounts.ResendCode(r.Context(), h.ownerID(r), kind, h.clientIP(r))) {
		return
	}
	afterMessages(w, r, "code")
}

// verifyChannel checks the code typed.
func (h *handler) verifyChannel(w http.ResponseWriter, r *http.Request) {
	kind, ok := h.channelKind(r)
	if !ok {
		h.notFound(w, r)
		return
	}
	f, err := parseCodeForm(r, kind)
	if err != nil {
		h.renderAccount(w, r, http.StatusUnprocessableEntity, h.refusalText(r, err), "")
		return
	}
	if h.channelFailed(w, r, h.accounts.VerifyChannel(r.Context(), h.ownerID(r), f.Kind, f.Code, h.actor(r))) {
		return
	}
	afterMessages(w, r, "ok")
}

// removeChannel removes a channel: no message goes to it any more.
func (h *handler) removeChannel(w http.ResponseWriter, r *http.Request) {
	kind, err := account.ParseChannelKind(chi.URLParam(r, "kind"))
	if err != nil {
		h.notFound(w, r)
		return
	}
	// A kind the service no longer sends may still be removed.
	if h.channelFailed(w, r, h.accounts.RemoveChannel(r.Context(), h.ownerID(r), kind, h.actor(r))) {
		return
	}
	afterMessages(w, r, "retire")
}

// setLinkNotice records whether the owner wants to hear of a link's first opening.
func (h *handler) setLinkNotice(w http.ResponseWriter, r *http.Request) {
	if len(h.cfg.Channels) == 0 {
		h.notFound(w, r)
		return
	}
	f, _ := parseLinkNoticeForm(r)
	if err := h.accounts.SetLinkNotice(r.Context(), h.ownerID(r), f.On); err != nil {
		h.serverError(w, r, err)
		return
	}
	afterMessages(w, r, "liens")
}

// channelFailed answers a refused change of channel with its sentence, on « Mon compte »;
// false when there was no error.
func (h *handler) channelFailed(w http.ResponseWriter, r *http.Request, err error) bool {
	var msg string
	switch {
	case err == nil:
		return false
	case errors.Is(err, account.ErrBadEmail):
		msg = "messages.bademail"
	case errors.Is(err, account.ErrBadMobile):
		msg = "messages.badmobile"
	case errors.Is(err, account.ErrWrongCode):
		msg = "messages.wrongcode"
	case errors.Is(err, account.ErrCodeExpired):
		msg = "messages.codeexpired"
	case errors.Is(err, account.ErrCodeLocked):
		msg = "messages.codelocked"
	case errors.Is(err, account.ErrChannelExists):
		msg = "messages.exists"
	case errors.Is(err, vault.ErrNotFound):
		h.notFound(w, r)
		return true
	default:
		if _, locked := account.IsLocked(err); locked {
			msg = "messages.toomany"
			break
		}
		h.serverError(w, r, err)
		return true
	}
	h.renderAccount(w, r, http.StatusUnprocessableEntity, h.t(r, msg), "")
	return true
}
