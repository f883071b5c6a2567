package sharing

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"unicode"
	"unicode/utf16"

	"github.com/go-pdf/fpdf"
	"github.com/go-text/typesetting/di"
	"github.com/go-text/typesetting/font"
	"github.com/go-text/typesetting/language"
	"github.com/go-text/typesetting/shaping"
	"golang.org/x/image/math/fixed"
	"golang.org/x/text/unicode/bidi"
)

// The translated pages of what is printed at the desk are written with TrueType fonts
// that have the letters of every language Coffre speaks: Noto Sans (Latin, with
// Romanian's ș and ț, and Cyrillic) and Noto Sans Arabic (Arabic, and the letters of
// Dari and Pashto: پ چ ژ ګ ټ ډ ړ ږ ښ ځ څ ڼ ی ې). The Debian package fonts-noto-core
// installs them (scripts/deps.sh); COFFRE_FONTS names another directory that holds the
// same four files. Without them the translated page is printed with the core font when
// it can write the language, and left out otherwise: the French page is always there.
//
// fpdf writes a UTF-8 string one character to one glyph and does not shape. Arabic script
// needs shaping: each letter takes a form after its neighbours, lam and alef join into one
// glyph, and the line reads right to left. Unicode has no code point for the joined forms
// of Pashto letters such as ټ or ځ, so shaping into "presentation forms" cannot write
// them. The text is therefore shaped with go-text's port of HarfBuzz, which gives glyphs,
// and each glyph is written through a code point of the Private Use Area that the copy of
// the font given to fpdf maps to that glyph (glyph g is U+E000+g). A reader copying the
// text, a screen reader or pdftotext gets the words themselves: each line is wrapped in a
// span whose ActualText holds them.

// FontsEnv names the environment variable that gives the directory of the fonts.
const FontsEnv = "COFFRE_FONTS"

// DefaultFontDir is where fonts-noto-core puts the fonts on Debian.
const DefaultFontDir = "/usr/share/fonts/truetype/noto"

// The files read in the font directory: regular and bold of each script.
var fontFiles = [2][2]string{ //nolint:gochecknoglobals // a constant table
	{"NotoSans-Regular.ttf", "NotoSans-Bold.ttf"},
	{"NotoSansArabic-Regular.ttf", "NotoSansArabic-Bold.ttf"},
}

// glyphBase is the code point that stands for glyph 0; the Private Use Area holds 6400.
const (
	glyphBase = 0xE000
	maxGlyphs = 0xF900 - glyphBase
)

// pdfFont is one TrueType font: parsed for shaping, and rewritten for fpdf.
type pdfFont struct {
	family string     // its fpdf family name
	style  string     // its fpdf style: "" or "B"
	font   *font.Font // read-only, shared: each document makes its own Face
	ttf    []byte     // the file with its cmap replaced: glyph g is code point glyphBase+g
}

// pdfFonts are the fonts of translated pages: [script][style], script 0 Latin and
// Cyrillic, 1 Arabic; style 0 regular, 1 bold.
type pdfFonts [2][2]*pdfFont

// fonts loads the fonts once, from COFFRE_FONTS or DefaultFontDir. Missing fonts are
// logged once and give nil: the desk still prints the French card.
var fonts = sync.OnceValue(func() *pdfFonts { //nolint:gochecknoglobals // loaded once, read-only
	dir := os.Getenv(FontsEnv)
	if dir == "" {
		dir = DefaultFontDir
	}
	f, err := loadFonts(dir)
	if err != nil {
		slog.Warn("sharing: no fonts for translated pages: cards and receipts are printed in French only where the core font cannot write the language",
			"dir", dir, "env", FontsEnv, "err", err)
		return nil
	}
	return f
})

// PreloadFonts loads the fonts of translated pages now rather than at the first print, so
// that missing fonts are in the log when the service starts, not when an agent prints.
// It tells whether they are there.
func PreloadFonts() bool { return fonts() != nil }

// loadFonts reads the four fonts of translated pages in dir.
func loadFonts(dir string) (*pdfFonts, error) {
	var fs pdfFonts
	for script, files := range fontFiles {
		for style, name := range files {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				return nil, fmt.Errorf("sharing: font: %w", err)
			}
			f, err := parseFont(b)
			if err != nil {
				return nil, fmt.Errorf("sharing: font %s: %w", name, err)
			}
			f.family, f.style = fmt.Sprintf("coffre%d", script), [2]string{"", "B"}[style]
			fs[script][style] = f
		}
	}
	return &fs, nil
}

// check writes a PDF with f's first glyphs, so that a font fpdf cannot embed is found
// at load (and the desk falls back to French) rather than at the desk (an error).
func (f *pdfFont) check() error {
	pdf := fpdf.New("P", "mm", "A6", "")
	pdf.AddPage()
	pdf.AddUTF8FontFromBytes(f.family, f.style, f.ttf)
	pdf.SetFont(f.family, f.style, 10)
	pdf.Text(10, 10, string([]rune{glyphBase + 1, glyphBase + 2, glyphBase + 3}))
	return pdf.Output(io.Discard)
}

