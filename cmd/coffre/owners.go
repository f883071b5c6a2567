package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"coffre/vault"
)

const ownersCreateUsage = `Usage: coffre owners create --login LOGIN [--if-absent]

Opens a safe with that login (a new age identity and data key, wrapped to the master key)
and prints its ID. With --if-absent, an existing login is not an error (for scripts).
`

func runOwnersCreate(ctx context.Context, cfg Config, fs *flag.FlagSet, _ []string, stdout io.Writer) error {
	login := fs.Lookup("login").Value.String()
	ifAbsent := fs.Lookup("if-absent").Value.String() == "true"
	if login == "" {
		return hinted{errors.New("--login is required"), "coffre owners create --login demo"}
	}
	v, pool, err := openVault(ctx, cfg, newLogger(cfg))
	if err != nil {
		return err
	}
	defer pool.Close()
	o, err := v.CreateOwner(ctx, login, vault.Actor{Kind: vault.ActorOperator, ID: "cli"})
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
