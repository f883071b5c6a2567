// Package ingest turns what people send to their safe — phone photos of
// papers, an aidant's scans, PDFs downloaded from a public service — into
// one clean, printable document plus a thumbnail, and says in plain French
// what is wrong with a photo so the person can retake it while still
// standing at the counter.
//
// It is a pure library: bytes in through io.Readers, a PDF and a JPEG out
// through io.Writers, data in the returned Result. No HTTP, no database, no
// files, no network, no logging, no global state (libheif is initialised once
// per process; the Budget is a value the caller makes and shares).
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
// One decoder per format, the same on every machine. JPEG: libjpeg-turbo
// (cgo, Debian's libturbojpeg0-dev), straight into the planes of an
// image.YCbCr, with image/jpeg for what it refuses or warns about (CMYK,
// damaged data). HEIC and HEIF: libheif (cgo, Debian's libheif-dev), the
// library whose own tools define a readable HEIF file: grids of tiles,
// thumbnails, rotation and mirroring, 10-bit, alpha, monochrome and every
// colour matrix, as heif-convert reads them. PNG: the standard library;
// WebP and TIFF: golang.org/x/image. scripts/deps.sh installs the C
// libraries; without them the package does not build. Both libraries
// read from memory; nothing touches a file.
//
// Measured on 2 shared cores (BenchmarkNormalizePhoto12MP,
// BenchmarkNormalizeHEIC): a 12 MP JPEG photo becomes a PDF page and a
// thumbnail in 200–250 CPU-ms (image/jpeg's decoding alone took 123–185 in
// the same runs, the machine's speed varying from day to day); a
// 12 MP iPhone HEIC in 0.6–0.8 CPU-s, of which libheif's decoding 0.32–0.47
// (heif-convert takes 0.46–0.65 for the same file).
//
// # Papers that prove themselves: 2D-Doc
//
// Tax notices, energy and telephone bills, payslips and many other French
// papers carry a 2D-Doc (ANTS specification « Spécifications techniques des
// codes à barres 2D-Doc »): a DataMatrix holding the paper's key facts,
// signed by its issuer. CheckDoc2D finds it on a page image, reads it and
// verifies it:
//
//	check, err := ingest.CheckDoc2D(ctx, pageImage, trust, time.Now())
//	switch {
//	case errors.Is(err, ingest.ErrNoDoc2D):
//		// no code on this page: nothing to say
//	case err != nil:
//		// timeout or cancellation
//	default:
//		// check.Message(): one French sentence; when check.Status is
//		// ingest.Doc2DValid, check.TypeName ("Avis d'impôt sur les
//		// revenus"), check.Issuer and check.Facts (« Année des revenus :
//		// 2025 ») can be shown as proven.
//	}
//
// CheckDoc2DPDF does the same for a PDF, reading the pictures of its
// pages: public services that send papers as PDFs draw the code as a
// picture. ReadDoc2D, ParseDoc2D and TrustList.Verify are the three steps,
// for callers that already hold the text of a code (a scanner gun). Versions
// 02, 03 and 04 of the C40 format are read; the message is split into
// fields with the identifier table of perimeter 01 (every identifier of
// the specification, labels in French). The signature (ECDSA P-256, P-384
// or P-521 over the header and message) is checked against the signing
// certificate that the header names by authority and certificate
// identifiers. The verdict is one of Doc2DValid, Doc2DInvalidSignature
// (the data was changed after signing), Doc2DUnknownCertificate,
// Doc2DExpiredCertificate (the certificate did not cover the signature
// date) and Doc2DMalformed (truncated or damaged code). Only a signature
// that verifies under a listed certificate valid on the signature date is
// Doc2DValid; facts are filled in only then, and never from the annex,
// which the signature does not cover. CAF attestations are not in the
// ANTS table of document types and are not recognised as such.
//
// # The 2D-Doc trust list
//
// The package does no I/O: the operator provides the trust list as files
// that the service reads with ReadTrustList, which accepts, in any
// number and order:
//
//   - the ANTS Trust Service Status List (tsl_signed.xml, published on the
//     ANTS 2D-Doc pages), which names each certification authority
//     (FR01, FR03…) and carries its certificate;
//   - PEM bundles of the signing certificates that each authority
//     publishes in its directory, keyed by "CA-ID" and "Cert-ID" PEM
//     headers (or, without headers, by their common names as the 2D-Doc
//     authorities issue them: CN=FR03 for an authority, the certificate
//     identifier for a signing certificate).
//
// A signing certificate listed under an authority present in the TSL must
// carry that authority's signature, or the whole list is refused: a list
// that fails to load must never replace a good one. The XML signature of
// the TSL itself is not checked: download it over HTTPS from the ANTS.
// Authorities whose service status is withdrawn (or anything but "in
// accord", "granted" and their equivalents) are left out.
//
// Refreshing: the TSL and the authorities' directories change a few times
// a year (new signing certificates, withdrawals). Fetch them on a
// schedule (daily is plenty), call ReadTrustList on the new files, and on
// success swap the *TrustList the handlers use (an atomic.Pointer); on
// error keep the old list and alert. A TrustList is immutable and safe
// for concurrent use. A code signed with a certificate missing from the
// list reads Doc2DUnknownCertificate: refreshing the list is the cure.
//
// # Watermarks on shared copies
//
// Watermark writes a copy of a clean rendition with a text such as
// WatermarkText("l'agence Dupont", "un dossier de location", day) —
// « Transmis à l'agence Dupont le 3 mars 2026 pour un dossier de
// location » — written diagonally, repeated over the whole page, in mid
// grey at 35 % opacity, 24 pt bold (legible on a phone showing the whole
// page, light enough to leave the paper readable). When every page is a
// picture (photos, scans) the text is burned into the pixels, one page
// at a time; text PDFs get the same pattern as stamps (see Watermark for
// why). The rendition given is only read: the safe keeps the clean paper.
//
// # Merging papers into one PDF
//
// MergePDFs writes several renditions as one PDF, their pages in order: the
// papers of a share link as the single file a téléservice takes. It holds the
// parts and pdfcpu's copies of them, so the caller first reserves that memory
// from the same Budget as deposits (Budget.ReserveMerge), and a burst of
// merges is answered with ErrBusy like a burst of deposits.
//
// # Recognising a paper
//
// After a deposit the web layer may ask what the paper is, to suggest its
// kind and dates so that the person confirms or corrects them in one tap.
// Recognition never decides: it returns suggestions with a confidence.
//
//	rec, err := ingest.RecognizeFile(ctx, upload, ingest.RecognizeOptions{Now: now})
//	if err != nil {
//		// no suggestion; errors.Is(err, ingest.ErrOCRUnavailable) means
//		// tesseract is not installed (scripts/ocr.sh installs it)
//	}
//	// rec.Kind, rec.Confidence; rec.Scores lists the other plausible kinds
//	// rec.Issued, rec.Expires: dates with a confidence and their source
//	// rec.MRZ: document type, last 4 characters of the number, expiry,
//	//          and whether every check digit matched
//	// rec.Text: the text read, which the caller seals and never logs
//
// RecognizeFile takes the uploaded bytes (the first page of a photo or
// scan, within Process's limits, EXIF orientation applied); Recognize
// takes a decoded image, a photo or, with RecognizeOptions.Page, a page
// already flat; RecognizePDF takes the rendition Process made (or a
// scanned PDF) and reads its first page's picture, as it is, growing
// Options.Reservation by what the work needs — the safe reads papers
// already deposited that way. On the generated set, renditions are
// recognised as well as photos (TestRecognizeRenditions -papers.all: kind
// 50/50, expiry 21/22 of the papers with a zone, the tampered one giving
// none), in 1.4 s per paper. Kinds are this package's constants (KindIdentityCard,
// KindResidencePermit, KindPassport, KindTaxNotice, KindCAF, KindPayslip,
// KindFranceTravail, KindRentReceipt, KindInvoice, KindBankDetails):
// ingest does not import vault, and the web layer maps them to vault's
// kinds.
//
// The photo is made flat as for the rendition (sheet, perspective,
// orientation, light) and the page is read by Tesseract (Debian packages
// tesseract-ocr and tesseract-ocr-fra), locally, never by a remote
// service. It runs as a subprocess in its own
// process group, on one thread (OMP_THREAD_LIMIT=1), with a bounded address
// space (ulimit -v, DefaultOCRMemory) and a deadline (DefaultOCRTimeout),
// after which the whole group is killed. The image goes in on standard
// input and the text comes back on standard output: no byte of the paper
// or of its text touches a file. Errors carry tesseract's first line of
// diagnostics, never recognised text.
//
// The kind is scored from weighted words and phrases (the paper's title
// weighs most; long phrases still count with a letter misread here and
// there) and from the machine-readable zone, which outweighs them when its
// check digits match. Dates are read with the label before them, or above
// them on cards (« Date d'expiration », « valable jusqu'au », « délivrée
// le », « Fait à …, le »); births, due dates and a period's bounds are
// left out. A verified zone's expiry comes first; on identity papers a
// date still to come is the expiry, and one that many whole years before
// it, less a day, the issue date.
//
// # Machine-readable zones
//
// ParseMRZ reads ICAO 9303 zones: TD1 (three lines of 30, the French
// identity card since 2021 and residence permits), TD3 (two lines of 44,
// passports) and the French identity card of 1988–2021 (two lines of 36,
// "IDFRA…", without expiry date). Tesseract's models read OCR-B poorly, so
// the zone's band, found by tesseract, is read again by comparing each
// glyph with the 37 glyphs of OCR-B (mrz_glyphs.go, measured on Matthew
// Skala's public-domain OCR-B), then by tesseract alone on the band with
// the zone's alphabet.
//
// OCR confusions (O/0, I/1, B/8, S/5, Z/2, a '<' read as 'K' or '«', a run
// of fillers one or two off, one character too many) are undone only
// where the check digits confirm the result: a letter in a digit position
// is read as the digit it looks like, and at most three other re-readings
// are tried, fewest first; two readings that both pass make the number (or
// the whole zone, if they disagree on a date) untrusted. Digits are never
// replaced by other digits, so a zone whose check digits are wrong — a
// tampered date — stays invalid and gives no date. Dates must also make
// sense (after the birth, at most 16 years ahead). The residual risk is
// that of the ICAO scheme: several misread digits that happen to agree with
// both the field's and the composite check digit (measured in
// TestMRZConfusions: 3 zones in 3,000 with one to four random
// digit-for-digit misreads).
//
// # Measured
//
// testdata/papers/ holds 50 generated photos of made-up papers (every kind
// above, 22 with a zone of which 4 tampered; perspective, blur, uneven
// light, shadows, sensor noise, JPEG) and their truth.json, made by
// TestGeneratePapers (-papers.generate). TestRecognizePapers evaluates a
// fixed subset by default and the whole set with -papers.all; on the whole
// set: kind 100 %, expiry 100 % of the papers with a zone, every genuine
// zone accepted, no date taken from a tampered one, issue date 85 %
// (no target). OCR takes 1 to 2 s per paper on one core.
//
// # Errors
//
// Every error of Process wraps one sentinel (ErrEmpty, ErrUnsupportedType,
// ErrTooLarge, ErrTooManyPixels, ErrTooManyPages, ErrCorrupt,
// ErrEncrypted, ErrTimeout, ErrCanceled, ErrBusy, ErrMixedTypes, ErrNoPages) and
// reads like "ingest: file 1: decode: ingest: corrupt or truncated file: …".
// Message maps it to one French sentence for the person; Code names it in a
// word, for a caller that says it in the person's language. The other parts have sentinels of their own:
// ErrOCRUnavailable, ErrOCRFailed and ErrNoPicture (recognition), ErrNoDoc2D
// and ErrDoc2DMalformed (2D-Doc), ErrTrustList, ErrWatermarkText. A
// library's own error (pdfcpu, libheif) is told after the sentinel, not
// wrapped: callers act on the sentinel only.
//
// Timeouts: the decoders do not take a context, so decoding runs in its own
// goroutine; on timeout Process returns at once and that goroutine finishes
// in the background, its memory bounded by the limits above and still
// counted in the reservation until it ends. The context is checked between
// files, pages and stages, and inside the loops over a PDF's streams.
package ingest
