package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"coffre/sharing"
	"coffre/vault"
	"coffre/vault/account"
	"coffre/vault/account/notify"
	"coffre/vault/i18n"
)

// mailpit returns the test mail server's SMTP address and API, started by
// scripts/test.sh.
func mailpit(t *testing.T) (smtpAddr, api string) {
	t.Helper()
	smtpAddr, api = os.Getenv("COFFRE_TEST_SMTP"), os.Getenv("COFFRE_TEST_MAILPIT")
	if smtpAddr == "" || api == "" {
		t.Fatal("COFFRE_TEST_SMTP and COFFRE_TEST_MAILPIT are not set: run the tests with 'make test' (scripts/mailpit.sh starts the mail server)")
	}
	return smtpAddr, api
}

type mailpitMessage struct {
	Subject string
	Text    string
	From    struct{ Address string }
	To      []struct{ Address string }
}

// inbox reads every message Mailpit received for to, oldest first.
func inbox(t *testing.T, api, to string) []mailpitMessage {
	t.Helper()
	var list struct {
		Messages []struct{ ID string }
	}
	get := func(path string, v any) {
		t.Helper()
		resp, err := http.Get(api + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("mailpit %s: %s", path, resp.Status)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	get("/api/v1/search?query="+url.QueryEscape(`to:"`+to+`"`), &list)
	out := make([]mailpitMessage, len(list.Messages))
	for i, m := range list.Messages {
		get("/api/v1/message/"+m.ID, &out[len(out)-1-i]) // the search lists newest first
	}
	return out
}

var codeRE = regexp.MustCompile(`\b(\d{6})\b`)

// The e-mail path end to end, through a real mail server: the code arrives and verifies
// the address; a residence permit 50 days from its end gets its reminder with the steps'
// official page, its kind but never its title; both are journaled; a person who reads
// English gets English.
func TestEmailThroughMailpit(t *testing.T) {
	t.Parallel()
	smtpAddr, api := mailpit(t)
	b := setup(t)
	ctx := context.Background()
	smtp, err := notify.NewSMTP(notify.SMTPConfig{Addr: smtpAddr, From: "Coffre <ne-pas-repondre@coffre.test>", User: "coffre", Password: "mot de passe du relais"})
	if err != nil {
		t.Fatal(err)
	}
	n := b.notifier(nil, map[account.ChannelKind]notify.Sender{account.ChannelEmail: smtp})
	addr := unique("awa") + "@exemple.fr"
	o, err := b.A.CreateAccount(ctx, unique("awa"), "une phrase secrète assez longue", vault.System)
	if err != nil {
		t.Fatal(err)
	}
	self := vault.Actor{Kind: vault.ActorOwner, ID: o.ID.String(), IP: b.ip}
	if _, err := b.A.AddChannel(ctx, o.ID, account.ChannelEmail, addr, b.ip); err != nil {
		t.Fatal(err)
	}
	b.deliverAll(t, n, o.ID)
	mails := inbox(t, api, addr)
	if len(mails) != 1 {
		t.Fatalf("%d e-mails after adding the address, want 1", len(mails))
	}
	code := codeRE.FindStringSubmatch(mails[0].Text)
	if code == nil || mails[0].Subject != i18n.Text("fr", "notify.prefix")+i18n.Text("fr", "notify.code.subject") || mails[0].From.Address != "ne-pas-repondre@coffre.test" {
		t.Fatalf("the code e-mail: %+v", mails[0])
	}
	if err := b.A.VerifyChannel(ctx, o.ID, account.ChannelEmail, code[1], self); err != nil {
		t.Fatalf("the code from the e-mail: %v", err)
	}

	const title = "Carte de résident Awa Diallo n° 9912345678"
	permit := b.paper(t, o.ID, self, vault.KindTitreSejour, title, 50)
	if err := n.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	b.deliverAll(t, n, o.ID)
	mails = inbox(t, api, addr)
	if len(mails) != 2 {
		t.Fatalf("%d e-mails after the scan, want 2", len(mails))
	}
	m := mails[1]
	expires := vault.Today(b.Clock.Now()).AddDate(0, 0, 50)
	for _, want := range []string{"Votre titre de séjour expire le " + frenchDay(expires) + ".", i18n.Text("fr", "notify.expiry.permit1"), vault.ResidencePermitPage, "Nos messages ne contiennent jamais de lien"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("the reminder lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text, "Diallo") || strings.Contains(m.Subject, "Diallo") || strings.Contains(m.Subject, "séjour") {
		t.Errorf("the reminder shows the title, or the kind in its subject: %q\n%s", m.Subject, m.Text)
	}
	if links := strings.Count(m.Text, "http"); links != 1 {
		t.Errorf("the reminder carries %d links, want only the official page", links)
	}

	// In English, for a person who chose it.
	if err := b.A.SetLanguage(ctx, o.ID, "en"); err != nil {
		t.Fatal(err)
	}
	if err := b.A.Notify(ctx, o.ID, account.Notice{What: account.NoticeMandateEnding, Key: "mandate_ending:test", At: b.Clock.Now().AddDate(0, 0, 20), Detail: "CCAS de Lille"}); err != nil {
		t.Fatal(err)
	}
	b.deliverAll(t, n, o.ID)
	mails = inbox(t, api, addr)
	if len(mails) != 3 || !strings.Contains(mails[2].Text, "The mandate you gave to CCAS de Lille ends on") || mails[2].Subject != "Coffre: Your mandate ends soon" {
		t.Fatalf("the English message: %+v", mails[len(mails)-1])
	}

	got := b.sentEntries(t, o.ID)
	if len(got) != 3 {
		t.Fatalf("%d messages journaled, want 3: %+v", len(got), got)
	}
	// Newest first.
	if e := got[1]; e.Channel != account.ChannelEmail || e.What != account.NoticeExpiry || e.Kind != vault.KindTitreSejour || !e.Date.Equal(expires) {
		t.Errorf("the reminder's entry: %+v", e)
	}
	if e := got[2]; e.What != account.NoticeCode {
		t.Errorf("the code's entry: %+v", e)
	}
	// The journal keeps the kind sealed, with the paper.
	var clear int
	if err := b.DB.QueryRow(ctx, `SELECT count(*) FROM journal WHERE owner_id = $1 AND action = 'message_sent'
		AND (encode(personal, 'escape') LIKE '%titre_sejour%' OR document_id = $2)`, o.ID, permit.ID).Scan(&clear); err != nil {
		t.Fatal(err)
	}
	if clear != 1 {
		t.Errorf("%d reminder entries name the paper or show the kind in clear, want the paper named once and the kind sealed", clear)
	}
}

func frenchDay(t time.Time) string {
	months := []string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}
	return strings.Join([]string{itoa(t.Day()), months[t.Month()-1], itoa(t.Year())}, " ")
}

func itoa(i int) string { return strconv.Itoa(i) }

// A server that offers no STARTTLS is refused when STARTTLS is required.
func TestSMTPRequiresTLS(t *testing.T) {
	t.Parallel()
	smtpAddr, _ := mailpit(t)
	smtp, err := notify.NewSMTP(notify.SMTPConfig{Addr: smtpAddr, From: "ne-pas-repondre@coffre.test", TLS: "starttls"})
	if err != nil {
		t.Fatal(err)
	}
	err = smtp.Send(context.Background(), notify.Message{To: "personne@exemple.fr", Subject: "x", Text: "x"})
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("sent without the TLS required: %v", err)
	}
	for _, bad := range []notify.SMTPConfig{{Addr: "nohost", From: "a@b.fr"}, {Addr: "h:25", From: "pas une adresse"}, {Addr: "h:25", From: "a@b.fr", TLS: "maybe"}} {
		if _, err := notify.NewSMTP(bad); err == nil {
			t.Errorf("NewSMTP(%+v) accepted", bad)
		}
	}
}

// smsGateway is a provider-neutral SMS gateway: it takes what the test makes it answer,
// and keeps what it was posted.
type smsGateway struct {
	mu     sync.Mutex
	status int
	posts  []map[string]string
	auth   []string
}

func (g *smsGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var body map[string]string
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&body) != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	g.auth = append(g.auth, r.Header.Get("Authorization"))
	if g.status != 0 {
		w.WriteHeader(g.status)
		_, _ = io.WriteString(w, `{"error": "refused +33612345678"}`)
		return
	}
	g.posts = append(g.posts, body)
	w.WriteHeader(http.StatusAccepted)
}

