package vault_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"hash/crc32"
	"io"
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
