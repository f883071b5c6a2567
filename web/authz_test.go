package web_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/zitadel/oidc/v3/example/server/storage"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
	"coffre/web"
)

// The authorization matrix (issue 11): every route of the real router, found by walking
// it, against every kind of actor, with the answer each must get. A route without a row,
// or a row without a route, fails the test. Path parameters are the victim's own IDs
// (her paper, its file, her link, session, passkey, mandates, her person ID), so that
// whoever is not allowed tries real IDs and must get exactly the answer a missing ID
// gets. Every refusal that concerns the victim's safe (one of her papers, or her person
// ID at the agents' desk) must leave exactly one failed attempt in her journal and
// nothing anywhere else; every other refusal leaves nothing at all.

// The actors. Each acts from a network of its own (127.0.N.1), so that the throttles on
// sign-in failures and unknown link tokens, kept per network, count each one alone.
const (
	anonymous   = "anonymous"
	victimOwner = "owner"          // the victim, in her own safe
	otherOwner  = "other-owner"    // another owner, trying the victim's IDs
	closedOwner = "closed-safe"    // an owner whose safe is closed
	codeOwner   = "temporary-code" // an owner signed in with a code given at a desk
	agRead      = "agent-read"     // agents whose structure holds a mandate from the victim with one scope
	agDeposit   = "agent-deposit"
	agShare     = "agent-share"
	agRecover   = "agent-recover"
	agOther     = "agent-other-structure" // an agent of a structure that helps someone else
	agNone      = "agent-no-mandate"      // an agent of a structure that helps nobody
	agExpired   = "agent-expired-mandate" // the victim's mandate to the structure expired
	agRevoked   = "agent-revoked-mandate" // the victim ended the mandate
	agGone      = "agent-deactivated"     // signed in, then deactivated
	referent    = "referent"              // a référent of a structure without mandate
	linkHolder  = "link-holder"           // holds a share link of the victim
	teleservice = "teleservice"           // holds an access token the victim granted
	teleNoGrant = "teleservice-no-grant"  // holds an access token someone else granted
	issuerActor = "issuer"                // deposits through a subscription the victim gave it
	issuerOther = "issuer-other"          // an issuer the victim gave nothing to
)

//nolint:gochecknoglobals // constant lists
var (
	actorNames = []string{anonymous, victimOwner, otherOwner, closedOwner, codeOwner, agRead, agDeposit, agShare, agRecover,
		agOther, agNone, agExpired, agRevoked, agGone, referent, linkHolder, teleservice, teleNoGrant, issuerActor, issuerOther}
	ownerSessions = []string{victimOwner, otherOwner, closedOwner, codeOwner}
	liveAgents    = []string{agRead, agDeposit, agShare, agRecover, agOther, agNone, agExpired, agRevoked, referent}
	reaching      = []string{agRead, agDeposit, agShare, agRecover}
	clients       = []string{teleservice, teleNoGrant}
)

// want is an expected answer.
type want struct {
	name   string
	status int
	to     string // the Location: exact, or a prefix when it ends with "*"
	// refusal: the actor may not do this. traced: the refusal concerns the victim's safe
	// and leaves exactly one failed attempt in it.
	refusal, traced bool
}

func (w want) String() string { return w.name }

//nolint:gochecknoglobals // the matrix's vocabulary
var (
	allowed       = want{name: "allowed", status: http.StatusOK}
	invalidForm   = want{name: "invalid form", status: http.StatusUnprocessableEntity}
	badRequest    = want{name: "bad request", status: http.StatusBadRequest}
	toSignIn      = want{name: "to sign-in", status: http.StatusSeeOther, to: "/connexion", refusal: true}
	toAgentSignIn = want{name: "to agents' sign-in", status: http.StatusSeeOther, to: "/agent/connexion", refusal: true}
	toClosed      = want{name: "to closed page", status: http.StatusSeeOther, to: "/compte/ferme", refusal: true}
	toNewSecret   = want{name: "to choose a secret", status: http.StatusSeeOther, to: "/compte/code", refusal: true}
	unauthorized  = want{name: "unauthorized", status: http.StatusUnauthorized, refusal: true}
	forbidden     = want{name: "forbidden", status: http.StatusForbidden, refusal: true}
	notFound      = want{name: "not found", status: http.StatusNotFound, refusal: true}
	// denied is "not found", the answer to a missing ID, journaled in the victim's safe.
	denied = traced(notFound)
)

// done is a success that redirects to "to".
func done(to string) want { return want{name: "done → " + to, status: http.StatusSeeOther, to: to} }

// traced is w as a refusal that leaves one failed attempt in the victim's safe.
func traced(w want) want {
	w.name, w.refusal, w.traced = w.name+", traced", true, true
	return w
}

// answers gives each actor its expected answer.
type answers map[string]want

func everyone(w want) answers {
	a := answers{}
	for _, n := range actorNames {
		a[n] = w
	}
	return a
}

// with sets w for the actors named.
func (a answers) with(w want, actors ...string) answers {
	out := answers{}
	for k, v := range a {
		out[k] = v
	}
	for _, n := range actors {
		out[n] = w
	}
	return out
}

func gate(method string, get want) want {
	if method == http.MethodGet {
		return get
	}
	if get == toClosed || get == toNewSecret {
		return forbidden
	}
	return unauthorized
}

// ownerRoute is a route of the owners' pages: the sign-in page for whoever has no owner
// session, the closed page for the owner of a closed safe, the page where one chooses
// one's secret for a session opened with a temporary code; mine is the victim's answer,
// others another owner's.
func ownerRoute(method string, mine, others want) answers {
	return everyone(gate(method, toSignIn)).
		with(gate(method, toClosed), closedOwner).
		with(gate(method, toNewSecret), codeOwner).
		with(mine, victimOwner).with(others, otherOwner)
}

// agentRoute is a route of the agents' desk, w for every signed-in agent.
func agentRoute(method string, w want) answers {
	return everyone(gate(method, toAgentSignIn)).with(w, liveAgents...)
}

// personRoute is a route of the desk about the victim's safe: the agents named get w,
// every other agent is refused like a missing person, in the victim's journal.
func personRoute(method string, w want, agents ...string) answers {
	return agentRoute(method, denied).with(w, agents...)
}

// row is one route of the matrix and how to call it.
type row struct {
	route     string // "METHOD pattern", as chi.Walk names it
	ans       answers
	params    map[string]string // path parameters other than the defaults
	query     string
	form      url.Values
	multipart bool
	// fresh: the request ends or changes the session it is made in, so each actor makes
	// it in a new one.
	fresh bool
	// late: run after every other request of the actor, in this order (ending every
	// session, reopening the closed safe).
	late int
	// victim2: the safe concerned is the second victim's (a recovery replaces her secret).
	victim2 bool
}

