package sharing

// Scope is what a mandate lets a structure's agents do, or what an agent asks to do: the
// purpose Authorize decides on.
type Scope string

// Scopes a mandate may grant. The person ticks each one on the consent screen; none
// implies another.
const (
	ScopeDeposit Scope = "deposit" // add documents (desk scanner, phone)
	ScopeRead    Scope = "read"    // list, view, download and print documents
	ScopeShare   Scope = "share"   // list documents to pick some, create share links and QR codes
	// ScopeRecover is access recovery at once: a new temporary code replaces the
	// owner's secret, their sessions and passkeys end, and they are told. Only a mandate
	// that holds it allows it.
	ScopeRecover Scope = "recover"
)

// Purposes that need no mandate scope, only that the agent may reach the safe: their
// structure opened it at its desk, holds a live mandate from the person (any scope), or
// the person unlocked it at this agent's desk within DeskUnlockTTL.
const (
	// ScopeReach is finding the safe and seeing its login: looking a login up, the
	// mandate form, asking for a mandate, the structure's mandates and their receipts.
	ScopeReach Scope = "reach"
	// ScopeDeskRecovery is access recovery after an identity check at the desk, for a
	// person who never gave ScopeRecover: the code works after RecoveryWait only, and the
	// owner can cancel it meanwhile.
	ScopeDeskRecovery Scope = "desk_recovery"
)

// Operations no mandate ever allows. Authorize refuses them always, and journals the
// attempt: the web sends every agent request through Authorize, even these.
const (
	ScopeDelete      Scope = "delete"
	ScopeExport      Scope = "export"
	ScopeCredentials Scope = "credentials" // change the owner's secret, passkeys, sessions
)

// ScopeUnlock words a wrong secret typed on an agent's screen in the owner's history;
// Authorize never allows it (DeskUnlock decides by the secret).
const ScopeUnlock Scope = "unlock"

// GrantableScopes are the scopes a mandate may hold.
var GrantableScopes = []Scope{ScopeDeposit, ScopeRead, ScopeShare, ScopeRecover} //nolint:gochecknoglobals // a constant list

// scopeVerbs say in the owner's history what an agent tried to do.
var scopeVerbs = map[Scope]string{ //nolint:gochecknoglobals // a constant table
	ScopeDeposit: "déposer un document", ScopeRead: "consulter vos documents", ScopeShare: "partager vos documents",
	ScopeRecover: "rétablir votre accès", ScopeReach: "trouver votre coffre", ScopeDeskRecovery: "rétablir votre accès",
	ScopeDelete: "supprimer un document", ScopeExport: "exporter votre coffre",
	ScopeCredentials: "changer vos moyens de connexion", ScopeUnlock: "débloquer votre coffre avec un mauvais mot de passe",
}

// ScopeOfVerb returns the scope whose words a history entry holds (the journal keeps them
// in French, as scopeVerbs says them), so that a history in another language can say
// them in its own; false for words of no scope.
func ScopeOfVerb(verb string) (Scope, bool) {
	for sc, v := range scopeVerbs {
		if v == verb && sc != ScopeDeskRecovery { // the same words as ScopeRecover
			return sc, true
		}
	}
	return "", false
}
