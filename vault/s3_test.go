package vault_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"

	"coffre/vault"
	"coffre/vault/vaulttest"
)

// TestS3UploadChecksum checks that uploads reach the store with a trailing CRC32C
// checksum it verified and kept (the body itself is not signed: see NewS3Store), and
// that NoTrailingChecksum, for stores that refuse trailers, uploads as minio-go does by
// default.
func TestS3UploadChecksum(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	for _, trailing := range []bool{true, false} {
		cfg := vaulttest.S3Config(t)
		cfg.NoTrailingChecksum = !trailing
		s, err := vault.NewS3Store(cfg)
		if err != nil {
			t.Fatal(err)
		}
		client := vaulttest.Client(t, cfg)
		for _, tc := range []struct {
			size     int
			announce bool
		}{{0, true}, {1000, true}, {1 << 20, true}, {13 << 20, true}, {1 << 20, false}, {13 << 20, false}} {
			data := make([]byte, tc.size)
			_, _ = newPattern(int64(tc.size)).Read(data) // a pattern never fails
			size := int64(tc.size)
			if !tc.announce {
				size = -1
			}
			key := uuid.NewString()
			if err := s.Put(ctx, key, bytes.NewReader(data), size); err != nil {
				t.Fatalf("trailing %v, %d bytes (announced: %v): %v", trailing, tc.size, tc.announce, err)
			}
			info, err := client.StatObject(ctx, cfg.Bucket, key, minio.StatObjectOptions{Checksum: true})
			if err != nil {
				t.Fatal(err)
			}
			single := tc.size <= 6<<20 && tc.announce
			switch {
			case trailing && single && tc.size > 0:
				sum := crc32.Checksum(data, castagnoli)
				want := base64.StdEncoding.EncodeToString([]byte{byte(sum >> 24), byte(sum >> 16), byte(sum >> 8), byte(sum)})
				if info.ChecksumCRC32C != want {
					t.Errorf("%d bytes: the store kept CRC32C %q, the body's is %q", tc.size, info.ChecksumCRC32C, want)
				}
			case trailing && tc.size > 0 && info.ChecksumCRC32C == "":
				t.Errorf("%d bytes in parts: the store kept no CRC32C", tc.size)
			case !trailing && info.ChecksumCRC32C != "":
				t.Errorf("without trailing checksums, %d bytes: the store kept CRC32C %q", tc.size, info.ChecksumCRC32C)
			}
			r, err := s.Get(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("trailing %v, %d bytes: read back %d bytes (%v)", trailing, tc.size, len(got), err)
			}
		}
	}
}

// TestS3TrailingOnlyWhereSafe: a body goes unsigned, with a trailing checksum, only over
// HTTPS or to this machine; over plain HTTP to another machine, a changed body and its
// recomputed CRC32C would be kept, so the body is signed there.
func TestS3TrailingOnlyWhereSafe(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		endpoint string
		tls, off bool
		signed   bool
	}{
		{"127.0.0.1:9000", false, false, false},
		{"[::1]:9000", false, false, false},
		{"localhost:9000", false, false, false},
		{"10.0.0.5:9000", false, false, true},
		{"minio.internal:9000", false, false, true},
		{"s3.fr-par.scw.cloud", true, false, false},
		{"s3.fr-par.scw.cloud", true, true, true},
		{"127.0.0.1:9000", false, true, true},
	} {
		s, err := vault.NewS3Store(vault.S3Config{Endpoint: c.endpoint, Bucket: "b", AccessKey: "k", SecretKey: "s", TLS: c.tls, NoTrailingChecksum: c.off})
		if err != nil {
			t.Fatal(err)
		}
		if got := vault.SignsPayload(s); got != c.signed {
			t.Errorf("%s (TLS %v, trailing off %v): signs the payload %v, want %v", c.endpoint, c.tls, c.off, got, c.signed)
		}
	}
}

// TestS3GetOddAnswers: what an S3 endpoint answers a GET with, wrong or hostile, is an
// error of the store's, never a crash; only NoSuchKey is a missing object (which a read
// journals as an integrity failure in its owner's history), not a missing bucket nor an
// error page.
func TestS3GetOddAnswers(t *testing.T) {
	t.Parallel()
	const noSuchBucket = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>papiers</BucketName></Error>`
	const noSuchKey = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>k</Key></Error>`
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		missing bool
	}{
		{"XML that is not an error, with 202", http.StatusAccepted, `<x/>`, false},
		{"nothing, with 204", http.StatusNoContent, ``, false},
		{"a missing bucket", http.StatusNotFound, noSuchBucket, false},
		{"a server error", http.StatusInternalServerError, `<Error><Code>InternalError</Code></Error>`, false},
		{"a missing key", http.StatusNotFound, noSuchKey, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			s, err := vault.NewS3Store(vault.S3Config{Endpoint: srv.Listener.Addr().String(), Bucket: "papiers", AccessKey: "cle", SecretKey: "secret-de-test", Region: "us-east-1"})
			if err != nil {
				t.Fatal(err)
			}
			r, err := s.Get(context.Background(), uuid.NewString())
			if err == nil {
				r.Close()
				t.Fatal("Get gave an object")
			}
			if got := errors.Is(err, vault.ErrBlobNotFound); got != tc.missing {
				t.Fatalf("Get: %v; missing object: %v, want %v", err, got, tc.missing)
			}
		})
	}
}
