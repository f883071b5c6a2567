package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// routes lists every page. Paths are French, like everything the person sees.
func (h *handler) routes(r chi.Router) {
	r.Get("/static/{hash}/{name}", h.static)
	if h.share != nil {
		r.Group(h.apiRoutes)
	}
	r.Group(func(r chi.Router) {
		r.Use(middleware.Compress(5, "text/html", "application/json"))
		r.Use(h.bodyLimit, h.session, h.csrf)
		r.NotFound(h.notFound)
		r.MethodNotAllowed(h.notFound)
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
			// Signed in, the request is for an open safe whose owner chose their secret;
			// signed out, authorize sends the person to sign in first.
			r.With(h.whenSignedIn(h.requireOpen), h.whenSignedIn(h.requireNewSecret)).Get("/oauth/authorize", h.authorize)
			r.Route("/p/{token}", func(r chi.Router) {
				r.Use(linkHeaders)
				r.Get("/", h.linkPage)
				r.Post("/", h.linkCode)
				r.Get("/document/{doc}", h.linkFile)
				r.Get("/tout.pdf", h.linkAll)
			})
			r.Get("/mandat/verifier", h.mandateVerify)
			h.agentRoutes(r)
		}
		r.Group(func(r chi.Router) {
			r.Use(h.requireOwner, h.requireOpen, h.requireNewSecret)
			r.Post("/deconnexion", h.logout)
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
			r.Get("/compte", h.account)
			r.Get("/compte/code", h.accessPage)
			r.Post("/compte/code", h.accessChange)
			r.Post("/compte/secret", h.changeSecret)
			r.Post("/compte/langue", h.setLanguage)
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
			r.Get("/compte/export", h.exportForm)
			r.Post("/compte/export", h.export)
			r.Get("/compte/fermer", h.closeForm)
			r.Post("/compte/fermer", h.closeSafe)
			r.Get("/compte/ferme", h.closedPage)
			r.Post("/compte/rouvrir", h.reopen)
			r.Post("/compte/recuperation/annuler", h.ownerCancelRecovery)
			r.Post("/compte/messages/liens", h.setLinkNotice)
			r.Post("/compte/messages/{kind}/ajouter", h.addChannel)
			r.Post("/compte/messages/{kind}/code", h.verifyChannel)
			r.Post("/compte/messages/{kind}/renvoyer", h.resendCode)
			r.Post("/compte/messages/{kind}/retirer", h.removeChannel)
			if h.share != nil {
				r.Get("/partager", h.shareForm)
				r.Get("/papiers/{id}/partager", h.shareForm)
				r.Post("/partager", h.createLink)
				r.Get("/partages", h.links)
				r.Post("/partages/{lid}/revoquer", h.revokeLink)
				r.Post("/oauth/authorize", h.authorizeAnswer)
				r.Get("/compte/aidants", h.ownerMandates)
				r.Post("/compte/aidants/{mid}/arreter", h.ownerRevokeMandate)
				r.Post("/compte/deposants/{sub}/arreter", h.stopSubscription)
				h.ownerConsentRoutes(r)
			}
		})
	})
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
	h.fail(w, r, http.StatusNotFound, "error.notfound")
}
