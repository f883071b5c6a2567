package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/pdfcpu/pdfcpu/pkg/filter"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// What a PDF may ask of memory. pdfcpu holds every object of a file and inflates a
// stream into one buffer when it reads, validates or optimises it (with its own 512 MB
// limit in places our configuration does not reach), so a 600 KB file whose streams
// inflate to 300 MB, or a 16 MB file of 200,000 objects, costs more than a gigabyte.
// These limits are checked on the file's bytes before pdfcpu reads it, then again on
// pdfcpu's view of it before anything inflates a stream, by counting what each stream
// inflates to without keeping it.
const (
	// maxPDFObjects bounds the objects of a document: a 100-page scan has a few hundred,
	// a long text with fonts and links a few thousand.
	maxPDFObjects = 50_000
	// maxPDFStream bounds what one stream inflates to: content streams of a page are a
	// few hundred kilobytes, a large embedded font a few megabytes, a page scanned at
	// 300 dpi in colour and compressed with Flate 26 MB.
	maxPDFStream = 32 << 20
	// maxPDFInflate bounds what all the streams that are not pictures inflate to
	// together: pdfcpu reads them (pictures it leaves compressed).
	maxPDFInflate = 128 << 20
	// maxThumbDecode bounds the picture decoded to draw the thumbnail of a scanned
	// first page; a larger one gets the generic thumbnail.
	maxThumbDecode = 32 << 20
)

// pdfShape is what the bytes of a PDF say about the memory it needs.
type pdfShape struct {
	objects    int   // objects, those packed in object streams included
	largest    int64 // largest inflated stream that is not a picture
	picture    int64 // largest picture, decoded, when it can be told (else maxThumbDecode)
	unmeasured bool  // some streams' filters cannot be told from the bytes
}

// isPDFSpace and isPDFDelim are the white-space and delimiter characters of PDF.
func isPDFSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isPDFDelim(c byte) bool {
	return isPDFSpace(c) || bytes.IndexByte([]byte("()<>[]{}/%"), c) >= 0
}

// pdfShapeOf reads the shape of a PDF from its bytes alone: it counts the "obj" keywords and
// the objects object streams declare (/N), and inflates every Flate stream it finds
// without keeping the result. It refuses (ErrTooLarge) a file beyond the limits above.
func pdfShapeOf(ctx context.Context, b []byte) (*pdfShape, error) {
	sh := &pdfShape{}
	var total int64
	kw := []byte("obj")
	for i := 0; ; {
		k := bytes.Index(b[i:], kw)
		if k < 0 {
			break
		}
		j := i + k
		i = j + len(kw)
		if j == 0 || !isPDFSpace(b[j-1]) || (i < len(b) && !isPDFDelim(b[i])) {
			continue // endobj, or a word that contains "obj"
		}
		if sh.objects++; sh.objects%1000 == 0 {
			if err := ctxErr(ctx); err != nil {
				return nil, err
			}
		}
		// The object's dictionary runs to "stream" or to "endobj", whichever comes first.
		end := bytes.Index(b[i:], []byte("endobj"))
		if end < 0 {
			end = len(b) - i
		}
		body := b[i : i+end]
		s := bytes.Index(body, []byte("stream"))
		if s < 0 {
			continue
		}
		dict := body[:s]
		data, dataEnd := i+s+len("stream"), i+end
		i += end // the stream's bytes hold no objects
		if bytes.Contains(dict, []byte("/ObjStm")) {
			sh.objects += min(declaredInt(dict, "/N"), maxPDFObjects+1)
		}
		if sh.objects > maxPDFObjects {
			break
		}
		for data < dataEnd && (b[data] == '\r' || b[data] == '\n') {
			data++
		}
		picture := declaredName(dict, "/Subtype") == "Image"
		if picture {
			w, h := declaredInt(dict, "/Width"), declaredInt(dict, "/Height")
			if w > 0 && h > 0 {
				sh.picture = max(sh.picture, int64(w)*int64(h)*4)
			} else {
				sh.picture = maxThumbDecode
			}
		}
		names, ok := declaredFilters(dict)
		if ok && len(names) == 0 {
			continue
		}
		var chain io.Reader
		if ok {
			fs := make([]types.PDFFilter, len(names))
			for k, n := range names {
				fs[k].Name = n
			}
			// The data runs to "endobj" at the latest. A stream whose bytes happen to
			// hold "endobj" is measured short here, and again whole by checkStreams.
			chain, ok = decodeChain(b[data:dataEnd], fs)
		}
		if !ok {
			// An indirect /Filter, an unknown one: measured on pdfcpu's view (checkStreams).
			sh.unmeasured = true
			continue
		}
		limit := int64(maxPDFStream)
		if picture {
			limit = maxPDFPicture
		}
		n, err := inflated(ctx, chain, limit)
		if err != nil {
			return nil, err
		}
		if picture {
			if n > limit {
				return nil, fmt.Errorf("%w: a picture inflates beyond %d bytes", ErrTooLarge, limit)
			}
			continue
		}
		total += n
		sh.largest = max(sh.largest, n)
		switch {
		case n > limit:
			return nil, fmt.Errorf("%w: a stream inflates beyond %d bytes", ErrTooLarge, limit)
		case total > maxPDFInflate:
			return nil, fmt.Errorf("%w: streams inflate beyond %d bytes together", ErrTooLarge, maxPDFInflate)
		}
	}
	if sh.objects > maxPDFObjects {
		return nil, fmt.Errorf("%w: more than %d objects", ErrTooLarge, maxPDFObjects)
	}
	return sh, nil
}