// The SMS path end to end, through an HTTP gateway: an access recovery asked at a desk
// reaches the phone with who asked and when it works, in one JSON POST with the bearer
// token; a gateway that refuses for good makes the job give up, one that fails for a
// while makes it retry.
func TestSMSGateway(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	g := &smsGateway{}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	n := b.notifier(nil, map[account.ChannelKind]notify.Sender{account.ChannelSMS: notify.NewHTTPSMS(notify.SMSConfig{URL: srv.URL + "/sms", Token: "jeton-de-test"})})
	o, _ := b.person(t, unique("karim"), map[account.ChannelKind]string{account.ChannelSMS: "06 12 34 56 78"})
	b.queued(t, o) // the code, already read
	agent := vault.Actor{Kind: vault.ActorAidant, ID: "agent-1", IP: b.ip}
	p, err := b.A.RequestRecovery(ctx, o, "un code de secours bien long", account.RecoveryIdentity{Document: "passeport", NumberEnd: "678"},
		72*time.Hour, 7*24*time.Hour, agent, "Mme D. (CCAS de Lille)")
	if err != nil {
		t.Fatal(err)
	}
	b.deliverAll(t, n, o)
	if len(g.posts) != 1 {
		t.Fatalf("%d posts to the gateway, want 1", len(g.posts))
	}
	post := g.posts[0]
	if post["to"] != "+33612345678" || len(post) != 2 || g.auth[0] != "Bearer jeton-de-test" {
		t.Fatalf("the post: %v (auth %q)", post, g.auth[0])
	}
	text := post["text"]
	for _, want := range []string{"Coffre : Mme D. (CCAS de Lille) a demandé un nouveau code", "annulez la demande", itoa(p.EffectiveAt.In(paris(t)).Day())} {
		if !strings.Contains(text, want) {
			t.Errorf("the SMS lacks %q: %s", want, text)
		}
	}
	if strings.Contains(text, "http") || strings.Contains(text, "passeport") {
		t.Errorf("the SMS carries a link or the identity checked: %s", text)
	}
	if got := b.sentEntries(t, o); len(got) != 1 || got[0].Channel != account.ChannelSMS || got[0].What != account.NoticeRecoveryRequested || got[0].Who != "Mme D. (CCAS de Lille)" {
		t.Fatalf("journal: %+v", got)
	}

	// Refused for good, or failing for a while.
	for _, c := range []struct {
		status    int
		permanent bool
	}{{http.StatusBadRequest, true}, {http.StatusServiceUnavailable, false}, {http.StatusTooManyRequests, false}} {
		g.mu.Lock()
		g.status = c.status
		g.mu.Unlock()
		args := account.MessageArgs{Owner: o, Channel: channelOf(t, b, o, account.ChannelSMS), Key: "test", What: account.NoticeNewDevice, At: b.Clock.Now()}
		err := n.Deliver(ctx, args)
		if err == nil || errors.Is(err, notify.ErrPermanent) != c.permanent {
			t.Errorf("gateway answering %d: %v, want permanent %v", c.status, err, c.permanent)
		}
		if err != nil && strings.Contains(err.Error(), "612345678") {
			t.Errorf("the error quotes the number: %v", err)
		}
	}
	if got := b.sentEntries(t, o); len(got) != 1 {
		t.Fatalf("failed messages were journaled: %d entries", len(got))
	}
}

