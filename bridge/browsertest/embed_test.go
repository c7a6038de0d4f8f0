package browsertest_test

import (
	"context"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	texttemplate "text/template"
	"time"

	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
	"github.com/fuyun-bridge/fuyun-bridge/providers/devidp"
)

// embeddedStack is an embedded deployment on two real sites: the bridge at https://bridge.other.test:P
// (SameSite=None; Secure; Partitioned cookie) and a CRM page at https://crm.example.test:Q that embeds it
// with the JS SDK. The dev IdP and the Fuyun emulator run on http://127.0.0.1.
type embeddedStack struct {
	bridgeURL, crmURL, evilURL string
	sim                        *fuyunsim.Server
}

const embeddedYAML = `
server: {listen: "127.0.0.1:0", public_url: "{{.Bridge}}"}
session: {keys: ["{{.Key}}"]}
cookie: {secure: true, same_site: none, partitioned: true, max_age: 1h}
redirects: {allowed: ["{{.CRM}}"]}
embed: {allowed_origins: ["{{.CRM}}"]}
fuyun:
  token_url: "{{.Fuyun}}/oauth/token_exchange"
  client_id: crm
  client_secret: fuyun-secret
  redirect_url: "{{.Bridge}}/callback"
  mode: jwt
  jwt: {issuer: "{{.CRM}}", private_key: "{{.PEM}}"}
providers:
  - id: dev
    type: oidc
    display_name: "Dev IdP"
    issuer: "{{.IdP}}"
    client_id: crm
    client_secret: idp-secret
    mapping: {field: email, transform: strip_domain, allowed_domains: [example.com]}
`