// parseFont reads a font file. go-text and fpdf panic on some broken files (a truncated
// glyf table): that is an error here, as for any other broken file.
func parseFont(b []byte) (_ *pdfFont, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("broken font file: %v", r)
		}
	}()
	face, err := font.ParseTTF(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	ttf, err := glyphCmap(b)
	if err != nil {
		return nil, err
	}
	f := &pdfFont{font: face.Font, ttf: ttf, family: "check"}
	if err := f.check(); err != nil {
		return nil, err
	}
	return f, nil
}

// glyphCmap returns a copy of the TrueType file ttf whose cmap maps code point
// glyphBase+g to glyph g, for every glyph but .notdef: a format 4 table, the one fpdf
// reads. The new table is appended and the table directory points to it; the other
// tables are untouched.
func glyphCmap(ttf []byte) ([]byte, error) {
	if len(ttf) < 12 || binary.BigEndian.Uint32(ttf) != 0x00010000 {
		return nil, errors.New("not a TrueType font with glyf outlines")
	}
	n := int(binary.BigEndian.Uint16(ttf[4:]))
	rec, numGlyphs := -1, 0
	for i := 0; i < n; i++ {
		r := 12 + 16*i
		if r+16 > len(ttf) {
			return nil, errors.New("truncated table directory")
		}
		switch string(ttf[r : r+4]) {
		case "cmap":
			rec = r
		case "maxp":
			if at := int(binary.BigEndian.Uint32(ttf[r+8:])); at+6 <= len(ttf) {
				numGlyphs = int(binary.BigEndian.Uint16(ttf[at+4:]))
			}
		}
	}
	if rec < 0 {
		return nil, errors.New("no cmap table")
	}
	if numGlyphs < 2 || numGlyphs > maxGlyphs {
		return nil, fmt.Errorf("%d glyphs: not between 2 and %d", numGlyphs, maxGlyphs)
	}
	first, last := uint16(glyphBase+1), uint16(glyphBase+numGlyphs-1)
	sub := []uint16{
		4, 16 + 2*8, 0, // format, length, language
		4, 4, 1, 0, // segCountX2, searchRange, entrySelector, rangeShift
		last, 0xFFFF, // endCode
		0,             // reservedPad
		first, 0xFFFF, // startCode
		uint16(1 - int(first)), 1, // idDelta (modulo 65536): glyphBase+g → g
		0, 0, // idRangeOffset
	}
	var cmap bytes.Buffer
	_ = binary.Write(&cmap, binary.BigEndian, []uint16{0, 1, 3, 1}) // version, one table: Windows, Unicode BMP
	_ = binary.Write(&cmap, binary.BigEndian, uint32(12))
	_ = binary.Write(&cmap, binary.BigEndian, sub)
	out := make([]byte, len(ttf), len(ttf)+3+cmap.Len())
	copy(out, ttf)
	for len(out)%4 != 0 {
		out = append(out, 0)
	}
	binary.BigEndian.PutUint32(out[rec+8:], uint32(len(out)))
	binary.BigEndian.PutUint32(out[rec+12:], uint32(cmap.Len()))
	return append(out, cmap.Bytes()...), nil
}

// shaper lays out text in the fonts of translated pages, for one document.
type shaper struct {
	faces  [2][2]*font.Face
	hb     shaping.HarfbuzzShaper
	seg    shaping.Segmenter
	wrap   shaping.LineWrapper
	added  map[*pdfFont]bool // registered with fpdf
	byFace map[*font.Face]*pdfFont
}

func newShaper(fs *pdfFonts) *shaper {
	s := &shaper{added: map[*pdfFont]bool{}, byFace: map[*font.Face]*pdfFont{}}
	for script := range fs {
		for style, f := range fs[script] {
			s.faces[script][style] = font.NewFace(f.font)
			s.byFace[s.faces[script][style]] = f
		}
	}
	return s
}

// fontmap picks Noto Sans Arabic for Arabic script and Noto Sans for the rest.
type fontmap struct {
	latin, arabic *font.Face
	script        language.Script
}

func (m *fontmap) SetScript(s language.Script) { m.script = s }

func (m *fontmap) ResolveFace(r rune) *font.Face {
	if m.script == language.Arabic {
		if _, ok := m.arabic.NominalGlyph(r); ok {
			return m.arabic
		}
	}
	if _, ok := m.latin.NominalGlyph(r); ok {
		return m.latin
	}
	if _, ok := m.arabic.NominalGlyph(r); ok {
		return m.arabic
	}
	return m.latin
}

