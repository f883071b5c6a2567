// Command scaledb builds a database of synthetic safes at the scale of a large territory
// (1 million owners, 10 million documents by default) and measures there what serves a
// person: the list of papers, the queries of a share link's download, the verification
// of one safe's journal, and the full journal verification. SCALE.md reports its figures;
// scripts/scaledb.sh runs it on a PostgreSQL of its own.
//
// Every synthetic row is a copy of a real one: a model safe is made through the vault
// (sealed titles, kinds and file names, blob rows with their MACs, journal, a link), then
// copied a million times with new IDs by INSERT … SELECT inside PostgreSQL, so that each
// column has the size the service writes. The copies' journal chains do not verify (their
// owner changed), which only the full verification's count of broken chains shows.
//
// The plans of the measured statements (EXPLAIN ANALYZE with buffers, by auto_explain)
// are written to --plans.
package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
)

const usage = `Usage: scaledb --database-url URL --master-key-file F --blob-dir D --pg-log F [flags]

Fills a migrated, empty database with copies of a model safe, then measures.

Flags:
    --owners N      safes (1000000); each holds 10 documents
    --batch N       safes copied per statement (20000)
    --heavy N       documents of the large real safe measured beside the model (300)
    --plans FILE    where the plans of the measured statements go (plans.txt)
    --measure-only  the database is already filled: measure only
`

func main() {
	fs := flag.NewFlagSet("scaledb", flag.ExitOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage) }
	dbURL := fs.String("database-url", "", "")
	keyFile := fs.String("master-key-file", "", "")
	blobDir := fs.String("blob-dir", "", "")
	pgLog := fs.String("pg-log", "", "")
	owners := fs.Int("owners", 1_000_000, "")
	batch := fs.Int("batch", 20_000, "")
	heavy := fs.Int("heavy", 300, "")
	plans := fs.String("plans", "plans.txt", "")
	measureOnly := fs.Bool("measure-only", false, "")
	_ = fs.Parse(os.Args[1:]) // ExitOnError: a bad flag exits here
	if *dbURL == "" || *keyFile == "" || *blobDir == "" || *pgLog == "" {
		fs.Usage()
		os.Exit(2)
	}
	if err := run(context.Background(), *dbURL, *keyFile, *blobDir, *pgLog, *plans, *owners, *batch, *heavy, *measureOnly); err != nil {
		fmt.Fprintf(os.Stderr, "scaledb: error: %v\n", err)
		os.Exit(1)
	}
}

func say(format string, args ...any) {
	fmt.Printf("scaledb: "+format+"\n", args...)
}

type bench struct {
	pool     *pgxpool.Pool
	v        *vault.Vault
	accounts *account.Service
	share    *sharing.Service
	store    vault.BlobStore
	keys     *vault.Keyring
}

func run(ctx context.Context, dbURL, keyFile, blobDir, pgLog, plans string, owners, batch, heavy int, measureOnly bool) error {
	pc, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return err
	}
	pc.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return err
	}
	defer pool.Close()
	keys, err := vault.LoadKeyring(keyFile)
	if err != nil {
		return err
	}
	store, err := vault.NewFSStore(blobDir)
	if err != nil {
		return err
	}
	v, err := vault.New(ctx, vault.Config{DB: pool, Blobs: store, Keys: keys})
	if err != nil {
		return err
	}
	accounts := account.New(account.Config{DB: pool, Vault: v})
	v.AddParticipant(accounts)
	b := &bench{pool: pool, v: v, accounts: accounts, share: sharing.New(pool, v, accounts), store: store, keys: keys}
	if !measureOnly {
		if err := b.fill(ctx, owners, batch, heavy); err != nil {
			return err
		}
	}
	return b.measure(ctx, dbURL, pgLog, plans)
}

// kinds the model's ten papers have, as a typical safe's.
var modelKinds = []vault.Kind{vault.KindIdentite, vault.KindTitreSejour, vault.KindDomicile, vault.KindRessources, vault.KindImpots, //nolint:gochecknoglobals // a constant list
	vault.KindCAF, vault.KindFranceTravail, vault.KindSante, vault.KindFamille, vault.KindBanque}

