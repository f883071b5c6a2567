package web

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"coffre/sharing"
)

// routes lists every route of the service, and nowhere else registers one. Paths are
// French, like everything the person sees; the API's are English, like its clients.
// They are grouped by who may call them:
//
//   - health, for the orchestrator;
//   - the téléservice API and the issuer API: bearer tokens and client credentials,
//     never cookies (apiRoutes);
//   - public pages, for anyone (publicRoutes);
//   - a share link's recipient: the token is the key (recipientRoutes);
//   - the agents' desk, and under it a person's safe, authorized once per request by
//     agentActing (agentRoutes);
//   - the owner's pages, signed in to an open safe (ownerRoutes).
func (h *handler) routes(r chi.Router) {
	// Health: answered even without a vault, and before anything that may fail. Metrics
	// are counted by a middleware of every route (New), not served here.
	r.Get("/healthz", h.healthz)
	r.Get("/readyz", h.readyz)
	if h.vault == nil {
		r.Get("/", h.placeholder)
		return
	}
	r.Get("/static/{hash}/{name}", h.static)
	if h.share != nil {
		r.Group(h.apiRoutes)
	}
	r.Group(func(r chi.Router) {
		r.Use(middleware.Compress(5, "text/html", "application/json"))
		r.Use(h.bodyLimit, h.session, h.csrf)
		r.NotFound(h.notFound)
		r.MethodNotAllowed(h.notFound)
		h.publicRoutes(r)
		if h.share != nil {
			h.recipientRoutes(r)
			r.Group(func(r chi.Router) {
				r.Use(h.handOver) // a person signed in on the agent's browser is signed out
				h.agentRoutes(r)
			})
		}
		r.Group(func(r chi.Router) {
			r.Use(h.requireOwner, h.requireOpen, h.requireNewSecret)
			h.ownerRoutes(r)
		})
	})
}

// apiRoutes are the JSON API under /api/v1 (api.go, issuer_api.go), described by
// openapi.json: no session, no CSRF, every response no-store.
func (h *handler) apiRoutes(r chi.Router) {
	r.Use(apiHeaders)
	// Public: the description and the key that signs delivery receipts.
	r.Get("/api/v1/openapi.json", h.apiOpenAPI)
	r.Get("/.well-known/jwks.json", h.apiJWKS)
	// A téléservice given a share link (the token is the key).
	r.Get("/api/v1/links/{token}", h.apiLinkManifest)
	r.Get("/api/v1/links/{token}/documents/{document}", h.apiLinkDocument)
	// Téléservices and issuers: the token endpoint (client authentication).
	r.Post("/api/v1/oauth/token", h.apiToken)
	// A téléservice with the person's grant (« Choisir dans mon coffre »).
	r.Get("/api/v1/grant", h.apiGrantManifest)
	r.Get("/api/v1/grant/documents/{document}", h.apiGrantDocument)
	// An issuer, through the subscription the person gave it (« Recevoir mes papiers »).
	r.Post("/api/v1/subscriptions/{subscription}/documents", h.apiDeposit)
}

// publicRoutes are the pages anyone may see: home, help, language, signing in and up.
func (h *handler) publicRoutes(r chi.Router) {
	r.Get("/", h.home)
	r.Get("/aide", h.help)
	r.Get("/accessibilite", h.accessibility)
	r.Get("/langue", h.languagePage)
	r.Get("/langue/{lang}", h.language)
	r.Get("/connexion", h.loginForm)
	r.Post("/connexion", h.login)
	r.Get("/inscription", h.signupForm)
	r.Post("/inscription", h.signup)
	r.Get("/connexion/franceconnect", h.openIDBegin)
	r.Get("/connexion/franceconnect/retour", h.openIDReturn)
	r.Post("/connexion/cle/debut", h.passkeyLoginBegin)
	r.Post("/connexion/cle/fin", h.passkeyLoginFinish)
	if h.share != nil {
		// What the QR code of a mandate receipt opens: what the service signed.
		r.Get("/mandat/verifier", h.mandateVerify)
		// « Choisir dans mon coffre »: signed in, the request is for an open safe whose
		// owner chose their secret; signed out, authorize sends the person to sign in
		// first. The answer is an owner's route.
		r.With(h.whenSignedIn(h.requireOpen), h.whenSignedIn(h.requireNewSecret)).Get("/oauth/authorize", h.authorize)
	}
}

// recipientRoutes are a share link's pages (recipient.go): whoever holds the token.
func (h *handler) recipientRoutes(r chi.Router) {
	r.Route("/p/{token}", func(r chi.Router) {
		r.Use(linkHeaders)
		r.Get("/", h.linkPage)
		r.Post("/", h.linkCode)
		r.Get("/document/{doc}", h.linkFile)
		r.Get("/tout.pdf", h.linkAll)
	})
}

