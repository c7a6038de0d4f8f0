package bridge

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/mapping"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/redirects"
	"github.com/fuyun-bridge/fuyun-bridge/templates"
)

// fuzzServer is a bridge with the fake provider (no network) and a Fuyun client aimed at a closed loopback
// port, plus one genuine started login (its state and state cookie) to seed the fuzzers with.
func fuzzServer(tb testing.TB) (srv *Server, state string, cookie *http.Cookie) {
	tb.Helper()
	fc, err := fuyun.NewClient(fuyun.Config{
		TokenURL: "http://127.0.0.1:1/oauth/token_exchange", ClientID: "crm", ClientSecret: "s3cret",
		Scope: "hotline", RedirectURL: "https://bridge.example.com/callback", AppName: "crmapp",
		MaxAttempts: 1, Timeout: time.Second,
	})
	if err != nil {
		tb.Fatal(err)
	}
	mapper, err := mapping.New(mapping.Config{Field: "email", Transform: "strip_domain", AllowedDomains: []string{"corp.example.com"}}, mapping.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tpl, err := templates.New()
	if err != nil {
		tb.Fatal(err)
	}
	public, _ := url.Parse("http://127.0.0.1:8090")
	allow, err := redirects.New([]string{"https://crm.example.com"}, public)
	if err != nil {
		tb.Fatal(err)
	}
	provider := &fakeProvider{id: "corp", claims: map[string]any{"sub": "sub-1", "email": "alice@corp.example.com"}}
	srv, err = New(Options{
		PublicURL:   public,
		Routes:      []Route{{Provider: provider, Mapper: mapper, Mode: fuyun.ModeOAuth}},
		Fuyun:       fc,
		SessionKeys: [][]byte{[]byte(strings.Repeat("h", 32)), []byte(strings.Repeat("b", 32))},
		Cookie:      CookieOptions{Name: "AC_TOKEN", SameSite: http.SameSiteLaxMode, MaxAge: time.Hour},
		Redirects:   allow,
		Templates:   tpl,
	})
	if err != nil {
		tb.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8090/login/corp?return_to=/x", nil))
	loc, err := url.Parse(rec.Header().Get("Location"))
	if rec.Code != http.StatusFound || err != nil {
		tb.Fatalf("login: %d", rec.Code)
	}
	return srv, loc.Query().Get("state"), rec.Result().Cookies()[0]
}

// FuzzCallbackQuery feeds /callback/{provider} arbitrary query strings and state-cookie values. Whatever it
// gets, the bridge must not panic, must answer an error (no forged cookie can pass), and must never set
// AC_TOKEN or echo the code into the page.
func FuzzCallbackQuery(f *testing.F) {
	srv, state, cookie := fuzzServer(f)
	f.Add("state="+state+"&code=good-code", cookie.Value)
	f.Add("state="+state+"&code=bad&iss=https%3A%2F%2Fidp", cookie.Value)
	f.Add("state="+state+"&error=access_denied&error_description=no", cookie.Value)
	f.Add("state="+state+"&state=x&code=a&code=b", cookie.Value[:len(cookie.Value)/2])
	f.Add("", "")
	f.Add("state=%ZZ&code=%00", "MTcwMDAwMDAwMHw")
	f.Fuzz(func(t *testing.T, rawQuery, cookieValue string) {
		req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8090/callback/corp", nil)
		req.URL.RawQuery = rawQuery
		if cookieValue != "" {
			req.AddCookie(&http.Cookie{Name: srv.states.name, Value: sanitizeCookieValue(cookieValue)})
		}
		req.Header.Set("Accept", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code < 400 {
			// Only the genuine seed can get this far, and then Fuyun is unreachable.
			t.Fatalf("callback answered %d to query %q", rec.Code, rawQuery)
		}
		for _, c := range rec.Result().Cookies() {
			if c.Name == "AC_TOKEN" && c.MaxAge >= 0 && c.Value != "" {
				t.Fatalf("AC_TOKEN set for query %q", rawQuery)
			}
		}
		if code := req.URL.Query().Get("code"); len(code) >= 8 && strings.Contains(rec.Body.String(), code) {
			t.Fatalf("the code %q was echoed in the answer", code)
		}
	})
}

// sanitizeCookieValue keeps what net/http would send in a Cookie header at all.
func sanitizeCookieValue(v string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r >= 0x7f || r == '"' || r == ';' || r == '\\' || r == ',' {
			return -1
		}
		return r
	}, v)
}

// FuzzStateCookie decodes arbitrary login-state cookies. Anything but a genuine cookie for that very state
// must be refused with a stable code; an accepted one must carry the state it was asked for.
func FuzzStateCookie(f *testing.F) {
	srv, state, cookie := fuzzServer(f)
	f.Add(state, cookie.Value)
	f.Add(state, cookie.Value+"A")
	f.Add(strings.Repeat("A", 43), cookie.Value)
	f.Add(state, "")
	f.Add("short", "x")
	f.Fuzz(func(t *testing.T, st, value string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.AddCookie(&http.Cookie{Name: srv.states.name, Value: sanitizeCookieValue(value)})
		ls, err := srv.states.take(httptest.NewRecorder(), req, st)
		if err != nil {
			if classify(err).code == CodeInternal {
				t.Fatalf("refusal without a stable code: %v", err)
			}
			return
		}
		if ls.State != st || ls.Nonce == "" || ls.CodeVerifier == "" || ls.Provider != "corp" {
			t.Fatalf("accepted a state cookie that does not belong to state %q: %+v", st, ls)
		}
	})
}