// deposit puts one paper of the usual shape in the safe: the photo as received, the PDF,
// the thumbnail (tiny bytes: the files' sizes do not matter to the database).
func (b *bench) deposit(ctx context.Context, owner uuid.UUID, kind vault.Kind, title string) (*vault.Document, error) {
	body := func() *strings.Reader { return strings.NewReader("contenu de démonstration") }
	n := int64(len("contenu de démonstration"))
	return b.v.Deposit(ctx, owner, vault.Actor{Kind: vault.ActorOwner, ID: owner.String(), IP: netip.MustParseAddr("192.0.2.10")}, vault.NewDocument{
		Kind: kind, Title: title,
		Files: []vault.File{
			{Role: vault.RoleOriginal, MediaType: "image/jpeg", Name: "IMG_20260312_101533.jpg", Body: body(), Size: n},
			{Role: vault.RoleRendition, MediaType: "application/pdf", Name: "document.pdf", Body: body(), Size: n},
			{Role: vault.RoleThumbnail, MediaType: "image/jpeg", Body: body(), Size: n},
		},
	})
}

// fill makes the model safe and the large one through the vault, then copies the model.
func (b *bench) fill(ctx context.Context, owners, batch, heavy int) error {
	start := time.Now()
	by := vault.Actor{Kind: vault.ActorOperator, ID: "scaledb"}
	model, err := b.accounts.CreateAccount(ctx, "modele", "une phrase secrète pour le modèle", by)
	if err != nil {
		return fmt.Errorf("model safe: %w", err)
	}
	var docs []uuid.UUID
	for i, k := range modelKinds {
		d, err := b.deposit(ctx, model.ID, k, fmt.Sprintf("%s de mars 2026 n°%d", k.Label(), i+1))
		if err != nil {
			return err
		}
		docs = append(docs, d.ID)
	}
	if _, err := b.share.CreateLink(ctx, model.ID, vault.Actor{Kind: vault.ActorOwner, ID: model.ID.String()}, sharing.NewLink{
		Documents: docs[:2], Purpose: "Dossier CAF – aide au logement", Lifetime: 7 * 24 * time.Hour, MaxDownloads: 10,
	}); err != nil {
		return err
	}
	big, err := b.v.CreateOwner(ctx, "grand", by)
	if err != nil {
		return err
	}
	for i := range heavy {
		if _, err := b.deposit(ctx, big.ID, modelKinds[i%len(modelKinds)], fmt.Sprintf("Papier n°%d", i+1)); err != nil {
			return err
		}
	}
	say("model safe (10 papers, a link) and a large safe (%d papers) made through the vault in %s", heavy, time.Since(start).Round(time.Millisecond))

	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	// A bulk load: no wait for each commit's flush, and no foreign-key trigger per row
	// (the copies reference each other by construction).
	if _, err := conn.Exec(ctx, `SET synchronous_commit = off; SET session_replication_role = replica`); err != nil {
		return err
	}
	for lo := 1; lo <= owners; lo += batch {
		hi := min(lo+batch-1, owners)
		t0 := time.Now()
		for _, c := range copies {
			sql, err := c.statement(ctx, conn.Conn())
			if err != nil {
				return err
			}
			if _, err := conn.Exec(ctx, sql, model.ID, lo, hi); err != nil {
				return fmt.Errorf("copy %s: %w", c.table, err)
			}
		}
		if lo == 1 || hi%(10*batch) == 0 || hi == owners {
			say("%d of %d safes copied (%s for the last %d; %s in all)", hi, owners, time.Since(t0).Round(time.Millisecond), hi-lo+1, time.Since(start).Round(time.Second))
		}
	}
	t0 := time.Now()
	if _, err := conn.Exec(ctx, `SET session_replication_role = origin`); err != nil {
		return err
	}
	for _, c := range copies {
		if _, err := conn.Exec(ctx, `VACUUM (ANALYZE) `+c.table); err != nil {
			return err
		}
	}
	say("vacuumed and analyzed in %s; filled in %s", time.Since(t0).Round(time.Second), time.Since(start).Round(time.Second))
	return nil
}

