package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-jose/go-jose/v4"

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

// TestRecevoirMesPapiers drives the whole exchange in a real browser: the person clicks
// « Recevoir mes papiers dans mon coffre » on the issuer's site, signs in to Coffre,
// reads who will deposit what and accepts; the issuer keeps the subscription, then
// deposits an attestation and checks the signed receipt. The paper is in the safe, and
// the person's history says who deposited it.
func TestRecevoirMesPapiers(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("no Chromium at %s: run scripts/browser.sh (make test does)", chromiumPath)
	}
	ctx := context.Background()
	vb := vaulttest.NewVault(t)
	share := sharing.New(vb.DB, vb.V, vb.A)
	vb.V.AddParticipant(share)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	coffreLn, coffreURL := listen(t)
	serve(t, coffreLn, web.New(web.Config{Ready: vb.V, Vault: vb.V, Accounts: vb.A, Log: quiet, BaseURL: coffreURL, Sharing: share, Signing: vb.Signing}))
	issuerLn, issuerURL := listen(t)

	// The issuer's key pair, made as its operator would, and its registration.
	var public bytes.Buffer
	keyFile := filepath.Join(t.TempDir(), "issuer.jwk")
	if err := writeNewKey(keyFile, &public); err != nil {
		t.Fatal(err)
	}
	client, _, err := share.AddClient(ctx, sharing.NewClient{Name: "CAF (exemple)", RedirectURIs: []string{issuerURL + "/retour"},
		DepositKinds: []vault.Kind{vault.KindCAF}, AuthMethod: sharing.AuthPrivateKeyJWT, JWKS: public.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	var key jose.JSONWebKey
	raw, _ := os.ReadFile(keyFile)
	if err := json.Unmarshal(raw, &key); err != nil || key.IsPublic() {
		t.Fatalf("the key file: %v", err)
	}
	serve(t, issuerLn, New(Config{Coffre: coffreURL, ClientID: client.ID, Key: key, Self: issuerURL}, quiet))

	o, err := vb.A.CreateAccount(ctx, "nadia", "le chat mange la pomme", vault.System)
	if err != nil {
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
	step("open the issuer's site", chromedp.Navigate(issuerURL+"/"), chromedp.WaitVisible(chromedp.CSS("#recevoir")))
	step("ask to receive papers", chromedp.Click(chromedp.CSS("#recevoir")), chromedp.WaitVisible(chromedp.CSS("#login")))
	step("sign in to Coffre",
		chromedp.SendKeys(chromedp.CSS("#login"), "nadia"),
		chromedp.SendKeys(chromedp.CSS("#secret"), "le chat mange la pomme"),
		chromedp.Click(chromedp.CSS("main form.cf-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("button[value=accepter]")))
	consent, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil || !strings.Contains(consent, "«\u00a0CAF (exemple)\u00a0» demande à mettre vos papiers dans votre coffre") ||
		!strings.Contains(consent, "Attestation CAF") || !strings.Contains(consent, "ne pourra jamais voir") {
		t.Fatalf("consent page: %q, %v", consent, err)
	}
	step("accept", chromedp.Click(chromedp.CSS("button[value=accepter]")), chromedp.WaitVisible(chromedp.CSS("#abonne")))
	step("the issuer deposits this month's attestation", chromedp.Click(chromedp.CSS("#deposer")), chromedp.WaitVisible(chromedp.CSS("#resultat")))
	result, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#resultat")))
	if err != nil || !strings.Contains(result, "reçu vérifié") || strings.Contains(result, "NON VÉRIFIÉ") {
		t.Fatalf("issuer result: %q, %v", result, err)
	}

	docs, err := vb.V.Documents(ctx, o.ID)
	if err != nil || len(docs) != 1 || docs[0].Title != "Attestation de paiement – mars" || docs[0].Kind != vault.KindCAF || docs[0].Depositor.ID != client.ID {
		t.Fatalf("the safe holds %+v (%v), want the attestation", docs, err)
	}
	step("the person reads their history", chromedp.Navigate(coffreURL+"/historique"), chromedp.WaitVisible(chromedp.CSS("main")))
	history, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil || !strings.Contains(history, "CAF (exemple) a déposé «\u00a0Attestation de paiement – mars\u00a0».") ||
		!strings.Contains(history, "Vous avez accepté que «\u00a0CAF (exemple)\u00a0» dépose vos papiers dans votre coffre.") {
		t.Errorf("history: %q, %v", history, err)
	}
	step("and stops the deposits", chromedp.Navigate(coffreURL+"/compte"), chromedp.Click(chromedp.CSS("#s-deposits button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#s-deposits .fr-alert--success")))
	step("the issuer tries again", chromedp.Navigate(issuerURL+"/"), chromedp.Click(chromedp.CSS("#deposer")), chromedp.WaitVisible(chromedp.CSS("#erreur")))
	refused, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#erreur")))
	if err != nil || !strings.Contains(refused, "subscription-stopped") {
		t.Errorf("a deposit after the stop: %q, %v", refused, err)
	}
	if docs, _ := vb.V.Documents(ctx, o.ID); len(docs) != 1 {
		t.Errorf("%d papers after the stop, want 1", len(docs))
	}
}
