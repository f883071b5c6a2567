package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"coffre/vault"
	"coffre/vault/account"
	"coffre/vault/i18n"
)

const exportUsage = `Usage: coffre export (--owner ID | --login LOGIN) --request REF --out FILE [--passphrase-file PFILE] [--lang LANG]

Writes the whole safe of one owner to FILE as a ZIP archive, for an operator acting on the
owner's written request (article L.103 5°): the documents as deposited and their PDF
renditions, manifest.json and manifest.csv with every file's SHA-256, SHA256SUMS, the
journal (journal.jsonl) with its latest signed checkpoint, and LISEZMOI.txt explaining it
all in French, with a translation (LISEZMOI-<LANG>.txt) and manifest.csv's labels in the
owner's language. The export is journaled in the owner's history as an operator action, with
REF, the reference of the written request.

A closed safe can be exported until it is erased. FILE must not exist; it is written with
mode 0600 and removed if the export fails (a blob that fails its SHA-256 check stops it).

Options:
    --owner ID               the owner's ID
    --login LOGIN            or their login
    --request REF            reference of the written request (required)
    --out FILE               where to write the archive (required)
    --passphrase-file PFILE  encrypt the archive with age to the passphrase on the first
                             line of PFILE (at least 12 characters); the owner opens it
                             with: age -d -o coffre.zip FILE
    --lang LANG              the language of the notice and of manifest.csv's labels
                             (fr, en, ar, uk, ru, fa-AF, ps, es, ro, pt); by default the
                             one the owner chose in their safe

Example:
    coffre export --login fatou --request "courrier du 3 mars 2026" --out fatou.zip
`

var cliOperator = vault.Actor{Kind: vault.ActorOperator, ID: "cli"} //nolint:gochecknoglobals // a constant value

// ownerFlags declares --owner and --login, which name the safe a command acts on.
func ownerFlags(fs *flag.FlagSet) {
	fs.String("owner", "", "")
	fs.String("login", "", "")
}

func exportFlags(fs *flag.FlagSet) {
	ownerFlags(fs)
	fs.String("request", "", "")
	fs.String("out", "", "")
	fs.String("passphrase-file", "", "")
	fs.String("lang", "", "")
}

// flagOwner resolves --owner or --login to an owner ID.
// openOwner opens the vault and finds the safe named by --owner or --login. The caller
// calls done.
func openOwner(ctx context.Context, cfg Config, fs *flag.FlagSet) (*vault.Vault, uuid.UUID, func(), error) {
	v, _, owner, done, err := openOwnerDB(ctx, cfg, fs)
	return v, owner, done, err
}

// openOwnerDB is openOwner that also gives the database pool, for a command that reads the
// owner's account too.
func openOwnerDB(ctx context.Context, cfg Config, fs *flag.FlagSet) (*vault.Vault, *pgxpool.Pool, uuid.UUID, func(), error) {
	v, pool, _, err := openVault(ctx, cfg, newLogger(cfg))
	if err != nil {
		return nil, nil, uuid.Nil, nil, err
	}
	owner, err := flagOwner(ctx, v, fs)
	if err != nil {
		pool.Close()
		return nil, nil, uuid.Nil, nil, err
	}
	return v, pool, owner, pool.Close, nil
}

func flagOwner(ctx context.Context, v *vault.Vault, fs *flag.FlagSet) (uuid.UUID, error) {
	id, login := fs.Lookup("owner").Value.String(), fs.Lookup("login").Value.String()
	switch {
	case (id == "") == (login == ""):
		return uuid.Nil, hinted{errors.New("name the safe with --owner or with --login, not both"), "coffre export --login fatou …"}
	case id != "":
		owner, err := uuid.Parse(id)
		if err != nil {
			return uuid.Nil, fmt.Errorf("--owner %q is not an owner ID", id)
		}
		return owner, nil
	}
	o, err := v.OwnerByLogin(ctx, login)
	if errors.Is(err, vault.ErrNotFound) {
		return uuid.Nil, fmt.Errorf("no safe has the login %q", login)
	}
	if err != nil {
		return uuid.Nil, err
	}
	return o.ID, nil
}

func readPassphrase(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--passphrase-file: %w", err)
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	return string(bytes.TrimSuffix(line, []byte("\r"))), nil
}

func runExport(ctx context.Context, cfg Config, fs *flag.FlagSet, _ []string, stdout io.Writer) error {
	request, out := fs.Lookup("request").Value.String(), fs.Lookup("out").Value.String()
	if request == "" {
		return hinted{errors.New("--request is required"), "give the reference of the owner's written request, which the journal records"}
	}
	if out == "" {
		return hinted{errors.New("--out is required"), "coffre export --login fatou --request REF --out fatou.zip"}
	}
	opts := vault.ExportOptions{Request: request}
	if p := fs.Lookup("passphrase-file").Value.String(); p != "" {
		var err error
		if opts.Passphrase, err = readPassphrase(p); err != nil {
			return err
		}
		if len([]rune(opts.Passphrase)) < vault.MinPassphraseLen {
			return hinted{fmt.Errorf("the passphrase in %s is shorter than %d characters", p, vault.MinPassphraseLen), "use four or more words"}
		}
	}
	lang := fs.Lookup("lang").Value.String()
	if lang != "" && !slices.Contains(account.Languages, lang) {
		return hinted{fmt.Errorf("--lang %q is not a language of Coffre", lang), "one of " + strings.Join(account.Languages, ", ")}
	}
	v, pool, owner, done, err := openOwnerDB(ctx, cfg, fs)
	if err != nil {
		return err
	}
	defer done()
	a, err := account.New(account.Config{DB: pool, Vault: v}).Account(ctx, owner)
	if err != nil {
		return fmt.Errorf("the owner's language and time: %w", err)
	}
	if opts.Lang = lang; lang == "" {
		opts.Lang = a.Language
	}
	// LISEZMOI.txt dates the copy in the owner's time, as their own export does.
	opts.Zone, opts.ZoneName = account.Location(a.TimeZone), i18n.Text("fr", account.TimeZoneLabel(a.TimeZone))
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return hinted{err, "--out must name a file that does not exist yet"}
	}
	sum, err := writeExport(ctx, v, owner, f, opts)
	if err != nil {
		os.Remove(out)
		if errors.Is(err, vault.ErrShredded) {
			return hinted{err, "this safe was erased at the end of its retention period: nothing can be recovered"}
		}
		return err
	}
	fmt.Fprintf(stdout, "coffre: exported %d documents (%d files, %.1f MB) of owner %s to %s, journaled with request %q\n",
		sum.Documents, sum.Files, float64(sum.Bytes)/1e6, owner, out, request)
	if sum.Encrypted {
		fmt.Fprintf(stdout, "coffre: the archive is encrypted: age -d -o coffre.zip %s\n", out)
	}
	return nil
}

func writeExport(ctx context.Context, v *vault.Vault, owner uuid.UUID, f *os.File, opts vault.ExportOptions) (*vault.ExportSummary, error) {
	w := bufio.NewWriterSize(f, 1<<20)
	sum, err := v.Export(ctx, owner, cliOperator, w, opts)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return sum, err
}
