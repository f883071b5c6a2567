package ingest

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// dumpDir, when COFFRE_INGEST_DUMP names a directory, receives the inputs
// and thumbnails of the evaluation for eyeballing.
func dump(t *testing.T, name string, img image.Image) {
	dir := os.Getenv("COFFRE_INGEST_DUMP")
	if dir == "" {
		return
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func dumpBytes(t *testing.T, name string, b []byte) {
	dir := os.Getenv("COFFRE_INGEST_DUMP")
	if dir == "" {
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSheetDetection runs the generated evaluation set through Process and
// measures corner accuracy as IoU between the found and the true sheet.
func TestSheetDetection(t *testing.T) {
	t.Parallel() // shares nothing with the other slow tests: they run side by side
	n := 48
	if testing.Short() {
		n = 12
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var sum float64
	var above, found, turned int
	for i := 0; i < n; i++ {
		w, h := 1600, 1200
		if i%2 == 1 {
			w, h = 1200, 1600
		}
		sc := genScene(rng, sceneOpts{
			w: w, h: h, kind: i % bgKinds,
			blur: rng.Float64() * 1.2, noise: 2 + rng.Float64()*5,
			shadow: i%3 == 0, minFill: 0.55, maxFill: 0.92,
			rot: 20, persp: 0.06,
		})
		in := encodeJPEG(t, sc.img, 90)
		var pdf, thumb bytes.Buffer
		res, err := Process(context.Background(), []io.Reader{bytes.NewReader(in)}, Options{}, &pdf, &thumb)
		if err != nil {
			t.Fatalf("scene %d: %v", i, err)
		}
		p := res.Pages[0]
		iou := 0.0
		if p.Cropped {
			found++
			var q quad
			for k, c := range p.Corners {
				q[k] = point{c[0], c[1]}
			}
			iou = quadIoU(q, sc.corners)
		}
		sum += iou
		if iou > 0.9 {
			above++
		} else {
			t.Logf("scene %d (background %d): IoU %.3f cropped=%v found %v truth %v", i, sc.kind, iou, p.Cropped, p.Corners, sc.corners)
		}
		if p.QuarterTurns != 0 {
			t.Logf("scene %d: turned %d quarters; %+v", i, p.QuarterTurns, p.orient)
			turned++
		}
		dump(t, "scene"+itoa(i)+".png", sc.img)
		dumpBytes(t, "scene"+itoa(i)+"-thumb.jpg", thumb.Bytes())
	}
	mean := sum / float64(n)
	share := float64(above) / float64(n)
	t.Logf("sheet detection on %d generated photos: mean IoU %.3f, IoU>0.9 for %.0f %% (%d/%d), found %d", n, mean, 100*share, above, n, found)
	if turned > 0 {
		t.Errorf("%d upright pages were turned", turned)
	}
	// Measured: 48 photos, mean IoU 0.977, 98 % above 0.9 (one light-table
	// photo under a shadow missed); 12 photos (-short) 0.997 and 100 %. The
	// floors sit just under, so a regression fails.
	if share < 0.92 || mean < 0.95 {
		t.Errorf("detection regressed: mean IoU %.3f, share above 0.9 = %.2f", mean, share)
	}
}
