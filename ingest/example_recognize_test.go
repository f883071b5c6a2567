package ingest_test

import (
	"fmt"
	"time"

	"coffre/ingest"
)

func ExampleParseMRZ() {
	// The specimen of ICAO 9303 part 5, as OCR might give it: a '0' read
	// as 'O' in a date, confirmed by the check digits.
	text := "I<UTOD231458907<<<<<<<<<<<<<<<\n74O8122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"
	now := time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)
	z, ok := ingest.ParseMRZ(text, now)
	fmt.Println(ok, z.Format, z.DocumentType, z.Country, z.Valid, z.Corrected, z.NumberLast4, z.Expiry.Format("2006-01-02"))
	// Output: true TD1 I UTO true 1 5890 2012-04-15
}
