package main

import (
	"strings"
	"testing"
)

// The settings of messages to owners: each mistake names its variable.
func TestMessageSettings(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	for _, tc := range []struct {
		env  []string
		want string // "" for valid
	}{
		{nil, ""},
		{[]string{"COFFRE_SMTP_ADDR", "smtp.exemple.fr:587", "COFFRE_SMTP_FROM", "Coffre <ne-pas-repondre@coffre.exemple.fr>"}, ""},
		{[]string{"COFFRE_SMTP_ADDR", "smtp.exemple.fr:465", "COFFRE_SMTP_FROM", "ne-pas-repondre@coffre.exemple.fr", "COFFRE_SMTP_TLS", "tls"}, ""},
		{[]string{"COFFRE_SMTP_ADDR", "smtp.exemple.fr", "COFFRE_SMTP_FROM", "a@b.fr"}, "COFFRE_SMTP_ADDR"},
		{[]string{"COFFRE_SMTP_ADDR", "smtp.exemple.fr:587"}, "COFFRE_SMTP_FROM"},
		{[]string{"COFFRE_SMTP_ADDR", "smtp.exemple.fr:587", "COFFRE_SMTP_FROM", "a@b.fr", "COFFRE_SMTP_TLS", "yes"}, "COFFRE_SMTP_TLS"},
		{[]string{"COFFRE_SMS_URL", "https://sms.exemple.fr/envoi", "COFFRE_SMS_TOKEN", "t"}, ""},
		{[]string{"COFFRE_SMS_URL", "http://127.0.0.1:9000/sms", "COFFRE_SMS_TOKEN", "t"}, ""},
		{[]string{"COFFRE_SMS_URL", "http://sms.exemple.fr/envoi", "COFFRE_SMS_TOKEN", "t"}, "COFFRE_SMS_URL"},
		{[]string{"COFFRE_SMS_URL", "https://sms.exemple.fr/envoi"}, "COFFRE_SMS_TOKEN"},
	} {
		_, err := LoadConfig(env(tc.env...))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.env, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: %v, want an error naming %s", tc.env, err, tc.want)
		}
	}
	if !strings.Contains(usage, "COFFRE_SMTP_ADDR") || !strings.Contains(usage, "COFFRE_SMS_URL") {
		t.Error("the usage does not list the settings of messages")
	}
}
