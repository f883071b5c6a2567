package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// pdfConfig builds the pdfcpu configuration by hand: the library's
// NewDefaultConfiguration creates a configuration directory under the
// user's home, which a pure library must not do. Offline forbids any
// network access (certificate revocation checks, link validation).
func pdfConfig(opts *Options) *model.Configuration {
	lim := model.DefaultResourceLimits()
	lim.MaxImagePixels = opts.MaxPixels
	lim.MaxImageBytes = maxThumbDecode
	lim.MaxStreamBytes = opts.MaxBytes
	lim.MaxDecodeBytes = maxPDFStream
	lim.MaxObjectCount = 4 * maxPDFObjects
	lim.MaxXRefEntries = 4 * maxPDFObjects
	lim.MaxObjectStreamCount = maxPDFObjects
	return &model.Configuration{
		Version:                   model.VersionStr,
		Reader15:                  true,
		ValidationMode:            model.ValidationRelaxed,
		UnsupportedResourcePolicy: model.UnsupportedResourceSkip,
		Eol:                       types.EolLF,
		WriteObjectStream:         true,
		WriteXRefStream:           true,
		EncryptUsingAES:           true,
		EncryptKeyLength:          256,
		TimestampFormat:           "2006-01-02 15:04",
		DateFormat:                "2006-01-02",
		Optimize:                  true,
		OptimizeBeforeWriting:     true,
		OptimizeResourceDicts:     true,
		Offline:                   true,
		Timeout:                   1,
		Limits:                    lim,
	}
}

// activeAction reports action types that run code, open or submit to
// something outside the document, or play media. GoTo and URI (http, https,
// mailto) are kept: they are how tables of contents and links in official
// letters work.
func activeAction(s string) bool {
	switch s {
	case "JavaScript", "Launch", "ImportData", "SubmitForm", "GoToE", "GoToR",
		"Rendition", "RichMediaExecute", "Sound", "Movie":
		return true
	}
	return false
}

// activeAnnot reports annotations that embed files or active media.
func activeAnnot(s string) bool {
	switch s {
	case "FileAttachment", "RichMedia", "Screen", "Movie", "Sound", "3D":
		return true
	}
	return false
}

// processPDF validates, repairs and sanitises a PDF. pdfcpu rebuilds the
// cross-reference table when it is broken and rewrites every object, so
// what reaches the writer is a freshly serialised file: bytes appended
// after %%EOF (polyglots), unreferenced objects and incremental updates are
// gone.
func processPDF(ctx context.Context, b []byte, opts *Options, res *Result, pdf, thumb io.Writer) (*Result, error) {
	t0 := time.Now()
	var out bytes.Buffer
	var pctx *model.Context
	var th image.Image
	err := bounded(ctx, opts.Reservation, func() error {
		var e error
		pctx, e = pdfcpu.ReadWithContext(ctx, bytes.NewReader(b), pdfConfig(opts))
		if e != nil {
			return classifyPDFError(e)
		}
		// Nothing has inflated a content stream yet: validation and optimisation will.
		pictures, e := checkStreams(ctx, pctx.XRefTable)
		if e != nil {
			return e
		}
		if pctx.Encrypt != nil && pctx.E != nil {
			// Opened with the empty user password (permissions-only
			// protection): store it unprotected, since the safe
			// encrypts everything at rest anyway.
			pctx.Cmd = model.DECRYPT
		}
		if e := api.ValidateContext(pctx); e != nil {
			return fmt.Errorf("%w: validate: %v", ErrCorrupt, e)
		}
		if pctx.PageCount < 1 {
			return fmt.Errorf("%w: no pages", ErrCorrupt)
		}
		if pctx.PageCount > opts.MaxPages {
			return fmt.Errorf("%w: %d pages", ErrTooManyPages, pctx.PageCount)
		}
		res.Removed = sanitize(pctx.XRefTable)
		stripImageMetadata(pctx.XRefTable)
		// pdfcpu caches name trees and writes the cache back: drop the
		// cached trees we removed from the catalog too.
		delete(pctx.Names, "JavaScript")
		delete(pctx.Names, "EmbeddedFiles")
		if e := ctxErr(ctx); e != nil {
			return e
		}
		if e := api.OptimizeContext(pctx); e != nil {
			return fmt.Errorf("%w: optimize: %v", ErrCorrupt, e)
		}
		if thumb != nil {
			th = scanImage(pctx, opts, pictures)
		}
		if e := ctxErr(ctx); e != nil {
			return e
		}
		if e := api.WriteContext(pctx, &out); e != nil {
			return fmt.Errorf("%w: write: %v", ErrCorrupt, e)
		}
		return nil
	})
	res.Stages.Decode += time.Since(t0)
	if err != nil {
		return nil, fmt.Errorf("ingest: pdf: %w", err)
	}
	res.PageCount = pctx.PageCount
	var tb []byte
	if thumb != nil {
		if th == nil {
			res.ThumbGeneric = true
			th = genericThumb()
		}
		if tb, err = encodeThumb(th); err != nil {
			return nil, fmt.Errorf("ingest: thumbnail: %w", err)
		}
	}
	if pdf != nil {
		n, err := out.WriteTo(pdf)
		res.PDFBytes = n
		if err != nil {
			return nil, fmt.Errorf("ingest: write pdf: %w", err)
		}
	}
	if thumb != nil {
		n, err := thumb.Write(tb)
		res.ThumbBytes = int64(n)
		if err != nil {
			return nil, fmt.Errorf("ingest: write thumbnail: %w", err)
		}
	}
	return res, nil
}