func paris(*testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return time.UTC
	}
	return loc
}

func channelOf(t *testing.T, b *testBundle, owner uuid.UUID, kind account.ChannelKind) (id uuid.UUID) {
	t.Helper()
	if err := b.DB.QueryRow(context.Background(), `SELECT id FROM channels WHERE owner_id = $1 AND kind = $2`, owner, kind).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// Each milestone of each paper is sent once to each channel, with two processes working
// the queue and scanning at once, and again after both restart; the next milestone is
// sent once more when the clock reaches it.
func TestRemindersSentOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o, self := b.person(t, unique("amina"), map[account.ChannelKind]string{account.ChannelEmail: unique("amina") + "@exemple.fr", account.ChannelSMS: "07 98 76 54 32"})
	b.paper(t, o, self, vault.KindTitreSejour, "Carte de séjour", 100)
	b.paper(t, o, self, vault.KindIdentite, "Carte d'identité", 2000) // not due

	scanBoth := func(instances []*notify.Service) {
		t.Helper()
		var wg sync.WaitGroup
		for _, n := range instances {
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := n.Scan(context.Background()); err != nil {
						t.Error(err)
					}
				}()
			}
		}
		wg.Wait()
		b.settle(t)
	}
	sent := func(want int) {
		t.Helper()
		for _, r := range []*recorder{b.email, b.sms} {
			if got := len(r.messages("expire le")); got != want {
				t.Fatalf("%d reminders sent to a channel, want %d", got, want)
			}
		}
	}
	start := func() ([]*notify.Service, func()) {
		a, c := b.notifier(nil, nil), b.notifier(nil, nil)
		stopA, stopC := b.workers(t, a, nil), b.workers(t, c, nil)
		return []*notify.Service{a, c}, func() { stopA(); stopC() }
	}

	instances, stop := start()
	scanBoth(instances)
	sent(1)
	stop()

	// Both processes restart, a day later: River's cleaner has forgotten the completed
	// jobs (24 hours), and nothing is sent again.
	if _, err := b.DB.Exec(context.Background(), `DELETE FROM river_job WHERE state = 'completed'`); err != nil {
		t.Fatal(err)
	}
	b.Clock.Advance(24 * time.Hour)
	instances, stop = start()
	scanBoth(instances)
	sent(1)

	// A month later (70 days left), the 90-day milestone.
	b.Clock.Advance(29 * 24 * time.Hour)
	scanBoth(instances)
	sent(2)
	stop()
	if got := b.sentEntries(t, o); len(got) != 4 {
		t.Fatalf("%d messages journaled, want 4", len(got))
	}
}