// matrixRows is the table. Placeholders {name} in paths, queries and forms are filled by
// the fixture (fixture.params), per actor.
func matrixRows() []row {
	G, P := http.MethodGet, http.MethodPost
	return []row{
		// Public, and the same for everyone.
		{route: "GET /healthz", ans: everyone(allowed)},
		{route: "GET /readyz", ans: everyone(allowed)},
		{route: "GET /static/{hash}/{name}", ans: everyone(allowed)},
		{route: "GET /aide", ans: everyone(allowed)},
		{route: "GET /accessibilite", ans: everyone(allowed)},
		{route: "GET /langue", ans: everyone(allowed)},
		{route: "GET /langue/{lang}", ans: everyone(done("/"))},
		{route: "GET /", ans: everyone(allowed).with(done("/papiers"), ownerSessions...)},
		{route: "GET /connexion", ans: everyone(allowed)},
		{route: "POST /connexion", ans: everyone(unauthorized), form: url.Values{"login": {"{unknown}"}, "secret": {"pas le bon secret"}}},
		{route: "GET /inscription", ans: everyone(allowed)},
		{route: "POST /inscription", ans: everyone(invalidForm), form: url.Values{"login": {"{unknown}"}, "secret": {"un secret assez long"}, "secret2": {"un autre secret"}}},
		{route: "GET /connexion/franceconnect", ans: everyone(done("{issuer}*"))},
		{route: "GET /connexion/franceconnect/retour", ans: everyone(unauthorized), query: "state=forged&code=x"},
		{route: "POST /connexion/cle/debut", ans: everyone(allowed)},
		{route: "POST /connexion/cle/fin", ans: everyone(unauthorized)},
		{route: "GET /mandat/verifier", ans: everyone(allowed), query: "r={receipt}"},
		{route: "GET /agent/connexion", ans: everyone(allowed)},
		{route: "POST /agent/connexion", ans: everyone(unauthorized), form: url.Values{"login": {"{unknown}"}, "password": {"pas le bon"}, "code": {"000000"}}},
		{route: "GET /agent/connexion/proconnect", ans: everyone(done("{issuer}*"))},
		{route: "GET /agent/connexion/proconnect/retour", ans: everyone(unauthorized), query: "state=forged&code=x"},

		// The API: bearer tokens and client credentials, never cookies.
		{route: "GET /api/v1/openapi.json", ans: everyone(allowed)},
		{route: "GET /.well-known/jwks.json", ans: everyone(allowed)},
		{route: "GET /api/v1/links/{token}", ans: everyone(notFound).with(allowed, linkHolder)},
		{route: "GET /api/v1/links/{token}/documents/{document}", ans: everyone(notFound).with(allowed, linkHolder)},
		{route: "POST /api/v1/oauth/token", ans: everyone(unauthorized).with(badRequest, clients...),
			form: url.Values{"grant_type": {"authorization_code"}, "code": {"un-code-inconnu"}, "redirect_uri": {"{redirect}"}, "code_verifier": {"{verifier}"}}},
		{route: "GET /api/v1/grant", ans: everyone(unauthorized).with(allowed, clients...)},
		{route: "GET /api/v1/grant/documents/{document}", ans: everyone(unauthorized).with(allowed, teleservice).with(denied, teleNoGrant)},
		// Without Repr-Digest the victim's issuer is told what is missing; another issuer
		// is refused like a missing subscription.
		{route: "POST /api/v1/subscriptions/{subscription}/documents", ans: everyone(unauthorized).with(badRequest, issuerActor).with(denied, issuerOther),
			form: url.Values{"kind": {"caf"}, "title": {"Attestation"}}, multipart: true},

		// A share link: the token is the key.
		{route: "GET /p/{token}/", ans: everyone(notFound).with(allowed, linkHolder)},
		{route: "POST /p/{token}/", ans: everyone(notFound).with(done("/p/{token}"), linkHolder), form: url.Values{"code": {"000000"}}},
		{route: "GET /p/{token}/document/{doc}", ans: everyone(notFound).with(allowed, linkHolder)},
		{route: "GET /p/{token}/tout.pdf", ans: everyone(notFound).with(allowed, linkHolder)},

		// « Choisir dans mon coffre ».
		{route: "GET /oauth/authorize", ans: ownerRoute(G, allowed, allowed), query: "{oauth}"},
		{route: "POST /oauth/authorize", ans: ownerRoute(P, done("{redirect}*"), traced(invalidForm)),
			form: url.Values{"q": {"{oauth}"}, "decision": {"donner"}, "doc": {"{id}"}, "mark": {"oui"}}},

		// The owner's papers.
		{route: "GET /papiers", ans: ownerRoute(G, allowed, allowed)},
		{route: "GET /papiers/ajouter", ans: ownerRoute(G, allowed, allowed)},
		{route: "GET /papiers/chercher", ans: ownerRoute(G, allowed, allowed), query: "q=attestation"},
		{route: "POST /papiers/ajouter", ans: ownerRoute(P, invalidForm, invalidForm), form: url.Values{"kind": {"caf"}, "title": {"Sans page"}}, multipart: true},
		{route: "GET /papiers/{id}", ans: ownerRoute(G, allowed, denied)},
		{route: "GET /papiers/{id}/vignette", ans: ownerRoute(G, allowed, denied)},
		{route: "GET /papiers/{id}/fichier/{blob}", ans: ownerRoute(G, allowed, denied)},
		{route: "GET /papiers/{id}/imprimer", ans: ownerRoute(G, allowed, denied)},
		{route: "GET /papiers/{id}/modifier", ans: ownerRoute(G, allowed, denied)},
		{route: "POST /papiers/{id}/modifier", ans: ownerRoute(P, invalidForm, denied), form: url.Values{"title": {"Titre"}, "kind": {"pas-un-type"}}},
		{route: "GET /papiers/{id}/supprimer", ans: ownerRoute(G, allowed, denied)},
		{route: "POST /papiers/{id}/supprimer", ans: ownerRoute(P, done("/papiers?supprime=1"), denied), params: map[string]string{"id": "{docDelete}"}},
		{route: "POST /papiers/{id}/reprendre", ans: ownerRoute(P, done("/papiers/ajouter?*"), denied), params: map[string]string{"id": "{docRetake}"}},
		// The victim's paper has no expiry date, so no reminder to dismiss.
		{route: "POST /papiers/{id}/rappel/masquer", ans: ownerRoute(P, notFound, denied)},
		{route: "POST /papiers/{id}/proposition", ans: ownerRoute(P, done("/papiers/{id}"), denied), form: url.Values{"reponse": {"non"}}},
		{route: "GET /papiers/{id}/partager", ans: ownerRoute(G, allowed, denied)},
		{route: "GET /partager", ans: ownerRoute(G, allowed, allowed)},
		{route: "POST /partager", ans: ownerRoute(P, allowed, denied), form: url.Values{"doc": {"{id}"}, "lifetime": {"1h"}, "purpose": {"Matrice"}, "mark": {"oui"}, "recipient": {"Matrice"}}},
		{route: "GET /partages", ans: ownerRoute(G, allowed, allowed)},
		{route: "POST /partages/{lid}/revoquer", ans: ownerRoute(P, done("/partages"), notFound)},
		{route: "GET /historique", ans: ownerRoute(G, allowed, allowed)},

		// The owner's account.
		{route: "GET /compte", ans: ownerRoute(G, allowed, allowed)},
		{route: "GET /compte/code", ans: ownerRoute(G, done("/papiers"), done("/papiers")).with(allowed, codeOwner)},
		{route: "POST /compte/code", ans: ownerRoute(P, done("/papiers"), done("/papiers")).with(invalidForm, codeOwner),
			form: url.Values{"code": {"pas-le-code"}, "secret": {"un secret assez long"}, "secret2": {"un autre secret"}}},
		{route: "POST /compte/secret", ans: ownerRoute(P, invalidForm, invalidForm), form: url.Values{"current": {"x"}, "secret": {"un secret assez long"}, "secret2": {"un autre secret"}}},
		{route: "POST /compte/langue", ans: ownerRoute(P, invalidForm, invalidForm), form: url.Values{"lang": {"xx"}}},
		{route: "POST /compte/heure", ans: ownerRoute(P, invalidForm, invalidForm), form: url.Values{"zone": {"Europe/Berlin"}}},
		{route: "POST /compte/lecture", ans: ownerRoute(P, badRequest, badRequest), form: url.Values{"lecture": {"peut-etre"}}},
		{route: "POST /compte/sessions/{sid}/fin", ans: ownerRoute(P, done("/compte"), notFound)},
		{route: "GET /compte/verifier", ans: ownerRoute(G, allowed, allowed)},
		{route: "POST /compte/verifier", ans: ownerRoute(P, done("/compte"), done("/compte")), form: url.Values{"secret": {"{secret}"}, "retour": {"/compte"}}},
		// The victim has a passkey (a ceremony begins, and its end fails), the other owner none.
		{route: "POST /compte/verifier/cle/debut", ans: ownerRoute(P, allowed, badRequest)},
		{route: "POST /compte/verifier/cle/fin", ans: ownerRoute(P, unauthorized, badRequest)},
		{route: "POST /compte/cles/debut", ans: ownerRoute(P, allowed, allowed)},
		{route: "POST /compte/cles/fin", ans: ownerRoute(P, badRequest, badRequest)},
		{route: "GET /compte/export", ans: ownerRoute(G, allowed, allowed).with(allowed, closedOwner)},
		{route: "POST /compte/export", ans: ownerRoute(P, invalidForm, invalidForm).with(invalidForm, closedOwner), form: url.Values{"protect": {"1"}, "passphrase": {"court"}, "passphrase2": {"court"}}},
		{route: "GET /compte/fermer", ans: ownerRoute(G, allowed, allowed)},
		{route: "POST /compte/fermer", ans: ownerRoute(P, invalidForm, invalidForm), form: url.Values{"secret": {"pas le bon secret"}}},
		{route: "GET /compte/ferme", ans: ownerRoute(G, done("/compte"), done("/compte")).with(allowed, closedOwner)},
		// Nothing to cancel: no agent asked for a new code.
		{route: "POST /compte/recuperation/annuler", ans: ownerRoute(P, notFound, notFound).with(notFound, codeOwner)},
		// Channels: nobody has one yet, so there is no code to send again nor anything to remove.
		{route: "POST /compte/messages/liens", ans: ownerRoute(P, done("/compte?messages=liens*"), done("/compte?messages=liens*")), form: url.Values{"links": {"1"}}},
		{route: "POST /compte/messages/{kind}/ajouter", ans: ownerRoute(P, invalidForm, invalidForm), params: map[string]string{"kind": "email"}, form: url.Values{"address": {"pas une adresse"}}},
		{route: "POST /compte/messages/{kind}/code", ans: ownerRoute(P, invalidForm, invalidForm), params: map[string]string{"kind": "sms"}, form: url.Values{"code": {"12"}}},
		{route: "POST /compte/messages/{kind}/renvoyer", ans: ownerRoute(P, notFound, notFound), params: map[string]string{"kind": "sms"}},
		{route: "POST /compte/messages/{kind}/retirer", ans: ownerRoute(P, notFound, notFound), params: map[string]string{"kind": "email"}},
		{route: "GET /compte/aidants", ans: ownerRoute(G, allowed, allowed)},
		{route: "POST /compte/aidants/{mid}/arreter", ans: ownerRoute(P, done("/compte/aidants?arrete=1"), notFound), params: map[string]string{"mid": "{mandateEnd}"}},
		{route: "POST /compte/aidants/{mid}/confirmer", ans: ownerRoute(P, done("/compte/aidants?confirme=1"), notFound), params: map[string]string{"mid": "{mandateConfirm}"}},
		{route: "POST /compte/deposants/{sub}/arreter", ans: ownerRoute(P, done("/compte?depot=arrete#s-deposits"), notFound), params: map[string]string{"sub": "{subscriptionEnd}"}},
		{route: "POST /compte/aidants/{mid}/refuser", ans: ownerRoute(P, done("/compte/aidants?refuse=1"), notFound), params: map[string]string{"mid": "{mandateRefuse}"}},
		{route: "POST /deconnexion", ans: ownerRoute(P, done("/"), done("/")).with(done("/"), closedOwner, codeOwner), fresh: true},
		// Last: deleting a passkey ends the owner's other sessions, then every session
		// ends, then the closed safe is reopened.
		{route: "POST /compte/cles/{pid}/supprimer", ans: ownerRoute(P, done("/compte"), notFound), fresh: true, late: 1},
		{route: "POST /compte/sessions/fin", ans: ownerRoute(P, done("/connexion"), done("/connexion")), fresh: true, late: 2},
		{route: "POST /compte/rouvrir", ans: ownerRoute(P, done("/papiers"), done("/papiers")).with(allowed, closedOwner), fresh: true, late: 3},

		// The agents' desk.
		{route: "GET /agent", ans: agentRoute(G, allowed)},
		{route: "GET /agent/mot-de-passe", ans: agentRoute(G, allowed)},
		{route: "POST /agent/mot-de-passe", ans: agentRoute(P, invalidForm), form: url.Values{"current": {"x"}, "password": {"un mot de passe long"}, "password2": {"un autre mot de passe"}}},
		{route: "GET /agent/ouvrir", ans: agentRoute(G, allowed)},
		{route: "POST /agent/ouvrir", ans: agentRoute(P, invalidForm), form: url.Values{"login": {""}}},
		{route: "POST /agent/verifier", ans: agentRoute(P, unauthorized), form: url.Values{"password": {"pas le bon"}, "code": {"000000"}, "retour": {"/agent"}}},
		{route: "GET /agent/proconnect", ans: agentRoute(G, allowed)},
		{route: "POST /agent/proconnect", ans: agentRoute(P, done("{issuer}*"))},
		{route: "POST /agent/deconnexion", ans: agentRoute(P, done("/agent/connexion")), fresh: true},
		{route: "GET /agent/mandat", ans: personRoute(G, done("/agent/personnes/{owner}/mandat"), reaching...), query: "identifiant={login}"},
		{route: "POST /agent/mandat", ans: personRoute(P, done("/agent/personnes/{owner}/mandat"), reaching...), form: url.Values{"identifiant": {"{login}"}}},
		// No card for a code that is not the safe's temporary code, whoever asks.
		{route: "POST /agent/personnes/{owner}/carte", ans: agentRoute(P, denied), form: url.Values{"code": {"abcd-efgh-jkmn"}, "format": {"A6"}}},
		{route: "GET /agent/personnes/{owner}/mandat", ans: personRoute(G, allowed, reaching...)},
		{route: "POST /agent/personnes/{owner}/mandat", ans: personRoute(P, invalidForm, reaching...), form: url.Values{"consent": {"phone"}, "duration": {"6m"}}},
		// Another structure's mandate is refused like a missing one.
		{route: "GET /agent/personnes/{owner}/mandat/{mid}", ans: agentRoute(G, denied).with(allowed, agRead), params: map[string]string{"mid": "{mandateRead}"}},
		{route: "GET /agent/personnes/{owner}/mandat/{mid}/recu.pdf", ans: agentRoute(G, denied).with(allowed, agRead), params: map[string]string{"mid": "{mandateRead}"}},
		{route: "GET /agent/personnes/{owner}/mandat/{mid}/arreter", ans: agentRoute(G, denied).with(allowed, agRead), params: map[string]string{"mid": "{mandatePending}"}},
		{route: "POST /agent/personnes/{owner}/mandat/{mid}/arreter", ans: agentRoute(P, denied).with(done("/agent?arrete=1"), agRead), params: map[string]string{"mid": "{mandatePending}"}},
		{route: "GET /agent/personnes/{owner}/papiers", ans: personRoute(G, allowed, agRead)},
		{route: "GET /agent/personnes/{owner}/papiers/{id}/fichier/{blob}", ans: personRoute(G, allowed, agRead)},
		{route: "GET /agent/personnes/{owner}/ajouter", ans: personRoute(G, allowed, agDeposit)},
		{route: "POST /agent/personnes/{owner}/ajouter", ans: personRoute(P, invalidForm, agDeposit), form: url.Values{"kind": {"caf"}, "title": {"Sans page"}}, multipart: true},
		{route: "GET /agent/personnes/{owner}/partager", ans: personRoute(G, allowed, agShare)},
		{route: "POST /agent/personnes/{owner}/partager", ans: personRoute(P, allowed, agShare), form: url.Values{"doc": {"{id}"}, "lifetime": {"1h"}, "purpose": {"Matrice"}, "mark": {"oui"}, "recipient": {"Matrice"}}},
		{route: "GET /agent/personnes/{owner}/recuperer", ans: personRoute(G, allowed, reaching...)},
		// Recovering replaces the person's secret: on the second victim.
		{route: "POST /agent/personnes/{owner}/recuperer", ans: personRoute(P, allowed, agRecover), victim2: true},

		// The référent's pages: not found for any other agent.
		{route: "GET /agent/structure", ans: agentRoute(G, notFound).with(allowed, referent)},
		{route: "GET /agent/structure/chiffres", ans: agentRoute(G, notFound).with(allowed, referent)},
		{route: "GET /agent/structure/inviter", ans: agentRoute(G, notFound).with(allowed, referent)},
		{route: "POST /agent/structure/inviter", ans: agentRoute(P, notFound).with(invalidForm, referent), form: url.Values{"login": {"x.y"}, "name": {"X"}, "role": {"chef"}}},
		{route: "GET /agent/structure/agents/{aid}/desactiver", ans: agentRoute(G, notFound).with(allowed, referent)},
		{route: "POST /agent/structure/agents/{aid}/desactiver", ans: agentRoute(P, notFound).with(done("/agent/structure?desactive=1"), referent)},
	}
}

