package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"coffre/vault"
)

const ownersCreateUsage = `Usage: coffre owners create --login LOGIN [--secret-stdin] [--if-absent]

Opens a safe with that login (a new age identity and data key, wrapped to the master key)
and prints its ID. With --secret-stdin, the first line of the standard input is the
owner's secret (same strength rule as the sign-up page), so that they can sign in; without
it the safe has no password (for owners who sign in with FranceConnect, or an agent
issues a temporary code). With --if-absent, an existing login is not an error (for
scripts).

Example:
    echo "coffre de démonstration" | coffre owners create --login demo --secret-stdin --if-absent
`

func runOwnersCreate(ctx context.Context, cfg Config, fs *flag.FlagSet, _ []string, stdout io.Writer) error {
	login := fs.Lookup("login").Value.String()
	ifAbsent := fs.Lookup("if-absent").Value.String() == "true"
	if login == "" {
		return hinted{errors.New("--login is required"), "coffre owners create --login demo"}
	}
	v, pool, svc, err := openVault(ctx, cfg, newLogger(cfg))
	if err != nil {
		return err
	}
	defer pool.Close()
	by := vault.Actor{Kind: vault.ActorOperator, ID: "cli"}
	var o *vault.Owner
	if fs.Lookup("secret-stdin").Value.String() == "true" {
		line, rerr := bufio.NewReader(os.Stdin).ReadString('\n')
		if rerr != nil && rerr != io.EOF {
			return rerr
		}
		o, err = svc.accounts.CreateAccount(ctx, login, strings.TrimRight(line, "\r\n"), by)
	} else {
		o, err = v.CreateOwner(ctx, login, by)
	}
	if errors.Is(err, vault.ErrLoginTaken) && ifAbsent {
		if o, err = v.OwnerByLogin(ctx, login); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "coffre: owner %q already exists: %s\n", login, o.ID)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "coffre: owner %q created: %s\n", login, o.ID)
	return nil
}
