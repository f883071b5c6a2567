package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
)

// An agent acting for a person under mandate: list and open their papers (read), add
// one (deposit), send some with a link and its QR code (share). Every handler goes
// through the domain's Authorize, directly or through the sharing.Agent* methods.

type agentDoc struct {
	vault.Document
	PDF *vault.Blob
}

func (h *handler) agentPapers(w http.ResponseWriter, r *http.Request) {
	owner, ok := h.agentOwner(w, r)
	if !ok {
		return
	}
	docs, err := h.share.AgentDocuments(r.Context(), agentOf(r).Agent, owner, h.clientIP(r))
	if err != nil {
		h.agentError(w, r, err)
		return
	}
	o, err := h.vault.Owner(r.Context(), owner)
	if err != nil {
		h.agentError(w, r, err)
		return
	}
	list := make([]agentDoc, len(docs))
	for i, d := range docs {
		list[i] = agentDoc{Document: d, PDF: d.Blob(vault.RoleRendition)}
	}
	h.renderAgent(w, r, http.StatusOK, "agent_papers", view{Title: "agent.papers.title"}, map[string]any{"Owner": o, "Docs": list})
}

// agentFile streams a blob of a person's paper: view, download or print.
func (h *handler) agentFile(w http.ResponseWriter, r *http.Request) {
	owner, ok := h.agentOwner(w, r)
	if !ok {
		return
	}
	id, blob, action, disposition, ok := fileRequest(r)
	if !ok {
		h.notFound(w, r)
		return
	}
	br, err := h.share.AgentOpen(r.Context(), agentOf(r).Agent, owner, id, blob, action, h.clientIP(r))
	if err != nil {
		h.blobError(w, r, err)
		return
	}
	defer br.Close()
	h.stream(w, br, disposition, "document"+extension(br.MediaType))
}

func (h *handler) agentAddForm(w http.ResponseWriter, r *http.Request) {
	owner, ok := h.agentOwner(w, r)
	if !ok || !h.agentAuthorize(w, r, owner, sharing.ScopeDeposit) {
		return
	}
	h.renderAgent(w, r, http.StatusOK, "agent_add", view{Title: "agent.add.title"},
		map[string]any{"Owner": owner, "Add": addData{Kind: vault.KindAutre}, "Done": r.URL.Query().Get("ajoute") == "1"})
}

// agentAdd deposits a paper for the person, through the owner's deposit path (ingest,
// then the vault) with sharing.AgentDeposit as its last step.
func (h *handler) agentAdd(w http.ResponseWriter, r *http.Request) {
	owner, ok := h.agentOwner(w, r)
	// Checked before the body is read: no work for a refused agent.
	if !ok || !h.agentAuthorize(w, r, owner, sharing.ScopeDeposit) {
		return
	}
	d := addData{Kind: vault.KindAutre}
	again := func(status int, msg string) {
		h.renderAgent(w, r, status, "agent_add", view{Title: "agent.add.title", Error: msg}, map[string]any{"Owner": owner, "Add": d})
	}
	res, done := h.admit(w, r, owner, again)
	if res == nil {
		return
	}
	defer done()
	up, ok := h.readPages(r, again)
	if !ok {
		return
	}
	d.Title = strings.TrimSpace(up.fields["title"])
	if k, err := vault.ParseKind(up.fields["kind"]); err == nil {
		d.Kind = k
	}
	if len(up.pages) == 0 {
		again(http.StatusUnprocessableEntity, h.t(r, "add.nofile"))
		return
	}
	if utf8Len(d.Title) > vault.MaxTitleLen {
		again(http.StatusUnprocessableEntity, h.t(r, "edit.titlelong"))
		return
	}
	agent, ip := agentOf(r).Agent, h.clientIP(r)
	_, _, err := h.depositWith(r, res, d, up.pages, func(nd vault.NewDocument) (*vault.Document, error) {
		return h.share.AgentDeposit(r.Context(), agent, owner, nd, ip)
	})
	var ie ingestError
	switch {
	case errors.As(err, &ie):
		h.ingestFailed(w, r, ie.err, again)
	case err != nil:
		h.agentError(w, r, err)
	default:
		http.Redirect(w, r, "/agent/personnes/"+owner.String()+"/ajouter?ajoute=1", http.StatusSeeOther)
	}
}

// agentShareForm lists the person's papers for an agent with the share scope to pick
// those the person asks to send: the titles are shown, so the listing is journaled like
// a read one (sharing.AgentShareableDocuments), once per page shown.
func (h *handler) agentShareForm(w http.ResponseWriter, r *http.Request) {
	owner, ok := h.agentOwner(w, r)
	if !ok {
		return
	}
	docs, err := h.share.AgentShareableDocuments(r.Context(), agentOf(r).Agent, owner, h.clientIP(r))
	if err != nil {
		h.agentError(w, r, err)
		return
	}
	h.renderAgent(w, r, http.StatusOK, "agent_share", view{Title: "share.title"},
		map[string]any{"Owner": owner, "F": shareForm{Docs: docs, Lifetime: "24h", Mark: markAuto}})
}

func (h *handler) agentShare(w http.ResponseWriter, r *http.Request) {
	owner, ok := h.agentOwner(w, r)
	if !ok || !h.agentAuthorize(w, r, owner, sharing.ScopeShare) {
		return
	}
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
	again := func(msg string) {
		docs, err := h.share.AgentShareableDocuments(r.Context(), agentOf(r).Agent, owner, h.clientIP(r))
		if err != nil {
			h.agentError(w, r, err)
			return
		}
		f.Docs = docs
		h.renderAgent(w, r, http.StatusUnprocessableEntity, "agent_share", view{Title: "share.title", Error: h.t(r, msg)}, map[string]any{"Owner": owner, "F": f})
	}
	lifetime, ok := lifetimes[f.Lifetime]
	switch {
	case len(f.Chosen) == 0:
		again("share.error.nodoc")
		return
	case !ok:
		again("share.error.lifetime")
		return
	case !markOK || utf8Len(f.Recipient) > maxRecipient:
		again("share.error.invalid")
		return
	}
	// The kinds decide the default mark: only the chosen papers the agent may share are
	// looked at, without journaling a listing (the titles are not shown).
	var watermark string
	if mark != markNo {
		docs, err := h.vault.DocumentsIn(r.Context(), owner, f.Chosen)
		if err != nil {
			h.agentError(w, r, err)
			return
		}
		watermark = watermarkFor(mark, docs, func(vault.Document) bool { return true }, f.Recipient, f.Purpose, h.now())
	}
	c, err := h.share.AgentCreateLink(r.Context(), agentOf(r).Agent, owner, sharing.NewLink{
		Documents: f.Chosen, Purpose: f.Purpose, Lifetime: lifetime, MaxDownloads: f.MaxDownloads, WithCode: f.WithCode,
		Watermark: watermark}, h.clientIP(r))
	switch {
	case errors.Is(err, sharing.ErrInvalid):
		again("share.error.invalid")
		return
	case err != nil:
		h.agentError(w, r, err)
		return
	}
	data, err := h.createdLink(r, c)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data["Owner"] = owner
	h.renderAgent(w, r, http.StatusOK, "agent_shared", view{Title: "shared.title"}, data)
}
