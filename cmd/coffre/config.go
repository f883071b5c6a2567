package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"time"
)

// Config is every setting of the binary, read from the environment once and passed
// explicitly.
type Config struct {
	DatabaseURL string
	S3Endpoint  string
	S3Bucket    string
	S3AccessKey string
	S3SecretKey string
	S3Region    string
	S3TLS       bool
	// S3TrailingChecksum sends uploads unsigned with a trailing CRC32C checksum (see
	// vault.NewS3Store); false for S3 servers that refuse trailing checksums.
	S3TrailingChecksum bool
	BlobDir            string
	MasterKeyFile      string
	SigningKeyFile     string
	Listen             string
	UploadGrace        time.Duration
	PurgeAfter         time.Duration
	CheckpointEvery    time.Duration
	// Retention is how long a closed safe stays recoverable before it is erased; 0 means
	// 12 calendar months, the legal minimum.
	Retention time.Duration
	LogLevel  slog.Level
	// MaxUpload bounds one deposit request; BehindTLS says clients use HTTPS (through a
	// proxy perhaps); SessionIdle and SessionMax end owners' sessions.
	MaxUpload int64
	// IngestMemory is the memory deposits and merges may hold together (web.Config).
	IngestMemory int64
	BehindTLS    bool
	SessionIdle  time.Duration
	SessionMax   time.Duration
	// SignUps bounds the safes opened from one network in 15 minutes (account.Config).
	SignUps int
	// BaseURL is the public address of the service; passkeys and FranceConnect need it.
	BaseURL string
	// Contact is how people reach the service's team (accessibility statement).
	Contact string
	// FranceConnect (or any OpenID Connect provider): on when the issuer is set.
	FCIssuer, FCClientID, FCClientSecret, FCACR string
	// ProConnect (agents' identity federation, OpenID Connect): on when the issuer is set.
	PCIssuer, PCClientID, PCClientSecret string
	// MetricsListen is where /metrics is served (Prometheus), apart from Listen; empty: off.
	MetricsListen string
	// ShutdownDrain is how long serve keeps answering after SIGTERM while /readyz says
	// it is shutting down, before it stops taking requests.
	ShutdownDrain time.Duration
	// Messages outside the app (package notify): e-mail through an SMTP server, on when
	// SMTPAddr is set; SMS through an HTTP gateway, on when SMSURL is set.
	SMTPAddr, SMTPUser, SMTPPassword, SMTPFrom, SMTPTLS string
	SMSURL, SMSToken                                    string
	// TrustList names the 2D-Doc trust list: a file, or a directory whose *.xml, *.pem
	// and *.crt files are read together (trustlist.go); empty: papers' 2D-Doc codes are
	// not checked. TrustRefresh is how often it is read again.
	TrustList    string
	TrustRefresh time.Duration
}

