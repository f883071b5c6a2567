package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"coffre/ingest/ingesttest"
	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/vaulttest"
	"coffre/web"
)

const chromiumPath = "/usr/bin/chromium"

func listen(t *testing.T) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln, "http://127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func serve(t *testing.T, ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }() // ends with ErrServerClosed at Cleanup
	t.Cleanup(func() { srv.Close() })
}

// TestChoisirDansMonCoffre drives the whole exchange in a real browser: the person clicks
// « Choisir dans mon coffre » on the téléservice, signs in to Coffre, chooses a paper and
// gives it; the téléservice fetches it and checks its hash, digest and signed receipt.
func TestChoisirDansMonCoffre(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("no Chromium at %s: run scripts/browser.sh (make test does)", chromiumPath)
	}
	ctx := context.Background()
	vb := vaulttest.NewVault(t)
	share := sharing.New(vb.DB, vb.V, vb.A)
	vb.V.AddParticipant(share)
	_, signing, _ := ed25519.GenerateKey(rand.Reader)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	coffreLn, coffreURL := listen(t)
	serve(t, coffreLn, web.New(web.Config{Ready: vb.V, Vault: vb.V, Accounts: vb.A, Log: quiet, BaseURL: coffreURL, Sharing: share, Signing: signing}))
	tsLn, tsURL := listen(t)
	client, secret, err := share.AddClient(ctx, sharing.NewClient{Name: "Aide au logement (exemple)",
		RedirectURIs: []string{tsURL + "/retour"}, AllowedKinds: []vault.Kind{vault.KindCAF}})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, tsLn, New(Config{Coffre: coffreURL, ClientID: client.ID, ClientSecret: secret, Self: tsURL, Kinds: []string{"caf"}}, quiet))

	o, err := vb.A.CreateAccount(ctx, "nadia", "le chat mange la pomme", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vb.V.Deposit(ctx, o.ID, vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String()}, vault.NewDocument{
		Kind: vault.KindCAF, Title: "Attestation CAF de mars",
		Files: []vault.File{{Role: vault.RoleRendition, MediaType: "application/pdf", Size: -1, Body: bytes.NewReader(ingesttest.PDF(
			"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
			"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"))}},
		// Its 2D-Doc verified at deposit: the téléservice shows what it says.
		Proof: &vault.Proof{Status: vault.ProofValid, Type: "Attestation de paiement", Issuer: "CAF du Nord (essai)", CheckedAt: time.Now(),
			Facts: []vault.ProofFact{{Label: "Montant versé", Value: "312,00 €"}}},
	}); err != nil {
		t.Fatal(err)
	}

	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(360, 740))
	defer cancelAlloc()
	bctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	bctx, cancelTimeout := context.WithTimeout(bctx, 2*time.Minute)
	defer cancelTimeout()

	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			loc, _ := chromedp.Run(bctx, chromedp.Location())
			t.Fatalf("%s: %v (at %s)", what, err, loc)
		}
	}
	step("open the téléservice", chromedp.Navigate(tsURL+"/"), chromedp.WaitVisible(chromedp.CSS("#choisir")))
	step("choose from the safe", chromedp.Click(chromedp.CSS("#choisir")), chromedp.WaitVisible(chromedp.CSS("#login")))
	step("sign in to Coffre",
		chromedp.SendKeys(chromedp.CSS("#login"), "nadia"),
		chromedp.SendKeys(chromedp.CSS("#secret"), "le chat mange la pomme"),
		chromedp.Click(chromedp.CSS("main form.cf-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("button[value=donner]")))
	consent, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil || !strings.Contains(consent, "Aide au logement (exemple)") || !strings.Contains(consent, "Attestation CAF de mars") {
		t.Fatalf("consent page: %q, %v", consent, err)
	}
	step("choose the paper and give it, marked",
		chromedp.Click(chromedp.CSS("main input[name=doc]")),
		chromedp.Click(chromedp.CSS("#mark-oui")),
		chromedp.Click(chromedp.CSS("button[value=donner]")),
		chromedp.WaitVisible(chromedp.CSS("#resultat")))
	result, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil || !strings.Contains(result, "empreinte et reçu vérifiés") || strings.Contains(result, "NON VÉRIFIÉ") ||
		!strings.Contains(result, "Document authentique\u00a0: Attestation de paiement, émis par CAF du Nord (essai)") ||
		!strings.Contains(result, "Montant versé\u00a0: 312,00 €") || !strings.Contains(result, "Copie marquée\u00a0: «\u00a0Transmis à ") {
		t.Fatalf("téléservice result: %q, %v", result, err)
	}
	entries, err := vb.V.Journal(ctx, o.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	granted, delivered := false, false
	for _, e := range entries {
		_, detail := e.PersonalData()
		granted = granted || e.Action == sharing.ActionGrantCreated
		delivered = delivered || e.Action == vault.ActionDownload && e.ActorID == client.ID && strings.HasPrefix(detail, "reçu ")
	}
	if !granted || !delivered {
		t.Errorf("the owner's journal lacks the consent (%v) or the download with its receipt (%v)", granted, delivered)
	}
}