// copy is how one table's rows of the model are copied for safes $2 to $3: the columns
// named in set get an expression (g.i is the copy's number, $1 the model's ID), the others
// their model's value.
type copyOf struct {
	table string
	where string
	set   map[string]string
}

// newID maps an ID of the model to its copy's: the same for every table, so that
// references between the copies hold.
func newID(col string) string { return `md5(` + col + `::text || ':' || g.i)::uuid` }

var copies = []copyOf{ //nolint:gochecknoglobals // a constant table
	{"owners", "t.id = $1", map[string]string{"id": newID("t.id"), "login": `'copie.' || g.i`}},
	{"accounts", "t.owner_id = $1", map[string]string{"owner_id": newID("t.owner_id")}},
	{"documents", "t.owner_id = $1", map[string]string{"id": newID("t.id"), "owner_id": newID("t.owner_id")}},
	{"blobs", "t.owner_id = $1", map[string]string{"id": newID("t.id"), "document_id": newID("t.document_id"), "owner_id": newID("t.owner_id")}},
	{"links", "t.owner_id = $1", map[string]string{"id": newID("t.id"), "owner_id": newID("t.owner_id"),
		"token_sha256": `sha256(t.token_sha256 || int4send(g.i))`}},
	{"link_documents", "t.link_id IN (SELECT id FROM links WHERE owner_id = $1)", map[string]string{"link_id": newID("t.link_id"), "document_id": newID("t.document_id")}},
	{"journal", "t.owner_id = $1", map[string]string{"owner_id": newID("t.owner_id"), "actor_id": `CASE WHEN t.actor_kind = 'owner' THEN ` + newID("t.owner_id") + `::text ELSE t.actor_id END`,
		"document_id": `CASE WHEN t.document_id IS NULL THEN NULL ELSE ` + newID("t.document_id") + ` END`}},
	{"journal_heads", "t.owner_id = $1", map[string]string{"owner_id": newID("t.owner_id")}},
}

