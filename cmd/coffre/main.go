// Command coffre is the citizen digital safe: the server and its operator tools.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `Coffre — coffre-fort numérique (article L.103 CPCE).

Usage:
    coffre serve                      run the HTTP server and the background jobs
    coffre migrate                    apply database migrations, create the bucket
    coffre keys init                  create the master key and the signing key files
    coffre keys rotate [--batch N]    replace the master key: a new key, then re-wrap (two runs)
    coffre journal verify [--login L] check every journal chain and signed checkpoint (or one safe's chain)
    coffre journal checkpoint         sign the current chain heads now
    coffre owners create --login L    open a safe (for demos and tests)
    coffre export --login L --request REF --out FILE [--passphrase-file F] [--lang LANG]
                                      export a whole safe on a written request
    coffre close --login L            close a safe (erased after COFFRE_RETENTION)
    coffre reopen --login L           reopen a closed safe before its erasure
    coffre notice set|clear|show      announce the end of the service to every owner
    coffre clients add|list|remove    register téléservices and issuers (« Recevoir mes papiers »)
    coffre receipt verify --file F    check a signed delivery receipt
    coffre structures create --name N --kind K --siret S [--contact C]
                                      register a CCAS, CIAS, France Services or association
    coffre agents create --structure ID|SIRET --login L --name N [--role referent|agent]
                                      add an agent (first référent): temporary password, TOTP
    coffre help COMMAND               help on one command

Configuration (environment variables, with their defaults):
    COFFRE_DATABASE_URL       PostgreSQL URL; pool_max_conns in it sets the pool size (25)
                              (postgres://coffre@127.0.0.1:55432/coffre?sslmode=disable)
    COFFRE_S3_ENDPOINT        S3 host:port; when empty, blobs go to COFFRE_BLOB_DIR
    COFFRE_S3_BUCKET          bucket name (coffre)
    COFFRE_S3_ACCESS_KEY      S3 access key
    COFFRE_S3_SECRET_KEY      S3 secret key
    COFFRE_S3_REGION          S3 region (empty: the store's default)
    COFFRE_S3_TLS             use HTTPS to reach S3: true or false (true)
    COFFRE_S3_TRAILING_CHECKSUM
                              over HTTPS or to a loopback address, uploads carry a CRC32C
                              checksum the store checks instead of a SHA-256 signature of
                              their body: true or false (true); false for S3 servers that
                              refuse trailing checksums
    COFFRE_BLOB_DIR           directory of the filesystem blob store (var/blobs)
    COFFRE_MASTER_KEY_FILE    age identities, newest first, mode 0600 (var/keys/master.key)
    COFFRE_SIGNING_KEY_FILE   Ed25519 service key, PEM (var/keys/signing.key)
    COFFRE_LISTEN             HTTP listen address (127.0.0.1:8080)
    COFFRE_METRICS_LISTEN     address of /metrics (Prometheus), apart from the service's;
                              empty: off (empty)
    COFFRE_SHUTDOWN_DRAIN     after SIGTERM, how long serve keeps answering while /readyz
                              says it is shutting down, so that load balancers stop sending
                              requests before it stops taking them (3s)
    COFFRE_UPLOAD_GRACE       age after which an unfinished upload is reaped (24h)
    COFFRE_PURGE_AFTER        delay between deleting a document and purging its blobs (0s)
    COFFRE_CHECKPOINT_EVERY   interval between signed journal checkpoints (10m)
    COFFRE_RETENTION          how long a closed safe stays recoverable before erasure
                              (empty: 12 months; at least 8760h)
    COFFRE_LOG_LEVEL          debug, info, warn or error (info)
    COFFRE_MAX_UPLOAD_MB      largest deposit (all pages of one paper), in megabytes (40)
    COFFRE_INGEST_MEMORY_MB   memory that deposits and merges of a link's papers may hold
                              together, in megabytes (512); beyond it they are asked to
                              try again. The process stays under it plus 320 MB; serve
                              sets the Go runtime's memory limit (GOMEMLIMIT, unless set)
                              to it plus 128 MB
    COFFRE_BEHIND_TLS         the service is reached over HTTPS (a proxy may end TLS):
                              Secure __Host- cookies, HSTS, X-Forwarded-For: true or false (false)
    COFFRE_SESSION_IDLE       a session ends after this long without a request (30m)
    COFFRE_SESSION_MAX        a session ends this long after sign-in, whatever the activity (12h);
                              15 minutes at most on a browser an agent signed in on
    COFFRE_SIGNUPS_PER_NETWORK  safes one network (IPv4 /24, IPv6 /48) may open by itself in
                              15 minutes; agents' pages are not counted (10)
    COFFRE_BASE_URL           public address of the service, e.g. https://coffre.example.fr;
                              passkeys need it (empty: passkeys off); share links and the
                              private_key_jwt audience (COFFRE_BASE_URL/api/v1/oauth/token) use it
    COFFRE_CONTACT            how people reach the service's team, shown on the accessibility
                              page (the law asks for it): an e-mail address, a phone, an address
    COFFRE_FRANCECONNECT_ISSUER        OpenID Connect issuer of FranceConnect (or another
                                       provider); empty: sign-in with FranceConnect off.
                                       Redirect URI to register: COFFRE_BASE_URL/connexion/franceconnect/retour
    COFFRE_FRANCECONNECT_CLIENT_ID     client ID given by FranceConnect
    COFFRE_FRANCECONNECT_CLIENT_SECRET client secret given by FranceConnect
    COFFRE_FRANCECONNECT_ACR           eIDAS level asked for and required (eidas1)
    COFFRE_PROCONNECT_ISSUER           OpenID Connect issuer of ProConnect, for agents; empty: off.
                                       Redirect URI to register: COFFRE_BASE_URL/agent/connexion/proconnect/retour
    COFFRE_PROCONNECT_CLIENT_ID        client ID given by ProConnect
    COFFRE_PROCONNECT_CLIENT_SECRET    client secret given by ProConnect
    COFFRE_SMTP_ADDR          mail server (host:port) for the owners' e-mail messages; empty: no e-mail
    COFFRE_SMTP_USER, COFFRE_SMTP_PASSWORD   its credentials (sent over TLS only, or to loopback)
    COFFRE_SMTP_FROM          sender, e.g. "Coffre <ne-pas-repondre@coffre.example.fr>"
    COFFRE_SMTP_TLS           auto (STARTTLS when offered), starttls (required) or tls (port 465) (auto)
    COFFRE_SMS_URL            SMS gateway: one JSON POST {"to", "text"} per message (see the README);
                              https, or http on this machine; empty: no SMS
    COFFRE_SMS_TOKEN          bearer token sent to the SMS gateway
    COFFRE_FONTS              directory of the Noto fonts of the printed pages' translated page
                              (/usr/share/fonts/truetype/noto); missing: those pages in French only
    COFFRE_2DDOC_TRUST        2D-Doc trust list: a file, or a directory whose *.xml, *.pem and
                              *.crt files are read together — the ANTS list of certification
                              authorities (TSL, XML) and the PEM certificates of the signers
                              (see the README); empty: 2D-Doc codes of papers are not checked
    COFFRE_2DDOC_REFRESH      how often the trust list is read again (1h); a list that fails
                              to read is logged and the one in use is kept

Example:
    coffre keys init && coffre migrate && coffre serve
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintf(os.Stderr, "coffre: error: %v\n", err)
			var h hinted
			if errors.As(err, &h) {
				fmt.Fprintf(os.Stderr, "coffre: hint: %s\n", h.hint)
			}
		}
		os.Exit(1)
	}
}