// LoadConfig reads the configuration; errors name the variable at fault.
func LoadConfig(getenv func(string) string) (Config, error) {
	str := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	var errs []error
	dur := func(name string, def time.Duration) time.Duration {
		v := getenv(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("%s=%q is not a duration such as 90s, 10m or 24h", name, v))
		}
		return d
	}
	c := Config{
		DatabaseURL:     str("COFFRE_DATABASE_URL", "postgres://coffre@127.0.0.1:55432/coffre?sslmode=disable"),
		S3Endpoint:      getenv("COFFRE_S3_ENDPOINT"),
		S3Bucket:        str("COFFRE_S3_BUCKET", "coffre"),
		S3AccessKey:     getenv("COFFRE_S3_ACCESS_KEY"),
		S3SecretKey:     getenv("COFFRE_S3_SECRET_KEY"),
		S3Region:        getenv("COFFRE_S3_REGION"),
		BlobDir:         str("COFFRE_BLOB_DIR", "var/blobs"),
		MasterKeyFile:   str("COFFRE_MASTER_KEY_FILE", "var/keys/master.key"),
		SigningKeyFile:  str("COFFRE_SIGNING_KEY_FILE", "var/keys/signing.key"),
		Listen:          str("COFFRE_LISTEN", "127.0.0.1:8080"),
		UploadGrace:     dur("COFFRE_UPLOAD_GRACE", 24*time.Hour),
		PurgeAfter:      dur("COFFRE_PURGE_AFTER", 0),
		CheckpointEvery: dur("COFFRE_CHECKPOINT_EVERY", 10*time.Minute),
		Retention:       dur("COFFRE_RETENTION", 0),
	}
	c.TrustList = getenv("COFFRE_2DDOC_TRUST")
	c.TrustRefresh = dur("COFFRE_2DDOC_REFRESH", time.Hour)
	if c.TrustRefresh > 0 && c.TrustRefresh < time.Minute {
		errs = append(errs, fmt.Errorf("COFFRE_2DDOC_REFRESH=%s is shorter than a minute", c.TrustRefresh))
	}
	c.BaseURL = getenv("COFFRE_BASE_URL")
	c.Contact = getenv("COFFRE_CONTACT")
	c.MetricsListen = getenv("COFFRE_METRICS_LISTEN")
	c.ShutdownDrain = dur("COFFRE_SHUTDOWN_DRAIN", 3*time.Second)
	if u, err := url.Parse(c.BaseURL); c.BaseURL != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" && u.Path != "/") {
		errs = append(errs, fmt.Errorf("COFFRE_BASE_URL=%q is not an address such as https://coffre.example.fr", c.BaseURL))
	}
	c.FCIssuer = getenv("COFFRE_FRANCECONNECT_ISSUER")
	c.FCClientID = getenv("COFFRE_FRANCECONNECT_CLIENT_ID")
	c.FCClientSecret = getenv("COFFRE_FRANCECONNECT_CLIENT_SECRET")
	c.FCACR = str("COFFRE_FRANCECONNECT_ACR", "eidas1")
	if c.FCIssuer != "" && (c.FCClientID == "" || c.FCClientSecret == "" || c.BaseURL == "") {
		errs = append(errs, fmt.Errorf("COFFRE_FRANCECONNECT_ISSUER needs COFFRE_FRANCECONNECT_CLIENT_ID, COFFRE_FRANCECONNECT_CLIENT_SECRET and COFFRE_BASE_URL"))
	}
	c.PCIssuer = getenv("COFFRE_PROCONNECT_ISSUER")
	c.PCClientID = getenv("COFFRE_PROCONNECT_CLIENT_ID")
	c.PCClientSecret = getenv("COFFRE_PROCONNECT_CLIENT_SECRET")
	if c.PCIssuer != "" && (c.PCClientID == "" || c.PCClientSecret == "" || c.BaseURL == "") {
		errs = append(errs, fmt.Errorf("COFFRE_PROCONNECT_ISSUER needs COFFRE_PROCONNECT_CLIENT_ID, COFFRE_PROCONNECT_CLIENT_SECRET and COFFRE_BASE_URL"))
	}
	c.SMTPAddr, c.SMTPUser, c.SMTPPassword = getenv("COFFRE_SMTP_ADDR"), getenv("COFFRE_SMTP_USER"), getenv("COFFRE_SMTP_PASSWORD")
	c.SMTPFrom, c.SMTPTLS = getenv("COFFRE_SMTP_FROM"), str("COFFRE_SMTP_TLS", "auto")
	if _, _, err := net.SplitHostPort(c.SMTPAddr); c.SMTPAddr != "" && err != nil {
		errs = append(errs, fmt.Errorf("COFFRE_SMTP_ADDR=%q is not host:port, such as smtp.example.fr:587", c.SMTPAddr))
	}
	if a, err := mail.ParseAddress(c.SMTPFrom); c.SMTPAddr != "" && (err != nil || a.Address == "") {
		errs = append(errs, fmt.Errorf("COFFRE_SMTP_ADDR needs COFFRE_SMTP_FROM, an address such as \"Coffre <ne-pas-repondre@coffre.example.fr>\""))
	}
	if c.SMTPTLS != "auto" && c.SMTPTLS != "starttls" && c.SMTPTLS != "tls" {
		errs = append(errs, fmt.Errorf("COFFRE_SMTP_TLS=%q is not auto, starttls or tls", c.SMTPTLS))
	}
	c.SMSURL, c.SMSToken = getenv("COFFRE_SMS_URL"), getenv("COFFRE_SMS_TOKEN")
	if c.SMSURL != "" {
		u, err := url.Parse(c.SMSURL)
		loopback := err == nil && (u.Hostname() == "localhost" || net.ParseIP(u.Hostname()).IsLoopback())
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopback)) {
			errs = append(errs, fmt.Errorf("COFFRE_SMS_URL=%q is not an https:// address (http:// only on this machine)", c.SMSURL))
		}
		if c.SMSToken == "" {
			errs = append(errs, fmt.Errorf("COFFRE_SMS_URL needs COFFRE_SMS_TOKEN"))
		}
	}
	c.SessionIdle = dur("COFFRE_SESSION_IDLE", 30*time.Minute)
	c.SessionMax = dur("COFFRE_SESSION_MAX", 12*time.Hour)
	if n, err := strconv.Atoi(str("COFFRE_SIGNUPS_PER_NETWORK", "10")); err != nil || n < 1 {
		errs = append(errs, fmt.Errorf("COFFRE_SIGNUPS_PER_NETWORK=%q is not a number of at least 1, such as 10", getenv("COFFRE_SIGNUPS_PER_NETWORK")))
	} else {
		c.SignUps = n
	}
	if mb, err := strconv.Atoi(str("COFFRE_MAX_UPLOAD_MB", "40")); err != nil || mb < 1 {
		errs = append(errs, fmt.Errorf("COFFRE_MAX_UPLOAD_MB=%q is not a number of megabytes such as 40", getenv("COFFRE_MAX_UPLOAD_MB")))
	} else {
		c.MaxUpload = int64(mb) << 20
	}
	if mb, err := strconv.Atoi(str("COFFRE_INGEST_MEMORY_MB", "512")); err != nil || mb < 128 {
		errs = append(errs, fmt.Errorf("COFFRE_INGEST_MEMORY_MB=%q is not a number of megabytes of at least 128, such as 512", getenv("COFFRE_INGEST_MEMORY_MB")))
	} else {
		c.IngestMemory = int64(mb) << 20
	}
	behindTLS, err := strconv.ParseBool(str("COFFRE_BEHIND_TLS", "false"))
	if err != nil {
		errs = append(errs, fmt.Errorf("COFFRE_BEHIND_TLS=%q is not true or false", getenv("COFFRE_BEHIND_TLS")))
	}
	c.BehindTLS = behindTLS
	tls, err := strconv.ParseBool(str("COFFRE_S3_TLS", "true"))
	if err != nil {
		errs = append(errs, fmt.Errorf("COFFRE_S3_TLS=%q is not true or false", getenv("COFFRE_S3_TLS")))
	}
	c.S3TLS = tls
	trailing, err := strconv.ParseBool(str("COFFRE_S3_TRAILING_CHECKSUM", "true"))
	if err != nil {
		errs = append(errs, fmt.Errorf("COFFRE_S3_TRAILING_CHECKSUM=%q is not true or false", getenv("COFFRE_S3_TRAILING_CHECKSUM")))
	}
	c.S3TrailingChecksum = trailing
	if err := c.LogLevel.UnmarshalText([]byte(str("COFFRE_LOG_LEVEL", "info"))); err != nil {
		errs = append(errs, fmt.Errorf("COFFRE_LOG_LEVEL=%q is not debug, info, warn or error", getenv("COFFRE_LOG_LEVEL")))
	}
	if c.S3Endpoint != "" && (c.S3AccessKey == "" || c.S3SecretKey == "") {
		errs = append(errs, fmt.Errorf("COFFRE_S3_ACCESS_KEY and COFFRE_S3_SECRET_KEY are required with COFFRE_S3_ENDPOINT"))
	}
	if c.Retention > 0 && c.Retention < 365*24*time.Hour {
		errs = append(errs, fmt.Errorf("COFFRE_RETENTION=%s is shorter than the 12 months the law requires (8760h or more; empty: 12 months)", c.Retention))
	}
	if c.CheckpointEvery > 0 && c.CheckpointEvery < time.Second {
		errs = append(errs, fmt.Errorf("COFFRE_CHECKPOINT_EVERY=%s is too short", c.CheckpointEvery))
	}
	if len(errs) > 0 {
		return c, errs[0]
	}
	return c, nil
}