func (c copyOf) statement(ctx context.Context, conn *pgx.Conn) (string, error) {
	rows, err := conn.Query(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position`, c.table)
	if err != nil {
		return "", err
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", err
	}
	exprs := make([]string, len(cols))
	for i, col := range cols {
		if e, ok := c.set[col]; ok {
			exprs[i] = e
		} else {
			exprs[i] = "t." + col
		}
	}
	return fmt.Sprintf(`INSERT INTO %s (%s) SELECT %s FROM %s t CROSS JOIN generate_series($2::int, $3::int) g(i) WHERE %s AND $1::uuid IS NOT NULL`,
		c.table, strings.Join(cols, ", "), strings.Join(exprs, ", "), c.table, c.where), nil
}

// measure times what serves a person on the filled database, with the plans of every
// statement logged by auto_explain.
func (b *bench) measure(ctx context.Context, dbURL, pgLog, plansPath string) error {
	b.sizes(ctx)
	// A pool whose sessions log the plan of every statement, with its timing and buffers.
	pc, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return err
	}
	pc.MaxConns = 2
	pc.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on;
			SET auto_explain.log_buffers = on; SET auto_explain.log_nested_statements = on; SET auto_explain.log_level = 'LOG'`)
		return err
	}
	explained, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return err
	}
	defer explained.Close()
	ev, err := vault.New(ctx, vault.Config{DB: explained, Blobs: b.store, Keys: b.keys})
	if err != nil {
		return err
	}
	es := sharing.New(explained, ev, account.New(account.Config{DB: explained, Vault: ev}))

	model, err := ev.OwnerByLogin(ctx, "modele")
	if err != nil {
		return err
	}
	big, err := ev.OwnerByLogin(ctx, "grand")
	if err != nil {
		return err
	}
	// The model's link: its token is not stored; a new link on the same papers, as the
	// person would make one.
	docs, err := ev.Documents(ctx, model.ID)
	if err != nil {
		return err
	}
	created, err := es.CreateLink(ctx, model.ID, vault.Actor{Kind: vault.ActorOwner, ID: model.ID.String()}, sharing.NewLink{
		Documents: []uuid.UUID{docs[0].ID, docs[1].ID}, Lifetime: 24 * time.Hour, MaxDownloads: 1000})
	if err != nil {
		return err
	}
	logStart := logSize(pgLog)
	ip := netip.MustParseAddr("192.0.2.20")
	ops := []struct {
		name string
		f    func() error
	}{
		{"list page, a safe of 10 papers", func() error {
			_, _, err := ev.Shelves(ctx, model.ID, 12, time.Now().Add(60*24*time.Hour))
			return err
		}},
		{"list page, a safe of 300 papers", func() error {
			_, _, err := ev.Shelves(ctx, big.ID, 12, time.Now().Add(60*24*time.Hour))
			return err
		}},
		{"link download (resolve, documents, count and journal, read)", func() error {
			l, err := es.Resolve(ctx, created.Token)
			if err != nil {
				return err
			}
			ds, err := es.Documents(ctx, l)
			if err != nil {
				return err
			}
			d := ds[0]
			r, err := es.Open(ctx, l, d.ID, d.Blob(vault.RoleRendition).ID, ip, vault.ActionDownload, "")
			if err != nil {
				return err
			}
			defer r.Close()
			_, err = r.Read(make([]byte, 1<<16))
			return err
		}},
		{"journal verify of one safe", func() error {
			rep, err := ev.VerifyOwnerJournal(ctx, model.ID)
			if err == nil && len(rep.Breaks) > 0 {
				err = fmt.Errorf("broken: %v", rep.Breaks[0])
			}
			return err
		}},
	}
	plans, err := os.Create(plansPath)
	if err != nil {
		return err
	}
	defer plans.Close()
	for _, op := range ops {
		var times []time.Duration
		for i := range 7 {
			if _, err := explained.Exec(ctx, `SELECT 'scaledb mark: `+op.name+`'`); err != nil {
				return err
			}
			t0 := time.Now()
			if err := op.f(); err != nil && !strings.Contains(err.Error(), "EOF") {
				return fmt.Errorf("%s: %w", op.name, err)
			}
			if i > 0 { // the first run warms the caches
				times = append(times, time.Since(t0))
			}
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		say("%s: median %s, worst %s (6 warm runs, auto_explain on)", op.name, times[len(times)/2].Round(10*time.Microsecond), times[len(times)-1].Round(10*time.Microsecond))
	}
	time.Sleep(time.Second)
	summarize(pgLog, logStart, plans)

	// The full verification reads every chain: its rate says how long it takes at any size.
	t0 := time.Now()
	pub, _, _ := ed25519.GenerateKey(nil) // no checkpoint was signed here: no key is needed
	rep, err := b.v.VerifyJournal(ctx, pub)
	if err != nil && !strings.Contains(err.Error(), "signature") {
		say("full journal verify: %v", err)
	} else if rep != nil {
		took := time.Since(t0)
		say("full journal verify: %d entries in %d chains in %s (%.0f entries/s); %d chains broken (the copies', whose owner changed)",
			rep.Entries, rep.Chains, took.Round(time.Second), float64(rep.Entries)/took.Seconds(), len(rep.Breaks))
	}
	return nil
}

