package providers_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/browsertest"
)

// browser is the one headless Chromium of this test binary, started by the first test that needs it. It is
// the package's only TestMain: a browser test of another preset uses the same browser.
var browser = browsertest.NewShared()

func TestMain(m *testing.M) {
	code := m.Run()
	browser.Close()
	os.Exit(code)
}

// TestDingTalkLoginInChromium is TestDingTalkFullLogin in a real browser: the browser itself goes to
// /login/dingtalk, follows the redirect to DingTalk's login page (the stub signs its member in without a
// page to click, as a visitor without its test header is the member) and back to /callback/dingtalk, so
// the state cookie set by /login travels as a browser sends it. It ends holding an AC_TOKEN that the Fuyun
// emulator verifies.
func TestDingTalkLoginInChromium(t *testing.T) {
	b := browser.Get(t)
	st, stub := startDingTalk(t)
	ctx := b.Tab(t, 30*time.Second)

	if err := chromedp.Do(ctx, chromedp.Navigate(st.Public+"/login/dingtalk")); err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || !strings.HasPrefix(loc, st.Public+"/callback/dingtalk?") {
		t.Fatalf("the browser ended at %q (%v), want the bridge's callback", loc, err)
	}
	if stub.Hits("authorize") != 1 {
		t.Errorf("DingTalk's login page saw %d visits, want 1", stub.Hits("authorize"))
	}
	// CDP sees every cookie, HttpOnly or not.
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{st.Public + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	var token string
	for _, c := range res.Cookies {
		if c.Name == "AC_TOKEN" {
			token = c.Value
		}
	}
	if token == "" {
		t.Fatalf("no AC_TOKEN among the browser's cookies for %s", st.Public)
	}
	claims, err := st.Sim.VerifyAccessToken(token)
	if err != nil {
		t.Fatalf("AC_TOKEN not accepted by the emulator: %v", err)
	}
	if claims.UserName != "zhangsan" {
		t.Errorf("Fuyun token for %q, want zhangsan", claims.UserName)
	}
}
