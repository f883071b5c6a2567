package ingest

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"coffre/ingest/ingesttest"
)

// TestDoc2DOnRendition12MP is the path a deposit takes (web, proof.go): a 12 MP photo of
// a paper becomes its clean rendition, and the 2D-Doc is searched in the rendition's page
// picture. It measures the CPU time the search adds to the deposit; the process's CPU
// time is the figure, wall time counting the neighbours' work on a shared machine.
func TestDoc2DOnRendition12MP(t *testing.T) {
	if testing.Short() {
		t.Skip("renders a 12 MP photo")
	}
	a, err := ingesttest.NewAuthority()
	if err != nil {
		t.Fatal(err)
	}
	tl, err := ReadTrustList(bytes.NewReader(a.TrustList()))
	if err != nil {
		t.Fatal(err)
	}
	code, err := a.TaxNotice(time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	photo, err := ingesttest.Paper(code, 3000) // 3000×4242: 12.7 MP
	if err != nil {
		t.Fatal(err)
	}
	var pdf bytes.Buffer
	c0 := cpuTime()
	if _, err := Process(context.Background(), []io.Reader{bytes.NewReader(photo)}, Options{}, &pdf, nil); err != nil {
		t.Fatal(err)
	}
	process := cpuTime() - c0
	c0 = cpuTime()
	c, err := CheckDoc2DPDF(context.Background(), bytes.NewReader(pdf.Bytes()), tl, testNow, Options{MaxPixels: 12_000_000})
	check := cpuTime() - c0
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != Doc2DValid || !hasFact(c, "Année des revenus\u00a0: 2025") {
		t.Fatalf("status %s (%s), facts %v", c.Status, c.Reason, c.Facts)
	}
	t.Logf("12 MP photo: deposit %v of CPU, 2D-Doc search %v more (%.0f %%)", process, check, 100*check.Seconds()/process.Seconds())
}