// sizes prints each table's rows, bytes and the model's bytes per row.
func (b *bench) sizes(ctx context.Context) {
	var dbBytes int64
	if err := b.pool.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&dbBytes); err != nil {
		say("database size: %v", err)
	}
	say("database: %s", gb(dbBytes))
	for _, c := range copies {
		var rows int64
		var heap, idx, toast int64
		var rowBytes float64
		err := b.pool.QueryRow(ctx, `SELECT c.reltuples::bigint, pg_relation_size(c.oid), pg_indexes_size(c.oid),
			pg_total_relation_size(c.oid) - pg_relation_size(c.oid) - pg_indexes_size(c.oid)
			FROM pg_class c WHERE c.relname = $1 AND c.relkind = 'r'`, c.table).Scan(&rows, &heap, &idx, &toast)
		if err == nil {
			err = b.pool.QueryRow(ctx, `SELECT coalesce(avg(pg_column_size(t.*)), 0) FROM (SELECT * FROM `+c.table+` t WHERE `+
				strings.ReplaceAll(c.where, "$1", "(SELECT id FROM owners WHERE login = 'modele')")+`) t`).Scan(&rowBytes)
		}
		if err != nil {
			say("table %s: %v", c.table, err)
			continue
		}
		say("table %-15s %11d rows, %5.0f bytes a row; heap %s, indexes %s, toast %s", c.table, rows, rowBytes, gb(heap), gb(idx), gb(toast))
	}
}

func gb(b int64) string {
	if b >= 1<<30 {
		return fmt.Sprintf("%.2f GB", float64(b)/(1<<30))
	}
	return fmt.Sprintf("%.0f MB", float64(b)/(1<<20))
}

func logSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

var (
	durationRE = regexp.MustCompile(`duration: ([0-9.]+) ms\s+plan:`)
	buffersRE  = regexp.MustCompile(`Buffers: shared (?:hit=(\d+))?\s*(?:read=(\d+))?`)
	nodeRE     = regexp.MustCompile(`(Index Only Scan|Index Scan|Bitmap Heap Scan|Seq Scan) (?:Backward )?(?:using (\S+) )?on (\S+)`)
	markRE     = regexp.MustCompile(`scaledb mark: ([^']+)'`)
)

// summarize copies the plans logged since offset to w and prints, for each measured
// operation, its statements' total execution time in PostgreSQL, the buffers they
// touched and how they reached the big tables.
func summarize(path string, offset int64, w *os.File) {
	f, err := os.Open(path)
	if err != nil {
		say("plans: %v", err)
		return
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		say("plans: %v", err)
		return
	}
	type stat struct {
		statements int
		ms         float64
		hit, read  int
		scans      map[string]bool
	}
	stats := map[string]*stat{}
	var order []string
	cur := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	top := false
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(w, line)
		if m := markRE.FindStringSubmatch(line); m != nil {
			cur = m[1]
			if stats[cur] == nil {
				stats[cur] = &stat{scans: map[string]bool{}}
				order = append(order, cur)
			}
			continue
		}
		st := stats[cur]
		if st == nil {
			continue
		}
		if m := durationRE.FindStringSubmatch(line); m != nil {
			var ms float64
			_, _ = fmt.Sscan(m[1], &ms) // the pattern matched a number
			st.statements++
			st.ms += ms
			top = true
			continue
		}
		if m := buffersRE.FindStringSubmatch(line); m != nil && top {
			var h, r int
			_, _ = fmt.Sscan(m[1], &h) // the pattern matched numbers
			_, _ = fmt.Sscan(m[2], &r)
			st.hit += h
			st.read += r
			top = false // the first Buffers line of a plan is its total
		}
		if m := nodeRE.FindStringSubmatch(line); m != nil {
			scan := m[1] + " on " + m[3]
			if m[2] != "" {
				scan += " (" + m[2] + ")"
			}
			st.scans[scan] = true
		}
	}
	for _, name := range order {
		st := stats[name]
		var scans []string
		for s := range st.scans {
			scans = append(scans, s)
		}
		sort.Strings(scans)
		// Seven runs were made of each: per run.
		say("  %s: %d statements a run, %.2f ms in PostgreSQL a run, %d buffers hit and %d read in all; %s",
			name, st.statements/7, st.ms/7, st.hit, st.read, strings.Join(scans, ", "))
	}
}