// actor is one column of the matrix.
type actor struct {
	name   string
	kind   vault.ActorKind // how the journal names it
	id     string
	ip     string
	params map[string]string // what this actor holds: {token}, {secret}, {unknown}
	header http.Header       // sent on API calls
	basic  [2]string         // client credentials, for the token endpoint
	// fresh returns a new browser of the actor, with a session of its own when it has
	// one; shared is the one used for everything else.
	fresh  func() (*http.Client, error)
	shared *http.Client
	csrf   string
}

// fixture is the victims, the actors and what the requests need.
type fixture struct {
	db       *pgxpool.Pool
	base     string
	victim   uuid.UUID
	victim2  uuid.UUID
	params   map[string]string
	swapped  []string // parameters that name something of the victim, changed for the "missing" request
	actors   map[string]*actor
	compared atomic.Int64 // refusals checked against a missing ID
}

func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	start := time.Now()
	issuer, _ := oidcProvider(t)
	b, db := agentBundleWith(t, func(c *web.Config) {
		storage.RegisterClients(
			storage.WebClient("coffre-matrix-fc", "matrix-secret", c.BaseURL+"/connexion/franceconnect/retour"),
			storage.WebClient("coffre-matrix-pc", "matrix-secret", c.BaseURL+"/agent/connexion/proconnect/retour"))
		c.OpenID = &web.OpenIDConfig{Issuer: issuer, ClientID: "coffre-matrix-fc", ClientSecret: "matrix-secret"}
		c.ProConnect = &web.OpenIDConfig{Issuer: issuer, ClientID: "coffre-matrix-pc", ClientSecret: "matrix-secret"}
		c.Channels = []account.ChannelKind{account.ChannelEmail, account.ChannelSMS}
	})
	f := newFixture(t, b, db, issuer)
	rows := matrixRows()

	// Every route of the router has a row, every row a route, every row every actor.
	walked := map[string]bool{}
	if err := chi.Walk(b.srv.Config.Handler.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		walked[method+" "+route] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, r := range rows {
		if listed[r.route] {
			t.Errorf("two rows for %s", r.route)
		}
		listed[r.route] = true
		if !walked[r.route] {
			t.Errorf("row %s: no such route", r.route)
		}
		for _, n := range actorNames {
			if _, ok := r.ans[n]; !ok {
				t.Errorf("row %s: no answer for %s", r.route, n)
			}
		}
	}
	for rt := range walked {
		if !listed[rt] {
			t.Errorf("route %s has no row in the matrix", rt)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].late < rows[j].late })

	victimHead, victim2Head := f.head(t, f.victim), f.head(t, f.victim2)
	visitors := f.visitorEntries(t)
	setupDone := time.Now()
	t.Run("cells", func(t *testing.T) {
		for _, n := range actorNames {
			a := f.actors[n]
			t.Run(n, func(t *testing.T) {
				t.Parallel()
				for _, r := range rows {
					t.Run(strings.ReplaceAll(r.route, " ", "_"), func(t *testing.T) { f.cell(t, a, r) })
				}
			})
		}
	})

	// Every entry the matrix left in the victims' journals names one of its actors;
	// nobody without an identity (a visitor) left any, anywhere.
	known := map[string]bool{}
	for _, a := range f.actors {
		known[string(a.kind)+":"+a.id] = true
	}
	for _, v := range []struct {
		safe uuid.UUID
		from int64
	}{{f.victim, victimHead}, {f.victim2, victim2Head}} {
		rows, err := db.Query(context.Background(), `SELECT actor_kind, actor_id, action FROM journal WHERE owner_id = $1 AND seq > $2`, v.safe, v.from)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var kind, id, action string
			if err := rows.Scan(&kind, &id, &action); err != nil {
				t.Fatal(err)
			}
			if !known[kind+":"+id] {
				t.Errorf("journal of %s: %s by %s:%s, who is no actor of the matrix", v.safe, action, kind, id)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	if got := f.visitorEntries(t); got != visitors {
		t.Errorf("%d journal entries by visitors during the matrix, want none", got-visitors)
	}
	t.Logf("%d routes × %d actors, %d refusals compared with a missing ID: setup %s, requests %s", len(rows), len(actorNames), f.compared.Load(),
		setupDone.Sub(start).Round(time.Millisecond), time.Since(setupDone).Round(time.Millisecond))
}

// cell sends one route as one actor and checks the answer, the journal, and that a
// refusal is the answer to a missing ID.
func (f *fixture) cell(t *testing.T, a *actor, r row) {
	w := r.ans[a.name]
	hc, csrf := a.shared, a.csrf
	if r.fresh {
		var err error
		if hc, err = a.fresh(); err != nil {
			t.Fatal(err)
		}
		if csrf, err = f.csrfOf(hc); err != nil {
			t.Fatal(err)
		}
	}
	safe := f.victim
	if r.victim2 {
		safe = f.victim2
	}
	before := f.entries(t, a, safe)
	status, loc, body, err := f.send(hc, a, csrf, r, f.values(a, r, false))
	if err != nil {
		t.Fatal(err)
	}
	after := f.entries(t, a, safe)
	if status != w.status || !f.location(loc, w.to, a, r) {
		t.Fatalf("%s as %s: %d %s, want %s (%d %s)\n%s", r.route, a.name, status, loc, w, w.status, f.fill(w.to, f.values(a, r, false)), excerpt(body))
	}
	if w.refusal {
		wantIn := 0
		if w.traced {
			wantIn = 1
		}
		if got := after.inSafe - before.inSafe; got != wantIn {
			t.Errorf("%s as %s: %d new entries in the safe's journal, want %d", r.route, a.name, got, wantIn)
		}
		if got := after.anywhere - before.anywhere; got != wantIn {
			t.Errorf("%s as %s: %d new journal entries in all, want %d", r.route, a.name, got, wantIn)
		}
		if w.traced && after.inSafe == before.inSafe+1 && after.last != vault.ActionDenied {
			t.Errorf("%s as %s: the entry is %q, want a failed attempt", r.route, a.name, after.last)
		}
	}
	if w.status == http.StatusNotFound || w.traced {
		f.sameAsMissing(t, hc, a, csrf, r, status, loc, body)
	}
}

// sameAsMissing sends the request again with every ID of the victim replaced by one
// that exists nowhere, and checks that the answer is the same.
func (f *fixture) sameAsMissing(t *testing.T, hc *http.Client, a *actor, csrf string, r row, status int, loc string, body []byte) {
	victims := f.values(a, r, false)
	missing := f.values(a, r, true)
	used := false
	for _, k := range f.swapped {
		if victims[k] != missing[k] && f.uses(r, k) {
			used = true
		}
	}
	if !used {
		return
	}
	f.compared.Add(1)
	ms, ml, mb, err := f.send(hc, a, csrf, r, missing)
	if err != nil {
		t.Fatal(err)
	}
	// The page may repeat what was asked (a login typed): put the victim's back.
	for _, k := range f.swapped {
		mb = bytes.ReplaceAll(mb, []byte(missing[k]), []byte(victims[k]))
		ml = strings.ReplaceAll(ml, missing[k], victims[k])
	}
	if ms != status || ml != loc || !bytes.Equal(normalize(mb), normalize(body)) {
		va, ma := firstDifference(normalize(body), normalize(mb))
		t.Errorf("%s as %s: the victim's IDs answer %d %s, missing IDs %d %s: a refusal must look like a missing ID\nvictim's: …%s…\nmissing:  …%s…",
			r.route, a.name, status, loc, ms, ml, va, ma)
	}
}

// firstDifference returns a and b around where they first differ.
func firstDifference(a, b []byte) (string, string) {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	around := func(x []byte) string {
		return string(x[max(0, i-80):min(len(x), i+160)])
	}
	return around(a), around(b)
}

var maskedRE = regexp.MustCompile(`[A-Za-z0-9_-]{80,}`)

// normalize removes what differs between two answers by design: the masked CSRF tokens.
func normalize(b []byte) []byte { return maskedRE.ReplaceAll(b, []byte("…")) }

func excerpt(b []byte) string {
	if len(b) > 600 {
		b = b[:600]
	}
	return string(b)
}

// uses tells whether the row's request carries parameter k.
func (f *fixture) uses(r row, k string) bool {
	ph := "{" + k + "}"
	if strings.Contains(r.route, ph) || strings.Contains(r.query, ph) {
		return true
	}
	for _, vs := range r.form {
		for _, v := range vs {
			if strings.Contains(v, ph) {
				return true
			}
		}
	}
	return false
}

// values are the placeholders' values for a's request of r; with missing, the victim's
// IDs are replaced by IDs that exist nowhere.
func (f *fixture) values(a *actor, r row, missing bool) map[string]string {
	v := map[string]string{}
	for k, x := range f.params {
		v[k] = x
	}
	for k, x := range a.params {
		v[k] = x
	}
	if r.victim2 {
		v["owner"] = f.victim2.String()
	}
	for k, x := range r.params {
		v[k] = f.fill(x, v)
	}
	if missing {
		for _, k := range f.swapped {
			if k == "login" {
				v[k] = "personne.inconnue"
				continue
			}
			v[k] = uuid.NewString()
		}
	}
	return v
}

var placeholderRE = regexp.MustCompile(`\{([A-Za-z0-9]+)\}`)

func (f *fixture) fill(s string, v map[string]string) string {
	return placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
		if x, ok := v[m[1:len(m)-1]]; ok {
			return x
		}
		return m
	})
}

