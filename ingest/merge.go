package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/pdfcpu/pdfcpu/pkg/api"
)

// mergeCost is the memory merging PDFs of total bytes holds: the parts, pdfcpu's
// reading of them and its writing buffers (about as much again, measured), and the
// inflated streams it goes through on the way (renditions have none above 32 MB).
func mergeCost(total int64) int64 { return 3*total + 64<<20 }

// ReserveMerge takes from the budget what merging PDFs of total bytes holds (see
// MergePDFs), on the same terms as Reserve: ErrBusy when the service has no room for
// it now, ErrTooLarge when the whole budget could not hold it. The caller releases it
// once the merged PDF is written.
func (b *Budget) ReserveMerge(ctx context.Context, total int64) (*Reservation, error) {
	return b.Reserve(ctx, mergeCost(total))
}

// MergePDFs writes parts, PDFs in memory, as one PDF to w, their pages in order: the
// papers of a link as the one file a téléservice takes. The parts are renditions this
// package wrote or sanitised. The caller holds a ReserveMerge of their total size
// while it runs. w receives the PDF as pdfcpu writes it: on an error part of it may
// have been written already.
func MergePDFs(ctx context.Context, parts [][]byte, w io.Writer) error {
	if len(parts) == 0 {
		return fmt.Errorf("ingest: merge: %w", ErrNoPages)
	}
	if err := ctxErr(ctx); err != nil {
		return err
	}
	rs := make([]io.ReadSeeker, len(parts))
	var total int64
	for i, p := range parts {
		rs[i] = bytes.NewReader(p)
		total += int64(len(p))
	}
	// A stream cannot be longer than the files together.
	opts := Options{MaxBytes: total}.withDefaults()
	if err := api.MergeRaw(rs, w, false, pdfConfig(&opts)); err != nil {
		return fmt.Errorf("ingest: merge: %w: %v", ErrCorrupt, err)
	}
	return nil
}
