package sharing

import "testing"

// Every scope's words in the journal lead back to it, so that the history can say them
// in the reader's language; desk recovery shares its words with recovery.
func TestScopeOfVerb(t *testing.T) {
	for sc, verb := range scopeVerbs {
		got, ok := ScopeOfVerb(verb)
		want := sc
		if sc == ScopeDeskRecovery {
			want = ScopeRecover
		}
		if !ok || got != want {
			t.Errorf("%s: %q leads to %s %v", sc, verb, got, ok)
		}
	}
	if _, ok := ScopeOfVerb("remplacé par un nouveau mandat"); ok {
		t.Error("words of no scope lead to one")
	}
}
