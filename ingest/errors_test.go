package ingest

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// Every refusal has a code of its own, wrapped or not, so that the web can say it in
// the person's language.
func TestCode(t *testing.T) {
	seen := map[string]error{}
	for _, err := range []error{ErrEmpty, ErrNoPages, ErrUnsupportedType, ErrMixedTypes, ErrBusy, ErrTooLarge,
		ErrTooManyPixels, ErrTooManyPages, ErrEncrypted, ErrCorrupt, ErrTimeout, ErrCanceled} {
		c := Code(fmt.Errorf("ingest: page 2: %w", err))
		if c == "" || c == "failed" {
			t.Errorf("%v: code %q", err, c)
		}
		if other, dup := seen[c]; dup {
			t.Errorf("%v and %v share the code %q", err, other, c)
		}
		seen[c] = err
	}
	if Code(nil) != "" || Code(errors.New("other")) != "failed" || Code(context.DeadlineExceeded) != "timeout" {
		t.Error("nil, foreign or deadline errors")
	}
}