// What no longer holds is not sent: a removed channel, a replaced paper, a closed safe.
func TestStaleMessagesDropped(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	n := b.notifier(nil, nil)
	o, self := b.person(t, unique("zoe"), map[account.ChannelKind]string{account.ChannelEmail: unique("zoe") + "@exemple.fr", account.ChannelSMS: "06 11 22 33 44"})
	b.queued(t, o)
	b.paper(t, o, self, vault.KindIdentite, "Carte d'identité", 20)
	if err := n.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	// Removed before the message left: nothing goes to it.
	if err := b.A.RemoveChannel(ctx, o, account.ChannelSMS, self); err != nil {
		t.Fatal(err)
	}
	jobs := b.queued(t, o)
	if len(jobs) != 2 {
		t.Fatalf("%d reminders queued, want 2", len(jobs))
	}
	for _, a := range jobs {
		if err := n.Deliver(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if len(b.sms.messages("")) != 0 || len(b.email.messages("expire le")) != 1 {
		t.Fatalf("sent: %d SMS, %d e-mails", len(b.sms.messages("")), len(b.email.messages("")))
	}
	// Replaced before the message left.
	b.Clock.Advance(15 * 24 * time.Hour) // 5 days left: the 7-day milestone
	if err := n.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	b.paper(t, o, self, vault.KindIdentite, "Nouvelle carte d'identité", 3650)
	b.deliverAll(t, n, o)
	if got := len(b.email.messages("expire le")); got != 1 {
		t.Fatalf("a replaced paper was recalled: %d reminders", got)
	}
	// A closed safe is told nothing.
	b.paper(t, o, self, vault.KindSante, "Attestation de droits", 3)
	if err := n.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.V.CloseSafe(ctx, o, self, time.Hour); err != nil {
		t.Fatal(err)
	}
	b.deliverAll(t, n, o)
	if got := len(b.email.messages("expire le")); got != 1 {
		t.Fatalf("a closed safe was recalled: %d reminders", got)
	}
}

// Mandates asked for, given, ended by the structure and ending within a month reach the
// owner, once each; ending one oneself does not. A share link opened for the first time
// does, for an owner who asked for it.
func TestMandateAndLinkMessages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	n := b.notifier(nil, nil)
	st, err := b.share.CreateStructure(ctx, sharing.NewStructure{Name: "CCAS de Lille", Kind: sharing.KindCCAS, SIRET: "21590350100017"})
	if err != nil {
		t.Fatal(err)
	}
	agent, _, err := b.share.CreateAgent(ctx, st.ID, sharing.NewAgent{Login: unique("agent"), Name: "Mme D.", Role: sharing.RoleAgent}, "operator:test")
	if err != nil {
		t.Fatal(err)
	}
	o, self := b.person(t, unique("amina"), map[account.ChannelKind]string{account.ChannelSMS: "06 12 34 56 78"})
	b.queued(t, o)
	consent := sharing.Consent{Method: sharing.ConsentPasskey, PasskeyVerified: true, TextVersion: "mandat-v1"}
	m, err := b.share.GrantMandate(ctx, agent, o, sharing.NewMandate{Scopes: []sharing.Scope{sharing.ScopeRead}, Duration: sharing.OneMonth}, consent, b.ip)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	b.deliverAll(t, n, o)
	if got := b.sms.messages("se termine"); len(got) != 0 {
		t.Fatalf("a month's mandate, just given, announced as ending: %v", got)
	}
	// Three weeks and more later, it is within its notice (a quarter of its length).
	if _, err := b.DB.Exec(ctx, `UPDATE mandates SET starts_at = starts_at - interval '24 days', expires_at = expires_at - interval '24 days' WHERE id = $1`, m.ID); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the hourly scan, twice
		if err := n.Scan(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.share.GrantMandate(ctx, agent, o, sharing.NewMandate{Scopes: []sharing.Scope{sharing.ScopeDeposit}, Duration: sharing.SixMonths},
		sharing.Consent{Method: sharing.ConsentPhone, TextVersion: "mandat-v1"}, b.ip); err != nil {
		t.Fatal(err)
	}
	if err := b.share.RevokeMandateAsAgent(ctx, agent, o, m.ID, b.ip); err != nil {
		t.Fatal(err)
	}
	m2, err := b.share.GrantMandate(ctx, agent, o, sharing.NewMandate{Scopes: []sharing.Scope{sharing.ScopeRead}, Duration: sharing.SixMonths}, consent, b.ip)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.share.RevokeMandate(ctx, o, m2.ID, self); err != nil {
		t.Fatal(err)
	}
	b.deliverAll(t, n, o)
	want := []string{
		"Coffre : Vous avez donné un mandat à Mme D. (CCAS de Lille), jusqu'au",
		"Coffre : Le mandat que vous avez donné à CCAS de Lille se termine le",
		"Coffre : Mme D. (CCAS de Lille) vous demande un mandat",
		"Coffre : Mme D. (CCAS de Lille) a mis fin au mandat",
		"Coffre : Vous avez donné un mandat à Mme D. (CCAS de Lille), jusqu'au",
	}
	got := b.sms.messages("")
	if len(got) != len(want) {
		t.Fatalf("%d messages, want %d: %v", len(got), len(want), got)
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i].Text, w) {
			t.Errorf("message %d: %q, want it to start with %q", i+1, got[i].Text, w)
		}
	}

	// A link opened twice: told once, and only when asked for.
	doc := b.paper(t, o, self, vault.KindCAF, "Attestation CAF", 300)
	for _, on := range []bool{false, true} {
		if err := b.A.SetLinkNotice(ctx, o, on); err != nil {
			t.Fatal(err)
		}
		c, err := b.share.CreateLink(ctx, o, self, sharing.NewLink{Documents: []uuid.UUID{doc.ID}})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := b.share.Opened(ctx, c.Link, b.ip); err != nil {
				t.Fatal(err)
			}
		}
	}
	b.deliverAll(t, n, o)
	if got := b.sms.messages("ouvert pour la première fois"); len(got) != 1 {
		t.Fatalf("%d link messages, want 1", len(got))
	}
}

