package ingest

import (
	"context"
	"errors"
)

// Sentinel errors. Every error returned by this package wraps exactly one of
// them (ErrTimeout also wraps context.DeadlineExceeded) and starts with
// "ingest: ", so a web layer can switch on errors.Is and show Message(err)
// to the person.
var (
	// ErrEmpty reports a zero-byte file.
	ErrEmpty = errors.New("empty file")
	// ErrNoPages reports a call with no input at all.
	ErrNoPages = errors.New("no pages")
	// ErrUnsupportedType reports content that is none of the accepted types:
	// JPEG, PNG, HEIC/HEIF, WebP, TIFF or PDF.
	ErrUnsupportedType = errors.New("unsupported file type (accepted: JPEG, PNG, HEIC, WebP, TIFF, PDF)")
	// ErrMixedTypes reports a PDF given together with other pages: a PDF is
	// already a whole document and is kept as such.
	ErrMixedTypes = errors.New("a PDF must be sent alone")
	// ErrTooLarge reports a file above Options.MaxBytes.
	ErrTooLarge = errors.New("file too large")
	// ErrTooManyPixels reports an image whose declared dimensions exceed
	// Options.MaxPixels; it is returned before any pixel is decoded.
	ErrTooManyPixels = errors.New("image dimensions too large")
	// ErrTooManyPages reports a document above Options.MaxPages.
	ErrTooManyPages = errors.New("too many pages")
	// ErrCorrupt reports a truncated, malformed or otherwise undecodable file,
	// including panics recovered from third-party decoders.
	ErrCorrupt = errors.New("corrupt or truncated file")
	// ErrEncrypted reports a PDF that needs a password to be opened.
	ErrEncrypted = errors.New("password-protected document")
	// ErrTimeout reports that Options.Timeout (or the caller's deadline)
	// expired before the page was processed.
	ErrTimeout = errors.New("processing took too long")
	// ErrCanceled reports that the caller canceled the context.
	ErrCanceled = errors.New("canceled")
	// ErrBusy reports that a Budget had no memory to spare for the deposit in time:
	// trying again in a moment will do.
	ErrBusy = errors.New("service busy")
)

// Code names what went wrong in a word, for a caller that says it in the person's
// language (web: the message ingest.<code> of its catalogue, the same sentences as
// Message in French); "" for nil, "failed" for an error not produced by this package.
func Code(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrEmpty):
		return "empty"
	case errors.Is(err, ErrNoPages):
		return "no_pages"
	case errors.Is(err, ErrUnsupportedType):
		return "unsupported_type"
	case errors.Is(err, ErrMixedTypes):
		return "mixed_types"
	case errors.Is(err, ErrBusy):
		return "busy"
	case errors.Is(err, ErrTooLarge):
		return "too_large"
	case errors.Is(err, ErrTooManyPixels):
		return "too_many_pixels"
	case errors.Is(err, ErrTooManyPages):
		return "too_many_pages"
	case errors.Is(err, ErrEncrypted):
		return "encrypted"
	case errors.Is(err, ErrCorrupt):
		return "corrupt"
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, ErrCanceled), errors.Is(err, context.Canceled):
		return "canceled"
	default:
		return "failed"
	}
}

// Message returns one plain French sentence, for the person who sent the
// file, describing what went wrong and what to do. It never reveals internal
// details; errors not produced by this package get a generic sentence.
func Message(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrEmpty):
		return "Ce fichier est vide. Choisissez un autre fichier ou reprenez la photo."
	case errors.Is(err, ErrNoPages):
		return "Aucun fichier n'a été reçu. Choisissez une photo ou un document."
	case errors.Is(err, ErrUnsupportedType):
		return "Ce fichier n'est pas une photo ni un document PDF. Envoyez une photo (JPEG, PNG, HEIC, WebP), un scan TIFF ou un PDF."
	case errors.Is(err, ErrMixedTypes):
		return "Un document PDF doit être envoyé seul. Envoyez le PDF d'un côté et les photos de l'autre."
	case errors.Is(err, ErrBusy):
		return "Le service est très occupé en ce moment. Réessayez dans une minute."
	case errors.Is(err, ErrTooLarge):
		return "Ce fichier est trop lourd. Envoyez une photo plus petite ou un document plus court."
	case errors.Is(err, ErrTooManyPixels):
		return "Cette image est trop grande. Envoyez une photo prise normalement avec le téléphone."
	case errors.Is(err, ErrTooManyPages):
		return "Ce document a trop de pages. Envoyez-le en plusieurs parties."
	case errors.Is(err, ErrEncrypted):
		return "Ce document est protégé par un mot de passe. Envoyez une version sans mot de passe."
	case errors.Is(err, ErrCorrupt):
		return "Ce fichier est abîmé ou incomplet. Renvoyez-le ou reprenez la photo."
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return "Le traitement a pris trop de temps. Réessayez dans un moment ou envoyez un fichier plus petit."
	case errors.Is(err, ErrCanceled), errors.Is(err, context.Canceled):
		return "L'envoi a été interrompu. Réessayez."
	default:
		return "Le fichier n'a pas pu être traité. Réessayez ou demandez de l'aide à un accueil."
	}
}