// crmTestPage is the CRM: the widget via FuyunBridge.mount, its own button via FuyunBridge.login, and a
// record of every SDK outcome and of every raw message the page receives.
var crmTestPage = template.Must(template.New("crm").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><script src="{{.Bridge}}/static/fuyun-bridge.js"></script></head>
<body style="margin:0">
<div id="widget" style="width:420px"></div>
<button id="own-login" style="display:block;margin:8px;width:200px;height:40px">Sign in (own button)</button>
<script>
window.events = []; window.raw = [];
addEventListener("message", function (e) { raw.push({origin: e.origin, data: e.data}); });
var w = FuyunBridge.mount(document.getElementById("widget"), {bridge: "{{.Bridge}}", providers: ["dev"], height: "340px",
  onLogin: function (r) { events.push({kind: "onLogin", r: r}); }});
window.widgetResult = w.whenLoggedIn().then(function (r) { events.push({kind: "widget", r: r}); return r; },
  function (e) { events.push({kind: "widget-error", code: e.code}); });
document.getElementById("own-login").addEventListener("click", function () {
  FuyunBridge.login({provider: "dev", bridge: "{{.Bridge}}"}).then(function (r) { events.push({kind: "own", r: r}); },
    function (e) { events.push({kind: "own-error", code: e.code, description: e.description}); });
});
</script></body></html>`))

// evilTestPage frames /embed from a site that is not allow-listed, claiming to be the CRM.
var evilTestPage = template.Must(template.New("evil").Parse(`<!doctype html>
<html><body><iframe id="f" src="{{.Bridge}}/embed?parent_origin={{.CRM}}" width="400" height="300"></iframe></body></html>`))

// listen binds a loopback port for one of a stack's servers (closed when the test ends) and returns it with
// its port number, for the URL the others are told before it serves.
func listen(t *testing.T) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// serveOn serves h on ln until the test ends, over HTTPS with the test sites' certificate when tlsOn.
func serveOn(t *testing.T, ln net.Listener, h http.Handler, tlsOn bool) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	if tlsOn {
		srv.TLSConfig = sites.TLS.Clone()
		go func() { _ = srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { _ = srv.Serve(ln) }()
	}
	t.Cleanup(func() { _ = srv.Close() })
}

// acTokenIn is the (last) AC_TOKEN of a document.cookie string, or "".
func acTokenIn(cookie string) string {
	token := ""
	for _, part := range strings.Split(cookie, "; ") {
		if v, ok := strings.CutPrefix(part, "AC_TOKEN="); ok {
			token = v
		}
	}
	return token
}

func startEmbeddedStack(t *testing.T) *embeddedStack {
	t.Helper()
	bridgeLn, bridgePort := listen(t)
	crmLn, crmPort := listen(t)
	idpLn, idpPort := listen(t)
	fuyunLn, fuyunPort := listen(t)
	st := &embeddedStack{
		bridgeURL: "https://bridge.other.test:" + bridgePort,
		crmURL:    "https://crm.example.test:" + crmPort,
		evilURL:   "https://evil.attacker.test:" + crmPort,
	}
	idpURL, fuyunURL := "http://127.0.0.1:"+idpPort, "http://127.0.0.1:"+fuyunPort

	key, err := fuyun.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := fuyun.MarshalPrivateKeyPEM(key)
	var yaml strings.Builder
	_ = texttemplate.Must(texttemplate.New("y").Parse(embeddedYAML)).Execute(&yaml, map[string]string{
		"Bridge": st.bridgeURL, "CRM": st.crmURL, "IdP": idpURL, "Fuyun": fuyunURL,
		"Key": strings.Repeat("A", 43) + "=:" + strings.Repeat("B", 43) + "=",
		"PEM": strings.ReplaceAll(string(pem), "\n", `\n`),
	})
	cfg, err := config.Parse([]byte(yaml.String()), config.ParseOptions{Name: "embedded-test.yaml"})
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml.String())
	}
	idp, err := devidp.New(devidp.Options{Issuer: idpURL, Clients: []devidp.Client{{ID: "crm", Secret: "idp-secret", RedirectURIs: []string{st.bridgeURL + "/callback/dev"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var agents []fuyunsim.Agent
	for _, u := range devidp.DemoUsers() {
		agents = append(agents, fuyunsim.Agent{AccountName: u.Username, Email: u.Email})
	}
	st.sim, err = fuyunsim.New(fuyunsim.Config{
		Issuer: fuyunURL,
		Clients: []fuyunsim.Client{{ClientID: "crm", ClientSecret: "fuyun-secret", Scopes: []string{"user_management", "hotline"},
			JWT: &fuyunsim.JWTClient{Issuer: st.crmURL, Key: &key.PublicKey}}},
		Agents: agents,
	}, fuyunsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	br, err := bridge.NewFromConfig(cfg, bridge.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	crm := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		data := map[string]string{"Bridge": st.bridgeURL, "CRM": st.crmURL}
		switch {
		case r.URL.Path == "/" && strings.HasPrefix(r.Host, "crm.example.test:"):
			_ = crmTestPage.Execute(w, data)
		case r.URL.Path == "/" && strings.HasPrefix(r.Host, "evil.attacker.test:"):
			_ = evilTestPage.Execute(w, data)
		default:
			http.NotFound(w, r)
		}
	})
	serveOn(t, bridgeLn, br, true)
	serveOn(t, crmLn, crm, true)
	serveOn(t, idpLn, idp, false)
	serveOn(t, fuyunLn, st.sim, false)
	return st
}

// frameTarget finds the cross-site iframe whose URL starts with prefix (Chromium runs it in its own
// process, as a target of its own) and attaches to it.
func frameTarget(t *testing.T, ctx context.Context, prefix string) (context.Context, bool) {
	t.Helper()
	infos, err := chromedp.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bc := chromedp.FromContext(ctx).BrowserContextID
	for _, info := range infos {
		if info.Type == "iframe" && info.BrowserContextID == bc && strings.HasPrefix(info.URL, prefix) {
			fctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID))
			t.Cleanup(cancel)
			return fctx, true
		}
	}
	return nil, false
}

// openCRM loads the CRM page and waits until the widget has painted and announced itself.
func (st *embeddedStack) openCRM(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(st.crmURL+"/")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`raw.some(function (m) { return m.data && m.data.type === "fuyun-bridge:ready"; })`,
		chromedp.WithPollingTimeout(8*time.Second))); err != nil {
		t.Fatalf("the widget never said ready: %v", err)
	}
	fctx, ok := frameTarget(t, ctx, st.bridgeURL+"/embed?")
	if !ok {
		t.Fatal("no cross-site iframe target for /embed")
	}
	if _, err := chromedp.Run(fctx, chromedp.Poll[bool](`document.body.dataset.ready === "1"`, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Fatalf("widget not ready: %v", err)
	}
	return fctx
}

// popup waits for the login popup that ch reports and attaches to it.
func popup(t *testing.T, ctx context.Context, ch <-chan target.ID) context.Context {
	t.Helper()
	select {
	case id, ok := <-ch:
		if !ok {
			t.Fatal("no popup target")
		}
		pctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(id))
		t.Cleanup(cancel)
		return pctx
	case <-time.After(5 * time.Second):
		t.Fatal("no popup opened")
	}
	return nil
}

func isPopup(info *target.Info) bool { return info.Type == "page" }

// signInThroughWidget clicks the widget's dev button inside the cross-site iframe fctx (a real mouse click at its
// position) and picks user in the login popup that opens.
func signInThroughWidget(t *testing.T, ctx, fctx context.Context, user string) {
	t.Helper()
	x, y := buttonPosition(t, ctx, fctx, `a[data-provider="dev"]`)
	popups := chromedp.WaitNewTarget(ctx, isPopup)
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(x, y)); err != nil {
		t.Fatal(err)
	}
	pctx := popup(t, ctx, popups)
	if err := chromedp.Do(pctx, chromedp.Click(chromedp.CSS("#user-"+user))); err != nil {
		t.Fatalf("picking %s in the popup: %v", user, err)
	}
}

// widgetAccessToken waits for the CRM page's SDK promise (widgetResult) and returns the access token it got.
func widgetAccessToken(t *testing.T, ctx context.Context) string {
	t.Helper()
	tok, err := chromedp.Run(ctx, chromedp.Evaluate[string](`widgetResult.then(function (r) { return r.access_token; })`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("SDK promise: %v", err)
	}
	return tok
}

func TestEmbeddedLoginAcrossSites(t *testing.T) {
	b := shared.Get(t)
	st := startEmbeddedStack(t)
	ctx := b.Tab(t, 40*time.Second)
	fctx := st.openCRM(t, ctx)

	// Forged results are ignored: the CRM page itself posting to its own window (the SDK wants the bridge's
	// origin and frame), and posting a "result" into the widget with the right login id (the widget takes
	// results only from its own origin).
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`(function () {
		var id = raw.filter(function (m) { return m.data.type === "fuyun-bridge:ready"; }).pop().data.login_id;
		var forged = {type: "fuyun-bridge:login", access_token: "forged", expires_in: 1, user_name: "mallory", provider: "dev", login_id: id};
		window.postMessage(forged, "*");
		document.querySelector("#widget iframe").contentWindow.postMessage(forged, "*");
	})()`)); err != nil {
		t.Fatal(err)
	}

	// The agent clicks the widget's button inside the cross-site iframe: a real mouse click at its position.
	signInThroughWidget(t, ctx, fctx, "alice")

	// The CRM page gets the token through the SDK's promise.
	tok := widgetAccessToken(t, ctx)
	claims, err := st.sim.VerifyAccessToken(tok)
	if err != nil || claims.UserName != "alice" {
		t.Fatalf("the emulator does not accept the token for alice: %v %+v", err, claims)
	}
	events, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(events)`))
	if strings.Contains(events, "forged") || strings.Contains(events, "mallory") || strings.Count(events, `"kind":"onLogin"`) != 1 {
		t.Errorf("SDK events %s", events)
	}
	rawMsgs, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(raw.filter(function (m) { return m.origin === "`+st.bridgeURL+`"; }))`))
	if strings.Contains(rawMsgs, "handoff") || strings.Contains(rawMsgs, "forged") {
		t.Errorf("the widget forwarded the handoff or the forged message to the CRM: %s", rawMsgs)
	}

	// The iframe redeemed the handoff: its partitioned AC_TOKEN is the same token.
	cookie, err := chromedp.Run(fctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil || !strings.Contains(cookie, "AC_TOKEN="+tok) {
		t.Fatalf("iframe's document.cookie %.60q (%v), want AC_TOKEN", cookie, err)
	}
	all, err := chromedp.CallBrowser(ctx, storage.GetCookies, storage.GetCookiesParams{BrowserContextID: chromedp.FromContext(ctx).BrowserContextID})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, c := range all.Cookies {
		if c.Name == "AC_TOKEN" {
			found = true
			if c.PartitionKey == nil || c.PartitionKey.TopLevelSite != "https://example.test" || !c.Secure || c.SameSite != "None" {
				t.Errorf("AC_TOKEN stored as %+v (partition %+v)", c, c.PartitionKey)
			}
		}
	}
	if !found {
		t.Error("no AC_TOKEN in the browser's cookie store")
	}

	// A top-level visit to the bridge, same browser profile, does not see the partitioned cookie.
	top, cancel := chromedp.NewContext(ctx)
	defer cancel()
	if err := chromedp.Do(top, chromedp.Navigate(st.bridgeURL+"/")); err != nil {
		t.Fatal(err)
	}
	if c, _ := chromedp.Run(top, chromedp.Evaluate[string](`document.cookie`)); strings.Contains(c, "AC_TOKEN") {
		t.Errorf("top-level bridge page sees %q", c)
	}

	// Logout through the SDK clears the iframe's cookie.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`FuyunBridge.logout().then(function () { return true; })`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("logout: %v", err)
	}
	if c, _ := chromedp.Run(fctx, chromedp.Evaluate[string](`document.cookie`)); strings.Contains(c, "AC_TOKEN") {
		t.Errorf("after logout the iframe still has %q", c)
	}
}

// buttonPosition is the page coordinate of sel inside the iframe: the iframe's box plus the node's box.
func buttonPosition(t *testing.T, ctx, fctx context.Context, sel string) (float64, float64) {
	t.Helper()
	type pt struct{ X, Y float64 }
	in, err := chromedp.Run(fctx, chromedp.Evaluate[pt](fmt.Sprintf(`(function () { var r = document.querySelector(%q).getBoundingClientRect(); return {X: r.x + r.width / 2, Y: r.y + r.height / 2}; })()`, sel)))
	if err != nil {
		t.Fatal(err)
	}
	at, err := chromedp.Run(ctx, chromedp.Evaluate[pt](`(function () { var r = document.querySelector("#widget iframe").getBoundingClientRect(); return {X: r.x, Y: r.y}; })()`))
	if err != nil {
		t.Fatal(err)
	}
	return at.X + in.X, at.Y + in.Y
}

func TestEmbeddedPopupClosedBlockedRejects(t *testing.T) {
	b := shared.Get(t)
	st := startEmbeddedStack(t)
	ctx := b.Tab(t, 30*time.Second)
	st.openCRM(t, ctx)

	// A navigation the browser starts leaves the page a few seconds of user activation; wait it out.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!navigator.userActivation.isActive`, chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(8*time.Second))); err != nil {
		t.Fatalf("the page keeps its user activation: %v", err)
	}
	// Without a user gesture the browser blocks the popup: the promise says so.
	code, err := chromedp.Run(ctx, chromedp.Evaluate[string](`FuyunBridge.login({provider: "dev"}).then(function () { return "resolved"; }, function (e) { return e.code; })`, chromedp.EvalAwaitPromise))
	if err != nil || code != "popup_blocked" {
		t.Errorf("login without a click: %q (%v), want popup_blocked", code, err)
	}

	// The CRM's own button opens the popup; the agent closes it.
	popups := chromedp.WaitNewTarget(ctx, isPopup)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#own-login"))); err != nil {
		t.Fatal(err)
	}
	pctx := popup(t, ctx, popups)
	if err := chromedp.Do(pctx, chromedp.WaitVisible(chromedp.CSS("#user-alice"))); err != nil {
		t.Fatalf("popup never showed the IdP: %v", err)
	}
	if err := chromedp.Do(pctx, chromedp.Evaluate[chromedp.Void](`window.close()`)); err != nil {
		t.Logf("closing: %v", err) // the target may vanish before the answer
	}
	got, err := chromedp.Run(ctx, chromedp.Poll[string](`(events.filter(function (e) { return e.kind === "own-error"; })[0] || {}).code`,
		chromedp.WithPollingTimeout(8*time.Second)))
	if err != nil || got != "popup_closed" {
		ev, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(events)`))
		t.Errorf("closed popup: %q (%v), want popup_closed; events %s", got, err, ev)
	}
}

func TestEmbedRefusedByForeignFramer(t *testing.T) {
	b := shared.Get(t)
	st := startEmbeddedStack(t)
	ctx := b.Tab(t, 20*time.Second)
	// The page of a site that is not allow-listed frames /embed and claims to be the CRM.
	if err := chromedp.Do(ctx, chromedp.Navigate(st.evilURL+"/")); err != nil {
		t.Fatal(err)
	}
	// The control: the same check finds the widget when the CRM frames it.
	time.Sleep(1500 * time.Millisecond)
	if fctx, ok := frameTarget(t, ctx, st.bridgeURL+"/embed?"); ok {
		// Chromium keeps the target (and its URL) but commits an error page instead of the widget.
		n, err := chromedp.Run(fctx, chromedp.Evaluate[int](`document.querySelectorAll("a[data-provider]").length`))
		if err != nil || n != 0 {
			t.Errorf("the foreign page got a live widget (%d buttons, %v)", n, err)
		}
	} else {
		t.Log("no /embed frame target at all")
	}
	ctrl := b.Tab(t, 20*time.Second)
	st.openCRM(t, ctrl)
}
