package ingest

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"
)

func TestDebugScene(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 48; i++ {
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
		if i != 15 {
			continue
		}
		small := downsample(sc.img, 3)
		wp := whiteness(small).boxBlur(1)
		lo, hi := float32(1e9), float32(-1e9)
		for _, v := range wp.p {
			lo, hi = min(lo, v), max(hi, v)
		}
		th := otsu(wp, lo, hi)
		t.Logf("scene %d: lo %.0f hi %.0f otsu %.0f", i, lo, hi, th)
		t2 := otsu(wp, th, hi)
		for _, tt := range []float32{th, t2, t2 + 0.25*(hi-t2), t2 - 0.25*(t2-th)} {
			f := tt
			d := sheetAt(wp, tt)
			var q quad
			for k, p := range d.quad {
				q[k] = point{p.X * 3, p.Y * 3}
			}
			t.Logf("  f=%v conf=%.3f support=%.2f area=%.3f iou=%.3f", f, d.confidence, d.support, d.areaFrac, quadIoU(q, sc.corners))
		}
		d := findSheet(small)
		var q quad
		for k, p := range d.quad {
			q[k] = point{p.X * 3, p.Y * 3}
		}
		t.Logf("  findSheet: found %v conf %.3f iou %.3f", d.found, d.confidence, quadIoU(q, sc.corners))
		r := max(2, min(wp.w, wp.h)/8)
		bg := wp.boxBlur(r)
		for _, delta := range []float32{6, 12} {
			mask := make([]bool, len(wp.p))
			for i, v := range wp.p {
				mask[i] = v-bg.p[i] > delta
			}
			mask = morph(morph(mask, wp.w, wp.h, 2, false), wp.w, wp.h, 2, true)
			d := sheetIn(wp, mask)
			t.Logf("  local %v: conf %.3f support %.2f area %.3f", delta, d.confidence, d.support, d.areaFrac)
			m := image.NewGray(image.Rect(0, 0, wp.w, wp.h))
			for i, v := range d.mask {
				if v {
					m.Pix[i] = 255
				}
			}
			dump(t, "local"+itoa(int(delta))+".png", m)
		}
		dump(t, "s15.png", small)
		_ = math.Abs
	}
}
