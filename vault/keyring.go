package vault

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
)

// Keyring holds the master identities and unwraps owners' keys. The master identities come
// from a file outside the database; the first one in the file is the newest, the one
// 'coffre keys rotate' registers. Secrets are wrapped to the key the database names as
// current (Vault looks it up, and wraps only if the keyring holds it). When a key is
// missing, the keyring reads its file again: a key file copied to a running instance
// during a rotation is picked up without a restart.
type Keyring struct {
	path string // the file the identities come from; empty when parsed from a reader

	mu         sync.RWMutex
	identities []*age.X25519Identity
	loads      int // times the file was read: one miss rereads it once, however many goroutines miss

	cacheMu sync.Mutex
	cache   map[[16]byte]cachedKeys
}

type cachedKeys struct {
	identity *age.X25519Identity
	dataKey  []byte
	expires  time.Time
}

// Unwrapped owner keys stay in memory briefly, so that a page showing twenty thumbnails
// does not unwrap twenty times, and not longer, so that a shredded owner's keys vanish
// from every process within a minute.
const (
	keyCacheTTL  = time.Minute
	keyCacheSize = 10000
)

// ParseKeyring reads age X25519 identities, one per line; blank lines and # comments are
// skipped. The first identity is the newest master key.
func ParseKeyring(r io.Reader) (*Keyring, error) {
	ids, err := parseIdentities(r)
	if err != nil {
		return nil, err
	}
	return &Keyring{identities: ids, cache: make(map[[16]byte]cachedKeys)}, nil
}

func parseIdentities(r io.Reader) ([]*age.X25519Identity, error) {
	parsed, err := age.ParseIdentities(r)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	ids := make([]*age.X25519Identity, 0, len(parsed))
	for _, id := range parsed {
		x, ok := id.(*age.X25519Identity)
		if !ok {
			return nil, errors.New("keyring: only age X25519 identities are supported")
		}
		ids = append(ids, x)
	}
	return ids, nil
}

// LoadKeyring reads the master key file at path. It refuses a file others can read. The
// keyring reads the file again when it meets a secret wrapped to a key it does not hold.
func LoadKeyring(path string) (*Keyring, error) {
	ids, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	return &Keyring{path: path, identities: ids, loads: 1, cache: make(map[[16]byte]cachedKeys)}, nil
}

func readKeyFile(path string) ([]*age.X25519Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("keyring: %s is readable by others (mode %v): chmod 600 it", path, st.Mode().Perm())
	}
	return parseIdentities(f)
}

// reload reads the key file again, after a miss seen when the file had been read loads
// times. Keys the process already holds are kept even if the file no longer lists them:
// a running process never loses the means to read a safe; a restart applies the file as
// it is (and Vault refuses to start without a key still in use).
func (k *Keyring) reload(loads int) error {
	if k.path == "" {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.loads != loads {
		return nil // another goroutine read it meanwhile
	}
	ids, err := readKeyFile(k.path)
	if err != nil {
		return err
	}
	k.loads++
	for _, old := range k.identities {
		if !slices.ContainsFunc(ids, func(id *age.X25519Identity) bool { return id.String() == old.String() }) {
			ids = append(ids, old)
		}
	}
	k.identities = ids
	return nil
}

func (k *Keyring) held() ([]*age.X25519Identity, int) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.identities, k.loads
}

// GenerateMasterKey writes a new master key file at path (mode 0600). It refuses to
// overwrite an existing file: losing a master key loses every safe.
func GenerateMasterKey(path string) (recipient string, err error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", fmt.Errorf("keyring: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("keyring: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("keyring: %w", err)
	}
	if _, err := fmt.Fprintf(f, "# Coffre master key, created %s\n# public key: %s\n%s\n",
		time.Now().UTC().Format(time.RFC3339), id.Recipient(), id); err != nil {
		f.Close()
		return "", fmt.Errorf("keyring: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("keyring: %w", err)
	}
	return id.Recipient().String(), nil
}

// AddMasterKey puts a new master identity at the head of the file at path, keeping the
// older ones below it, and returns the new keyring. The file is replaced atomically.
func AddMasterKey(path string) (*Keyring, error) {
	old, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Coffre master key, created %s (current)\n# public key: %s\n%s\n",
		time.Now().UTC().Format(time.RFC3339), id.Recipient(), id)
	b.WriteString(strings.ReplaceAll(string(old), " (current)\n", "\n"))
	tmp := path + ".new"
	if err := os.WriteFile(tmp, b.Bytes(), 0o600); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	if err := syncFile(tmp); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	return LoadKeyring(path)
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	return nil
}

// Current is the public recipient of the first key in the file: the newest, the one
// 'coffre keys rotate' registers in the database. New secrets are wrapped to the key the
// database names as current, which is this one once registered.
func (k *Keyring) Current() string {
	ids, _ := k.held()
	if len(ids) == 0 {
		return ""
	}
	return ids[0].Recipient().String()
}

// Holds tells whether the keyring has the identity for recipient.
func (k *Keyring) Holds(recipient string) bool {
	ids, _ := k.held()
	for _, id := range ids {
		if id.Recipient().String() == recipient {
			return true
		}
	}
	return false
}

