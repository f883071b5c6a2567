package ingest

import (
	"math/rand/v2"
	"testing"
)

// TestQuarterTurns turns generated documents by each quarter and checks
// that the detector finds the turn that makes them upright again.
func TestQuarterTurns(t *testing.T) {
	t.Parallel() // shares nothing with the other slow tests: they run side by side
	rng := rand.New(rand.NewPCG(7, 7))
	fails := 0
	const n = 6
	for i := 0; i < n; i++ {
		doc := renderDoc(rng, 620, 877)
		// Upscale 2× as the pipeline does (75 dpi document → ~100 dpi grey).
		up := warp(doc, scaleMat(0.5, 0.5), 1240, 1754)
		for k := 0; k < 4; k++ {
			m := turn(up, k)
			got, st := textOrientation(greyHalf(m))
			if k%2 == 0 {
				t.Logf("doc %d turned %d: up/down %.2f over %d lines", i, k, st.up/st.down, st.lines)
			}
			if want := (4 - k) % 4; got != want {
				t.Logf("doc %d turned %d: got %d quarter turns, want %d", i, k, got, want)
				fails++
			}
		}
	}
	t.Logf("orientation: %d/%d correct", 4*n-fails, 4*n)
	if fails > 2 {
		t.Errorf("%d of %d orientations wrong", fails, 4*n)
	}
}
