package main

import (
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"coffre/vault"
	"coffre/vault/account"
	"coffre/vault/account/notify"
)

// newNotifier builds what sends the owners' messages, with a sender for each kind of
// channel the configuration turns on (LoadConfig checked the settings).
func newNotifier(cfg Config, pool *pgxpool.Pool, v *vault.Vault, s *services, log *slog.Logger) (*notify.Service, error) {
	senders := map[account.ChannelKind]notify.Sender{}
	if cfg.SMTPAddr != "" {
		smtp, err := notify.NewSMTP(notify.SMTPConfig{Addr: cfg.SMTPAddr, User: cfg.SMTPUser, Password: cfg.SMTPPassword, From: cfg.SMTPFrom, TLS: cfg.SMTPTLS})
		if err != nil {
			return nil, hinted{err, "check COFFRE_SMTP_ADDR, COFFRE_SMTP_FROM and COFFRE_SMTP_TLS"}
		}
		senders[account.ChannelEmail] = smtp
	}
	if cfg.SMSURL != "" {
		senders[account.ChannelSMS] = notify.NewHTTPSMS(notify.SMSConfig{URL: cfg.SMSURL, Token: cfg.SMSToken})
	}
	return notify.New(notify.Config{DB: pool, Vault: v, Accounts: s.accounts, MandatesEnding: s.sharing.MandatesEnding, Senders: senders, Log: log, Now: time.Now}), nil
}