// declaredValue returns the text of key's value in a dictionary's text, from its first
// character on, or nil when key is absent. Only whole names match: /N is not /Names.
func declaredValue(dict []byte, key string) []byte {
	for i := 0; ; {
		k := bytes.Index(dict[i:], []byte(key))
		if k < 0 {
			return nil
		}
		j := i + k + len(key)
		i = j
		if j < len(dict) && !isPDFDelim(dict[j]) {
			continue
		}
		for j < len(dict) && isPDFSpace(dict[j]) {
			j++
		}
		return dict[j:]
	}
}

// declaredInt reads the integer value of key ("/N 12"), or 0.
func declaredInt(dict []byte, key string) int {
	v := declaredValue(dict, key)
	e := 0
	for e < len(v) && e < 10 && v[e] >= '0' && v[e] <= '9' {
		e++
	}
	n, _ := strconv.Atoi(string(v[:e]))
	return n
}

// declaredName reads the name value of key ("/Subtype /Image" gives "Image"), or "".
func declaredName(dict []byte, key string) string {
	v := declaredValue(dict, key)
	if len(v) == 0 || v[0] != '/' {
		return ""
	}
	e := 1
	for e < len(v) && !isPDFDelim(v[e]) {
		e++
	}
	return string(v[1:e])
}

// declaredFilters reads /Filter: one name or an array of names. ok is false when it
// cannot be told from the text (an indirect reference).
func declaredFilters(dict []byte) (names []string, ok bool) {
	v := declaredValue(dict, "/Filter")
	switch {
	case v == nil:
		return nil, true
	case v[0] == '/':
		return []string{declaredName(dict, "/Filter")}, true
	case v[0] != '[':
		return nil, false
	}
	for j := 1; j < len(v) && v[j] != ']'; {
		switch {
		case isPDFSpace(v[j]):
			j++
		case v[j] == '/':
			e := j + 1
			for e < len(v) && !isPDFDelim(v[e]) {
				e++
			}
			names = append(names, string(v[j+1:e]))
			j = e
		default:
			return nil, false
		}
	}
	return names, true
}

// maxPDFPicture bounds a picture inside a PDF, decoded: DefaultMaxPixels in CMYK.
const maxPDFPicture = DefaultMaxPixels * 4

// inflated counts what a decoding reader gives, up to limit+1 bytes, holding none of it.
// Damaged data counts for what it gives before the damage: pdfcpu can get no more out
// of it.
func inflated(ctx context.Context, r io.Reader, limit int64) (int64, error) {
	var n int64
	for n <= limit {
		m, err := io.CopyN(io.Discard, r, 4<<20)
		n += m
		if err != nil {
			return n, nil //nolint:nilerr // the end of the data, or damage: either way pdfcpu gets no more
		}
		if err := ctxErr(ctx); err != nil {
			return n, err
		}
	}
	return n, nil
}

// checkStreams measures, on pdfcpu's view of a document, what every stream decodes to,
// before anything decodes it for good: the bytes can hide streams from pdfShapeOf (an
// indirect /Filter, a dictionary it misreads). Nothing decoded is kept. It returns what
// each picture decodes to, by object number (-1: left compressed, JPEG and the like), for
// the thumbnail.
func checkStreams(ctx context.Context, xt *model.XRefTable) (map[int]int64, error) {
	pictures := map[int]int64{}
	var total int64
	k := 0
	for nr, e := range xt.Table {
		if e == nil || e.Free || e.Object == nil {
			continue
		}
		sd, ok := e.Object.(types.StreamDict)
		if !ok || len(sd.FilterPipeline) == 0 {
			continue
		}
		if k++; k%100 == 0 {
			if err := ctxErr(ctx); err != nil {
				return nil, err
			}
		}
		st := sd.Subtype()
		picture := st != nil && *st == "Image"
		limit := int64(maxPDFStream)
		if picture {
			limit = maxPDFPicture
		}
		chain, ok := decodeChain(sd.Raw, sd.FilterPipeline)
		if !ok {
			if picture {
				pictures[nr] = -1
				continue
			}
			for _, f := range sd.FilterPipeline {
				if f.Name == filter.CCITTFax {
					return nil, fmt.Errorf("%w: object %d: fax compression outside a picture", ErrCorrupt, nr)
				}
			}
			continue // a filter pdfcpu cannot decode either
		}
		n, err := inflated(ctx, chain, limit)
		if err != nil {
			return nil, err
		}
		if n > limit {
			return nil, fmt.Errorf("%w: object %d decodes beyond %d bytes", ErrTooLarge, nr, limit)
		}
		if picture {
			if last := sd.FilterPipeline[len(sd.FilterPipeline)-1].Name; last == filter.DCT || last == filter.JPX || last == filter.JBIG2 {
				n = -1 // handed over compressed
			}
			pictures[nr] = n
			continue
		}
		if total += n; total > maxPDFInflate {
			return nil, fmt.Errorf("%w: streams decode beyond %d bytes together", ErrTooLarge, maxPDFInflate)
		}
	}
	return pictures, nil
}
