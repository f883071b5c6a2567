package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault/i18n"
)

// Views and forms shared by the owner's pages and the agents' desk: the share form and
// the page of a new link.

// parseShareForm reads the share form, the owner's (share.go) or an agent's
// (agent_papers.go); an error is the message ID of one sentence saying what to fix. The
// papers offered (Docs) are the caller's to fill.
func parseShareForm(r *http.Request) (shareForm, error) {
	f := shareForm{Purpose: r.PostFormValue("purpose"), Lifetime: r.PostFormValue("lifetime"), WithCode: r.PostFormValue("code") == "oui",
		Recipient: r.PostFormValue("recipient")}
	for _, s := range r.PostForm["doc"] {
		if id, err := uuid.Parse(s); err == nil {
			f.Chosen = append(f.Chosen, id)
		}
	}
	f.MaxDownloads, _ = strconv.Atoi(r.PostFormValue("limit"))
	mark, markOK := parseWatermarkChoice(r.PostFormValue("mark"))
	f.Mark = mark
	_, lifetimeOK := lifetimes[f.Lifetime]
	switch {
	case len(f.Chosen) == 0:
		return f, errors.New("share.error.nodoc")
	case !lifetimeOK:
		return f, errors.New("share.error.lifetime")
	case !markOK || utf8Len(f.Recipient) > maxRecipient:
		return f, errors.New("share.error.invalid")
	}
	return f, nil
}

// lifetime is how long the link chosen lasts; parseShareForm checked it is one offered.
func (f shareForm) lifetime() time.Duration { return lifetimes[f.Lifetime] }

// createdView is what the page of a new link shows, to the owner or to an agent acting
// for them: the address, its QR code, the code, and ready-made SMS and e-mail messages.
type createdView struct {
	Link *sharing.Link
	URL  string
	QR   template.URL
	Code string
	SMS  template.URL
	// A plain string: html/template lets a mailto: address through as it is.
	Mail string
}

// createdLink makes the createdView of c.
func (h *handler) createdLink(r *http.Request, c *sharing.Created) (createdView, error) {
	link := h.baseURL(r) + "/p/" + c.Token
	qrURI, err := qrDataURI(link)
	if err != nil {
		return createdView{}, err
	}
	message := h.t(r, "share.message", link)
	if c.Code != "" {
		// The code is said aloud, never sent with the link: whoever gets the message by
		// mistake must not have both.
		message = h.t(r, "share.message.code", link)
	}
	// The messages are shown by the phone's or the mail program's own text: without the
	// page's marks of isolation, which a phone would take into the address it makes a
	// link of.
	message = unisolated.Replace(message)
	return createdView{
		// html/template turns a data: or sms: address into #ZgotmplZ: these two are ours,
		// a PNG in base64 and a fixed scheme before an escaped message.
		Link: c.Link, URL: link, QR: template.URL(qrURI), Code: c.Code, //nolint:gosec // a data: URI of our PNG, in base64
		SMS:  template.URL("sms:?&body=" + mailEscape(i18n.ForSMS(message))), //nolint:gosec // a fixed scheme, the message escaped
		Mail: "mailto:?subject=" + mailEscape(h.t(r, "share.mail.subject")) + "&body=" + mailEscape(message),
	}, nil
}

// mailEscape escapes a mailto: header value (RFC 6068) or an sms: body (RFC 5724): "&"
// and "=" too, which would cut the message, and spaces as %20, which phones and mail
// programs show as they are when written "+" (neither scheme decodes "+").
func mailEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
