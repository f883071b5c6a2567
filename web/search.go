package web

import (
	"errors"
	"net/http"
	"strings"

	"coffre/vault"
)

// searchLimit is how many papers a search shows: the newest first, the others one more
// word away.
const searchLimit = 50

// maxQueryLen bounds what is typed in the search box, in characters.
const maxQueryLen = 200

// searchForm is what the search box sends.
type searchForm struct {
	Query string
}

// parseSearchForm reads the search box (?q=); an empty one is no search yet.
func parseSearchForm(r *http.Request) (searchForm, error) {
	f := searchForm{Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	if utf8Len(f.Query) > maxQueryLen {
		return searchForm{Query: string([]rune(f.Query)[:maxQueryLen])}, errors.New("search.long")
	}
	return f, nil
}

// searchView is the search page: the box, and the papers found in the layout of « Mes
// papiers ».
type searchView struct {
	Query    string
	Searched bool
	Docs     []docItem
	Total    int
	More     bool // more papers matched than are shown
	Reading  bool // the texts read are searched too
	Offered  bool // the service offers to read papers (Mon compte)
}

// search finds the owner's papers by the words of their title, kind and, when reading is
// on, text (vault.Search: the database answers from the blind index). It works without
// JavaScript: a GET form.
func (h *handler) search(w http.ResponseWriter, r *http.Request) {
	owner := h.ownerID(r)
	f, ferr := parseSearchForm(r)
	v := searchView{Query: f.Query, Offered: h.cfg.Reading != nil}
	on, err := h.vault.ReadsPapers(r.Context(), owner)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	v.Reading = on
	page := view{Title: "search.title", Nav: "list", Data: &v}
	if ferr != nil {
		page.Error = h.refusalText(r, ferr)
		h.render(w, r, http.StatusUnprocessableEntity, "search", page)
		return
	}
	if f.Query != "" {
		found, err := h.vault.Search(r.Context(), owner, f.Query, searchLimit)
		switch {
		case errors.Is(err, vault.ErrInvalid):
			page.Error = h.t(r, "search.noword")
			h.render(w, r, http.StatusUnprocessableEntity, "search", page)
			return
		case err != nil:
			h.serverError(w, r, err)
			return
		}
		v.Searched, v.Docs, v.Total = true, h.items(r, found.Docs, h.now()), found.Total
		v.More = found.Total > len(found.Docs)
	}
	h.render(w, r, http.StatusOK, "search", page)
}
