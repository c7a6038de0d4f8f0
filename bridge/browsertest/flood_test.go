package browsertest_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/devstack"
)

// TestLoginStateFloodInChromium reproduces the login-state cookie flood in a real browser: after a login, a
// page makes the browser start 200 more logins with a long return_to. Before, each added a ~3.8 KB cookie and
// Chromium evicted the agent's AC_TOKEN to make room (and the header grew past server limits). Now the browser
// keeps AC_TOKEN and one login-state cookie, and the next login still works.
func TestLoginStateFloodInChromium(t *testing.T) {
	b := shared.Get(t)
	st, err := devstack.Start(devstack.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	ctx := b.Tab(t, 60*time.Second)

	if err := chromedp.Do(ctx, chromedp.Navigate(st.BridgeURL+"/login/dev?login_hint=alice")); err != nil {
		t.Fatal(err)
	}
	before := bridgeCookies(t, ctx, st.BridgeURL)
	if _, ok := before["AC_TOKEN"]; !ok {
		t.Fatalf("no AC_TOKEN after the first login: %v", names(before))
	}
	// What an attacker's page does with a popup it keeps re-pointing: start logins that never finish (without
	// login_hint the dev IdP stops at its picker, as a real IdP stops at its sign-in page).
	rt := url.QueryEscape("/" + strings.Repeat("A", 1500))
	for i := range 200 {
		if err := chromedp.Do(ctx, chromedp.Navigate(st.BridgeURL+"/login/dev?return_to="+rt)); err != nil {
			t.Fatalf("login %d of the flood: %v", i+1, err)
		}
	}
	after := bridgeCookies(t, ctx, st.BridgeURL)
	if after["AC_TOKEN"] != before["AC_TOKEN"] {
		t.Fatalf("the flood evicted or changed AC_TOKEN; the browser now holds %d bridge cookies", len(after))
	}
	if len(after) > 2 {
		t.Fatalf("the browser holds %d bridge cookies after the flood, want AC_TOKEN and one login-state cookie", len(after))
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(st.BridgeURL+"/login/dev?login_hint=bob")); err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil || !strings.Contains(body, "bob") {
		t.Fatalf("login after the flood did not succeed (%v): %.300s", err, body)
	}
}

// bridgeCookies returns the browser's cookies for base (HttpOnly ones included), by name.
func bridgeCookies(t *testing.T, ctx context.Context, base string) map[string]string {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/callback/dev", base + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range res.Cookies {
		out[c.Name] = c.Value
	}
	return out
}

func names(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