func (f *fixture) location(got, want string, a *actor, r row) bool {
	want = f.fill(want, f.values(a, r, false))
	if p, ok := strings.CutSuffix(want, "*"); ok {
		return strings.HasPrefix(got, p)
	}
	return got == want
}

// send makes a's request of r with the placeholders v.
func (f *fixture) send(hc *http.Client, a *actor, csrf string, r row, v map[string]string) (int, string, []byte, error) {
	method, pattern, _ := strings.Cut(r.route, " ")
	path := pattern
	if path != "/" {
		path = strings.TrimSuffix(path, "/")
	}
	path = f.fill(path, v)
	if r.query != "" {
		path += "?" + f.fill(r.query, v)
	}
	var body io.Reader
	ctype := ""
	if method == http.MethodPost {
		form := url.Values{}
		for k, vs := range r.form {
			for _, x := range vs {
				form.Add(k, f.fill(x, v))
			}
		}
		if r.multipart {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			for k, vs := range form {
				for _, x := range vs {
					if err := mw.WriteField(k, x); err != nil {
						return 0, "", nil, err
					}
				}
			}
			mw.Close()
			body, ctype = &buf, mw.FormDataContentType()
		} else {
			body, ctype = strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"
		}
	}
	req, err := http.NewRequest(method, f.base+path, body)
	if err != nil {
		return 0, "", nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("X-CSRF-Token", csrf)
	}
	if strings.HasPrefix(pattern, "/api/") {
		for k, vs := range a.header {
			req.Header[k] = vs
		}
		if pattern == "/api/v1/oauth/token" && a.basic[0] != "" {
			req.SetBasicAuth(a.basic[0], a.basic[1])
		}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), b, err
}