// errUsage means the usage was already printed.
var errUsage = errors.New("usage")

// hinted is an error with a line of advice for the operator.
type hinted struct {
	err  error
	hint string
}

func (h hinted) Error() string { return h.err.Error() }
func (h hinted) Unwrap() error { return h.err }

type command struct {
	name  string
	usage string
	run   func(ctx context.Context, cfg Config, fs *flag.FlagSet, args []string, stdout io.Writer) error
	flags func(fs *flag.FlagSet)
}

func commands() []command {
	return []command{
		{name: "serve", usage: serveUsage, run: runServe},
		{name: "migrate", usage: migrateUsage, run: runMigrate},
		{name: "keys init", usage: keysInitUsage, run: runKeysInit},
		{name: "keys rotate", usage: keysRotateUsage, run: runKeysRotate, flags: func(fs *flag.FlagSet) { fs.Int("batch", 100, "") }},
		{name: "journal verify", usage: journalVerifyUsage, run: runJournalVerify, flags: ownerFlags},
		{name: "journal checkpoint", usage: journalCheckpointUsage, run: runJournalCheckpoint},
		{name: "owners create", usage: ownersCreateUsage, run: runOwnersCreate, flags: func(fs *flag.FlagSet) {
			fs.String("login", "", "")
			fs.Bool("if-absent", false, "")
			fs.Bool("secret-stdin", false, "")
		}},
		{name: "clients add", usage: clientsAddUsage, run: runClientsAdd, flags: clientsAddFlags},
		{name: "clients list", usage: clientsListUsage, run: runClientsList},
		{name: "clients remove", usage: clientsRemoveUsage, run: runClientsRemove, flags: func(fs *flag.FlagSet) { fs.String("id", "", "") }},
		{name: "receipt verify", usage: receiptVerifyUsage, run: runReceiptVerify, flags: func(fs *flag.FlagSet) { fs.String("file", "", "") }},
		{name: "export", usage: exportUsage, run: runExport, flags: exportFlags},
		{name: "close", usage: closeUsage, run: runClose, flags: ownerFlags},
		{name: "reopen", usage: reopenUsage, run: runReopen, flags: ownerFlags},
		{name: "notice set", usage: noticeUsage, run: runNoticeSet, flags: noticeSetFlags},
		{name: "notice clear", usage: noticeUsage, run: runNoticeClear},
		{name: "notice show", usage: noticeUsage, run: runNoticeShow},
		{name: "structures create", usage: structuresCreateUsage, run: runStructuresCreate, flags: structuresCreateFlags},
		{name: "agents create", usage: agentsCreateUsage, run: runAgentsCreate, flags: agentsCreateFlags},
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" && len(args) == 1 {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	if args[0] == "help" {
		args = append(args[1:], "--help")
	}
	for _, c := range commands() {
		words := len(splitWords(c.name))
		if len(args) < words || joinWords(args[:words]) != c.name {
			continue
		}
		fs := flag.NewFlagSet("coffre "+c.name, flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		if c.flags != nil {
			c.flags(fs)
		}
		if err := fs.Parse(args[words:]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, c.usage)
				return nil
			}
			fmt.Fprint(stderr, c.usage)
			return fmt.Errorf("%v", err)
		}
		if fs.NArg() > 0 {
			fmt.Fprint(stderr, c.usage)
			return fmt.Errorf("unexpected argument %q", fs.Arg(0))
		}
		cfg, err := LoadConfig(os.Getenv)
		if err != nil {
			return err
		}
		return c.run(ctx, cfg, fs, args[words:], stdout)
	}
	// A group's name alone ("coffre help agents", "coffre agents --help"): the usage of
	// each of its commands.
	var group []string
	for _, c := range commands() {
		if splitWords(c.name)[0] == args[0] {
			group = append(group, c.usage)
		}
	}
	if len(group) > 0 && len(args) == 2 && (args[1] == "--help" || args[1] == "-h") {
		fmt.Fprint(stdout, strings.Join(group, "\n"))
		return nil
	}
	fmt.Fprint(stderr, usage)
	return hinted{fmt.Errorf("unknown command %q", joinWords(args)), "run 'coffre help' for the list of commands"}
}

func splitWords(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

func joinWords(w []string) string {
	s := ""
	for i, x := range w {
		if i > 0 {
			s += " "
		}
		s += x
	}
	return s
}
