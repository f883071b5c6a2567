package sharing_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
)

func copyKeyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// firstKeyOnly writes, next to the key file at from, a file with its first (newest) key
// only: the file an operator keeps once the older keys are retired.
func firstKeyOnly(t *testing.T, from string) string {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, line := range strings.SplitAfter(string(b), "\n") {
		keep = append(keep, line)
		if strings.HasPrefix(line, "AGE-SECRET-KEY-") {
			break
		}
	}
	to := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(to, []byte(strings.Join(keep, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	return to
}

// A rotation while another instance serves: instance A runs 'coffre keys rotate' (its two
// steps), instance B, on another machine with its own copy of the key file and started
// before, keeps opening safes, depositing, creating agents and reading everything, and
// never restarts. Nothing becomes unreadable, the old key can be retired only once
// nothing wraps to it, and then the new key alone reads everything.
func TestRotationWhileServing(t *testing.T) {
	t.Parallel()
	a := setup(t)
	ctx := context.Background()
	op := vault.Actor{Kind: vault.ActorOperator, ID: "test"}
	oldKey := a.Keys.Current()
	oldOnly := filepath.Join(t.TempDir(), "old.key")
	copyKeyFile(t, a.KeyPath, oldOnly)

	pathB := filepath.Join(t.TempDir(), "master.key")
	copyKeyFile(t, a.KeyPath, pathB)
	keysB, err := vault.LoadKeyring(pathB)
	if err != nil {
		t.Fatal(err)
	}
	vB, err := vault.New(ctx, vault.Config{DB: a.DB, Blobs: a.Store, Keys: keysB})
	if err != nil {
		t.Fatal(err)
	}
	sB := sharing.New(a.DB, vB, account.New(account.Config{DB: a.DB, Vault: vB}))
	st := a.structure(t, "CCAS de Roubaix")

	type safe struct {
		owner uuid.UUID
		doc   *vault.Document
		data  string
	}
	var safes []safe
	var agents []*staff
	at := time.Now()
	newSafe := func(v *vault.Vault, label string) {
		t.Helper()
		o, err := v.CreateOwner(ctx, "", vault.System)
		if err != nil {
			t.Fatalf("%s: create owner: %v", label, err)
		}
		data := "attestation " + label
		d, err := v.Deposit(ctx, o.ID, vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String()}, vault.NewDocument{
			Kind: vault.KindCAF, Title: label, Files: []vault.File{
				{Role: vault.RoleOriginal, MediaType: "application/pdf", Body: strings.NewReader(data), Size: int64(len(data))}}})
		if err != nil {
			t.Fatalf("%s: deposit: %v", label, err)
		}
		safes = append(safes, safe{o.ID, d, data})
	}
	newAgent := func(s *sharing.Service, login string) {
		t.Helper()
		ag, enr, err := s.CreateAgent(ctx, st.ID, sharing.NewAgent{Login: login, Name: "Agent " + login, Role: sharing.RoleAgent}, "operator:test")
		if err != nil {
			t.Fatalf("%s: create agent: %v", login, err)
		}
		agents = append(agents, &staff{Agent: ag, totp: enr.TOTPSecret})
	}
	readAll := func(who string, v *vault.Vault, s *sharing.Service) {
		t.Helper()
		for _, sf := range safes {
			docs, err := v.Documents(ctx, sf.owner)
			if err != nil || len(docs) != 1 {
				t.Fatalf("%s: documents of %s: %d, %v", who, sf.owner, len(docs), err)
			}
			r, err := v.Open(ctx, sf.owner, sf.doc.ID, sf.doc.Blobs[0].ID, vault.Actor{Kind: vault.ActorOwner, ID: sf.owner.String()}, vault.ActionView)
			if err != nil {
				t.Fatalf("%s: open %s: %v", who, sf.doc.Title, err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, []byte(sf.data)) {
				t.Fatalf("%s: %s reads %q, %v", who, sf.doc.Title, got, err)
			}
		}
		for _, ag := range agents {
			at = at.Add(30 * time.Second) // each check consumes a TOTP step
			if err := s.VerifyTOTP(ctx, ag.ID, code(t, ag.totp, at), at); err != nil {
				t.Fatalf("%s: TOTP of %s: %v", who, ag.Login, err)
			}
		}
	}
	retireOld := func() error {
		_, err := a.DB.Exec(ctx, `UPDATE master_keys SET retired_at = now() WHERE recipient = $1`, oldKey)
		return err
	}

	newSafe(a.V, "a1")
	newSafe(vB, "b1")
	newAgent(a.s, "agent.a1")
	newAgent(sB, "agent.b1")

	// First run of 'coffre keys rotate' on A: a new key at the head of A's file. The
	// operator copies the file to B, which is not restarted.
	newKeys, err := vault.AddMasterKey(a.KeyPath)
	if err != nil {
		t.Fatal(err)
	}
	copyKeyFile(t, a.KeyPath, pathB)
	newSafe(vB, "b2")
	newAgent(sB, "agent.b2")
	readAll("B with the new key file", vB, sB)

	// Second run: the new key is registered (every instance now wraps to it), then the
	// owners are re-wrapped, interrupted half-way.
	if err := vault.RegisterMasterKey(ctx, a.DB, newKeys, op); err != nil {
		t.Fatal(err)
	}
	rot, err := vault.New(ctx, vault.Config{DB: a.DB, Blobs: a.Store, Keys: newKeys})
	if err != nil {
		t.Fatal(err)
	}
	newSafe(vB, "b3")
	newAgent(sB, "agent.b3")
	// An instance started with the new file (here the rotation's own) opens a safe, which
	// B has never read: B has it in no cache.
	newSafe(rot, "c3")
	readAll("B after the registration", vB, sB)
	stop := errors.New("interrupted")
	if _, _, err := rot.Rewrap(ctx, op, 2, func(int) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("interrupted rewrap: %v", err)
	}
	newSafe(vB, "b4")
	newAgent(sB, "agent.b4")
	readAll("B half-way", vB, sB)
	readAll("A half-way", a.V, a.s)
	if err := retireOld(); err == nil {
		t.Fatal("the database retired a key that owners and agents are still wrapped to")
	}
	newOnly, err := vault.LoadKeyring(firstKeyOnly(t, a.KeyPath))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vault.New(ctx, vault.Config{DB: a.DB, Blobs: a.Store, Keys: newOnly}); !errors.Is(err, vault.ErrWrongMasterKey) || !strings.Contains(err.Error(), oldKey) {
		t.Fatalf("start with the new key alone half-way: %v; want ErrWrongMasterKey naming %s", err, oldKey)
	}

	// The rotation resumes: every owner is re-wrapped, but agents' secrets still hold the
	// old key; once they are re-wrapped too, it retires.
	if _, done, err := rot.Rewrap(ctx, op, 2, nil); err != nil || done {
		t.Fatalf("owners re-wrapped, agents not: done %v, %v; want not done", done, err)
	}
	if err := retireOld(); err == nil {
		t.Fatal("the database retired a key that agents' secrets are still wrapped to")
	}
	if _, err := sharing.New(a.DB, rot, account.New(account.Config{DB: a.DB, Vault: rot})).RewrapAgentSecrets(ctx); err != nil {
		t.Fatal(err)
	}
	if _, done, err := rot.Rewrap(ctx, op, 2, nil); err != nil || !done {
		t.Fatalf("resumed rewrap: done %v, %v", done, err)
	}
	var retired bool
	if err := a.DB.QueryRow(ctx, `SELECT retired_at IS NOT NULL FROM master_keys WHERE recipient = $1`, oldKey).Scan(&retired); err != nil || !retired {
		t.Fatalf("old key retired: %v, %v", retired, err)
	}
	newSafe(vB, "b5")
	newAgent(sB, "agent.b5")
	newSafe(a.V, "a5")
	newAgent(a.s, "agent.a5")

	// The operator removes the old key from every file: everything reads with the new key
	// alone, in a fresh process and in B, still not restarted.
	vNew, err := vault.New(ctx, vault.Config{DB: a.DB, Blobs: a.Store, Keys: newOnly})
	if err != nil {
		t.Fatalf("start with the new key alone after the rotation: %v", err)
	}
	readAll("the new key alone", vNew, sharing.New(a.DB, vNew, account.New(account.Config{DB: a.DB, Vault: vNew})))
	copyKeyFile(t, firstKeyOnly(t, a.KeyPath), pathB)
	readAll("B after the old key left its file", vB, sB)
	oldKeys, err := vault.LoadKeyring(oldOnly)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vault.New(ctx, vault.Config{DB: a.DB, Blobs: a.Store, Keys: oldKeys}); !errors.Is(err, vault.ErrWrongMasterKey) || !strings.Contains(err.Error(), newKeys.Current()) {
		t.Fatalf("start with the old key alone: %v, want ErrWrongMasterKey naming %s", err, newKeys.Current())
	}
}