// counts are an actor's journal entries: in the safe concerned, everywhere, and the
// action of its last entry in the safe.
type counts struct {
	inSafe, anywhere int
	last             vault.Action
}

func (f *fixture) entries(t *testing.T, a *actor, safe uuid.UUID) counts {
	t.Helper()
	var c counts
	var last *string
	err := f.db.QueryRow(context.Background(), `
		SELECT count(*) FILTER (WHERE owner_id = $1), count(*),
			(SELECT action FROM journal WHERE owner_id = $1 AND actor_kind = $2 AND actor_id = $3 ORDER BY seq DESC LIMIT 1)
		FROM journal WHERE actor_kind = $2 AND actor_id = $3`, safe, a.kind, a.id).Scan(&c.inSafe, &c.anywhere, &last)
	if err != nil {
		t.Fatal(err)
	}
	if last != nil {
		c.last = vault.Action(*last)
	}
	return c
}

func (f *fixture) head(t *testing.T, safe uuid.UUID) int64 {
	t.Helper()
	var seq int64
	if err := f.db.QueryRow(context.Background(), `SELECT coalesce(max(seq), 0) FROM journal WHERE owner_id = $1`, safe).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	return seq
}

func (f *fixture) visitorEntries(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM journal WHERE actor_kind = $1`, vault.ActorVisitor).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var matrixCSRFRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf reads the CSRF token of hc's browser from the sign-in form, which every
// visitor gets: with a session, it is that session's token.
func (f *fixture) csrfOf(hc *http.Client) (string, error) {
	resp, err := hc.Get(f.base + "/connexion")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := matrixCSRFRE.FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("no CSRF token on the sign-in page: %d", resp.StatusCode)
	}
	return string(m[1]), nil
}

// browser is a client from the network 127.0.n.0/24 that follows no redirect, with the
// cookies given.
func (f *fixture) browser(t *testing.T, ip string, cookies ...*http.Cookie) *http.Client {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(f.base)
	jar.SetCookies(u, cookies)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 2}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

func newFixture(t *testing.T, b *testBundle, db *pgxpool.Pool, issuer string) *fixture {
	t.Helper()
	ctx := context.Background()
	ip := netipLocal()
	f := &fixture{db: db, base: b.srv.URL, actors: map[string]*actor{},
		swapped: []string{"id", "blob", "doc", "document", "lid", "mid", "sid", "pid", "owner", "aid", "login", "subscription", "sub"}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	newAccount := func(login, secret string) uuid.UUID {
		t.Helper()
		o, err := b.a.CreateAccount(ctx, login, secret, vault.Actor{Kind: vault.ActorOwner, ID: "-"})
		must(err)
		return o.ID
	}
	const secret, otherSecret = "un secret bien à moi", "le secret de quelqu'un d'autre"
	f.victim = newAccount("victime", secret)
	f.victim2 = newAccount("victime.deux", secret)
	mallory := newAccount("mallory", otherSecret)
	closedID := newAccount("ferme", secret)
	asVictim := vault.Actor{Kind: vault.ActorOwner, ID: f.victim.String()}

	doc := paper(t, b, f.victim, vault.KindCAF, "Attestation CAF")
	docDelete := depositDirect(t, b, f.victim, "À supprimer")
	docRetake := depositDirect(t, b, f.victim, "À reprendre")
	malloryDoc := depositDirect(t, b, mallory, "Papier de Mallory")
	link, err := b.share.CreateLink(ctx, f.victim, asVictim, sharing.NewLink{Documents: []uuid.UUID{doc.ID}, Lifetime: 24 * time.Hour})
	must(err)
	linkRevoke, err := b.share.CreateLink(ctx, f.victim, asVictim, sharing.NewLink{Documents: []uuid.UUID{doc.ID}, Lifetime: 24 * time.Hour})
	must(err)
	_, spare, err := b.a.CreateSession(ctx, f.victim, "secret", "", time.Hour)
	must(err)
	pk, err := b.a.AddPasskey(ctx, f.victim, []byte("cle-de-la-victime"), []byte(`{}`), asVictim)
	must(err)
	_, err = b.v.CloseSafe(ctx, closedID, vault.Actor{Kind: vault.ActorOwner, ID: closedID.String()}, 0)
	must(err)

	// Agents: one structure per situation (a structure holds one live mandate per person).
	agents := map[string]*deskAgent{}
	for i, n := range liveAgents {
		if n == referent {
			continue
		}
		agents[n] = newAgent(t, b, newStructure(t, b, fmt.Sprintf("CCAS %d", i)), fmt.Sprintf("agent.%d", i), "Mme Agent")
	}
	agents[agGone] = newAgent(t, b, newStructure(t, b, "CCAS fermé"), "agent.parti", "M. Parti")
	refStructure := newStructure(t, b, "CCAS du référent")
	agents[referent] = newReferent(t, b, refStructure, "anne.referente", "Mme Leclerc")
	spareAgent := newAgent(t, b, refStructure, "agent.remplacant", "M. Remplaçant")
	grant := func(a *deskAgent, o uuid.UUID, ownerSecret string, c sharing.Consent, scopes ...sharing.Scope) *sharing.Mandate {
		t.Helper()
		if c.Method == "" {
			c = sharing.Consent{Method: sharing.ConsentSecret, TextVersion: "mandat-v2", Secret: ownerSecret}
		}
		m, err := b.share.GrantMandate(ctx, a.Agent, o, sharing.NewMandate{Scopes: scopes, Duration: sharing.OneMonth}, c, ip)
		must(err)
		return m
	}
	all := []sharing.Scope{sharing.ScopeRead, sharing.ScopeDeposit, sharing.ScopeShare}
	mRead := grant(agents[agRead], f.victim, secret, sharing.Consent{}, sharing.ScopeRead)
	grant(agents[agDeposit], f.victim, secret, sharing.Consent{}, sharing.ScopeDeposit)
	grant(agents[agShare], f.victim, secret, sharing.Consent{}, sharing.ScopeShare)
	grant(agents[agRecover], f.victim, secret, sharing.Consent{}, sharing.ScopeRecover)
	grant(agents[agRecover], f.victim2, secret, sharing.Consent{}, sharing.ScopeRecover)
	grant(agents[agOther], mallory, otherSecret, sharing.Consent{}, all...)
	expired := grant(agents[agExpired], f.victim, secret, sharing.Consent{}, all...)
	_, err = db.Exec(ctx, `UPDATE mandates SET starts_at = now() - interval '2 days', expires_at = now() - interval '1 day', confirmed_at = now() - interval '2 days' WHERE id = $1`, expired.ID)
	must(err)
	revoked := grant(agents[agRevoked], f.victim, secret, sharing.Consent{}, all...)
	must(b.share.RevokeMandate(ctx, f.victim, revoked.ID, asVictim))
	grant(agents[agGone], f.victim, secret, sharing.Consent{}, all...)
	phone := sharing.Consent{Method: sharing.ConsentPhone, TextVersion: "mandat-v2"}
	mPending := grant(agents[agRead], f.victim, "", phone, sharing.ScopeRead)
	// Mandates of structures no actor belongs to, for the owner to end, confirm, refuse.
	pendingFrom := func(name string) *sharing.Mandate {
		a := newAgent(t, b, newStructure(t, b, "CCAS "+name), "agent."+name, "Mme "+name)
		_, err := b.share.DeskUnlock(ctx, a.Agent, "victime", secret, ip)
		must(err)
		return grant(a, f.victim, "", phone, sharing.ScopeRead)
	}
	mConfirm, mRefuse := pendingFrom("confirme"), pendingFrom("refuse")
	mEnd := grant(newAgent(t, b, newStructure(t, b, "CCAS fin"), "agent.fin", "Mme Fin"), f.victim, secret, sharing.Consent{}, sharing.ScopeRead)
	receipt, _, err := sharing.MandateReceipt(b.signing, mRead)
	must(err)
	// A safe opened at a desk, whose owner signed in with the code.
	desk := newAgent(t, b, newStructure(t, b, "CCAS ouverture"), "agent.ouverture", "Mme Ouverture")
	opened, err := b.share.OpenSafeFor(ctx, desk.Agent, "temporaire", ip)
	must(err)
	// Typing a secret on an agent's screen unlocks the safe at that desk for a while:
	// the matrix is about mandates alone.
	_, err = db.Exec(ctx, `DELETE FROM desk_unlocks`)
	must(err)

	// Téléservices: one the victim gave her paper to, one another person gave theirs.
	redirect := newLoopbackServer(t, http.NotFoundHandler()) + "/retour"
	verifier := strings.Repeat("v", 50)
	sum := sha256.Sum256([]byte(verifier))
	oauthQuery := func(c *sharing.Client, kind vault.Kind) url.Values {
		return url.Values{"client_id": {c.ID}, "redirect_uri": {redirect}, "response_type": {"code"}, "state": {"s"},
			"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
			"authorization_details": {`[{"type":"coffre_documents","kinds":["` + string(kind) + `"]}]`}}
	}
	token := func(c *sharing.Client, o uuid.UUID, kind vault.Kind, d uuid.UUID) string {
		t.Helper()
		req, err := b.share.ParseAuthorization(ctx, oauthQuery(c, kind))
		must(err)
		back, err := b.share.Approve(ctx, req, o, vault.Actor{Kind: vault.ActorOwner, ID: o.String()}, []uuid.UUID{d})
		must(err)
		u, err := url.Parse(back)
		must(err)
		tok, _, err := b.share.Exchange(ctx, c, u.Query().Get("code"), verifier, redirect)
		must(err)
		return tok
	}
	caf, cafSecret, err := b.share.AddClient(ctx, sharing.NewClient{Name: "CAF de Lille", RedirectURIs: []string{redirect}, AllowedKinds: []vault.Kind{vault.KindCAF}})
	must(err)
	elsewhere, elsewhereSecret, err := b.share.AddClient(ctx, sharing.NewClient{Name: "Mairie", RedirectURIs: []string{redirect}, AllowedKinds: []vault.Kind{vault.KindAutre}})
	must(err)
	cafToken := token(caf, f.victim, vault.KindCAF, doc.ID)
	elsewhereToken := token(elsewhere, mallory, vault.KindAutre, malloryDoc)

	// Issuers: one the victim lets deposit (twice: one subscription for the owner to
	// stop), one she does not.
	depositor := func(name string) *sharing.Client {
		t.Helper()
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, Algorithm: string(jose.EdDSA), Use: "sig"}}})
		c, _, err := b.share.AddClient(ctx, sharing.NewClient{Name: name, RedirectURIs: []string{redirect}, DepositKinds: []vault.Kind{vault.KindCAF},
			AuthMethod: sharing.AuthPrivateKeyJWT, JWKS: jwks})
		must(err)
		return c
	}
	subscribe := func(c *sharing.Client) uuid.UUID {
		t.Helper()
		q := oauthQuery(c, vault.KindCAF)
		q.Set("authorization_details", `[{"type":"coffre_deposit","kinds":["caf"]}]`)
		req, err := b.share.ParseAuthorization(ctx, q)
		must(err)
		_, err = b.share.Subscribe(ctx, req, f.victim, asVictim)
		must(err)
		subs, err := b.share.Subscriptions(ctx, f.victim)
		must(err)
		for _, s := range subs {
			if s.ClientID == c.ID {
				return s.ID
			}
		}
		t.Fatal("no subscription")
		return uuid.Nil
	}
	cafIssuer, stranger, ending := depositor("CAF du Nord"), depositor("Employeur"), depositor("Bailleur")
	subscription, subscriptionEnd := subscribe(cafIssuer), subscribe(ending)
	depositToken := func(c *sharing.Client) string {
		t.Helper()
		tok, _, err := sharing.DepositToken(b.signing, c, time.Now())
		must(err)
		return tok
	}

	// The static assets are named by their content hash.
	resp, err := http.Get(f.base + "/aide")
	must(err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	asset := regexp.MustCompile(`/static/([0-9a-zA-Z_-]+)/coffre\.css`).FindSubmatch(page)
	if asset == nil {
		t.Fatal("no stylesheet on the help page")
	}

	f.params = map[string]string{
		"hash": string(asset[1]), "name": "coffre.css", "lang": "fr", "issuer": issuer, "receipt": receipt,
		"token": strings.Repeat("Q", 43), // a well-formed token nobody holds
		"id":    doc.ID.String(), "doc": doc.ID.String(), "document": doc.ID.String(), "blob": doc.Blob(vault.RoleRendition).ID.String(),
		"docDelete": docDelete.String(), "docRetake": docRetake.String(),
		"lid": linkRevoke.Link.ID.String(), "sid": spare.ID.String(), "pid": pk.ID.String(),
		"mid": mRead.ID.String(), "mandateRead": mRead.ID.String(), "mandatePending": mPending.ID.String(),
		"mandateConfirm": mConfirm.ID.String(), "mandateRefuse": mRefuse.ID.String(), "mandateEnd": mEnd.ID.String(),
		"owner": f.victim.String(), "login": "victime", "aid": spareAgent.ID.String(),
		"oauth": oauthQuery(caf, vault.KindCAF).Encode(), "redirect": redirect, "verifier": verifier,
		"subscription": subscription.String(), "subscriptionEnd": subscriptionEnd.String(),
	}

	// The actors, each with a browser of its own.
	n := 0
	add := func(name string, kind vault.ActorKind, id string, cookies func() ([]*http.Cookie, error)) *actor {
		t.Helper()
		n++
		a := &actor{name: name, kind: kind, id: id, ip: fmt.Sprintf("127.0.%d.1", 10+n),
			params: map[string]string{"unknown": "inconnu." + strings.ReplaceAll(name, "-", ".")}}
		a.fresh = func() (*http.Client, error) {
			var cs []*http.Cookie
			if cookies != nil {
				var err error
				if cs, err = cookies(); err != nil {
					return nil, err
				}
			}
			return f.browser(t, a.ip, cs...), nil
		}
		a.shared, err = a.fresh()
		must(err)
		a.csrf, err = f.csrfOf(a.shared)
		must(err)
		f.actors[name] = a
		return a
	}
	ownerSession := func(o uuid.UUID, method string) func() ([]*http.Cookie, error) {
		return func() ([]*http.Cookie, error) {
			tok, _, err := b.a.CreateSession(ctx, o, method, "", time.Hour)
			return []*http.Cookie{{Name: "coffre", Value: tok, Path: "/"}}, err
		}
	}
	agentSession := func(a *deskAgent) func() ([]*http.Cookie, error) {
		return func() ([]*http.Cookie, error) {
			tok, _, err := b.share.CreateAgentSession(ctx, a.Agent)
			return []*http.Cookie{{Name: "coffre_agent", Value: tok, Path: "/"}}, err
		}
	}
	add(anonymous, vault.ActorVisitor, "-", nil)
	add(victimOwner, vault.ActorOwner, f.victim.String(), ownerSession(f.victim, "secret")).params["secret"] = secret
	add(otherOwner, vault.ActorOwner, mallory.String(), ownerSession(mallory, "secret")).params["secret"] = otherSecret
	add(closedOwner, vault.ActorOwner, closedID.String(), ownerSession(closedID, "secret")).params["secret"] = secret
	add(codeOwner, vault.ActorOwner, opened.Owner.ID.String(), ownerSession(opened.Owner.ID, account.MethodTemporaryCode)).params["secret"] = opened.Code.Code
	for _, name := range append(slices.Clone(liveAgents), agGone) {
		a := agents[name]
		must(b.share.ChangeAgentPassword(ctx, a.Agent, a.password, agentPassword))
		add(name, vault.ActorAidant, a.ID.String(), agentSession(a))
	}
	// A deactivated agent keeps the cookie of a session opened before: new ones are the
	// same dead cookie.
	gone := f.actors[agGone]
	goneCookies := gone.shared.Jar.Cookies(&url.URL{Scheme: "http", Host: strings.TrimPrefix(f.base, "http://")})
	gone.fresh = func() (*http.Client, error) { return f.browser(t, gone.ip, goneCookies...), nil }
	_, err = db.Exec(ctx, `UPDATE agents SET deactivated_at = now() WHERE id = $1`, agents[agGone].ID)
	must(err)
	add(linkHolder, vault.ActorLink, link.Link.ID.String(), nil).params["token"] = link.Token
	tele := add(teleservice, vault.ActorClient, caf.ID, nil)
	tele.header, tele.basic = http.Header{"Authorization": {"Bearer " + cafToken}}, [2]string{caf.ID, cafSecret}
	tele2 := add(teleNoGrant, vault.ActorClient, elsewhere.ID, nil)
	tele2.header, tele2.basic = http.Header{"Authorization": {"Bearer " + elsewhereToken}}, [2]string{elsewhere.ID, elsewhereSecret}
	add(issuerActor, vault.ActorClient, cafIssuer.ID, nil).header = http.Header{"Authorization": {"Bearer " + depositToken(cafIssuer)}, "Idempotency-Key": {"matrice"}}
	add(issuerOther, vault.ActorClient, stranger.ID, nil).header = http.Header{"Authorization": {"Bearer " + depositToken(stranger)}, "Idempotency-Key": {"matrice"}}
	return f
}
