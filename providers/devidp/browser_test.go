package devidp

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/browsertest"
)

// TestPickerInHeadlessChromium clicks the picker's buttons in a real browser: proves that the page works
// without script, that its CSRF check accepts the browser's own submission, and that its CSP lets the
// redirects after the submission reach the client and beyond.
func TestPickerInHeadlessChromium(t *testing.T) {
	b := browser.Get(t)

	// The relying party's callback redirects on to a third origin, as the bridge sends the user back to
	// the CRM: the whole chain must survive the picker page's CSP.
	var mu sync.Mutex
	var responses []url.Values
	landing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`<!doctype html><title>landing</title><p id="done">back at the application</p>`))
	}))
	defer landing.Close()
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		q.Set("referer", r.Referer())
		mu.Lock()
		responses = append(responses, q)
		mu.Unlock()
		http.Redirect(w, r, landing.URL+"/", http.StatusFound)
	}))
	defer rp.Close()
	redirect := rp.URL + "/callback"
	ti := startIdP(t, func(o *Options) { o.Clients[0].RedirectURIs = []string{redirect} })

	ctx := b.Tab(t, 30*time.Second)

	tests := []struct {
		button    string
		wantError string
		wantSub   string
	}{
		{"#user-carol", "", "dev-carol"},
		{`button[data-user="bob"]`, "", "dev-bob"},
		{"#cancel", "access_denied", ""},
	}
	for _, tc := range tests {
		q, verifier := authParamsFor("")
		q.Set("redirect_uri", redirect)
		if err := chromedp.Do(ctx, chromedp.Navigate(ti.Issuer()+"/authorize?"+q.Encode())); err != nil {
			t.Fatalf("%s: opening the picker: %v", tc.button, err)
		}
		heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
		if err != nil {
			t.Fatalf("%s: reading the heading: %v", tc.button, err)
		}
		if err := chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(tc.button)),
			chromedp.WaitVisible(chromedp.CSS("#done")),
		); err != nil {
			t.Fatalf("%s: clicking through to the client: %v", tc.button, err)
		}
		if !strings.Contains(heading, "Sign in to the dev identity provider") {
			t.Errorf("heading %q", heading)
		}
		mu.Lock()
		got := responses[len(responses)-1]
		mu.Unlock()
		if got.Get("referer") != "" {
			t.Errorf("%s: the client saw Referer %q", tc.button, got.Get("referer"))
		}
		if got.Get("state") != "st-123" || got.Get("iss") != ti.Issuer() || got.Get("error") != tc.wantError {
			t.Fatalf("%s: authorization response %v", tc.button, got)
		}
		if tc.wantSub == "" {
			continue
		}
		form := redeemForm(got.Get("code"), verifier)
		form.Set("redirect_uri", redirect)
		resp := ti.postForm(t, "/token", form, nil)
		tok := decodeJSON(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: token %d %v", tc.button, resp.StatusCode, tok)
		}
		if _, ui := ti.userinfo(t, tok["access_token"].(string)); ui["sub"] != tc.wantSub {
			t.Errorf("%s: sub %v, want %s", tc.button, ui["sub"], tc.wantSub)
		}
	}
}

var browser = browsertest.NewShared()

func TestMain(m *testing.M) {
	code := m.Run()
	browser.Close()
	os.Exit(code)
}
