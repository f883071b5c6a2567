package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrOCRUnavailable reports that the tesseract program, or its French
// data, is not installed. scripts/ocr.sh installs both.
var ErrOCRUnavailable = errors.New("tesseract OCR is not installed (hint: apt-get install tesseract-ocr tesseract-ocr-fra, or run scripts/ocr.sh)")

// ErrOCRFailed reports that tesseract failed, ran out of time or of memory.
var ErrOCRFailed = errors.New("tesseract OCR failed")

// Default bounds of one OCR run.
const (
	// DefaultOCRTimeout bounds one tesseract run. A 200 dpi A4 page takes
	// one to three seconds on one core.
	DefaultOCRTimeout = 30 * time.Second
	// DefaultOCRMemory bounds tesseract's address space. A page needs about
	// 150 MB; the French model is small.
	DefaultOCRMemory = 1 << 30
	// maxOCROutput bounds what is read from tesseract's output: a dense A4
	// page is about 5 KB of text, 20 KB as TSV.
	maxOCROutput = 4 << 20
)

// ocrRequest is one tesseract run.
type ocrRequest struct {
	path      string        // tesseract binary; "" looks it up on PATH
	lang      string        // "fra"
	psm       int           // page segmentation mode, 0 for tesseract's default (3)
	whitelist string        // characters allowed, "" for all
	tsv       bool          // words with boxes and confidences instead of text
	timeout   time.Duration // 0 means DefaultOCRTimeout
	memory    int64         // bytes of address space; 0 means DefaultOCRMemory
}

// ocrWord is one word of tesseract's TSV output.
type ocrWord struct {
	block, par, line int
	box              image.Rectangle
	conf             float64
	text             string
}

// runOCR runs tesseract on a grey image and returns what it printed. The
// image goes in on standard input and the text comes back on standard
// output: nothing of the paper is written to a file, temporary or not.
// The process runs in its own process group with one thread
// (OMP_THREAD_LIMIT=1), a bounded address space (ulimit -v) and a
// deadline, after which the whole group is killed.
func runOCR(ctx context.Context, img *image.Gray, req ocrRequest) ([]byte, error) {
	path := req.path
	if path == "" {
		path = "tesseract"
	}
	path, err := exec.LookPath(path)
	if err != nil {
		return nil, fmt.Errorf("ingest: ocr: %w", ErrOCRUnavailable)
	}
	if req.timeout <= 0 {
		req.timeout = DefaultOCRTimeout
	}
	if req.memory <= 0 {
		req.memory = DefaultOCRMemory
	}
	ctx, cancel := context.WithTimeout(ctx, req.timeout)
	defer cancel()

	// Leptonica's tiled Otsu threshold copes with the grey photo and
	// tinted backgrounds of cards, where the global one blacks out whole
	// regions and loses the text around them.
	args := []string{"stdin", "stdout", "-l", req.lang, "--dpi", "200", "-c", "thresholding_method=1"}
	if req.psm > 0 {
		args = append(args, "--psm", strconv.Itoa(req.psm))
	}
	if req.whitelist != "" {
		args = append(args, "-c", "tessedit_char_whitelist="+req.whitelist)
	}
	if req.tsv {
		args = append(args, "tsv")
	}
	// The shell sets the limit and replaces itself with tesseract, so the
	// limit applies from tesseract's first instruction; Go cannot set a
	// child's rlimits between fork and exec.
	script := fmt.Sprintf("ulimit -v %d && exec \"$0\" \"$@\"", req.memory/1024)
	cmd := exec.Command("/bin/sh", append([]string{"-c", script, path}, args...)...)
	cmd.Env = []string{"OMP_THREAD_LIMIT=1", "PATH=/usr/bin:/bin", "LC_ALL=C"}
	if p := os.Getenv("TESSDATA_PREFIX"); p != "" {
		cmd.Env = append(cmd.Env, "TESSDATA_PREFIX="+p)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdin = bytes.NewReader(encodePGM(img))
	stdout := &capWriter{max: maxOCROutput}
	stderr := &capWriter{max: 4 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("ingest: ocr: start: %w: %v", ErrOCRFailed, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// The negative pid is the whole process group.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done //nolint:errcheck // killed: its exit status says nothing more
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("ingest: ocr: %w: %w", ErrOCRFailed, ErrTimeout)
		}
		return nil, fmt.Errorf("ingest: ocr: %w", ErrCanceled)
	}
	if err != nil {
		// Tesseract's own messages say what is missing; they never
		// contain recognised text, which goes to standard output only.
		msg := firstLine(stderr.buf.String())
		if strings.Contains(msg, "Failed loading language") || strings.Contains(msg, "couldn't load any languages") {
			return nil, fmt.Errorf("ingest: ocr: %w (%s)", ErrOCRUnavailable, msg)
		}
		return nil, fmt.Errorf("ingest: ocr: %w: %v: %s", ErrOCRFailed, err, msg)
	}
	if stdout.over {
		return nil, fmt.Errorf("ingest: ocr: %w: more than %d bytes of output", ErrOCRFailed, maxOCROutput)
	}
	return stdout.buf.Bytes(), nil
}

// parseTSV reads tesseract's TSV output: one row per word (level 5).
func parseTSV(b []byte) []ocrWord {
	var words []ocrWord
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), maxOCROutput)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), "\t", 12)
		if len(f) != 12 || f[0] != "5" {
			continue
		}
		n := make([]int, 10)
		ok := true
		for i := 1; i < 10; i++ {
			v, err := strconv.Atoi(f[i])
			if err != nil {
				ok = false
				break
			}
			n[i] = v
		}
		conf, err := strconv.ParseFloat(f[10], 64)
		text := strings.TrimSpace(f[11])
		if !ok || err != nil || text == "" {
			continue
		}
		words = append(words, ocrWord{
			block: n[2], par: n[3], line: n[4],
			box:  image.Rect(n[6], n[7], n[6]+n[8], n[7]+n[9]),
			conf: conf, text: text,
		})
	}
	return words
}

// ocrLine is the words of one line of text, joined.
type ocrLine struct {
	text  string
	box   image.Rectangle
	conf  float64 // mean word confidence, 0–100
	words []ocrWord
}

// groupLines joins TSV words into lines, in reading order.
func groupLines(words []ocrWord) []ocrLine {
	var lines []ocrLine
	for i := 0; i < len(words); {
		j := i
		l := ocrLine{box: words[i].box}
		var parts []string
		for ; j < len(words) && words[j].block == words[i].block && words[j].par == words[i].par && words[j].line == words[i].line; j++ {
			parts = append(parts, words[j].text)
			l.box = l.box.Union(words[j].box)
			l.conf += words[j].conf
		}
		l.text = strings.Join(parts, " ")
		l.words = words[i:j]
		l.conf /= float64(j - i)
		lines = append(lines, l)
		i = j
	}
	return lines
}

// encodePGM writes a binary PGM, which tesseract (leptonica) reads from
// memory; unlike PNG it costs no compression.
func encodePGM(g *image.Gray) []byte {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	head := fmt.Sprintf("P5\n%d %d\n255\n", w, h)
	b := make([]byte, 0, len(head)+w*h)
	b = append(b, head...)
	for y := 0; y < h; y++ {
		b = append(b, g.Pix[y*g.Stride:y*g.Stride+w]...)
	}
	return b
}

// capWriter keeps at most max bytes and notes that there was more.
type capWriter struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (c *capWriter) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); len(p) > room {
		c.over = true
		c.buf.Write(p[:max(0, room)])
		return len(p), nil
	}
	return c.buf.Write(p)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
