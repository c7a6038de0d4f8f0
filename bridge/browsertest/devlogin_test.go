package browsertest_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/browsertest"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/devstack"
)

// sites serves the cross-site tests over HTTPS (embed_test.go); the flags also map *.test to loopback.
var sites = mustSites("crm.example.test", "bridge.other.test", "evil.attacker.test")

var shared = browsertest.NewShared(sites.ChromiumFlags()...)

func mustSites(hosts ...string) *browsertest.Sites {
	s, err := browsertest.NewSites(hosts...)
	if err != nil {
		panic(err)
	}
	return s
}

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Close()
	os.Exit(code)
}

// TestDevLoginInChromium is the newcomer's path in a real browser: the demo CRM sends the agent to the
// bridge's sign-in page, the agent clicks the provider, picks alice at the dev IdP, and lands back on the CRM
// page whose document.cookie holds an AC_TOKEN that the Fuyun emulator accepts as its own.
func TestDevLoginInChromium(t *testing.T) {
	b := shared.Get(t)
	st, err := devstack.Start(devstack.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	ctx := b.Tab(t, 30*time.Second)

	// The CRM page links to the bridge's sign-in page with return_to = the CRM.
	if err := chromedp.Do(ctx, chromedp.Navigate(st.CRMURL+"/")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#login"))); err != nil {
		t.Fatalf("CRM → sign-in page: %v", err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || !strings.HasPrefix(loc, st.BridgeURL+"/?return_to=") {
		t.Fatalf("at %q (%v), want the bridge's sign-in page", loc, err)
	}
	// Click the JWT-mode provider; the dev IdP shows its picker (no login_hint).
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`a[href^="/login/dev?"]`))); err != nil {
		t.Fatalf("sign-in page → IdP: %v", err)
	}
	loc, _ = chromedp.Run(ctx, chromedp.Location())
	if !strings.HasPrefix(loc, st.IdPURL+"/authorize?") {
		t.Fatalf("at %q, want the dev IdP's picker", loc)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#user-alice"))); err != nil {
		t.Fatalf("picking alice: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`body[data-ac-token="present"]`))); err != nil {
		loc, _ = chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("the CRM page never saw AC_TOKEN (at %q): %v", loc, err)
	}
	loc, _ = chromedp.Run(ctx, chromedp.Location())
	if loc != st.CRMURL+"/" {
		t.Fatalf("ended at %q, want return_to %q", loc, st.CRMURL+"/")
	}
	cookie, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil {
		t.Fatal(err)
	}
	claims, err := st.Fuyun.VerifyAccessToken(acTokenIn(cookie))
	if err != nil {
		t.Fatalf("document.cookie's AC_TOKEN is not accepted by the emulator: %v", err)
	}
	if claims.UserName != "alice" {
		t.Errorf("token for %q, want alice", claims.UserName)
	}
	if strings.Contains(cookie, "fb_login") {
		t.Errorf("login-state cookie visible to script: %q", cookie)
	}
}
