package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"coffre/ingest"
	"coffre/sharing"
	"coffre/vault"
)

// Watermarks on what is shared: when the person asked for it (the share form, the consent
// page of a téléservice), what a link or a téléservice receives is a copy of the clean
// rendition with a text written across every page (ingest.Watermark: burned into the
// pictures of photos and scans, stamped over text pages). The safe keeps the clean paper;
// the copy is made at each download, in memory reserved from the ingest budget, and its
// hash goes into the receipt.

// markedPixels bounds a page burned: a rendition made here is A4 at 200 dpi (3.9 MP); a
// PDF deposited as it is may carry larger scans.
const markedPixels = 25_000_000

// markCost is the memory marking a PDF of size bytes holds: the clean copy, pdfcpu's
// reading of it and the marked copy (about as much again each), and one page decoded with
// its mask.
func markCost(size int64) int64 { return 3*size + 4*markedPixels + 32<<20 }

// errNotMarkable: the paper has no PDF to mark (a rendition is made at every deposit; this
// is a paper deposited before that, given as its original). It is not given unmarked.
var errNotMarkable = errors.New("web: nothing to watermark")

// markable tells whether b can be given marked. Callers check it before anything is
// reserved, counted or journaled: a copy that cannot be made must not use up a download.
func markable(b *vault.Blob) bool { return b.MediaType == "application/pdf" }

// watermarked reads the blob br of a document and returns it marked with text. The caller
// holds a reservation of markCost(br.Size).
func (h *handler) watermarked(ctx context.Context, br *vault.BlobReader, text string) ([]byte, error) {
	if br.MediaType != "application/pdf" {
		return nil, errNotMarkable
	}
	clean, err := readExactly(br)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if _, err := ingest.Watermark(ctx, bytes.NewBuffer(clean), text, ingest.Options{MaxBytes: int64(len(clean)) + 1, MaxPixels: markedPixels}, &out); err != nil {
		return nil, fmt.Errorf("web: watermark %s: %w", br.Document, err)
	}
	return out.Bytes(), nil
}

// deliverMarked sends a téléservice a marked copy of its document d, with its receipt.
// open opens the clean file, journaled with note (the receipt's number); its errors are
// answered by fail. The memory is reserved before anything is counted or journaled.
func (h *handler) deliverMarked(w http.ResponseWriter, r *http.Request, d *vault.Document, blob *vault.Blob, recipient vault.Actor, text string,
	open func(note string) (*vault.BlobReader, error), fail func(error)) {
	if !markable(blob) {
		apiError(w, http.StatusConflict, "not_markable", "Ce document ne peut pas être donné avec une marque\u00a0: la personne doit le déposer de nouveau.")
		return
	}
	res, err := h.budget.Reserve(r.Context(), markCost(blob.Size))
	if err != nil {
		if errors.Is(err, ingest.ErrBusy) {
			w.Header().Set("Retry-After", "60")
			apiError(w, http.StatusServiceUnavailable, "busy", "Le service est trop occupé. Réessayez dans une minute.")
			return
		}
		fail(err)
		return
	}
	defer res.Release()
	id := uuid.NewString()
	br, err := open(receiptNote(&sharing.Receipt{ID: id}))
	if err != nil {
		fail(err)
		return
	}
	b, err := h.watermarked(r.Context(), br, text)
	br.Close()
	if err != nil {
		fail(err)
		return
	}
	sum := sha256.Sum256(b)
	receipt, _, err := sharing.SignMarkedReceipt(h.cfg.Signing, id, recipient, d,
		sharing.MarkedCopy{MediaType: "application/pdf", Size: int64(len(b)), SHA256: sum[:], Watermark: text})
	if err != nil {
		fail(err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/pdf")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	hd.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":")
	hd.Set("Coffre-Receipt", receipt)
	hd.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", d.ID.String()+".pdf"))
	hd.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b) // the client has gone: nothing left to tell it
}

// watermarkChoice is how the share form asks for a watermark: "auto" (the default) marks
// the copies when an identity paper or a residence permit is among those shared; "oui"
// always; "non" never.
type watermarkChoice string

const (
	markAuto watermarkChoice = "auto"
	markYes  watermarkChoice = "oui"
	markNo   watermarkChoice = "non"
)

func parseWatermarkChoice(s string) (watermarkChoice, bool) {
	switch c := watermarkChoice(s); c {
	case markAuto, markYes, markNo:
		return c, true
	case "":
		return markAuto, true
	}
	return "", false
}

// markedByDefault tells whether a kind of paper is marked when the person does not say:
// identity papers (cards and passports) and residence permits, as FiligraneFacile advises.
func markedByDefault(k vault.Kind) bool {
	return k == vault.KindIdentite || k == vault.KindTitreSejour
}

// watermarkFor resolves the choice for the papers shared: "" when no mark.
func watermarkFor(c watermarkChoice, docs []vault.Document, chosen func(vault.Document) bool, recipient, purpose string, now time.Time) string {
	on := c == markYes
	if c == markAuto {
		for _, d := range docs {
			on = on || chosen(d) && markedByDefault(d.Kind)
		}
	}
	if !on {
		return ""
	}
	return watermarkText(recipient, purpose, now)
}

// watermarkText is ingest.WatermarkText, or « Copie transmise le … » when the person did
// not say to whom, dated on now's day in now's zone (the sharer's, localNow); cut to what
// a watermark holds.
func watermarkText(recipient, purpose string, now time.Time) string {
	day := now
	recipient = strings.TrimSpace(recipient)
	var s string
	if recipient == "" {
		s = "Copie transmise le" + strings.TrimPrefix(ingest.WatermarkText("x", purpose, day), "Transmis à x le")
	} else {
		s = ingest.WatermarkText(recipient, purpose, day)
	}
	if r := []rune(s); len(r) > ingest.MaxWatermarkText {
		s = string(r[:ingest.MaxWatermarkText-1]) + "…"
	}
	return s
}
