package ingest

import (
	"bufio"
	"bytes"
	"compress/lzw"
	"compress/zlib"
	"encoding/ascii85"
	"io"

	"github.com/pdfcpu/pdfcpu/pkg/filter"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	tifflzw "golang.org/x/image/tiff/lzw"
)

// decodeChain streams what a PDF stream decodes to through its filters, holding a few
// kilobytes at a time: what the stream inflates to is counted before pdfcpu, which
// decodes into one buffer, is let near it. Picture filters (JPEG, JPEG 2000, JBIG2) end
// the chain: pdfcpu keeps those bytes as they are. ok is false for a filter it does not
// know (pdfcpu does not decode those either) and for fax compression, which only
// pictures may use.
func decodeChain(raw []byte, fs []types.PDFFilter) (r io.Reader, ok bool) {
	r = bytes.NewReader(raw)
	for _, f := range fs {
		switch f.Name {
		case filter.Flate, "Fl":
			zr, err := zlib.NewReader(r)
			if err != nil {
				return bytes.NewReader(nil), true // pdfcpu cannot inflate it either
			}
			r = zr
		case filter.LZW, "LZW":
			if early, ok := f.DecodeParms["EarlyChange"].(types.Integer); ok && early == 0 {
				r = lzw.NewReader(r, lzw.MSB, 8)
			} else {
				r = tifflzw.NewReader(r, tifflzw.MSB, 8) // codes widen one early, PDF's default
			}
		case filter.ASCII85, "A85":
			r = ascii85.NewDecoder(&untilByte{r: bufio.NewReader(r), end: '~'})
		case filter.ASCIIHex, "AHx":
			r = &hexDecoder{r: bufio.NewReader(r)}
		case filter.RunLength, "RL":
			r = &runLengthDecoder{r: bufio.NewReader(r)}
		case filter.DCT, "DCT", filter.JPX, filter.JBIG2:
			return r, true
		default:
			return nil, false
		}
	}
	return r, true
}

// untilByte reads r up to the first end byte (ASCII85's "~>").
type untilByte struct {
	r    *bufio.Reader
	end  byte
	done bool
}

func (u *untilByte) Read(p []byte) (int, error) {
	if u.done {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) {
		c, err := u.r.ReadByte()
		if err != nil {
			return n, err
		}
		if c == u.end {
			u.done = true
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		}
		p[n] = c
		n++
	}
	return n, nil
}

// hexDecoder decodes ASCIIHexDecode: pairs of hexadecimal digits, white space ignored,
// up to '>'; a last lone digit counts as followed by 0.
type hexDecoder struct {
	r    *bufio.Reader
	done bool
}

func (h *hexDecoder) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && !h.done {
		var v [2]byte
		k := 0
		for k < 2 {
			c, err := h.r.ReadByte()
			if err != nil || c == '>' {
				h.done = true
				break
			}
			switch {
			case '0' <= c && c <= '9':
				v[k] = c - '0'
			case 'a' <= c && c <= 'f':
				v[k] = c - 'a' + 10
			case 'A' <= c && c <= 'F':
				v[k] = c - 'A' + 10
			default:
				continue // white space, or damage pdfcpu would refuse
			}
			k++
		}
		if k == 0 {
			break
		}
		p[n] = v[0]<<4 | v[1]
		n++
	}
	if n == 0 && h.done {
		return 0, io.EOF
	}
	return n, nil
}

// runLengthDecoder decodes RunLengthDecode: a length byte L, then L+1 bytes to copy
// (L < 128), or one byte to repeat 257-L times (L > 128); 128 ends the data.
type runLengthDecoder struct {
	r      *bufio.Reader
	copyN  int  // literal bytes left to copy
	repeat int  // times left to repeat b
	b      byte // the repeated byte
	done   bool
}

func (d *runLengthDecoder) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		switch {
		case d.repeat > 0:
			k := min(d.repeat, len(p)-n)
			for i := range k {
				p[n+i] = d.b
			}
			n += k
			d.repeat -= k
		case d.copyN > 0:
			c, err := d.r.ReadByte()
			if err != nil {
				d.done, d.copyN = true, 0
				continue
			}
			p[n] = c
			n++
			d.copyN--
		case d.done:
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		default:
			l, err := d.r.ReadByte()
			switch {
			case err != nil || l == 128:
				d.done = true
			case l < 128:
				d.copyN = int(l) + 1
			default:
				c, err := d.r.ReadByte()
				if err != nil {
					d.done = true
					continue
				}
				d.b, d.repeat = c, 257-int(l)
			}
		}
	}
	return n, nil
}
