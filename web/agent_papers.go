package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
)

// An agent acting for a person under mandate: list and open their papers (read), add
// one (deposit), send some with a link and its QR code (share). Every request is
// authorized by agentActing (agent_reach.go), and again by the sharing.Agent* methods.

type agentDoc struct {
	vault.Document
	PDF *vault.Blob
}

// agentPapersView is the list of a person's papers.
type agentPapersView struct {
	agentFrame
	Owner *vault.Owner
	Docs  []agentDoc
}

// agentAddView is the form adding a paper for a person.
type agentAddView struct {
	agentFrame
	Owner uuid.UUID
	Add   addData
	Done  bool // a paper was just added
}

// agentShareView is the share form for a person.
type agentShareView struct {
	agentFrame
	Owner uuid.UUID
	F     shareForm
}

// agentSharedView is the page of a link just made for a person.
type agentSharedView struct {
	agentFrame
	createdView
}

func (h *handler) agentPapers(w http.ResponseWriter, r *http.Request) {
	o := safeOf(r).Owner
	docs, err := h.share.AgentDocuments(r.Context(), agentOf(r).Agent, o.ID, h.clientIP(r))
	if err != nil {
		h.agentError(w, r, err)
		return
	}
	h.showTitles(r, docs)
	list := make([]agentDoc, len(docs))
	for i, d := range docs {
		list[i] = agentDoc{Document: d, PDF: d.Blob(vault.RoleRendition)}
	}
	h.renderAgent(w, r, http.StatusOK, "agent_papers", view{Title: "agent.papers.title"}, &agentPapersView{Owner: o, Docs: list})
}

// agentFile streams a blob of a person's paper: view, download or print.
func (h *handler) agentFile(w http.ResponseWriter, r *http.Request) {
	owner := safeOf(r).Owner.ID
	id, blob, action, disposition, ok := fileRequest(r)
	if !ok {
		h.agentNotFound(w, r)
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
	owner := safeOf(r).Owner.ID
	h.renderAgent(w, r, http.StatusOK, "agent_add", view{Title: "agent.add.title"},
		&agentAddView{Owner: owner, Add: addData{Kind: vault.KindAutre}, Done: r.URL.Query().Get("ajoute") == "1"})
}

// agentAdd deposits a paper for the person, through the owner's deposit path (ingest,
// then the vault) with sharing.AgentDeposit as its last step.
func (h *handler) agentAdd(w http.ResponseWriter, r *http.Request) {
	owner := safeOf(r).Owner.ID // authorized before the body is read: no work for a refused agent
	d := addData{Kind: vault.KindAutre}
	again := func(status int, msg string) {
		h.renderAgent(w, r, status, "agent_add", view{Title: "agent.add.title", Error: msg}, &agentAddView{Owner: owner, Add: d})
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
	d, err := parseAgentAddForm(up)
	if errors.Is(err, errNoPages) {
		again(http.StatusUnprocessableEntity, h.noFile(r, up, "agent.add.submit"))
		return
	}
	if err != nil {
		again(http.StatusUnprocessableEntity, h.t(r, err.Error()))
		return
	}
	if d.Title == "" {
		// Dated in the person's time, where they will read it (isDefaultTitle), in the
		// desk's language as any paper added there.
		a, err := h.accounts.Account(r.Context(), owner)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		d.Title = h.defaultTitle(reader{lang: requestLanguage(r), zone: h.personZone(r, a)}, d.Kind, h.now())
	}
	agent, ip := agentOf(r).Agent, h.clientIP(r)
	_, _, err = h.depositWith(r, res, d, up.pages, func(nd vault.NewDocument) (*vault.Document, error) {
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

// errNoPages is a form to add a paper sent without a page (noFile says why).
var errNoPages = errors.New("no pages")

// parseAgentAddForm reads the fields of a paper an agent adds, once its pages are read
// (readPages streams the multipart body): its title and kind (another by default); no
// page, or a title too long, is refused with a sentence.
func parseAgentAddForm(up *upload) (addData, error) {
	d := addData{Kind: vault.KindAutre, Title: strings.TrimSpace(up.fields["title"])}
	if k, err := vault.ParseKind(up.fields["kind"]); err == nil {
		d.Kind = k
	}
	if len(up.pages) == 0 {
		return d, errNoPages
	}
	if utf8Len(d.Title) > vault.MaxTitleLen {
		return d, errors.New("edit.titlelong")
	}
	return d, nil
}

// agentShareForm lists the person's papers for an agent with the share scope to pick
// those the person asks to send: the titles are shown, so the listing is journaled like
// a read one (sharing.AgentShareableDocuments), once per page shown.
func (h *handler) agentShareForm(w http.ResponseWriter, r *http.Request) {
	owner := safeOf(r).Owner.ID
	docs, err := h.share.AgentShareableDocuments(r.Context(), agentOf(r).Agent, owner, h.clientIP(r))
	if err != nil {
		h.agentError(w, r, err)
		return
	}
	h.renderAgent(w, r, http.StatusOK, "agent_share", view{Title: "share.title"},
		&agentShareView{Owner: owner, F: shareForm{Docs: h.offered(r, docs), Lifetime: "24h", Mark: markAuto}})
}

func (h *handler) agentShare(w http.ResponseWriter, r *http.Request) {
	owner := safeOf(r).Owner.ID
	f, err := parseShareForm(r)
	again := func(msg string) {
		docs, err := h.share.AgentShareableDocuments(r.Context(), agentOf(r).Agent, owner, h.clientIP(r))
		if err != nil {
			h.agentError(w, r, err)
			return
		}
		f.Docs = h.offered(r, docs)
		h.renderAgent(w, r, http.StatusUnprocessableEntity, "agent_share", view{Title: "share.title", Error: h.t(r, msg)}, &agentShareView{Owner: owner, F: f})
	}
	if err != nil {
		again(err.Error())
		return
	}
	// The kinds decide the default mark: only the chosen papers the agent may share are
	// looked at, without journaling a listing (the titles are not shown).
	var watermark string
	if f.Mark != markNo {
		docs, err := h.vault.DocumentsIn(r.Context(), owner, f.Chosen)
		if err != nil {
			h.agentError(w, r, err)
			return
		}
		watermark = watermarkFor(f.Mark, docs, func(vault.Document) bool { return true }, f.Recipient, f.Purpose, h.localNow(r))
	}
	c, err := h.share.AgentCreateLink(r.Context(), agentOf(r).Agent, owner, sharing.NewLink{
		Documents: f.Chosen, Purpose: f.Purpose, Lifetime: f.lifetime(), MaxDownloads: f.MaxDownloads, WithCode: f.WithCode,
		Watermark: watermark}, h.clientIP(r))
	switch {
	case errors.Is(err, sharing.ErrInvalid):
		again("share.error.invalid")
		return
	case err != nil:
		h.agentError(w, r, err)
		return
	}
	cv, err := h.createdLink(r, c)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.renderAgent(w, r, http.StatusOK, "agent_shared", view{Title: "shared.title"}, &agentSharedView{createdView: cv})
}
