package web

import "testing"

// TestDeviceName names the devices of « Mon compte » from the descriptions real browsers
// give, in French and in English.
func TestDeviceName(t *testing.T) {
	t.Parallel()
	cat := loadCatalogue()
	for _, c := range []struct{ ua, fr, en string }{
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			"Chrome sur Linux", "Chrome on Linux"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
			"Safari sur iPhone", "Safari on iPhone"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
			"Chrome sur iPhone", "Chrome on iPhone"},
		{"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/128.0 Mobile/15E148 Safari/605.1.15",
			"Firefox sur iPad", "Firefox on iPad"},
		{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
			"Chrome sur Android", "Chrome on Android"},
		{"Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-A135F) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
			"Samsung Internet sur Android", "Samsung Internet on Android"},
		{"Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
			"Firefox sur Android", "Firefox on Android"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
			"Edge sur Windows", "Edge on Windows"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
			"Firefox sur Windows", "Firefox on Windows"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
			"Opera sur Windows", "Opera on Windows"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
			"Safari sur Mac", "Safari on Mac"},
		{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			"Chrome sur ChromeOS", "Chrome on ChromeOS"},
		{"Mozilla/5.0 (Mobile; LYF/F300B/LYF-F300B-001-01-15-130718-i;Android; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5",
			"Firefox sur KaiOS", "Firefox on KaiOS"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 YaBrowser/24.10.0.0 Safari/537.36",
			"Yandex sur Windows", "Yandex on Windows"},
		// An app's own browser on an iPhone says no browser's name.
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
			"Navigateur inconnu sur iPhone", "Unknown browser on iPhone"},
		{"Go-http-client/1.1", "Navigateur inconnu", "Unknown browser"},
		{"curl/8.5.0", "Navigateur inconnu", "Unknown browser"},
		{"Mozilla/5.0 (Plan 9) Gecko/20100101 Firefox/115.0", "Firefox", "Firefox"},
		{"", "", ""},
		{"   ", "", ""},
	} {
		if got := cat.deviceName("fr", c.ua); got != c.fr {
			t.Errorf("deviceName(fr, %q) = %q, want %q", c.ua, got, c.fr)
		}
		if got := cat.deviceName("en", c.ua); got != c.en {
			t.Errorf("deviceName(en, %q) = %q, want %q", c.ua, got, c.en)
		}
	}
}
