package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"
)

// Message is one message to one address.
type Message struct {
	To      string // an e-mail address, or a mobile number in E.164
	Subject string // e-mail only
	Text    string // plain text, lines separated by \n
	Lang    string // the owner's language, as vault/i18n names it
}

// A Sender delivers messages of one kind of channel. It must be safe for concurrent use.
// An error wrapping ErrPermanent means sending again will not help (an address refused):
// the job gives up at once instead of retrying.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrPermanent marks a refusal that retrying will not change.
var ErrPermanent = errors.New("refused for good")

// SMTPConfig is how to reach the mail server that sends e-mail.
type SMTPConfig struct {
	Addr     string // host:port
	User     string // empty: no authentication
	Password string
	// From is the sender, "Coffre <ne-pas-repondre@coffre.example.fr>" or a bare address.
	From string
	// TLS is "auto" (STARTTLS when the server offers it; the default), "starttls"
	// (STARTTLS required) or "tls" (implicit TLS, port 465). A password is sent only
	// over TLS, or to a server on loopback.
	TLS string
	// Timeout bounds one message, from the connection to QUIT; 0 means 30 seconds.
	Timeout time.Duration
}

// SMTP sends e-mail through a mail server, one connection per message.
type SMTP struct {
	cfg  SMTPConfig
	host string
	from *mail.Address
}

var _ Sender = (*SMTP)(nil)

// NewSMTP checks cfg and returns the sender.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("smtp: address %q is not host:port", cfg.Addr)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: sender %q is not an e-mail address", cfg.From)
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = "auto"
	case "auto", "starttls", "tls":
	default:
		return nil, fmt.Errorf("smtp: TLS %q is not auto, starttls or tls", cfg.TLS)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &SMTP{cfg: cfg, host: host, from: from}, nil
}

// Send sends m to m.To.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	d := net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			return fmt.Errorf("smtp: %w", err)
		}
	}
	tlsConfig := &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	if s.cfg.TLS == "tls" {
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("smtp: %w", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return smtpError("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(helloName(s.from.Address)); err != nil {
		return smtpError("EHLO", err)
	}
	if s.cfg.TLS != "tls" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConfig); err != nil {
				return smtpError("STARTTLS", err)
			}
		} else if s.cfg.TLS == "starttls" {
			return errors.New("smtp: the server offers no STARTTLS")
		}
	}
	if s.cfg.User != "" {
		// PlainAuth itself refuses to send the password in clear but to loopback.
		if err := c.Auth(smtp.PlainAuth("", s.cfg.User, s.cfg.Password, s.host)); err != nil {
			return smtpError("AUTH", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return smtpError("MAIL", err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return smtpError("RCPT", err)
	}
	w, err := c.Data()
	if err != nil {
		return smtpError("DATA", err)
	}
	if _, err := w.Write(s.compose(m)); err != nil {
		return smtpError("DATA", err)
	}
	if err := w.Close(); err != nil {
		return smtpError("DATA", err)
	}
	if err := c.Quit(); err != nil {
		return smtpError("QUIT", err)
	}
	return nil
}

// helloName is the name given in EHLO: the sender's domain.
func helloName(from string) string {
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i+1 < len(from) {
		return from[i+1:]
	}
	return "localhost"
}

// smtpError reports a failed step with the server's code only: its text may quote the
// address. A 5xx answer is permanent.
func smtpError(step string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		if te.Code >= 500 {
			return fmt.Errorf("smtp: %s refused (%d): %w", step, te.Code, ErrPermanent)
		}
		return fmt.Errorf("smtp: %s refused (%d)", step, te.Code)
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) {
		return fmt.Errorf("smtp: %s: connection lost", step)
	}
	return fmt.Errorf("smtp: %s failed", step)
}

// compose writes the message: plain UTF-8 text, quoted-printable, marked as sent by a
// machine so that no auto-responder answers it.
func (s *SMTP) compose(m Message) []byte {
	var b bytes.Buffer
	id := make([]byte, 16)
	rand.Read(id)
	lang := m.Lang
	if lang == "" {
		lang = "fr"
	}
	header := [][2]string{
		{"From", s.from.String()},
		{"To", m.To},
		{"Subject", mime.QEncoding.Encode("UTF-8", m.Subject)},
		{"Date", time.Now().Format(time.RFC1123Z)},
		{"Message-ID", "<" + hex.EncodeToString(id) + "@" + helloName(s.from.Address) + ">"},
		{"MIME-Version", "1.0"},
		{"Content-Type", "text/plain; charset=UTF-8"},
		{"Content-Transfer-Encoding", "quoted-printable"},
		{"Content-Language", lang},
		{"Auto-Submitted", "auto-generated"},
	}
	for _, h := range header {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	// Into memory: neither can fail.
	_, _ = qp.Write([]byte(strings.ReplaceAll(m.Text, "\n", "\r\n")))
	_ = qp.Close()
	return b.Bytes()
}

// SMSConfig is how to reach the SMS gateway.
type SMSConfig struct {
	URL   string // the gateway's address; https, or http on loopback
	Token string // sent as a bearer token
	// Client is the HTTP client; nil means one with a 15-second timeout.
	Client *http.Client
}

// HTTPSMS sends text messages through a provider-neutral HTTP gateway: one JSON POST
// {"to", "text"} per message, with a bearer token (see the package documentation).
type HTTPSMS struct {
	cfg SMSConfig
}

var _ Sender = (*HTTPSMS)(nil)

// NewHTTPSMS returns the sender.
func NewHTTPSMS(cfg SMSConfig) *HTTPSMS {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 15 * time.Second}
	}
	return &HTTPSMS{cfg: cfg}
}

// Send posts m to the gateway. A 2xx answer is a success; 408, 429 and 5xx are worth
// retrying; any other answer is permanent.
func (s *HTTPSMS) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(struct {
		To   string `json:"to"`
		Text string `json:"text"`
	}{m.To, m.Text})
	if err != nil {
		return fmt.Errorf("sms: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sms: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.cfg.Token)
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return errors.New("sms: the gateway did not answer")
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // read so that the connection is reused; the status decides
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusRequestTimeout, c == http.StatusTooManyRequests, c >= 500:
		return fmt.Errorf("sms: the gateway answered %d", c)
	default:
		return fmt.Errorf("sms: the gateway answered %d: %w", c, ErrPermanent)
	}
}
