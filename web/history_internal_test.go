package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"coffre/vault"
	"coffre/vault/account"
)

// constsOfType lists the string constants of type typ ("Action", or "vault.Action" from
// another package) declared in the Go files of dir, tests aside: the journal's actions and
// actor kinds, found in the source so that a new one cannot be forgotten here.
func constsOfType(t *testing.T, dir, typ string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	typeName := func(e ast.Expr) string {
		switch x := e.(type) {
		case *ast.Ident:
			return x.Name
		case *ast.SelectorExpr:
			if p, ok := x.X.(*ast.Ident); ok {
				return p.Name + "." + x.Sel.Name
			}
		}
		return ""
	}
	var out []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for i, v := range vs.Values {
					if call, ok := v.(*ast.CallExpr); ok && len(call.Args) == 1 && typeName(call.Fun) == typ {
						v = call.Args[0]
					} else if vs.Type == nil || typeName(vs.Type) != typ {
						continue
					}
					lit, ok := v.(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("%s: constant %s of type %s is not a string literal", f, vs.Names[i].Name, typ)
					}
					s, _ := strconv.Unquote(lit.Value)
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// Every journal entry reads as a sentence in every language, whoever acted and whatever
// the entry names: one of each action (found in the source of vault, account and sharing) by each
// kind of actor, with and without a paper, a detail, a known name.
func TestHistorySentences(t *testing.T) {
	t.Parallel()
	actions := append(constsOfType(t, "../vault", "Action"), constsOfType(t, "../vault/account", "vault.Action")...)
	actions = append(actions, constsOfType(t, "../sharing", "vault.Action")...)
	kinds := constsOfType(t, "../vault", "ActorKind")
	for _, must := range []vault.Action{account.ActionLogin, vault.ActionDeposit, account.ActionPasskeyAdded, account.ActionAccessRecovered, "link_opened", "mandate_granted", "delivered"} {
		if !strings.Contains(" "+strings.Join(actions, " ")+" ", " "+string(must)+" ") {
			t.Fatalf("the source scan missed action %s: %v", must, actions)
		}
	}
	if len(kinds) < 7 {
		t.Fatalf("the source scan found %d actor kinds: %v", len(kinds), kinds)
	}
	// Every language has every history message: i18n.TestCatalogues.
	h := &handler{pages: parsePages(loadAssets()), log: slog.New(slog.DiscardHandler)}
	known, deleted := uuid.New(), uuid.New()
	titles := map[uuid.UUID]string{known: "Attestation CAF de mars"}
	actorID := uuid.NewString()
	names := map[string]string{actorID: "Nom connu"}
	unknown := map[string]bool{}
	for _, lang := range languages {
		unknown[h.pages.cat.text(lang, "history.unknown")] = true
	}
	for _, lang := range languages {
		r := httptest.NewRequest(http.MethodGet, "/historique", nil)
		r.AddCookie(&http.Cookie{Name: "lang", Value: lang})
		for _, action := range actions {
			for _, kind := range kinds {
				for _, doc := range []uuid.NullUUID{{}, {UUID: known, Valid: true}, {UUID: deleted, Valid: true}} {
					for _, detail := range []string{"", "locked", "passkey", "deposit", "Mme D. (CCAS de Lille) — déposer un papier"} {
						for _, nm := range []map[string]string{{}, names} {
							e := vault.Entry{ActorKind: vault.ActorKind(kind), ActorID: actorID, Action: vault.Action(action), DocumentID: doc}
							e.Personal = []byte(`{"detail":` + strconv.Quote(detail) + `,"salt":""}`)
							s := h.sentence(r, e, titles, nm)
							bad := ""
							switch {
							case strings.TrimSpace(s) == "":
								bad = "empty"
							case strings.Contains(s, "%!"):
								bad = "formatting error"
							case strings.Contains(strings.ToLower(s), "history."):
								bad = "raw message key"
							case unknown[s]:
								bad = "no sentence of its own"
							}
							if bad != "" {
								t.Errorf("[%s] %s by %s (document %v, detail %q, %d names): %s: %q", lang, action, kind, doc.Valid, detail, len(nm), bad, s)
							}
						}
					}
				}
			}
		}
	}
}

// TestHistoryScopeTranslated: what an agent tried without a mandate is kept in the
// journal in French (sharing's words); the history says it in the reader's language.
func TestHistoryScopeTranslated(t *testing.T) {
	t.Parallel()
	h := &handler{pages: parsePages(loadAssets()), log: slog.New(slog.DiscardHandler)}
	e := vault.Entry{ActorKind: vault.ActorAidant, ActorID: uuid.NewString(), Action: vault.ActionDenied}
	e.Personal = []byte(`{"detail":"Mme D. (CCAS de Lille) — déposer un document","salt":""}`)
	for lang, want := range map[string]string{
		"fr": "Mme D. (CCAS de Lille) a essayé de déposer un document, sans autorisation.",
		"en": "deposit a document",
		"ar": "إضافة وثيقة",
	} {
		r := httptest.NewRequest(http.MethodGet, "/historique", nil)
		r.AddCookie(&http.Cookie{Name: "lang", Value: lang})
		if s := h.sentence(r, e, nil, nil); !strings.Contains(s, want) || (lang != "fr" && strings.Contains(s, "déposer")) {
			t.Errorf("[%s] %q, want it to say %q", lang, s, want)
		}
	}
}

// TestHistoryWrongPasswordAtDesk: a wrong password typed on an agent's screen is most
// often the person's own: the history does not say the agent tried, in any language.
func TestHistoryWrongPasswordAtDesk(t *testing.T) {
	t.Parallel()
	h := &handler{pages: parsePages(loadAssets()), log: slog.New(slog.DiscardHandler)}
	e := vault.Entry{ActorKind: vault.ActorAidant, ActorID: uuid.NewString(), Action: vault.ActionDenied}
	e.Personal = []byte(`{"detail":"Mme D. (CCAS de Lille) — débloquer votre coffre avec un mauvais mot de passe","salt":""}`)
	for _, lang := range languages {
		r := httptest.NewRequest(http.MethodGet, "/historique", nil)
		r.AddCookie(&http.Cookie{Name: "lang", Value: lang})
		s := h.sentence(r, e, nil, nil)
		if want := h.pages.cat.text(lang, "history.denied.unlock"); s != strings.Replace(want, "%s", "Mme D. (CCAS de Lille)", 1) {
			t.Errorf("[%s] %q, want history.denied.unlock", lang, s)
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/historique", nil)
	if s := h.sentence(r, e, nil, nil); s != "Un mauvais mot de passe a été tapé pour ouvrir votre coffre chez Mme D. (CCAS de Lille). Rien n'a été ouvert." {
		t.Errorf("%q", s)
	}
}

// TestNetworkShown: the network a history line names is written as a person reads an
// address, its unknown part « … ».
func TestNetworkShown(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"203.0.113.0/24":     "203.0.113.…",
		"127.0.0.0/24":       "127.0.0.…",
		"2001:db8:1234::/48": "2001:db8:1234:…",
		"2a01:e0a::/48":      "2a01:e0a:0:…",
		"pas une adresse":    "pas une adresse",
	} {
		if got := networkShown(in); got != want {
			t.Errorf("networkShown(%q) = %q, want %q", in, got, want)
		}
	}
}
