// Package ingesttest builds hostile inputs for tests of ingest and of the deposit paths:
// small files that ask for a great deal of memory once decoded.
package ingesttest

import (
	"bytes"
	"compress/zlib"
	"encoding/ascii85"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
)

// Zeros is n bytes of zeros compressed with zlib: about a thousand times smaller.
func Zeros(n int) []byte {
	var b bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&b, zlib.BestCompression)
	chunk := make([]byte, 1<<20)
	for ; n > 0; n -= len(chunk) {
		_, _ = zw.Write(chunk[:min(n, len(chunk))]) // into memory: cannot fail
	}
	zw.Close()
	return b.Bytes()
}

// PDF assembles a PDF from object bodies (object 1 is the catalog), computing the
// cross-reference table.
func PDF(objs ...string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, x)
	return b.Bytes()
}

// InflatingPDF has pages whose content streams each inflate to each bytes of zeros: with
// one page of 300 MB, a 300 KB file.
func InflatingPDF(pages, each int) []byte {
	z := Zeros(each)
	var kids bytes.Buffer
	for i := range pages {
		fmt.Fprintf(&kids, "%d 0 R ", 3+2*i)
	}
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids.String(), pages)}
	for i := range pages {
		objs = append(objs, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R >>", 4+2*i),
			fmt.Sprintf("<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream", len(z), z))
	}
	return PDF(objs...)
}

// InflatingPDFA85 is InflatingPDF(1, n) with the stream also in ASCII85, behind two
// filters: what it inflates to can only be known by decoding it.
func InflatingPDFA85(n int) []byte {
	var a bytes.Buffer
	enc := ascii85.NewEncoder(&a)
	_, _ = enc.Write(Zeros(n)) // into memory: cannot fail
	enc.Close()
	a.WriteString("~>")
	return PDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d /Filter [/ASCII85Decode /FlateDecode] >>\nstream\n%s\nendstream", a.Len(), a.Bytes()))
}

// InflatingPDFIndirect is InflatingPDF(1, n) whose /Filter is an indirect object: what
// the stream inflates to cannot be told from its dictionary's text.
func InflatingPDFIndirect(n int) []byte {
	z := Zeros(n)
	return PDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d /Filter 5 0 R >>\nstream\n%s\nendstream", len(z), z),
		"/FlateDecode")
}

// ManyPagesPDF has n empty pages.
func ManyPagesPDF(n int) []byte {
	var kids bytes.Buffer
	for i := range n {
		fmt.Fprintf(&kids, "%d 0 R ", 3+i)
	}
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d /MediaBox [0 0 595 842] >>", kids.String(), n)}
	for range n {
		objs = append(objs, "<< /Type /Page /Parent 2 0 R >>")
	}
	return PDF(objs...)
}

func pngChunk(b *bytes.Buffer, typ string, data []byte) {
	binary.Write(b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	binary.Write(b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// HugePNG declares w×h RGB pixels. Up to maxPixels its data is that many black pixels,
// a thousand times smaller than decoded; beyond, the data stops short (a decoder that
// trusted the header would allocate first).
func HugePNG(w, h uint32, maxPixels int64) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8 bits, RGB
	pngChunk(&b, "IHDR", ihdr)
	n := int(h) * (1 + 3*int(w)) // a filter byte per row, then the pixels
	if int64(w)*int64(h) > maxPixels {
		n = 1 << 20
	}
	pngChunk(&b, "IDAT", Zeros(n))
	pngChunk(&b, "IEND", nil)
	return b.Bytes()
}

// PagePNG is a w×h PNG of a printed page, as a scanner or a screenshot gives: a few
// tens of kilobytes.
func PagePNG(w, h int) []byte {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := uint8(255)
			if (y/20)%3 == 0 && x%50 < 40 && x > w/10 && x < 9*w/10 {
				c = 30
			}
			m.SetRGBA(x, y, color.RGBA{c, c, c, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		panic(err) // an RGBA picture into memory: cannot happen
	}
	return b.Bytes()
}