// covers tells whether the fonts have a glyph for every letter of s.
func (s *shaper) covers(str string) bool {
	m := fontmap{latin: s.faces[0][0], arabic: s.faces[1][0]}
	for _, r := range str {
		if unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) { // isolates and marks of direction draw nothing
			continue
		}
		_, l := m.latin.NominalGlyph(r)
		_, a := m.arabic.NominalGlyph(r)
		if !l && !a {
			return false
		}
	}
	return true
}

// ptToMM converts typographic points to millimetres.
const ptToMM = 25.4 / 72

// paragraph writes str from the current position, wrapped to the page's inner width,
// in the given size (points) and line height (mm): right-aligned on a right-to-left
// page. The direction of the paragraph is that of its first strong letter (a Latin
// structure name on an Arabic page reads left to right), the page's if it has none.
func (p *page) paragraph(bold bool, pt, lineMM float64, str string) {
	s := p.shaper
	style := 0
	if bold {
		style = 1
	}
	runes := []rune(str)
	if len(runes) == 0 {
		return
	}
	dir := di.DirectionLTR
	if rtlText(str, p.rtl) {
		dir = di.DirectionRTL
	}
	size := fixed.Int26_6(pt * 64)
	fm := &fontmap{latin: s.faces[0][style], arabic: s.faces[1][style]}
	inputs := s.seg.Split(shaping.Input{Text: runes, RunEnd: len(runes), Direction: dir, Size: size, Face: fm.latin}, fm)
	outs := make([]shaping.Output, len(inputs))
	for i, in := range inputs {
		outs[i] = s.hb.Shape(in)
	}
	width := fixed.Int26_6(p.inner() / ptToMM * 64)
	lines, _ := s.wrap.WrapParagraphF(shaping.WrapConfig{Direction: dir, BreakPolicy: shaping.WhenNecessary}, width, runes, shaping.NewSliceIterator(outs))
	left, _, _, bottom := p.pdf.GetMargins()
	_, pageH := p.pdf.GetPageSize()
	for _, line := range lines {
		if p.pdf.GetY()+lineMM > pageH-bottom {
			p.pdf.AddPage()
		}
		sort.Slice(line, func(i, j int) bool { return line[i].VisualIndex < line[j].VisualIndex })
		var adv fixed.Int26_6
		for _, run := range line {
			adv += run.Advance
		}
		x := left
		if p.rtl {
			x = left + p.inner() - float64(adv)/64*ptToMM
		}
		// The baseline: the middle of the line and a third of the letters' size below, where
		// fpdf's cells put it.
		y := p.pdf.GetY() + lineMM*0.5 + pt*ptToMM*0.35
		for _, run := range line {
			p.useFont(s.byFace[run.Face], pt)
			for i, g := range run.Glyphs {
				// Each cluster (a letter and its marks, or the two letters of lam-alef)
				// says which letters it is, in their logical order.
				if i == 0 || run.Glyphs[i-1].TextIndex() != g.TextIndex() {
					p.pdf.RawWriteStr("/Span <</ActualText <" + utf16Hex(string(runes[g.TextIndex():g.TextIndex()+g.RunesCount()])) + ">>> BDC")
				}
				gx := x + float64(g.XOffset)/64*ptToMM
				gy := y - float64(g.YOffset)/64*ptToMM
				p.pdf.Text(gx, gy, string(rune(glyphBase+int(g.GlyphID))))
				x += float64(g.Advance) / 64 * ptToMM
				if i == len(run.Glyphs)-1 || run.Glyphs[i+1].TextIndex() != g.TextIndex() {
					p.pdf.RawWriteStr("EMC")
				}
			}
		}
		p.pdf.SetY(p.pdf.GetY() + lineMM)
	}
}

// useFont makes f the current font, registering it with fpdf the first time.
func (p *page) useFont(f *pdfFont, pt float64) {
	if !p.shaper.added[f] {
		p.pdf.AddUTF8FontFromBytes(f.family, f.style, f.ttf)
		p.shaper.added[f] = true
	}
	p.pdf.SetFont(f.family, f.style, pt)
}

// rtlText tells whether s reads right to left: its first strong letter is Arabic or
// Hebrew script; def when it has none.
func rtlText(s string, def bool) bool {
	for _, r := range s {
		props, _ := bidi.LookupRune(r)
		switch props.Class() {
		case bidi.L:
			return false
		case bidi.R, bidi.AL:
			return true
		}
	}
	return def
}

// utf16Hex is s as a PDF text string in hexadecimal: UTF-16BE with its byte order mark.
func utf16Hex(s string) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2+2*len(u))
	b[0], b[1] = 0xFE, 0xFF
	for i, c := range u {
		binary.BigEndian.PutUint16(b[2+2*i:], c)
	}
	return hex.EncodeToString(b)
}
