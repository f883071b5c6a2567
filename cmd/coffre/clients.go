package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"coffre/sharing"
	"coffre/vault"
)

const clientsAddUsage = `Usage: coffre clients add --name NAME --redirect-uri URL [--redirect-uri URL…]
                          --kinds KIND,KIND… [--jwks-file FILE]

Registers a téléservice for "Choisir dans mon coffre" (OAuth 2.0 authorization code with
PKCE). Redirect URIs are matched exactly; they must be https (http only on loopback).
KINDs are the document kinds it may ask for: identite, titre_sejour, domicile, ressources,
impots, caf, france_travail, sante, famille, logement, banque, autre.

Without --jwks-file the client authenticates with a secret (client_secret_basic), printed
once here and never stored. With --jwks-file (a JSON Web Key Set of public keys) it
authenticates with private_key_jwt.
`

const clientsListUsage = `Usage: coffre clients list

Lists the registered téléservices: ID, name, authentication, kinds, redirect URIs.
`

const clientsRemoveUsage = `Usage: coffre clients remove --id CLIENT_ID

Removes a téléservice; its access tokens stop working at once.
`

const receiptVerifyUsage = `Usage: coffre receipt verify --file FILE

Checks a delivery receipt (a compact JWS as given to a téléservice) against the service
signing key in COFFRE_SIGNING_KEY_FILE, and prints what it attests.
`

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func clientsAddFlags(fs *flag.FlagSet) {
	fs.String("name", "", "")
	fs.Var(&stringList{}, "redirect-uri", "")
	fs.String("kinds", "", "")
	fs.String("jwks-file", "", "")
}

func openSharing(ctx context.Context, cfg Config) (*sharing.Service, func(), error) {
	_, pool, svc, err := openVault(ctx, cfg, newLogger(cfg))
	if err != nil {
		return nil, nil, err
	}
	return svc.sharing, pool.Close, nil
}

func runClientsAdd(ctx context.Context, cfg Config, fs *flag.FlagSet, _ []string, stdout io.Writer) error {
	nc := sharing.NewClient{
		Name:         fs.Lookup("name").Value.String(),
		RedirectURIs: *fs.Lookup("redirect-uri").Value.(*stringList),
	}
	for _, k := range strings.Split(fs.Lookup("kinds").Value.String(), ",") {
		if k = strings.TrimSpace(k); k != "" {
			nc.AllowedKinds = append(nc.AllowedKinds, vault.Kind(k))
		}
	}
	if path := fs.Lookup("jwks-file").Value.String(); path != "" {
		jwks, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		nc.AuthMethod, nc.JWKS = sharing.AuthPrivateKeyJWT, jwks
	}
	s, done, err := openSharing(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	c, secret, err := s.AddClient(ctx, nc)
	if errors.Is(err, sharing.ErrInvalid) {
		return hinted{err, "see 'coffre help clients add'"}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "client_id: %s\n", c.ID)
	if secret != "" {
		fmt.Fprintf(stdout, "client_secret: %s\n", secret)
		fmt.Fprintln(stdout, "coffre: give the secret to the téléservice now: it is not stored and cannot be shown again")
	}
	return nil
}

func runClientsList(ctx context.Context, cfg Config, _ *flag.FlagSet, _ []string, stdout io.Writer) error {
	s, done, err := openSharing(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	clients, err := s.Clients(ctx)
	if err != nil {
		return err
	}
	for _, c := range clients {
		kinds := make([]string, len(c.AllowedKinds))
		for i, k := range c.AllowedKinds {
			kinds[i] = string(k)
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, c.AuthMethod, strings.Join(kinds, ","), strings.Join(c.RedirectURIs, " "))
	}
	return nil
}

func runClientsRemove(ctx context.Context, cfg Config, fs *flag.FlagSet, _ []string, stdout io.Writer) error {
	id := fs.Lookup("id").Value.String()
	if id == "" {
		return hinted{errors.New("--id is required"), "coffre clients list shows the IDs"}
	}
	s, done, err := openSharing(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	if err := s.RemoveClient(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "coffre: client %s removed\n", id)
	return nil
}

func runReceiptVerify(ctx context.Context, cfg Config, fs *flag.FlagSet, _ []string, stdout io.Writer) error {
	path := fs.Lookup("file").Value.String()
	if path == "" {
		return hinted{errors.New("--file is required"), "coffre receipt verify --file receipt.jws"}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	key, err := loadSigningKey(cfg)
	if err != nil {
		return err
	}
	r, err := sharing.VerifyReceipt(strings.TrimSpace(string(data)), key.Public().(ed25519.PublicKey))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "coffre: receipt %s is valid: %d documents delivered to %s\n", r.ID, len(r.Documents), r.Recipient)
	for _, d := range r.Documents {
		fmt.Fprintf(stdout, "  %s\t%s\t%d bytes\tsha256 %s\n", d.ID, d.Kind, d.Size, d.SHA256)
	}
	return nil
}
