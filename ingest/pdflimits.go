package ingest

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
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
	unmeasured bool  // some streams use filters only pdfcpu decodes
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
		data := i + s + len("stream")
		i += end // the stream's bytes hold no objects
		if bytes.Contains(dict, []byte("/ObjStm")) {
			sh.objects += min(declaredInt(dict, "/N"), maxPDFObjects+1)
		}
		if sh.objects > maxPDFObjects {
			break
		}
		for data < len(b) && (b[data] == '\r' || b[data] == '\n') {
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
		filters, ok := declaredFilters(dict)
		switch {
		case ok && len(filters) == 0:
			continue
		case !ok || len(filters) > 1 || (filters[0] != "FlateDecode" && filters[0] != "Fl"):
			// Other filters, or several: measured on pdfcpu's view (checkStreams).
			sh.unmeasured = true
			continue
		}
		limit := int64(maxPDFStream)
		if picture {
			limit = maxPDFPicture
		}
		n, err := inflated(ctx, b[data:], limit)
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

// inflated counts what zlib data inflates to, up to limit+1 bytes, holding none of it.
// Data that is not zlib, or is damaged, counts for what it gives before the damage:
// pdfcpu can get no more out of it.
func inflated(ctx context.Context, data []byte, limit int64) (int64, error) {
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return 0, nil
	}
	var n int64
	for n <= limit {
		m, err := io.CopyN(io.Discard, zr, 4<<20)
		n += m
		if err != nil {
			break
		}
		if err := ctxErr(ctx); err != nil {
			return n, err
		}
	}
	return n, nil
}

// checkStreams measures, on pdfcpu's view of a document, what every stream inflates to,
// before anything inflates it for good: the bytes can hide streams from pdfShapeOf (filters
// it leaves to pdfcpu, or a dictionary it misreads). Flate streams are counted without
// being kept; the others are decoded once within maxPDFStream. It returns what each
// picture inflates to, by object number, for the thumbnail.
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
		n, err := streamSize(ctx, sd, limit)
		if err != nil {
			return nil, err
		}
		if n > limit {
			return nil, fmt.Errorf("%w: object %d inflates beyond %d bytes", ErrTooLarge, nr, limit)
		}
		if picture {
			pictures[nr] = n
			continue
		}
		if total += n; total > maxPDFInflate {
			return nil, fmt.Errorf("%w: streams inflate beyond %d bytes together", ErrTooLarge, maxPDFInflate)
		}
	}
	return pictures, nil
}

// streamSize is what a stream inflates to, up to limit+1; -1 when pdfcpu does not decode
// it either (pictures compressed as JPEG, JPEG 2000, JBIG2, fax).
func streamSize(ctx context.Context, sd types.StreamDict, limit int64) (int64, error) {
	fs := sd.FilterPipeline
	switch fs[len(fs)-1].Name {
	case filter.DCT, filter.JPX, filter.JBIG2, filter.CCITTFax:
		if len(fs) == 1 {
			return -1, nil
		}
	}
	if len(fs) == 1 && fs[0].Name == filter.Flate {
		return inflated(ctx, sd.Raw, limit)
	}
	if limit > maxPDFStream {
		// A picture behind other filters: decoding it to measure it could hold up to
		// maxPDFPicture; it gets no more than a content stream.
		limit = maxPDFStream
	}
	probe := sd
	probe.Content = nil
	_, err := probe.DecodeLengthWithLimit(-1, limit)
	switch {
	case errors.Is(err, filter.ErrDecodeLimitExceeded):
		return limit + 1, nil
	case err != nil:
		return 0, nil // pdfcpu reports it when it matters
	}
	return int64(len(probe.Content)), nil
}