// agentRoutes are the agents' desk: sign-in, then requireAgent for everything else.
func (h *handler) agentRoutes(r chi.Router) {
	r.Get("/agent/connexion", h.agentLoginForm)
	r.Post("/agent/connexion", h.agentLogin)
	if h.proc != nil {
		// ProConnect signs in agents not signed in yet.
		r.Get("/agent/connexion/proconnect", h.proConnectBegin)
		r.Get("/agent/connexion/proconnect/retour", h.proConnectReturn)
	}
	r.Group(func(r chi.Router) {
		r.Use(h.requireAgent)
		r.Post("/agent/deconnexion", h.agentLogout)
		r.Get("/agent/mot-de-passe", h.agentPasswordForm)
		r.Post("/agent/mot-de-passe", h.agentPassword)
		r.Get("/agent", h.agentHome)
		r.Post("/agent/verifier", h.agentReverify)
		if h.proc != nil {
			r.Get("/agent/proconnect", h.proConnectLinkForm)
			r.With(h.requireFresh).Post("/agent/proconnect", h.proConnectLink)
		}
		// Opening a safe, and finding one by its login: no person's ID in the path yet,
		// the domain authorizes the login looked up.
		r.Get("/agent/ouvrir", h.agentOpenForm)
		r.With(h.requireFresh).Post("/agent/ouvrir", h.agentOpen)
		r.Get("/agent/mandat", h.agentFind)
		r.Post("/agent/mandat", h.agentUnlock)
		h.agentSafeRoutes(r)
		// The référent's pages: any other agent gets "not found".
		r.Group(func(r chi.Router) {
			r.Use(h.requireReferent)
			r.Get("/agent/structure", h.referentAgents)
			r.Get("/agent/structure/chiffres", h.referentStats)
			r.Get("/agent/structure/inviter", h.referentInviteForm)
			r.With(h.requireFresh).Post("/agent/structure/inviter", h.referentInvite)
			r.Get("/agent/structure/agents/{aid}/desactiver", h.referentDeactivateForm)
			r.With(h.requireFresh).Post("/agent/structure/agents/{aid}/desactiver", h.referentDeactivate)
		})
	})
}

// agentSafeRoutes are an agent acting on a person's safe, /agent/personnes/{owner}/…:
// each group is authorized for one scope by agentActing, which loads the person.
func (h *handler) agentSafeRoutes(r chi.Router) {
	// Reach: the person's login, the access card, a mandate and its receipt.
	r.Group(func(r chi.Router) {
		r.Use(h.agentActing(sharing.ScopeReach))
		r.Post("/agent/personnes/{owner}/carte", h.agentAccessCard)
		r.Get("/agent/personnes/{owner}/mandat", h.agentMandateForm)
		r.With(h.requireFresh).Post("/agent/personnes/{owner}/mandat", h.agentMandate)
		r.Get("/agent/personnes/{owner}/mandat/{mid}", h.agentMandateState)
		r.Get("/agent/personnes/{owner}/mandat/{mid}/recu.pdf", h.agentMandateReceipt)
		r.Get("/agent/personnes/{owner}/mandat/{mid}/arreter", h.agentRevokeForm)
		r.Post("/agent/personnes/{owner}/mandat/{mid}/arreter", h.agentRevoke)
	})
	// Read: the person's papers.
	r.Group(func(r chi.Router) {
		r.Use(h.agentActing(sharing.ScopeRead))
		r.Get("/agent/personnes/{owner}/papiers", h.agentPapers)
		r.Get("/agent/personnes/{owner}/papiers/{id}/fichier/{blob}", h.agentFile)
	})
	// Deposit: add a paper.
	r.Group(func(r chi.Router) {
		r.Use(h.agentActing(sharing.ScopeDeposit))
		r.Get("/agent/personnes/{owner}/ajouter", h.agentAddForm)
		r.Post("/agent/personnes/{owner}/ajouter", h.agentAdd)
	})
	// Share: send papers with a link.
	r.Group(func(r chi.Router) {
		r.Use(h.agentActing(sharing.ScopeShare))
		r.Get("/agent/personnes/{owner}/partager", h.agentShareForm)
		r.Post("/agent/personnes/{owner}/partager", h.agentShare)
	})
	// Access recovery: at once under a mandate with the recovery right, else after an
	// identity check at the desk; whoever may do the first may do the second.
	r.Group(func(r chi.Router) {
		r.Use(h.agentActing(sharing.ScopeDeskRecovery))
		r.Get("/agent/personnes/{owner}/recuperer", h.agentRecoverForm)
		r.With(h.requireFresh).Post("/agent/personnes/{owner}/recuperer", h.agentRecover)
	})
}

