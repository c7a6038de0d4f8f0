package browsertest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/admin"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/apikeys"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/platform"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
	"github.com/fuyun-bridge/fuyun-bridge/providers/devidp"
)

// platformStack is platform mode on two real sites: the bridge at https://bridge.other.test:P (SameSite=None;
// Secure; Partitioned) with no company of its own, one tenant — acme, created through the admin API — whose
// CRM at https://crm.example.test:Q embeds the tenant's widget. The dev IdP and the emulator run on loopback.
type platformStack struct {
	embeddedStack        // bridgeURL is the tenant's base URL, for the shared widget helpers
	public        string // the bridge's public URL (the root, with the email box)
}

func startPlatformStack(t *testing.T) *platformStack {
	t.Helper()
	bridgeLn, bridgePort := listen(t)
	crmLn, crmPort := listen(t)
	idpLn, idpPort := listen(t)
	fuyunLn, fuyunPort := listen(t)
	st := &platformStack{public: "https://bridge.other.test:" + bridgePort}
	st.bridgeURL, st.crmURL = st.public+"/t/acme", "https://crm.example.test:"+crmPort
	idpURL, fuyunURL := "http://127.0.0.1:"+idpPort, "http://127.0.0.1:"+fuyunPort

	key, err := fuyun.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := fuyun.MarshalPrivateKeyPEM(key)
	k32 := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
server: {listen: "127.0.0.1:0", public_url: %q}
session: {keys: [%q]}
cookie: {secure: true, same_site: none, partitioned: true, max_age: 1h}
store: {driver: sqlite, path: %q, encryption_keys: [%q], poll_interval: 100ms}
admin: {listen: "127.0.0.1:0"}
`, st.public, k32+":"+k32, filepath.Join(t.TempDir(), "tenants.db"), k32)), config.ParseOptions{Name: "platform-test.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	idp, err := devidp.New(devidp.Options{Issuer: idpURL, Clients: []devidp.Client{{ID: "idp-acme", Secret: "idp-secret",
		RedirectURIs: []string{st.bridgeURL + "/callback/dev"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var agents []fuyunsim.Agent
	for _, u := range devidp.DemoUsers() {
		agents = append(agents, fuyunsim.Agent{AccountName: u.Username, Email: u.Email})
	}
	st.sim, err = fuyunsim.New(fuyunsim.Config{Issuer: fuyunURL, Agents: agents, Clients: []fuyunsim.Client{{
		ClientID: "crm-acme", ClientSecret: "fuyun-secret", Scopes: []string{"user_management", "hotline"},
		JWT: &fuyunsim.JWTClient{Issuer: st.crmURL, Key: &key.PublicKey}}}}, fuyunsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(context.Background(), store.Options{Driver: "sqlite", Path: cfg.Store.Path, EncryptionKeys: cfg.Store.Keys, PollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	p, err := bridge.NewPlatform(cfg, s, bridge.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go p.Run(ctx)

	// Onboard acme through the admin API, as a platform's operator would.
	adminKey, line, _ := apikeys.Generate("ops")
	keys, err := apikeys.Parse(strings.NewReader(line), "keys")
	if err != nil {
		t.Fatal(err)
	}
	codec, err := platform.NewCodec(st.public)
	if err != nil {
		t.Fatal(err)
	}
	adminSrv := httptest.NewServer(admin.New(admin.Options{Store: s, Keys: keys, Codec: codec}))
	t.Cleanup(adminSrv.Close)
	doc, _ := json.Marshal(map[string]any{
		"id": "acme", "display_name": "Acme Corp", "domains": []string{"acme.example"},
		"redirects": map[string]any{"allowed": []string{st.crmURL}},
		"embed":     map[string]any{"allowed_origins": []string{st.crmURL}},
		"fuyun": map[string]any{"token_url": fuyunURL + "/oauth/token_exchange", "client_id": "crm-acme", "client_secret": "fuyun-secret",
			"redirect_url": st.crmURL + "/callback", "mode": "jwt", "jwt": map[string]any{"issuer": st.crmURL, "private_key": string(pem)}},
		"providers": []any{map[string]any{"id": "dev", "type": "oidc", "display_name": "Acme IdP", "issuer": idpURL,
			"client_id": "idp-acme", "client_secret": "idp-secret",
			"mapping": map[string]any{"field": "email", "transform": "strip_domain", "allowed_domains": []string{"example.com"}}}},
	})
	req, _ := http.NewRequest(http.MethodPost, adminSrv.URL+"/admin/v1/tenants", strings.NewReader(string(doc)))
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("creating acme through the admin API: %d %s", resp.StatusCode, body)
	}
	for deadline := time.Now().Add(3 * time.Second); p.TenantVersion("acme") == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the platform never saw acme")
		}
	}

	crm := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" || !strings.HasPrefix(r.Host, "crm.example.test:") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = crmTestPage.Execute(w, map[string]string{"Bridge": st.bridgeURL, "CRM": st.crmURL})
	})
	serveOn(t, bridgeLn, p, true)
	serveOn(t, crmLn, crm, true)
	serveOn(t, idpLn, idp, false)
	serveOn(t, fuyunLn, st.sim, false)
	return st
}

// TestPlatformLoginInChromium: a tenant created through the admin API, reached from the root page's email
// box, signs its agent in with its own Fuyun registration.
func TestPlatformLoginInChromium(t *testing.T) {
	b := shared.Get(t)
	st := startPlatformStack(t)
	ctx := b.Tab(t, 30*time.Second)
	if err := chromedp.Do(ctx, chromedp.Navigate(st.public+"/")); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#email"), "alice@acme.example")); err != nil {
		t.Fatalf("the root page has no email box: %v", err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Submit(chromedp.CSS("#email"))); err != nil {
		t.Fatalf("email box → discovery: %v", err)
	}
	// The discovery page names the company and moves on by itself to its IdP.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		if strings.Contains(loc, "/authorize?") && strings.Contains(loc, "client_id=idp-acme") && strings.Contains(loc, "login_hint=alice%40acme.example") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("at %q, want acme's IdP with the login hint", loc)
		}
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#user-alice"))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("#user-alice"))); err != nil {
		t.Fatalf("picking alice: %v", err)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if !strings.HasPrefix(loc, st.bridgeURL+"/callback/dev?") {
		t.Fatalf("ended at %q, want acme's callback", loc)
	}
	cookie, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil {
		t.Fatal(err)
	}
	token := acTokenIn(cookie)
	claims, err := st.sim.VerifyAccessToken(token)
	if err != nil || claims.UserName != "alice" || claims.ClientID != "crm-acme" {
		t.Fatalf("AC_TOKEN %.20q: %v %+v, want alice through crm-acme", token, err, claims)
	}
}

// TestPlatformWidgetInChromium: the tenant's widget inside its CRM's page, on another site, signs in through
// the popup and hands the token to the CRM through the SDK.
func TestPlatformWidgetInChromium(t *testing.T) {
	b := shared.Get(t)
	st := startPlatformStack(t)
	ctx := b.Tab(t, 40*time.Second)
	fctx := st.openCRM(t, ctx)
	signInThroughWidget(t, ctx, fctx, "alice")
	tok := widgetAccessToken(t, ctx)
	claims, err := st.sim.VerifyAccessToken(tok)
	if err != nil || claims.UserName != "alice" || claims.ClientID != "crm-acme" {
		t.Fatalf("widget token: %v %+v, want alice through crm-acme", err, claims)
	}
	if cookie, err := chromedp.Run(fctx, chromedp.Evaluate[string](`document.cookie`)); err != nil || !strings.Contains(cookie, "AC_TOKEN="+tok) {
		t.Fatalf("the tenant's iframe holds %.60q (%v), want the AC_TOKEN", cookie, err)
	}
}
