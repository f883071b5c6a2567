package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"coffre/ingest"
)

func ExampleProcess() {
	// In the web layer the readers are the uploaded parts, in page order.
	upload := strings.NewReader("this is not a photo")
	var pdf, thumb bytes.Buffer
	_, err := ingest.Process(context.Background(), []io.Reader{upload}, ingest.Options{}, &pdf, &thumb)
	fmt.Println(err)
	fmt.Println(ingest.Message(err))
	// Output:
	// ingest: file 0: unsupported file type (accepted: JPEG, PNG, HEIC, WebP, TIFF, PDF)
	// Ce fichier n'est pas une photo ni un document PDF. Envoyez une photo (JPEG, PNG, HEIC, WebP), un scan TIFF ou un PDF.
}

func ExampleSniff() {
	mt, err := ingest.Sniff([]byte("%PDF-1.7\n%âãÏÓ"))
	fmt.Println(mt, err)
	// Output: application/pdf <nil>
}