// ownerRoutes are the owner's pages, signed in to their open safe.
func (h *handler) ownerRoutes(r chi.Router) {
	r.Post("/deconnexion", h.logout)
	// Papers.
	r.Get("/papiers", h.list)
	r.Get("/papiers/chercher", h.search)
	r.Get("/papiers/ajouter", h.addForm)
	r.Post("/papiers/ajouter", h.add)
	r.Get("/papiers/{id}", h.document)
	r.Get("/papiers/{id}/vignette", h.thumbnail)
	r.Get("/papiers/{id}/fichier/{blob}", h.file)
	r.Get("/papiers/{id}/imprimer", h.print)
	r.Get("/papiers/{id}/modifier", h.editForm)
	r.Post("/papiers/{id}/modifier", h.edit)
	r.Get("/papiers/{id}/supprimer", h.deleteForm)
	r.Post("/papiers/{id}/supprimer", h.delete)
	r.Post("/papiers/{id}/reprendre", h.retake)
	r.Post("/papiers/{id}/rappel/masquer", h.dismissReminder)
	r.Post("/papiers/{id}/proposition", h.answerSuggestion)
	r.Get("/historique", h.history)
	// Account: access, secret, language, reading, sessions, passkeys.
	r.Get("/compte", h.account)
	r.Get("/compte/code", h.accessPage)
	r.Post("/compte/code", h.accessChange)
	r.Post("/compte/secret", h.changeSecret)
	r.Post("/compte/langue", h.setLanguage)
	r.Post("/compte/heure", h.setTimeZone)
	r.Post("/compte/lecture", h.setReading)
	r.Post("/compte/sessions/{sid}/fin", h.endSession)
	r.Post("/compte/sessions/fin", h.endAllSessions)
	r.Get("/compte/verifier", h.reverifyForm)
	r.Post("/compte/verifier", h.reverify)
	r.Post("/compte/verifier/cle/debut", h.reverifyPasskeyBegin)
	r.Post("/compte/verifier/cle/fin", h.reverifyPasskeyFinish)
	r.With(h.requireFreshOwner).Post("/compte/cles/debut", h.passkeyRegisterBegin)
	r.With(h.requireFreshOwner).Post("/compte/cles/fin", h.passkeyRegisterFinish)
	r.With(h.requireFreshOwner).Post("/compte/cles/{pid}/supprimer", h.passkeyDelete)
	// Export, closing and reopening the safe.
	r.Get("/compte/export", h.exportForm)
	r.Post("/compte/export", h.export)
	r.Get("/compte/fermer", h.closeForm)
	r.Post("/compte/fermer", h.closeSafe)
	r.Get("/compte/ferme", h.closedPage)
	r.Post("/compte/rouvrir", h.reopen)
	r.Post("/compte/recuperation/annuler", h.ownerCancelRecovery)
	// Messages sent to the owner.
	r.Post("/compte/messages/liens", h.setLinkNotice)
	r.Post("/compte/messages/{kind}/ajouter", h.addChannel)
	r.Post("/compte/messages/{kind}/code", h.verifyChannel)
	r.Post("/compte/messages/{kind}/renvoyer", h.resendCode)
	r.Post("/compte/messages/{kind}/retirer", h.removeChannel)
	if h.share == nil {
		return
	}
	// Sharing: links, « Choisir dans mon coffre », aidants and issuers.
	r.Get("/partager", h.shareForm)
	r.Get("/papiers/{id}/partager", h.shareForm)
	r.Post("/partager", h.createLink)
	r.Get("/partages", h.links)
	r.Post("/partages/{lid}/revoquer", h.revokeLink)
	r.Post("/oauth/authorize", h.authorizeAnswer)
	r.Get("/compte/aidants", h.ownerMandates)
	r.Post("/compte/aidants/{mid}/arreter", h.ownerRevokeMandate)
	r.Post("/compte/aidants/{mid}/confirmer", h.ownerConfirmMandate)
	r.Post("/compte/aidants/{mid}/refuser", h.ownerRefuseMandate)
	r.Post("/compte/deposants/{sub}/arreter", h.stopSubscription)
}

// whenSignedIn applies mw to the requests of a signed-in owner only.
func (h *handler) whenSignedIn(mw func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		guarded := mw(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if stateOf(r).session == nil {
				next.ServeHTTP(w, r)
				return
			}
			guarded.ServeHTTP(w, r)
		})
	}
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/agent" || strings.HasPrefix(r.URL.Path, "/agent/") {
		h.agentNotFound(w, r) // no page of the desk there: the desk's words
		return
	}
	h.fail(w, r, http.StatusNotFound, "error.notfound")
}
