package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config locates an S3-compatible bucket (MinIO, Garage, any cloud S3).
type S3Config struct {
	Endpoint  string // host:port, without scheme
	Bucket    string
	AccessKey string
	SecretKey string
	Region    string
	TLS       bool
	// NoTrailingChecksum sends uploads the way minio-go does by default, for S3 servers
	// that refuse trailing checksums: see NewS3Store.
	NoTrailingChecksum bool
}

// S3Store is a BlobStore on an S3-compatible object store.
type S3Store struct {
	client *minio.Client
	bucket string
	signed bool // uploads sign their payload rather than send a trailing checksum
}

var _ BlobStore = (*S3Store)(nil)

// partSize bounds the memory of one streamed upload: two parts are in flight at once, so a
// deposit of any size holds at most 2 × partSize of ciphertext.
const partSize = 6 << 20

// NewS3Store connects to the bucket described by cfg. It does not create the bucket; see
// EnsureBucket.
//
// Over HTTPS, and over plain HTTP to a store on this machine (a loopback address),
// uploads carry a trailing CRC32C checksum of their body, which the store checks before
// it keeps the object, and their payload is not signed: minio-go's default signs every
// 64 KiB of a body sent over plain HTTP with SHA-256, which the store checks again, two
// more SHA-256 passes over every byte on top of the vault's own, 10 to 15 % of a 1 MB
// deposit (issue 12). There the signature guards against nothing: over HTTPS, TLS
// protects the body (and minio-go does not sign payloads anyway), and no one stands
// between two processes of one machine. Over plain HTTP to another machine, a body can
// be changed on the way and its CRC32C recomputed, and the deposit would succeed with
// an object that fails at its first read: payloads are signed there. cfg.NoTrailingChecksum
// keeps minio-go's default everywhere, for S3 servers that refuse trailing checksums.
func NewS3Store(cfg S3Config) (*S3Store, error) {
	trailing := !cfg.NoTrailingChecksum && (cfg.TLS || loopback(cfg.Endpoint))
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:           credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:          cfg.TLS,
		Region:          cfg.Region,
		TrailingHeaders: trailing,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 store: %w", err)
	}
	return &S3Store{client: client, bucket: cfg.Bucket, signed: !trailing}, nil
}

// loopback tells whether endpoint (host:port) names this machine.
func loopback(endpoint string) bool {
	host, _, err := net.SplitHostPort(endpoint)
	if err != nil {
		host = endpoint
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// Client exposes the underlying minio-go client, for tools and benchmarks that compare
// the vault with raw S3 operations.
func (s *S3Store) Client() *minio.Client { return s.client }

// EnsureBucket creates the bucket if it does not exist yet.
func (s *S3Store) EnsureBucket(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("s3 store: bucket %s: %w", s.bucket, err)
	}
	if ok {
		return nil
	}
	if err := s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{}); err != nil {
		if resp := minio.ToErrorResponse(err); resp.Code == "BucketAlreadyOwnedByYou" {
			return nil
		}
		return fmt.Errorf("s3 store: create bucket %s: %w", s.bucket, err)
	}
	return nil
}

// Put implements BlobStore. Objects are opaque ciphertext, stored as
// application/octet-stream with no user metadata.
func (s *S3Store) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("s3 store: put: %w", err)
	}
	opts := minio.PutObjectOptions{
		ContentType:           "application/octet-stream",
		PartSize:              partSize,
		NumThreads:            2,
		ConcurrentStreamParts: size < 0 || size > partSize,
	}
	if !s.signed {
		// Named rather than left to TrailingHeaders' default: minio-go 7.4.1 drops that
		// default's trailer from single PUTs (the header it adds for the algorithm
		// turns its own trailer off), and they would go out with no check at all.
		opts.Checksum = minio.ChecksumCRC32C
		opts.DisableContentSha256 = true
	}
	if _, err := s.client.PutObject(ctx, s.bucket, key, r, size, opts); err != nil {
		return fmt.Errorf("s3 store: put %s: %w", key, err)
	}
	return nil
}

// Get implements BlobStore.
func (s *S3Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, fmt.Errorf("s3 store: get: %w", err)
	}
	// Core's GET sends the request at once and gives the response's body as it is, with
	// the object's length: a missing key fails here, not in the middle of a caller's read.
	// (The client's GetObject is lazy, and hands every Read to a goroutine of its own.)
	body, info, _, err := minio.Core{Client: s.client}.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("s3 store: get %s: %w", key, s.notFound(err))
	}
	if body == nil {
		// minio-go gives neither body nor error for a 2xx answer whose body is XML but
		// not an error: a store (or someone on the way) that answers nonsense.
		return nil, fmt.Errorf("s3 store: get %s: the store's answer holds no object", key)
	}
	return s3Object{body, info.Size}, nil
}

// s3Object is an object being read, with its length (-1 if unknown), so that a reader
// can refuse an object of another length than it expects before reading any of it.
type s3Object struct {
	io.ReadCloser
	size int64
}

// ObjectSize is the object's length in bytes, or -1.
func (o s3Object) ObjectSize() int64 { return o.size }

// notFound tells a missing object from the store's other errors: only NoSuchKey is one.
// A missing bucket (a store misconfigured, or being moved) is the store's error, not a
// lost paper to journal in its owner's history.
func (s *S3Store) notFound(err error) error {
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return ErrBlobNotFound
	}
	return err
}

// Delete implements BlobStore.
func (s *S3Store) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("s3 store: delete: %w", err)
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		if errors.Is(s.notFound(err), ErrBlobNotFound) {
			return nil
		}
		return fmt.Errorf("s3 store: delete %s: %w", key, err)
	}
	return nil
}

// Ping implements BlobStore.
func (s *S3Store) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("s3 store: %w", err)
	}
	if !ok {
		return fmt.Errorf("s3 store: bucket %s does not exist", s.bucket)
	}
	return nil
}
