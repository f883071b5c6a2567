package web

import (
	"errors"
	"net/http"
)

// Each form of the pages has one parser, parseXxxForm(r) (xxxForm, error), that reads
// every field the form sends into a typed value and checks what can be checked without
// the domain. Its error is a formRefusal: the message ID of one plain sentence that says
// what to change (refuse, or errors.New(id) when the sentence names nothing), which the
// handler shows with refusalText.

// formRefusal is a form's formRefusal: a message ID and the values its sentence names.
type formRefusal struct {
	id   string
	args []any
}

func (e formRefusal) Error() string { return e.id }

// refuse is a parser's formRefusal with the message id, whose sentence names args.
func refuse(id string, args ...any) error { return formRefusal{id: id, args: args} }

// sentence is the formRefusal err of a form parser in the request's language.
func (h *handler) refusalText(r *http.Request, err error) string {
	var re formRefusal
	if errors.As(err, &re) {
		return h.t(r, re.id, re.args...)
	}
	return h.t(r, err.Error())
}