// holdsOrReload is Holds, reading the key file again first if the key is missing.
func (k *Keyring) holdsOrReload(recipient string) (bool, error) {
	if k.Holds(recipient) {
		return true, nil
	}
	_, loads := k.held()
	if err := k.reload(loads); err != nil {
		return false, err
	}
	return k.Holds(recipient), nil
}

// wrapTo encrypts secret to a master recipient: only its public part is needed.
func wrapTo(recipient string, secret []byte) ([]byte, error) {
	r, err := age.ParseX25519Recipient(recipient)
	if err != nil {
		return nil, fmt.Errorf("keyring: wrap: %w", err)
	}
	var b bytes.Buffer
	w, err := age.Encrypt(&b, r)
	if err != nil {
		return nil, fmt.Errorf("keyring: wrap: %w", err)
	}
	if _, err := w.Write(secret); err != nil {
		return nil, fmt.Errorf("keyring: wrap: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("keyring: wrap: %w", err)
	}
	return b.Bytes(), nil
}

// unwrap opens a secret wrapped to one of the master keys. A secret no identity opens
// makes the keyring read its file again, once, before it gives ErrWrongMasterKey.
func (k *Keyring) unwrap(wrapped []byte) ([]byte, error) {
	ids, loads := k.held()
	secret, err := unwrapWith(ids, wrapped)
	if errors.Is(err, ErrWrongMasterKey) && k.path != "" {
		if rerr := k.reload(loads); rerr != nil {
			return nil, fmt.Errorf("keyring: unwrap: %w (and rereading the key file: %v)", ErrWrongMasterKey, rerr)
		}
		ids, _ = k.held()
		secret, err = unwrapWith(ids, wrapped)
	}
	return secret, err
}

func unwrapWith(identities []*age.X25519Identity, wrapped []byte) ([]byte, error) {
	ids := make([]age.Identity, len(identities))
	for i, id := range identities {
		ids[i] = id
	}
	r, err := age.Decrypt(bytes.NewReader(wrapped), ids...)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return nil, fmt.Errorf("keyring: unwrap: %w", ErrWrongMasterKey)
		}
		return nil, fmt.Errorf("keyring: unwrap: %w", err)
	}
	secret, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("keyring: unwrap: %w", err)
	}
	return secret, nil
}

// cached returns an owner's unwrapped keys if they are in the cache and fresh.
func (k *Keyring) cached(owner [16]byte) (*age.X25519Identity, []byte, bool) {
	k.cacheMu.Lock()
	c, ok := k.cache[owner]
	k.cacheMu.Unlock()
	if !ok || time.Now().After(c.expires) {
		return nil, nil, false
	}
	return c.identity, c.dataKey, true
}

// ownerKeys unwraps an owner's identity and data key, wrapped to the master key
// wrappedTo, and caches them.
func (k *Keyring) ownerKeys(owner [16]byte, identityWrapped, dataKeyWrapped []byte, wrappedTo string) (*age.X25519Identity, []byte, error) {
	now := time.Now()
	if identityWrapped == nil {
		return nil, nil, ErrShredded
	}
	missing := func(err error) error {
		if errors.Is(err, ErrWrongMasterKey) {
			return fmt.Errorf("keyring: the master key file lacks the key %s: %w", wrappedTo, ErrWrongMasterKey)
		}
		return err
	}
	secret, err := k.unwrap(identityWrapped)
	if err != nil {
		return nil, nil, missing(err)
	}
	id, err := age.ParseX25519Identity(string(secret))
	if err != nil {
		return nil, nil, fmt.Errorf("keyring: owner identity: %w", err)
	}
	dataKey, err := k.unwrap(dataKeyWrapped)
	if err != nil {
		return nil, nil, missing(err)
	}
	if len(dataKey) != chacha20poly1305.KeySize {
		return nil, nil, errors.New("keyring: owner data key has the wrong size")
	}
	k.cacheMu.Lock()
	if len(k.cache) >= keyCacheSize {
		// Dropping everything is crude but bounded, and a full cache is rare: it holds
		// only the owners active in the last minute.
		clear(k.cache)
	}
	k.cache[owner] = cachedKeys{identity: id, dataKey: dataKey, expires: now.Add(keyCacheTTL)}
	k.cacheMu.Unlock()
	return id, dataKey, nil
}

func (k *Keyring) forget(owner [16]byte) {
	k.cacheMu.Lock()
	delete(k.cache, owner)
	k.cacheMu.Unlock()
}

// seal encrypts metadata with an owner's data key. The additional data binds the
// ciphertext to its owner and place (say, the title of one document), so a sealed value
// copied to another row does not open.
func seal(dataKey []byte, plaintext []byte, ad string) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(dataKey)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = 1 // format version
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return aead.Seal(out, out[1:], plaintext, []byte(ad)), nil
}

func open(dataKey []byte, sealed []byte, ad string) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(dataKey)
	if err != nil {
		return nil, fmt.Errorf("open sealed: %w", err)
	}
	if len(sealed) < 1+aead.NonceSize()+aead.Overhead() || sealed[0] != 1 {
		return nil, fmt.Errorf("open sealed: malformed value: %w", ErrIntegrity)
	}
	nonce := sealed[1 : 1+aead.NonceSize()]
	pt, err := aead.Open(nil, nonce, sealed[1+aead.NonceSize():], []byte(ad))
	if err != nil {
		return nil, fmt.Errorf("open sealed: %w", ErrIntegrity)
	}
	return pt, nil
}
