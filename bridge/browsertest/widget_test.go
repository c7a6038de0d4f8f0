package browsertest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// widgetState is what the agent sees in the /embed iframe: the heading, whether any provider button and the
// sign-out button take up space on the page, and the status line.
type widgetState struct {
	Buttons, SignOut bool
	Heading, Status  string
}

const widgetStateJS = `(function () {
	function shown(el) { return !!el && el.getClientRects().length > 0; }
	return {
		Buttons: Array.prototype.some.call(document.querySelectorAll("a[data-provider]"), shown),
		SignOut: shown(document.getElementById("sign-out")),
		Heading: document.querySelector("h1").innerText,
		Status: document.getElementById("status").textContent
	};
})()`

// waitWidget polls the iframe until its state satisfies ok, and fails the test with the last state otherwise.
func waitWidget(t *testing.T, fctx context.Context, what string, ok func(widgetState) bool) widgetState {
	t.Helper()
	var last widgetState
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		s, err := chromedp.Run(fctx, chromedp.Evaluate[widgetState](widgetStateJS))
		if err == nil {
			last = s
			if ok(s) {
				return s
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("widget never %s; last state %+v", what, last)
	return last
}

// TestWidgetShowsSignedInStateAndSignsOut: after the popup login the embedded widget shows who is signed
// in and a sign-out button instead of the provider buttons; a real click on sign-out (at the iframe's
// position: the iframe is cross-site) clears AC_TOKEN in the iframe's partition and brings the buttons back.
func TestWidgetShowsSignedInStateAndSignsOut(t *testing.T) {
	b := shared.Get(t)
	st := startEmbeddedStack(t)
	ctx := b.Tab(t, 40*time.Second)
	fctx := st.openCRM(t, ctx)

	before := waitWidget(t, fctx, "showed its buttons before the login", func(s widgetState) bool { return s.Buttons && !s.SignOut })

	signInThroughWidget(t, ctx, fctx, "carol")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`widgetResult.then(function (r) { return r.user_name; })`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("SDK promise: %v", err)
	}

	s := waitWidget(t, fctx, "showed the signed-in state", func(s widgetState) bool { return s.SignOut })
	if s.Buttons || !strings.Contains(s.Status, "carol") || s.Heading == before.Heading {
		t.Errorf("signed in: %+v, want carol's name, the sign-out button, no provider buttons and not the heading %q", s, before.Heading)
	}
	if c, _ := chromedp.Run(fctx, chromedp.Evaluate[string](`document.cookie`)); !strings.Contains(c, "AC_TOKEN=") {
		t.Fatalf("the iframe has no AC_TOKEN after the login: %.60q", c)
	}

	// The button appeared just now: click only once it has been painted, or the click can be lost.
	if err := chromedp.Do(fctx, chromedp.Evaluate[chromedp.Void](`new Promise(function (done) {
		requestAnimationFrame(function () { requestAnimationFrame(function () { done(); }); });
	})`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	x, y := buttonPosition(t, ctx, fctx, "#sign-out")
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(x, y)); err != nil {
		t.Fatal(err)
	}
	s = waitWidget(t, fctx, "showed its buttons again after signing out", func(s widgetState) bool { return s.Buttons })
	if s.SignOut || s.Heading != before.Heading {
		t.Errorf("signed out: %+v, want the buttons, no sign-out button and the heading %q", s, before.Heading)
	}
	if c, _ := chromedp.Run(fctx, chromedp.Evaluate[string](`document.cookie`)); strings.Contains(c, "AC_TOKEN") {
		t.Errorf("after signing out the iframe still has %.60q", c)
	}
	// The CRM page hears of it through the same message as an SDK logout.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`raw.some(function (m) { return m.origin === "`+st.bridgeURL+`" && m.data.type === "fuyun-bridge:logout"; })`,
		chromedp.WithPollingTimeout(3*time.Second))); err != nil {
		t.Errorf("the CRM page got no fuyun-bridge:logout message: %v", err)
	}
}
