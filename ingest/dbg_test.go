package ingest

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDbgPaper(t *testing.T) {
	for _, f := range strings.Split(os.Getenv("PAPERS"), ",") {
		b, _ := os.ReadFile(filepath.Join(papersDir, f))
		img, _ := jpeg.Decode(bytes.NewReader(b))
		rec, err := Recognize(context.Background(), img, RecognizeOptions{Now: papersToday})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("==== %s\n%s\n---- %+v %+v\n", f, rec.Text, rec.Issued, rec.Expires)
	}
}
