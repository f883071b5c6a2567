package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
)

const structuresCreateUsage = `Usage: coffre structures create --name NAME --kind KIND --siret SIRET [--contact TEXT]

Registers a structure whose agents help people with their safes. KIND is ccas, cias,
france_services or association. SIRET has 14 digits (spaces allowed) and is checked.
TEXT (address, phone, opening hours) is printed on the access cards its agents hand out.
Prints the structure's ID, for 'coffre agents create'.

Example:
    coffre structures create --name "CCAS de Lille" --kind ccas --siret "215 903 501 00017" \
        --contact "CCAS de Lille, 03 20 00 00 00, du lundi au vendredi 9 h – 17 h"
`

const agentsCreateUsage = `Usage: coffre agents create --structure ID|SIRET --login LOGIN --name NAME [--role referent|agent]

Adds an agent to a structure: the first référent of a new structure (the default role),
who then invites the others from the web. Prints, once, a temporary password (changed at
first sign-in) and the otpauth:// URI to load in an authenticator app (TOTP, 6 digits,
30 s). NAME is how the person is called at the desk ("Mme Dupont"); the owners' history
shows it shortened ("Mme D. (CCAS de Lille)").

Example:
    coffre agents create --structure 21590350100017 --login m.dupont --name "Mme Dupont"
`

func structuresCreateFlags(fs *flag.FlagSet) {
	fs.String("name", "", "")
	fs.String("kind", "", "")
	fs.String("siret", "", "")
	fs.String("contact", "", "")
}

func agentsCreateFlags(fs *flag.FlagSet) {
	fs.String("structure", "", "")
	fs.String("login", "", "")
	fs.String("name", "", "")
	fs.String("role", string(sharing.RoleReferent), "")
}

func runStructuresCreate(ctx context.Context, cfg Config, fs *flag.FlagSet, _ []string, stdout io.Writer) error {
	ns := sharing.NewStructure{
		Name:    fs.Lookup("name").Value.String(),
		Kind:    sharing.StructureKind(fs.Lookup("kind").Value.String()),
		SIRET:   fs.Lookup("siret").Value.String(),
		Contact: fs.Lookup("contact").Value.String(),
	}
	if ns.Name == "" || ns.Kind == "" || ns.SIRET == "" {
		return hinted{errors.New("--name, --kind and --siret are required"), "see 'coffre help structures create'"}
	}
	s, done, err := openSharing(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	st, err := s.CreateStructure(ctx, ns)
	switch {
	case errors.Is(err, sharing.ErrBadSIRET):
		return hinted{err, "a SIRET has 14 digits: check it on annuaire-entreprises.data.gouv.fr"}
	case errors.Is(err, sharing.ErrTaken):
		return hinted{err, "a structure with this SIRET is already registered"}
	case errors.Is(err, sharing.ErrBadRequest):
		return hinted{err, "see 'coffre help structures create'"}
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "coffre: structure %q created: %s\n", st.Name, st.ID)
	return nil
}

func runAgentsCreate(ctx context.Context, cfg Config, fs *flag.FlagSet, _ []string, stdout io.Writer) error {
	ref := fs.Lookup("structure").Value.String()
	na := sharing.NewAgent{
		Login: fs.Lookup("login").Value.String(),
		Name:  fs.Lookup("name").Value.String(),
		Role:  sharing.Role(fs.Lookup("role").Value.String()),
	}
	s, done, err := openSharing(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	id, err := uuid.Parse(ref)
	if err != nil {
		st, serr := s.StructureBySIRET(ctx, ref)
		if serr != nil {
			return hinted{fmt.Errorf("--structure %q: %w", ref, serr), "give the ID printed by 'coffre structures create', or the SIRET"}
		}
		id = st.ID
	}
	a, enr, err := s.CreateAgent(ctx, id, na, string(vault.ActorOperator)+":cli")
	switch {
	case errors.Is(err, vault.ErrNotFound):
		return hinted{err, "no active structure has this ID"}
	case errors.Is(err, sharing.ErrTaken):
		return hinted{err, "another agent has this login: choose another"}
	case errors.Is(err, account.ErrBadLogin), errors.Is(err, sharing.ErrBadRequest):
		return hinted{err, "see 'coffre help agents create'"}
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "coffre: agent %q (%s) created in %q: %s\n", a.Login, a.Role, a.StructureName, a.ID)
	fmt.Fprintf(stdout, "temporary_password: %s\n", enr.TemporaryPassword)
	fmt.Fprintf(stdout, "totp_uri: %s\n", enr.TOTPURI)
	fmt.Fprintln(stdout, "coffre: give both to the agent now, in person: they are not shown again")
	return nil
}