func classifyPDFError(err error) error {
	switch {
	case errors.Is(err, pdfcpu.ErrWrongPassword), errors.Is(err, pdfcpu.ErrUnsupportedEncryptionFeature):
		return fmt.Errorf("%w: %v", ErrEncrypted, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return err
	case strings.Contains(err.Error(), "password"):
		return fmt.Errorf("%w: %v", ErrEncrypted, err)
	}
	return fmt.Errorf("%w: %v", ErrCorrupt, err)
}

// sanitize removes active content in place and returns what it removed,
// sorted and deduplicated. It visits every object of the cross-reference
// table once, descending into direct sub-dictionaries and arrays.
func sanitize(xt *model.XRefTable) []string {
	removed := map[string]bool{}
	var walk func(o types.Object, depth int)
	isActive := func(o types.Object) (string, bool) {
		d, err := xt.DereferenceDict(o)
		if err != nil || d == nil {
			return "", false
		}
		s, _ := d["S"].(types.Name)
		if activeAction(string(s)) {
			return string(s), true
		}
		if s == "URI" {
			u, _ := xt.Dereference(d["URI"])
			var us string
			switch v := u.(type) {
			case types.StringLiteral:
				us, _ = types.StringLiteralToString(v)
			case types.HexLiteral:
				us, _ = types.HexLiteralToString(v)
			}
			us = strings.ToLower(strings.TrimSpace(us))
			if !(strings.HasPrefix(us, "http://") || strings.HasPrefix(us, "https://") || strings.HasPrefix(us, "mailto:")) {
				return "URI", true
			}
		}
		return "", false
	}
	dict := func(d types.Dict, depth int) {
		for _, k := range []string{"AA", "OpenAction", "JavaScript", "JS", "EmbeddedFiles", "EF", "XFA", "RichMediaContent"} {
			if _, ok := d[k]; ok {
				delete(d, k)
				removed[k] = true
			}
		}
		for _, k := range []string{"A", "Next", "PA"} {
			if v, ok := d[k]; ok {
				if name, bad := isActive(v); bad {
					delete(d, k)
					removed[name] = true
				}
			}
		}
		if annots, ok := d["Annots"]; ok {
			if arr, err := xt.DereferenceArray(annots); err == nil {
				kept := arr[:0:0]
				for _, a := range arr {
					ad, err := xt.DereferenceDict(a)
					if err == nil && ad != nil {
						if st, _ := ad["Subtype"].(types.Name); activeAnnot(string(st)) {
							removed[string(st)] = true
							continue
						}
					}
					kept = append(kept, a)
				}
				if len(kept) != len(arr) {
					if ir, isRef := annots.(types.IndirectRef); isRef {
						if e, ok := xt.FindTableEntryForIndRef(&ir); ok && e != nil {
							e.Object = kept
						}
					} else {
						d["Annots"] = kept
					}
				}
			}
		}
		for _, v := range d {
			walk(v, depth+1)
		}
	}
	walk = func(o types.Object, depth int) {
		if depth > 64 {
			return
		}
		switch v := o.(type) {
		case types.Dict:
			dict(v, depth)
		case types.StreamDict:
			dict(v.Dict, depth)
		case *types.StreamDict:
			dict(v.Dict, depth)
		case types.Array:
			for _, e := range v {
				walk(e, depth+1)
			}
		}
	}
	nrs := make([]int, 0, len(xt.Table))
	for nr := range xt.Table {
		nrs = append(nrs, nr)
	}
	sort.Ints(nrs)
	for _, nr := range nrs {
		if e := xt.Table[nr]; e != nil && !e.Free && e.Object != nil {
			walk(e.Object, 0)
		}
	}
	out := make([]string, 0, len(removed))
	for k := range removed {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// stripImageMetadata removes what pictures inside a PDF say about the camera that took
// them: the metadata segments of JPEG (DCTDecode) images, which some "photo to PDF" apps
// embed byte for byte, EXIF and GPS position included, and the images' own XMP. PDF
// viewers ignore both, so the page looks the same. The document's own metadata stays.
func stripImageMetadata(xt *model.XRefTable) {
	for _, e := range xt.Table {
		if e == nil || e.Free || e.Object == nil {
			continue
		}
		sd, ok := e.Object.(types.StreamDict)
		if !ok {
			continue
		}
		if st := sd.Subtype(); st == nil || *st != "Image" {
			continue
		}
		delete(sd.Dict, "Metadata")
		if len(sd.FilterPipeline) == 1 && sd.FilterPipeline[0].Name == "DCTDecode" {
			if b, err := stripJPEG(sd.Raw, 1); err == nil {
				n := int64(len(b))
				sd.Raw, sd.StreamLength = b, &n
				sd.Dict["Length"] = types.Integer(n)
			}
		}
		e.Object = sd
	}
}

// scanImage returns the picture of page 1 when that page is essentially one
// image (a scan): exactly one image larger than 64 px whose shape matches
// the page within 5 %. Anything else returns nil and gets the generic
// thumbnail, and so does a page whose pictures would take more than
// maxThumbDecode to decode (pictures holds what each inflates to, see
// checkStreams). Errors are not fatal here: the document itself is fine.
func scanImage(ctx *model.Context, opts *Options, pictures map[int]int64) (img image.Image) {
	defer func() {
		if recover() != nil {
			img = nil
		}
	}()
	if _, ok := ctx.PageThumbs[1]; ok {
		return nil
	}
	for _, nr := range pdfcpu.ImageObjNrs(ctx, 1) {
		n, ok := pictures[nr]
		if !ok || n > maxThumbDecode {
			return nil
		}
		if n < 0 && !smallJPEG(ctx, nr) {
			return nil // JPEG 2000, JBIG2, fax, large JPEG: decoded by pdfcpu or too large
		}
	}
	imgs, err := pdfcpu.ExtractPageImages(ctx, 1, false)
	if err != nil {
		return nil
	}
	dims, err := ctx.PageDims()
	if err != nil || len(dims) == 0 || dims[0].Width <= 0 {
		return nil
	}
	var b []byte
	var mt MediaType
	var cfg image.Config
	for _, im := range imgs {
		if im.Reader == nil {
			continue
		}
		// pdfcpu leaves Width and Height unset when extracting, so the
		// size comes from the image's own header.
		data, err := io.ReadAll(io.LimitReader(im.Reader, opts.MaxBytes*8))
		if err != nil {
			return nil
		}
		t, err := sniff(data[:min(len(data), SniffLen)])
		if err != nil || t == PDF {
			return nil
		}
		c, err := decodeConfig(t, data)
		if err != nil {
			return nil
		}
		if c.Width <= 64 && c.Height <= 64 {
			continue // logos, bullets
		}
		if b != nil {
			return nil // several pictures: not a plain scan
		}
		b, mt, cfg = data, t, c
	}
	if b == nil || checkPixels(cfg, min(opts.MaxPixels, maxThumbDecode/4)) != nil {
		return nil
	}
	pa := dims[0].Height / dims[0].Width
	ia := float64(cfg.Height) / float64(cfg.Width)
	if math.Abs(ia-pa)/pa > 0.05 && math.Abs(1/ia-pa)/pa > 0.05 {
		return nil
	}
	m, err := decodeImage(mt, b)
	if err != nil {
		return nil
	}
	return m
}

// smallJPEG tells whether object nr is a picture compressed as JPEG only whose declared
// size decodes within maxThumbDecode: pdfcpu hands the bytes of such a picture over as
// they are (CMYK ones it decodes), and decodeImage decodes them.
func smallJPEG(ctx *model.Context, nr int) bool {
	e, ok := ctx.Find(nr)
	if !ok || e == nil {
		return false
	}
	sd, ok := e.Object.(types.StreamDict)
	if !ok || len(sd.FilterPipeline) != 1 || sd.FilterPipeline[0].Name != "DCTDecode" {
		return false
	}
	w, h := sd.IntEntry("Width"), sd.IntEntry("Height")
	return w != nil && h != nil && *w > 0 && *h > 0 && int64(*w)*int64(*h)*4 <= maxThumbDecode
}
