package vault

import "errors"

// Errors callers act on. They are wrapped with context; test them with errors.Is.
var (
	// ErrNotFound: no such owner, document or blob for this owner. Another owner's
	// document gives ErrNotFound too, never a different answer.
	ErrNotFound = errors.New("not found")
	// ErrIntegrity: a blob decrypted to bytes whose SHA-256 is not the one recorded at
	// deposit, or its ciphertext failed authentication.
	ErrIntegrity = errors.New("integrity check failed")
	// ErrInvalid: the request itself is wrong (unknown kind, empty title, bad dates…).
	ErrInvalid = errors.New("invalid request")
	// ErrShredded: the owner's keys were destroyed; nothing of theirs can be read.
	ErrShredded = errors.New("owner keys destroyed")
	// ErrBlobNotFound is returned by a BlobStore for a key it does not hold.
	ErrBlobNotFound = errors.New("blob not found")
	// ErrBusy: too many secrets are being checked in this process at this moment; the
	// person should try again in a moment (nothing was counted against them).
	ErrBusy = errors.New("too many secret checks at once")
	// ErrWrongMasterKey: the master key file does not match the database.
	ErrWrongMasterKey = errors.New("wrong master key")
)
