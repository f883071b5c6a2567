package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"coffre/sharing"
)

func postForm(form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// The form parsers of the desk, the référent's pages and the API: each bad form gets its
// sentence, and what goes back to a page is only what may be shown.
func TestFormParsers(t *testing.T) {
	t.Parallel()
	doc := uuid.NewString()
	share := url.Values{"doc": {doc, "pas-un-id"}, "lifetime": {"24h"}, "mark": {"oui"}, "recipient": {"CAF"}, "purpose": {"Dossier"}, "code": {"oui"}, "limit": {"3"}}
	for _, c := range []struct {
		name    string
		parse   func(*http.Request) error
		form    url.Values
		wantErr string
	}{
		{"share", func(r *http.Request) error {
			f, err := parseShareForm(r)
			if err == nil && (len(f.Chosen) != 1 || f.Chosen[0].String() != doc || !f.WithCode || f.MaxDownloads != 3 || f.lifetime().Hours() != 24) {
				t.Errorf("share form read as %+v", f)
			}
			return err
		}, share, ""},
		{"share without paper", func(r *http.Request) error { _, err := parseShareForm(r); return err },
			url.Values{"lifetime": {"24h"}}, "share.error.nodoc"},
		{"share for ever", func(r *http.Request) error { _, err := parseShareForm(r); return err },
			url.Values{"doc": {doc}, "lifetime": {"toujours"}}, "share.error.lifetime"},
		{"share with an unknown mark", func(r *http.Request) error { _, err := parseShareForm(r); return err },
			url.Values{"doc": {doc}, "lifetime": {"1h"}, "mark": {"peut-etre"}}, "share.error.invalid"},
		{"share to a name too long", func(r *http.Request) error { _, err := parseShareForm(r); return err },
			url.Values{"doc": {doc}, "lifetime": {"1h"}, "recipient": {strings.Repeat("é", maxRecipient+1)}}, "share.error.invalid"},
		{"agent password mismatch", func(r *http.Request) error { _, err := parseAgentPasswordForm(r); return err },
			url.Values{"current": {"x"}, "password": {"un mot de passe"}, "password2": {"un autre"}}, "signup.mismatch"},
		{"new secret mismatch", func(r *http.Request) error { _, err := parseAccessCodeForm(r); return err },
			url.Values{"code": {"x"}, "secret": {"un secret"}, "secret2": {"un autre"}}, "signup.mismatch"},
		{"open a safe in an unknown language", func(r *http.Request) error { _, err := parseOpenSafeForm(r); return err },
			url.Values{"login": {"marie.d"}, "lang": {"xx"}}, "account.badlang"},
		{"open a safe in French by default", func(r *http.Request) error {
			f, err := parseOpenSafeForm(r)
			if f.Lang != "fr" || f.Login != "marie.d" {
				t.Errorf("open form read as %+v", f)
			}
			return err
		}, url.Values{"login": {" marie.d "}}, ""},
		{"recovery without the agent's word", func(r *http.Request) error { _, err := parseRecoverForm(r); return err },
			url.Values{"document": {"cni"}, "fin": {"1234"}}, "agent.recover.attest"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.parse(postForm(c.form))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != c.wantErr {
				t.Errorf("error %q, want %q", got, c.wantErr)
			}
		})
	}
}

// The page an agent goes back to after typing their password again is one of the
// desk's, never another site.
func TestAgentReverifyBack(t *testing.T) {
	t.Parallel()
	for back, want := range map[string]string{
		"/agent/personnes/x/mandat": "/agent/personnes/x/mandat",
		"https://ailleurs.example/": "/agent",
		"//ailleurs.example/agent/": "/agent",
		"/agent/\\ailleurs.example": "/agent",
		"/papiers":                  "/agent",
		"":                          "/agent",
	} {
		if got := parseAgentReverifyForm(postForm(url.Values{"retour": {back}})).Back; got != want {
			t.Errorf("back %q: %q, want %q", back, got, want)
		}
	}
}

// The person's secret typed on the mandate form reaches the domain, and no template:
// the form shown again holds it in an unexported field.
func TestMandateFormKeepsTheSecretOut(t *testing.T) {
	t.Parallel()
	f := parseMandateForm(postForm(url.Values{"scope": {"read", "deposit"}, "duration": {"6m"}, "secret": {"le secret de Marie"}}))
	if f.consent.Method != sharing.ConsentSecret || f.consent.Secret != "le secret de Marie" || len(f.mandate.Scopes) != 2 || !f.Scopes["read"] {
		t.Errorf("mandate form read as %+v", f)
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("le secret de Marie")) {
		t.Errorf("the secret is in the form's exported fields: %s", b)
	}
	phone := parseMandateForm(postForm(url.Values{"consent": {"phone"}, "secret": {"ignoré"}}))
	if phone.consent.Method != sharing.ConsentPhone || phone.consent.Secret != "" {
		t.Errorf("phone consent read as %+v", phone.consent)
	}
}

// The token endpoint's form: an unknown grant is the OAuth error to answer.
func TestTokenForm(t *testing.T) {
	t.Parallel()
	_, err := parseTokenForm(postForm(url.Values{"grant_type": {"password"}}))
	var oe *sharing.OAuthError
	if !errors.As(err, &oe) || oe.Code != "unsupported_grant_type" {
		t.Errorf("password grant: %v", err)
	}
	f, err := parseTokenForm(postForm(url.Values{"grant_type": {"client_credentials"}, "client_id": {""}}))
	if err != nil || !f.HasClientID || f.HasSecret {
		t.Errorf("client credentials: %+v, %v", f, err)
	}
}

// The token answer keeps the shape it always had.
func TestTokenAnswerShape(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(tokenAnswer{AccessToken: "t", TokenType: "Bearer", ExpiresIn: 60,
		AuthorizationDetails: []any{grantDetails{Type: "coffre_documents", Documents: []string{"d"}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"access_token":"t","authorization_details":[{"documents":["d"],"type":"coffre_documents"}],"expires_in":60,"token_type":"Bearer"}`
	if string(b) != want {
		t.Errorf("answer %s, want %s", b, want)
	}
	b, _ = json.Marshal(tokenAnswer{AccessToken: "t", TokenType: "Bearer", ExpiresIn: 60})
	if strings.Contains(string(b), "authorization_details") {
		t.Errorf("answer without details: %s", b)
	}
}

// A message with « & » or « = » in a mailto: link must reach the mail program whole.
func TestMailEscape(t *testing.T) {
	msg := "Voici mes papiers : https://coffre.example/p/abc?x=1&y=2 + le code 123456"
	link := "mailto:?body=" + mailEscape(msg)
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Query().Get("body"); got != msg {
		t.Errorf("the mail program reads %q, want %q", got, msg)
	}
	if strings.Contains(link, "+") || strings.Contains(link, " ") {
		t.Errorf("%q: spaces must be %%20", link)
	}
}