// Nothing personal reaches the logs: neither the addresses, nor the paper's title or
// kind, nor the codes, whatever happens (sent, refused, dropped).
func TestNothingPersonalInLogs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var buf bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n := b.notifier(log, nil)
	stop := b.workers(t, n, log)
	email := unique("fatou") + "@exemple.fr"
	o, self := b.person(t, unique("fatou"), map[account.ChannelKind]string{account.ChannelEmail: email, account.ChannelSMS: "06 98 76 54 32"})
	b.paper(t, o, self, vault.KindTitreSejour, "Récépissé Fatou Sow", 40)
	if err := n.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	b.settle(t)
	b.sms.mu.Lock()
	b.sms.fail = errGateway
	b.sms.mu.Unlock()
	if _, _, err := b.A.CreateSession(ctx, o, "secret", "Mozilla/5.0 (Android 14) Firefox/133.0", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.A.CreateSession(ctx, o, "secret", "Mozilla/5.0 (Windows NT 10.0) Chrome/131.0", time.Hour); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(b.email.messages("nouvel appareil")) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	mu.Lock()
	logs := buf.String()
	mu.Unlock()
	if !strings.Contains(logs, "message sent") {
		t.Fatalf("the test logged nothing it could check:\n%s", logs)
	}
	for _, s := range []string{email, "06 98 76 54 32", "0698765432", "+33698765432", "698765432", "Fatou", "Récépissé", "titre_sejour", "séjour", "Firefox", "Android"} {
		if strings.Contains(logs, s) {
			t.Errorf("the logs show %q", s)
		}
	}
	for _, m := range append(b.email.messages(""), b.sms.messages("")...) {
		for _, c := range codeRE.FindAllString(m.Text, -1) {
			if regexp.MustCompile(`\b` + c + `\b`).MatchString(logs) {
				t.Errorf("the logs show the code %s", c)
			}
		}
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
