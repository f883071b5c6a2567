package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// TestHelp: every command has its own help, and so does every group of commands
// ("coffre help agents"), the usage of each of its commands; a name that is neither is
// an error.
func TestHelp(t *testing.T) {
	t.Parallel()
	groups := map[string][]string{}
	for _, c := range commands() {
		var out bytes.Buffer
		if err := run(context.Background(), append([]string{"help"}, splitWords(c.name)...), &out, io.Discard); err != nil || out.String() != c.usage {
			t.Errorf("coffre help %s: %v, %q", c.name, err, out.String())
		}
		g := splitWords(c.name)[0]
		groups[g] = append(groups[g], c.usage)
	}
	for g, usages := range groups {
		for _, args := range [][]string{{"help", g}, {g, "--help"}} {
			var out bytes.Buffer
			if err := run(context.Background(), args, &out, io.Discard); err != nil {
				t.Errorf("coffre %s: %v", strings.Join(args, " "), err)
			}
			for _, u := range usages {
				if !strings.Contains(out.String(), u) {
					t.Errorf("coffre %s lacks %q", strings.Join(args, " "), u)
				}
			}
		}
	}
	if err := run(context.Background(), []string{"help", "nothing"}, io.Discard, io.Discard); err == nil {
		t.Error("coffre help nothing: no error")
	}
}
