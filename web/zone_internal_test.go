package web

import (
	"testing"

	"coffre/vault/account"
)

// TestPageSetsBounded: the templates of zones other than Paris's are kept for the most
// recently used only, each parsed once while it is kept; Paris's are always kept.
func TestPageSetsBounded(t *testing.T) {
	t.Parallel()
	p := parsePages(loadAssets())
	first := p.set("fr", "Indian/Reunion")
	if p.set("fr", "Indian/Reunion")["list"] != first["list"] {
		t.Error("the set of a zone is parsed again while it is kept")
	}
	for _, lang := range languages {
		for _, zone := range account.TimeZones[1:] {
			if s := p.set(lang, zone); s["list"] == nil {
				t.Fatalf("%s in %s: no list page", lang, zone)
			}
		}
	}
	if len(p.overseas) != maxOverseasSets || len(p.sets) != len(languages)+maxOverseasSets {
		t.Errorf("%d sets kept overseas, %d in all", len(p.overseas), len(p.sets))
	}
	if p.set("pt", "Pacific/Wallis")["list"] == nil || p.overseas[len(p.overseas)-1] != (pageSet{"pt", "Pacific/Wallis"}) {
		t.Error("the set last used is not the last kept")
	}
	if _, ok := p.sets[pageSet{"fr", "Indian/Reunion"}]; ok {
		t.Error("the least recently used set is still kept")
	}
	if p.set("ar", account.Paris)["list"] == nil {
		t.Error("Paris's set is gone")
	}
}
