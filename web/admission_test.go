package web_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"coffre/ingest/ingesttest"
	"coffre/sharing"
	"coffre/vault"
	"coffre/web"
)

// stalledUpload starts a deposit whose body announces size bytes and stops after the
// CSRF token: the server has reserved the memory for it and waits for the rest. Its
// stop ends it; ended tells whether the server already answered it (it was refused).
func stalledUpload(t *testing.T, c *client, size int) *stalled {
	t.Helper()
	tok := c.csrf("/papiers/ajouter")
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	req, _ := http.NewRequest(http.MethodPost, c.base+"/papiers/ajouter", pr)
	req.ContentLength = int64(size)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	s := &stalled{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if resp, err := c.hc.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	// The writes fail only when the server has already refused the request, which ended
	// tells the callers.
	_ = mw.WriteField("csrf", tok)
	w, _ := mw.CreateFormFile("pages", "grand.jpg")
	_, _ = w.Write(bytes.Repeat([]byte{0xFF}, 1024)) // through the first part boundary
	return s
}

type stalled struct {
	pw   *io.PipeWriter
	done chan struct{}
}

func (s *stalled) stop() {
	s.pw.CloseWithError(io.ErrUnexpectedEOF)
	<-s.done
}

func (s *stalled) ended() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// until retries f until it says yes or a minute has gone.
func until(t *testing.T, what string, f func() bool) {
	t.Helper()
	for start := time.Now(); !f(); time.Sleep(20 * time.Millisecond) { // polls for an event
		if time.Since(start) > time.Minute {
			t.Fatalf("%s: never", what)
		}
	}
}

const busySentence = "Le service est très occupé en ce moment\u00a0: réessayez dans une minute."

// When the deposits in progress hold the memory budget, a new deposit and the merge of a
// link's papers are answered 503 with Retry-After and one plain sentence; once memory is
// back, both go through, and a refused merge did not count as a download.
func TestAdmission(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *web.Config) {
		c.IngestMemory = 128 << 20
		c.AdmissionWait = 50 * time.Millisecond
	})
	c := b.client(t)
	c.signup("amina", "le chat mange la pomme")
	photo, err := os.ReadFile(sharedFixture(t, "exif-orientation/Portrait_6.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	deposit := func(accept string) (*http.Response, string) {
		tok := c.csrf("/papiers/ajouter")
		h := map[string]string{}
		if accept != "" {
			h["Accept"] = accept
		}
		return c.send("/papiers/ajouter", []part{{"csrf", "", []byte(tok)}, {"pages", "p.jpg", photo}, {"kind", "", []byte("caf")}}, h)
	}
	for range 2 {
		if resp, body := deposit(""); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("deposit: %d %s", resp.StatusCode, body)
		}
	}
	owner := mustOwner(t, b, "amina")
	docs, err := b.v.Documents(context.Background(), owner)
	if err != nil {
		t.Fatal(err)
	}
	created, err := b.share.CreateLink(context.Background(), owner, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()},
		sharing.NewLink{Documents: []uuid.UUID{docs[0].ID, docs[1].ID}, Lifetime: time.Hour, MaxDownloads: 1})
	if err != nil {
		t.Fatal(err)
	}
	// The probe link has no download limit: polling it until the stalled upload holds the
	// memory uses up nothing, however long the server takes to reserve it.
	probe, err := b.share.CreateLink(context.Background(), owner, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()},
		sharing.NewLink{Documents: []uuid.UUID{docs[0].ID, docs[1].ID}, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	desk := b.client(t)
	all := "/p/" + created.Token + "/tout.pdf"

	held := stalledUpload(t, c, 40<<20) // reserves 80 MB of 128
	defer func() { held.stop() }()
	var resp *http.Response
	var body string
	until(t, "the merge refused while the upload holds the memory", func() bool {
		if held.ended() { // it arrived while a probe's merge held memory, and was refused
			held = stalledUpload(t, c, 40<<20)
		}
		resp, _ = desk.get("/p/" + probe.Token + "/tout.pdf")
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	resp, body = desk.get(all)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("merge while the memory is held: %d", resp.StatusCode)
	}
	if resp.Header.Get("Retry-After") == "" || !strings.Contains(body, busySentence) {
		t.Errorf("busy merge: %q %s", resp.Header.Get("Retry-After"), body)
	}
	resp, body = deposit("")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, busySentence) {
		t.Errorf("busy deposit: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	resp, body = deposit("application/json")
	var answer map[string]string
	if err := json.Unmarshal([]byte(body), &answer); err != nil {
		t.Errorf("busy deposit from the page's script: not JSON: %v %s", err, body)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || answer["error"] != busySentence {
		t.Errorf("busy deposit from the page's script: %d %s", resp.StatusCode, body)
	}
	held.stop()

	until(t, "the merge once memory is back", func() bool {
		resp, body = desk.get(all)
		return resp.StatusCode == http.StatusOK
	})
	if !strings.HasPrefix(body, "%PDF") {
		t.Error("the merged file is not a PDF")
	}
	if resp, body := deposit(""); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("deposit once memory is back: %d %s", resp.StatusCode, body)
	}
	// The link allowed one download: the refused merges did not use it.
	if resp, _ := desk.get(all); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a second download of a one-download link: %d", resp.StatusCode)
	}
}

// slowExport asks for owner c's archive over a connection whose client takes 20 KB/s,
// far below the pace the test server requires. It returns when the response has
// started; stop closes the connection.
func slowExport(t *testing.T, c *client) (status int, stop func()) {
	t.Helper()
	tok := c.csrf("/compte/export")
	u, _ := url.Parse(c.base + "/compte/export")
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.(*net.TCPConn).SetReadBuffer(4 << 10); err != nil { // else the kernel reads the export for the client
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, u.String(), strings.NewReader(url.Values{"csrf": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, ck := range c.hc.Jar.Cookies(u) {
		req.AddCookie(ck)
	}
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReaderSize(conn, 1024)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatal(err)
	}
	quit := make(chan struct{})
	go func() {
		buf := make([]byte, 1024)
		for {
			select {
			case <-quit:
				return
			case <-time.After(50 * time.Millisecond): // the slow client
			}
			if _, err := resp.Body.Read(buf); err != nil {
				return
			}
		}
	}()
	return resp.StatusCode, func() { close(quit); conn.Close() }
}

// A client that takes an export slowly does not hold the slot: it is cut off once it
// falls behind the minimum pace, and the next export goes through. A safe has one export
// at a time.
func TestExportSlowReader(t *testing.T) {
	t.Parallel()
	// The grace is long enough for the checks below to run while the slow clients are
	// still held on a loaded machine (200 ms failed once beside the linter).
	b := setup(t, func(c *web.Config) {
		c.ExportGrace = 2 * time.Second
		c.ExportMinRate = 4 << 20
	})
	// Two safes of 24 MB that does not compress, taken slowly, hold both slots.
	slow := make([]*client, 2)
	for i := range slow {
		slow[i] = b.client(t)
		login := "lent" + strconv.Itoa(i)
		slow[i].signup(login, "le chat mange la pomme")
		owner := mustOwner(t, b, login)
		big := make([]byte, 24<<20)
		rand.Read(big)
		if _, err := b.v.Deposit(context.Background(), owner, vault.Actor{Kind: vault.ActorOwner, ID: owner.String()}, vault.NewDocument{
			Kind: vault.KindAutre, Title: "grand", Files: []vault.File{{Role: vault.RoleOriginal, MediaType: "image/jpeg", Body: bytes.NewReader(big), Size: int64(len(big))}}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range slow {
		status, stop := slowExport(t, c)
		defer stop()
		if status != http.StatusOK {
			t.Fatalf("slow export: %d", status)
		}
	}
	if resp, _ := slow[0].exportArchive(nil); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a second export of the same safe: %d, want 429", resp.StatusCode)
	}
	fast := b.client(t)
	fast.signup("rapide", "le chat mange la pomme")
	start := time.Now()
	until(t, "an export once the slow clients are cut off", func() bool {
		resp, archive := fast.exportArchive(nil)
		if resp.StatusCode == http.StatusOK {
			checkArchive(t, resp, archive)
			return true
		}
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("export: %d", resp.StatusCode)
		}
		return false
	})
	t.Logf("slots free again after %s", time.Since(start))
}

// TestHalfSentBodies: a form is read up to 64 KB and no more, and a client that stops
// sending a body, on any route, is cut off once it falls behind the minimum pace,
// instead of holding the request's memory and connection.
func TestHalfSentBodies(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *web.Config) {
		c.UploadGrace = 500 * time.Millisecond
		c.UploadMinRate = 1 << 10
	})
	c := b.client(t)
	tok := c.csrf("/connexion")
	resp, _ := c.post("/connexion", url.Values{"csrf": {tok}, "login": {"amina"}, "secret": {strings.Repeat("x", 100<<10)}})
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a form of 100 KB: %d, want 413", resp.StatusCode)
	}
	u, _ := url.Parse(b.srv.URL)
	for _, path := range []string{"/connexion", "/api/v1/oauth/token"} {
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// The body announces 100 bytes and stops after 10.
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ncsrf=abcde", path, u.Host)
		start := time.Now()
		if err := conn.SetReadDeadline(start.Add(15 * time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(conn); err != nil {
			t.Errorf("%s: the server still waits for the body after %s: %v", path, time.Since(start).Round(time.Millisecond), err)
			continue
		}
		t.Logf("%s: cut off after %s", path, time.Since(start).Round(time.Millisecond))
	}
}

// TestSlowDepositIsCut: a deposit whose body stops coming is cut off once it falls
// behind the minimum pace, and the memory it reserved serves the next deposit.
func TestSlowDepositIsCut(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *web.Config) {
		c.IngestMemory = 128 << 20
		c.AdmissionWait = 50 * time.Millisecond
		c.UploadGrace = time.Second
		c.UploadMinRate = 64 << 10
	})
	slow := b.client(t)
	slow.signup("lent", "le chat mange la pomme")
	defer stalledUpload(t, slow, 40<<20).stop() // reserves 80 MB of 128, and is never finished
	photo, err := os.ReadFile(sharedFixture(t, "exif-orientation/Portrait_6.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	c := b.client(t)
	c.signup("amina", "le chat mange la pomme")
	busy := false
	until(t, "a deposit once the stalled one is cut off", func() bool {
		resp, body := c.send("/papiers/ajouter", []part{{"csrf", "", []byte(c.csrf("/papiers/ajouter"))}, {"pages", "p.jpg", photo}}, nil)
		switch resp.StatusCode {
		case http.StatusServiceUnavailable:
			busy = true
			return false
		case http.StatusSeeOther:
			return true
		}
		t.Fatalf("deposit: %d %s", resp.StatusCode, body)
		return false
	})
	if !busy {
		t.Log("the stalled upload was cut off before the first deposit was tried")
	}
}

// TestDepositsPerSafe: one safe has at most two deposits in progress at once in a
// process; a third is answered "busy, try again" while other safes' deposits go through.
func TestDepositsPerSafe(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.client(t)
	c.signup("amina", "le chat mange la pomme")
	stalls := []*stalled{stalledUpload(t, c, 1<<20), stalledUpload(t, c, 1<<20)}
	defer func() {
		for _, s := range stalls {
			s.stop()
		}
	}()
	page, err := os.ReadFile(pngFile(t))
	if err != nil {
		t.Fatal(err)
	}
	deposit := func(c *client) (*http.Response, string) {
		return c.send("/papiers/ajouter", []part{{"csrf", "", []byte(c.csrf("/papiers/ajouter"))}, {"pages", "p.png", page}}, nil)
	}
	// The stalled deposits are admitted once the server reads their first part; one that
	// arrived while a deposit of this loop was in progress was refused, and is sent again.
	until(t, "a third deposit into one safe refused while two are in progress", func() bool {
		for i, s := range stalls {
			if s.ended() {
				stalls[i] = stalledUpload(t, c, 1<<20)
			}
		}
		resp, body := deposit(c)
		if resp.StatusCode != http.StatusServiceUnavailable {
			return false
		}
		if resp.Header.Get("Retry-After") == "" || !strings.Contains(body, busySentence) {
			t.Errorf("third deposit of a safe: %q", resp.Header.Get("Retry-After"))
		}
		return true
	})
	other := b.client(t)
	other.signup("lea", "le chat mange la pomme")
	if resp, body := deposit(other); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("another safe's deposit: %d %s", resp.StatusCode, body)
	}
}

// bigPDF is a one-page PDF of about n bytes that do not compress, like a scan.
func bigPDF(t *testing.T, n int) []byte {
	t.Helper()
	side := int(math.Sqrt(float64(n)))
	noise := make([]byte, side*side)
	rand.Read(noise)
	content := "q 595 0 0 842 0 0 cm /Im0 Do Q"
	return ingesttest.PDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		fmt.Sprintf("<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Length %d >>\nstream\n%s\nendstream", side, side, len(noise), noise))
}

// TestMergeSlowReader: a link holder who starts the all-in-one download and never reads
// it holds the link's one merge only until they fall behind the export's pace; meanwhile
// another download of that link is told to try again.
func TestMergeSlowReader(t *testing.T) {
	t.Parallel()
	// A grace long enough for the second download to come while the first is held on a
	// loaded machine (1 s failed once beside the linter).
	b := setup(t, func(c *web.Config) {
		c.ExportGrace = 3 * time.Second
		c.ExportMinRate = 1 << 20
	})
	ctx := context.Background()
	o, err := b.v.CreateOwner(ctx, "", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	by := vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String()}
	var ids []uuid.UUID
	for _, title := range []string{"A", "B"} {
		pdf := bigPDF(t, 12<<20)
		d, err := b.v.Deposit(ctx, o.ID, by, vault.NewDocument{Kind: vault.KindAutre, Title: title, Files: []vault.File{
			{Role: vault.RoleRendition, MediaType: "application/pdf", Body: bytes.NewReader(pdf), Size: int64(len(pdf))}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	created, err := b.share.CreateLink(ctx, o.ID, by, sharing.NewLink{Documents: ids, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	all := "/p/" + created.Token + "/tout.pdf"
	u, _ := url.Parse(b.srv.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.(*net.TCPConn).SetReadBuffer(4 << 10); err != nil { // else the kernel reads the PDF for the client
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, b.srv.URL+all, nil)
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 1024), req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the slow download: %v %v", resp, err)
	}
	// Never read: the merge waits on its writes.
	desk := b.client(t)
	resp, body := desk.get(all)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, busySentence) {
		t.Errorf("a second download while the first is held: %d", resp.StatusCode)
	}
	start := time.Now()
	until(t, "the download once the slow one is cut off", func() bool {
		resp, body = desk.get(all)
		return resp.StatusCode == http.StatusOK && strings.HasPrefix(body, "%PDF")
	})
	t.Logf("the link's merge free again after %s", time.Since(start).Round(time.Millisecond))
}

var sentenceRE = regexp.MustCompile(`(?s)<div class="fr-alert fr-alert--error[^"]*"[^>]*>\s*<p>([^<]+)</p>`)

// TestDepositGuard sends deposit bombs and honest deposits all at once, each from its own
// account (a safe has two deposits in progress at most): the process stays under the
// memory bound the README states (MemoryBound, with the runtime's limit set as serve
// sets it), /healthz answers throughout, and every refused upload gets one plain
// sentence.
func TestDepositGuard(t *testing.T) {
	// Not parallel: it measures the process's memory against MemoryBound and sets the
	// runtime's memory limit, both process-wide.
	var cfg web.Config
	b := setup(t, func(c *web.Config) {
		c.IngestMemory = 320 << 20
		c.AdmissionWait = 8 * time.Second
		cfg = *c
	})
	limit := web.MemoryBound(cfg)
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(web.GCLimit(cfg)))
	photo, err := os.ReadFile(sharedFixture(t, "exif-orientation/Landscape_3.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	page := ingesttest.PagePNG(1240, 1754)
	type bomb struct {
		name  string
		files [][]byte
		want  []string // sentences accepted besides success and busy
	}
	var bombs []bomb
	add := func(n int, bm bomb) {
		for range n {
			bombs = append(bombs, bm)
		}
	}
	tooHeavy := "Ce fichier est trop lourd. Envoyez une photo plus petite ou un document plus court."
	add(4, bomb{"PDF inflating to 300 MB", [][]byte{ingesttest.InflatingPDF(1, 300<<20)}, []string{tooHeavy}})
	add(2, bomb{"PDF of 20,000 pages", [][]byte{ingesttest.ManyPagesPDF(20_000)}, []string{"Ce document a trop de pages. Envoyez-le en plusieurs parties."}})
	add(2, bomb{"PDF of 200,000 pages", [][]byte{ingesttest.ManyPagesPDF(200_000)}, []string{tooHeavy}})
	add(3, bomb{"PNG of 60000×60000", [][]byte{ingesttest.HugePNG(60000, 60000, 50_000_000)}, []string{"Cette image est trop grande. Envoyez une photo prise normalement avec le téléphone."}})
	add(3, bomb{"PNG of 7000×7000", [][]byte{ingesttest.HugePNG(7000, 7000, 50_000_000)}, nil})
	twenty := make([][]byte, 20)
	for i := range twenty {
		twenty[i] = page
	}
	add(3, bomb{"20 pages", twenty, nil})
	add(3, bomb{"a photo", [][]byte{photo}, nil})

	// One account per deposit, and one for the largest page alone at the end.
	accounts := make([]*client, len(bombs)+1)
	for i := range accounts {
		accounts[i] = b.client(t)
		accounts[i].signup("amina"+strconv.Itoa(i), "le chat mange la pomme")
	}

	// Memory and /healthz, watched throughout.
	// The memory the runtime holds from the system (what the memory limit governs, about
	// the resident size), and the live heap found by each collection; what earlier tests
	// left is given back first.
	debug.FreeOSMemory()
	var peak, live atomic.Uint64
	stopWatch := make(chan struct{})
	var watch sync.WaitGroup
	watch.Add(2)
	go func() {
		defer watch.Done()
		s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}, {Name: "/gc/heap/live:bytes"}}
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64() - s[1].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			if v := s[2].Value.Uint64(); v > live.Load() {
				live.Store(v)
			}
			select {
			case <-stopWatch:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	var health []string
	go func() {
		defer watch.Done()
		hc := &http.Client{Timeout: 3 * time.Second}
		for {
			resp, err := hc.Get(b.srv.URL + "/healthz")
			if err != nil {
				health = append(health, err.Error())
			} else {
				if resp.StatusCode != http.StatusOK {
					health = append(health, resp.Status)
				}
				resp.Body.Close()
			}
			select {
			case <-stopWatch:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()

	send := func(bm bomb, c *client) string {
		parts := []part{{"csrf", "", []byte(c.csrf("/papiers/ajouter"))}}
		for k, f := range bm.files {
			parts = append(parts, part{"pages", fmt.Sprintf("page%d", k), f})
		}
		resp, body := c.send("/papiers/ajouter", parts, nil)
		var sentence string
		if m := sentenceRE.FindStringSubmatch(body); m != nil {
			sentence = html.UnescapeString(strings.TrimSpace(m[1]))
		}
		switch {
		case resp.StatusCode == http.StatusSeeOther:
			return "accepted"
		case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" && sentence == busySentence:
			return "busy"
		case resp.StatusCode == http.StatusUnprocessableEntity && contains(bm.want, sentence):
			return "refused: " + sentence
		}
		t.Errorf("%s: %d %q", bm.name, resp.StatusCode, sentence)
		return "WRONG"
	}
	var wg sync.WaitGroup
	results := make([]string, len(bombs))
	for i, bm := range bombs {
		wg.Go(func() { results[i] = send(bm, accounts[i]) })
	}
	wg.Wait()
	// Then the largest page the limits allow, alone: once the memory is back (a decode
	// that timed out may still hold some), it is processed, within the bound.
	pixels := bomb{"PNG of 7000×7000 alone", [][]byte{ingesttest.HugePNG(7000, 7000, 50_000_000)}, nil}
	var alone string
	until(t, "the largest page alone", func() bool { alone = send(pixels, accounts[len(bombs)]); return alone != "busy" })
	bombs, results = append(bombs, pixels), append(results, alone)
	close(stopWatch)
	watch.Wait()
	counts := map[string]int{}
	for i, r := range results {
		counts[bombs[i].name+": "+r]++
	}
	t.Logf("peak memory %d MB (live heap %d MB), bound %d MB; %v", peak.Load()>>20, live.Load()>>20, limit>>20, counts)
	if p := int64(peak.Load()); p > limit {
		t.Errorf("peak memory %d MB above the bound of %d MB", p>>20, limit>>20)
	}
	if len(health) > 0 {
		t.Errorf("/healthz failed meanwhile: %v", health)
	}
	if counts["a photo: accepted"] == 0 && counts["20 pages: accepted"] == 0 {
		t.Error("no honest deposit went through")
	}
	if counts["PNG of 7000×7000 alone: accepted"] != 1 {
		t.Error("the largest page allowed was not processed on its own")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
