// Package ingest turns what people send to their safe — phone photos of
// papers, an aidant's scans, PDFs downloaded from a public service — into
// one clean, printable document plus a thumbnail, and says in plain French
// what is wrong with a photo so the person can retake it while still
// standing at the counter.
//
// It is a pure library: bytes in through io.Readers, a PDF and a JPEG out
// through io.Writers, data in the returned Result. No HTTP, no database, no
// files, no network, no logging, no global state.
//
// # Using it
//
// Call Process with the uploaded files, in page order:
//
//	var pdf, thumb bytes.Buffer
//	res, err := ingest.Process(ctx, []io.Reader{page1, page2}, ingest.Options{}, &pdf, &thumb)
//	if err != nil {
//		// show ingest.Message(err): one sentence saying what happened and what to do
//	}
//	for _, w := range res.Warnings {
//		// show w.Message next to page w.Page; the document is usable anyway
//	}
//
// Inputs are recognised from their content, never from a file name (Sniff):
// JPEG, PNG, HEIC/HEIF, WebP and TIFF images, one page each (every page of a
// multi-page TIFF), or a single PDF. Anything else is refused with
// ErrUnsupportedType. Several images make one document; a PDF is a document
// on its own and cannot be mixed with images (ErrMixedTypes).
//
// Nothing is written to the writers unless the whole document succeeded:
// on error the caller has nothing to clean up.
//
// # What happens to a photo
//
//  1. The declared dimensions of every page of every file are read first,
//     and the deposit is refused (ErrTooManyPixels) before a single pixel
//     is decoded when one exceeds Options.MaxPixels; files above
//     Options.MaxBytes are refused while reading (ErrTooLarge). Decoding
//     runs with panics recovered (ErrCorrupt) and under Options.Timeout
//     (ErrTimeout).
//  2. The EXIF orientation of JPEGs (all eight values) is applied; HEIC
//     rotation is applied by the decoder; EXIF in PNG and WebP, rare, is
//     ignored. The orientation is folded into the geometric transform, so
//     the 12 MP image is never rotated in memory. Outputs are re-encoded
//     from pixels: they carry no EXIF, XMP, GPS position, camera model or
//     date, whatever the input had.
//  3. The sheet is looked for on a copy about 640 pixels across: bright,
//     unsaturated regions at several thresholds (around Otsu's, and around
//     a second Otsu among the bright pixels, which splits paper from a light
//     table), then, failing those, regions brighter than their
//     surroundings; the largest component's convex hull; the best inscribed
//     and circumscribed quadrilaterals; each side refined to sub-pixel
//     precision on the edge step. The best convincing outline is kept; if
//     none is convincing the whole photo is kept and a "no_sheet" warning
//     says so.
//  4. One homography (perspective, crop, orientation and scale together) is
//     applied to the full-resolution image with bilinear sampling, straight
//     into an A4 raster at 200 dpi (1654×2339) when the sheet has A4 or
//     Letter proportions, into the sheet's own proportions otherwise, never
//     enlarged beyond the photo's resolution. When no sheet was found,
//     small rotations (±15°) are straightened from the text lines'
//     projection profile.
//  5. Text direction is checked: text lines merge into long horizontal
//     runs, so a page whose long runs are vertical is turned a quarter; the
//     direction of the turn, and turning an upright-looking page over, are
//     decided by comparing ink above and below each line's x-height band
//     (Latin ascenders outnumber descenders). Turning over needs strong
//     evidence (5:1 over at least 12 line segments 8 px tall or more):
//     flipping a correct page is worse than leaving a flipped one. On the
//     generated set this turns clean upside-down pages and never turns an
//     upright one, but it misses upside-down photos whose text is small or
//     soft (see TestUpsideDownScenes).
//  6. Legibility: every pixel is divided by an estimate of the paper
//     colour around it (block means, a maximum filter that removes text, a
//     blur). This removes shadows, uneven light and colour casts in one
//     step while stamps and logos keep their colours. A levels curve then
//     whitens the paper and darkens the print. ModeScan renders pure black
//     and white instead; ModeOriginal skips this step.
//  7. Pages are JPEG-encoded at the best quality between 85 and 60 that
//     keeps them under 400 KB, predicted from a quarter-page sample so that
//     the page is usually encoded once (black and white pages use 1-bit
//     Flate instead), placed on A4 pages (portrait or landscape as the
//     content; A4-shaped content fills the page, so it prints 1:1, other
//     content is fitted within 10 mm margins) in a minimal PDF 1.4 written
//     directly, and a 320 px wide JPEG thumbnail is made from the first
//     page.
//
// # Memory
//
// What a deposit will need is known before anything is decoded: the
// largest page's pixels (each decoder's bytes per pixel, see
// bytesPerPixel) plus the working set of one page, since pages are
// rendered one at a time and each page's pixels are let go once it is
// compressed; for a PDF, pdfcpu's copies of the file, its objects and the
// largest stream it inflates. Process grows Options.Reservation by that
// amount first, so that the processes' Budget, shared by every deposit,
// answers a burst with ErrBusy instead of running out of memory. The
// figures are upper bounds checked against the heap (TestCostCovers,
// TestDepositBombs).
//
// A PDF is measured before pdfcpu reads it, on its bytes (objects, those
// in object streams included, and what every Flate stream inflates to,
// counted without being kept), then again on pdfcpu's view before
// anything inflates a content stream: at most 50,000 objects, 32 MB per
// inflated stream and 128 MB for all of them but the pictures, or
// ErrTooLarge.
//
// # Originals
//
// Original gives what the safe keeps of each file as it was sent: photos
// without their EXIF (GPS position, camera, dates), XMP, ICC, comments or
// anything appended after the image, the orientation kept as a minimal
// EXIF; a PDF as received; no original for HEIC and TIFF, whose
// rendition is the paper.
//
// # Quality warnings
//
// Each Warning has a stable Code, the measured Score, the Threshold it was
// compared with and a French Message saying what to do: blurry, dark,
// glare, cut_off (the sheet crosses the photo's edge), low_resolution and
// no_sheet. The measures and their calibration on the generated evaluation
// set are documented on the threshold constants (see blurThreshold).
//
// # PDFs and scans
//
// A PDF is read, repaired where possible (broken cross-reference tables are
// rebuilt) and validated by pdfcpu, then sanitised: JavaScript, OpenAction,
// additional actions (AA), Launch, SubmitForm, ImportData, GoToR/GoToE and
// media actions, URI actions other than http, https and mailto, embedded
// files and file attachment annotations, and XFA forms are removed;
// Result.Removed lists what was found. Pictures lose their own metadata:
// the EXIF and XMP a "photo to PDF" app copies along with a JPEG. The text layer, links and fonts are
// kept. The file is then written anew, which also drops incremental
// updates, unreferenced objects and anything appended after the end (a
// polyglot's second personality). A PDF that needs a password to open is
// refused with ErrEncrypted; one that only restricts permissions is stored
// without its encryption (the safe encrypts everything at rest).
//
// There is no pure-Go PDF renderer. When the first page is essentially one
// picture (a scan: one image of the page's proportions) the thumbnail is
// made from that picture; otherwise Result.ThumbGeneric is set and the
// thumbnail is a neutral drawing of a page.
//
// TIFF files are scans: every page (IFD) is decoded — the header is
// re-pointed at each IFD in turn, since golang.org/x/image/tiff only reads
// the first — and processed without sheet detection, but with deskewing,
// text orientation and enhancement.
//
// # Decoders
//
// JPEG and PNG use the standard library, WebP and TIFF golang.org/x/image,
// HEIC github.com/gen2brain/heic: libheif and libde265 compiled to
// WebAssembly and run by wazero, no cgo. Its first use in a process
// compiles the module, which takes a noticeable fraction of a second. (That
// package also tries to load a system libheif with purego when one is
// installed, and uses it instead.)
//
// # Errors
//
// Every error wraps one sentinel (ErrEmpty, ErrUnsupportedType,
// ErrTooLarge, ErrTooManyPixels, ErrTooManyPages, ErrCorrupt,
// ErrEncrypted, ErrTimeout, ErrCanceled, ErrBusy, ErrMixedTypes, ErrNoPages) and
// reads like "ingest: file 1: decode: ingest: corrupt or truncated file: …".
// Message maps it to one French sentence for the person.
//
// Timeouts: the decoders do not take a context, so decoding runs in its own
// goroutine; on timeout Process returns at once and that goroutine finishes
// in the background, its memory bounded by the limits above and still
// counted in the reservation until it ends. The context is checked between
// files, pages and stages, and inside the loops over a PDF's streams.
package ingest
