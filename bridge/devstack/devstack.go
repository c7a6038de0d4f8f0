// Package devstack runs the whole product on loopback with no configuration and no network: the bridge (with
// configs/dev.yaml), a local OpenID Connect provider with demo agents, the Fuyun emulator wired to both, and a
// tiny demo "CRM" page. It backs `fuyun-bridge dev` and the end-to-end and browser tests.
package devstack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
	"github.com/fuyun-bridge/fuyun-bridge/configs"
	"github.com/fuyun-bridge/fuyun-bridge/providers"
	"github.com/fuyun-bridge/fuyun-bridge/providers/devidp"
)

// ClientID is the client id the dev bridge has at both the dev IdP and the Fuyun emulator.
const ClientID = "fuyun-bridge-dev"

// Options choose where the stack listens.
type Options struct {
	// Listen is the bridge's address; default 127.0.0.1:8080. Use 127.0.0.1:0 in tests.
	Listen string
	// Logger receives every component's logs; nil discards them.
	Logger *slog.Logger
	// Now is the bridge's clock (tests); nil means time.Now.
	Now func() time.Time
}

// Stack is a running demo. Close stops it.
type Stack struct {
	BridgeURL string // e.g. http://127.0.0.1:8080
	IdPURL    string
	FuyunURL  string
	CRMURL    string // a demo CRM page on another port that links to the bridge with return_to
	// EmbedCRMURL is the demo CRM page that embeds the sign-in widget (/embed, popup, JS SDK). It is the
	// same server as CRMURL under http://localhost, which a browser treats as another site than 127.0.0.1.
	EmbedCRMURL string

	Bridge *bridge.Server
	IdP    *devidp.IdP
	Fuyun  *fuyunsim.Server
	Config *config.Config

	services
}

// Start binds every listener, builds the components and serves them in the background.
func Start(opts Options) (st *Stack, err error) {
	opts, err = opts.withDefaults()
	if err != nil {
		return nil, err
	}
	st = &Stack{}
	var lns listeners
	defer func() {
		if err != nil {
			lns.close()
		}
	}()
	listen := lns.listen
	bridgeLn, bridgeURL, err := listen(opts.Listen)
	if err != nil {
		return nil, err
	}
	idpLn, idpURL, err := listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	fuyunLn, fuyunURL, err := listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	crmLn, crmURL, err := listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	st.BridgeURL, st.IdPURL, st.FuyunURL, st.CRMURL = bridgeURL, idpURL, fuyunURL, crmURL
	embedOrigin := "http://localhost:" + strconv.Itoa(crmLn.Addr().(*net.TCPAddr).Port)
	st.EmbedCRMURL = embedOrigin + "/embedded"

	idpSecret, fuyunSecret := random(24), random(24)
	jwtKey, err := fuyun.GenerateKey()
	if err != nil {
		return nil, err
	}
	jwtPEM, err := fuyun.MarshalPrivateKeyPEM(jwtKey)
	if err != nil {
		return nil, err
	}
	vendors := startVendorStubs(bridgeURL, bridgeLn.Addr().String())
	st.closers = append(st.closers, vendors.close)
	env := map[string]string{
		"DEV_DINGTALK_LOGIN_URL":  vendors.dingtalk.LoginURL,
		"DEV_DINGTALK_API_URL":    vendors.dingtalk.APIURL,
		"DEV_DINGTALK_OAPI_URL":   vendors.dingtalk.OAPIURL,
		"DEV_FEISHU_ACCOUNTS_URL": vendors.feishu.AccountsURL,
		"DEV_FEISHU_OPEN_URL":     vendors.feishu.OpenURL,
		"DEV_WECOM_LOGIN_URL":     vendors.wecom.LoginURL,
		"DEV_WECOM_OAUTH_URL":     vendors.wecom.OAuthURL,
		"DEV_WECOM_API_URL":       vendors.wecom.APIURL,
		"DEV_LISTEN":              bridgeLn.Addr().String(),
		"DEV_BRIDGE_URL":          bridgeURL,
		"DEV_IDP_URL":             idpURL,
		"DEV_FUYUN_URL":           fuyunURL,
		"DEV_CRM_ORIGIN":          crmURL,
		"DEV_EMBED_ORIGIN":        embedOrigin,
		"DEV_SESSION_KEY":         random(32) + ":" + random(32),
		"DEV_IDP_SECRET":          idpSecret,
		"DEV_FUYUN_SECRET":        fuyunSecret,
		"DEV_JWT_PRIVATE_KEY":     string(jwtPEM),
	}
	cfg, err := devConfig("dev.yaml", env)
	if err != nil {
		return nil, err
	}
	st.Config = cfg

	var redirectURIs []string
	for _, p := range cfg.Providers {
		if p.Type == "oidc" {
			redirectURIs = append(redirectURIs, p.RedirectURL)
		}
	}
	st.IdP, err = devidp.New(devidp.Options{
		Issuer:  idpURL,
		Clients: []devidp.Client{{ID: ClientID, Secret: idpSecret, RedirectURIs: redirectURIs}},
		Logger:  opts.Logger.With("component", "dev-idp"),
	})
	if err != nil {
		return nil, fmt.Errorf("dev IdP: %w", err)
	}
	agents := append(demoAgents(), vendorAgents...)
	st.Fuyun, err = fuyunsim.New(fuyunsim.Config{
		Issuer:   fuyunURL,
		TokenTTL: fuyunsim.DefaultTokenTTL,
		Clients: []fuyunsim.Client{{
			ClientID:     ClientID,
			ClientSecret: fuyunSecret,
			Scopes:       []string{"user_management", "hotline"},
			JWT:          &fuyunsim.JWTClient{Issuer: cfg.Fuyun.JWT.Issuer, Key: &jwtKey.PublicKey},
			OAuth:        &fuyunsim.OAuthClient{AppName: cfg.Fuyun.AppName, UserEndpoint: idpURL + "/userinfo", MappingField: "email"},
		}},
		Agents: agents,
	}, fuyunsim.Options{Logger: opts.Logger.With("component", "fuyun-sim")})
	if err != nil {
		return nil, fmt.Errorf("fuyun emulator: %w", err)
	}
	st.Bridge, err = bridge.NewFromConfig(cfg, bridge.BuildOptions{
		Logger:    opts.Logger.With("component", "bridge"),
		ShowToken: true,
		Now:       opts.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	var providerIDs []string
	for _, p := range cfg.Providers {
		providerIDs = append(providerIDs, p.ID)
	}
	crm, err := newCRM(crmURL, bridgeURL, providerIDs)
	if err != nil {
		return nil, err
	}
	st.serve(bridgeLn, st.Bridge)
	st.serve(idpLn, st.IdP)
	st.serve(fuyunLn, st.Fuyun)
	st.serve(crmLn, crm)
	return st, nil
}

// demoAgents are the Fuyun emulator's accounts for the dev IdP's demo users.
func demoAgents() []fuyunsim.Agent {
	var agents []fuyunsim.Agent
	for _, u := range devidp.DemoUsers() {
		agents = append(agents, fuyunsim.Agent{AccountName: u.Username, Email: u.Email, Mobile: u.PhoneNumber})
	}
	return agents
}

// devConfig parses configs/name with env's ${DEV_*} values.
func devConfig(name string, env map[string]string) (*config.Config, error) {
	yamlText, err := configs.FS.ReadFile(name)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Parse(yamlText, config.ParseOptions{
		Name:      "configs/" + name,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	if err != nil {
		return nil, fmt.Errorf("configs/%s: %w", name, err)
	}
	return cfg, nil
}

// withDefaults fills opts' defaults and refuses a Listen that is not loopback.
func (opts Options) withDefaults() (Options, error) {
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:8080"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	host, _, err := net.SplitHostPort(opts.Listen)
	if err != nil {
		return opts, fmt.Errorf("--listen %q: %w", opts.Listen, err)
	}
	if !providers.IsLoopbackHost(host) {
		return opts, fmt.Errorf("--listen %q: dev serves on loopback only (it uses demo secrets and an insecure cookie)", opts.Listen)
	}
	return opts, nil
}

// listeners are the listeners a start has bound, to close if it fails.
type listeners []net.Listener

// listen binds addr and returns the listener with its http:// URL.
func (l *listeners) listen(addr string) (net.Listener, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("listen on %s: %w", addr, err)
	}
	*l = append(*l, ln)
	return ln, "http://" + ln.Addr().String(), nil
}

func (l listeners) close() {
	for _, ln := range l {
		_ = ln.Close()
	}
}

// services are a stack's running servers and what else Close must stop, in order.
type services struct {
	servers []*http.Server
	closers []func()
}

func (s *services) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(ln) }()
}

// Close shuts every server down, waiting for requests in flight until ctx ends, then stops the rest.
func (s *services) Close(ctx context.Context) error {
	var errs []error
	for _, srv := range s.servers {
		errs = append(errs, srv.Shutdown(ctx))
	}
	for _, c := range s.closers {
		c()
	}
	return errors.Join(errs...)
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// crmPage is the demo CRM: a page on another port of the same host, so that it can read the AC_TOKEN cookie
// that the bridge set (cookies are per host, not per port) — the "same parent domain" deployment.
var crmPage = template.Must(template.New("crm").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Demo CRM</title>
<style>body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1f2937}
a.button{display:inline-block;padding:.7rem 1.2rem;background:#2563eb;color:#fff;border-radius:.5rem;text-decoration:none}
code{word-break:break-all;background:#f3f4f6;padding:.1rem .3rem;border-radius:.25rem}</style></head>
<body><h1>Demo CRM</h1>
<p>This page stands for your CRM. It sends the agent to the bridge and gets them back with the <code>AC_TOKEN</code> cookie.</p>
<p><a class="button" id="login" href="{{.Login}}">Sign in to the contact center</a></p>
<p id="status">AC_TOKEN: <span id="token">(none yet)</span></p>
<script nonce="{{.Nonce}}">
const m = document.cookie.match(/(?:^|; )AC_TOKEN=([^;]*)/);
if (m) { document.getElementById("token").textContent = m[1].slice(0, 24) + "… (" + m[1].length + " characters)"; document.body.dataset.acToken = "present"; }
</script></body></html>`))

func newCRM(crmURL, bridgeURL string, providerIDs []string) (http.Handler, error) {
	login := bridgeURL + "/?return_to=" + template.URLQueryEscaper(crmURL+"/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nonce := random(16)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-"+nonce+"'")
			_ = crmPage.Execute(w, struct{ Login, Nonce string }{login, nonce})
		case "/embedded":
			// The CRM's own policy: the SDK from the bridge, the widget framed from the bridge.
			w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-"+nonce+"' "+bridgeURL+"; frame-src "+bridgeURL)
			_ = embedPage.Execute(w, struct {
				Bridge, Nonce, Providers, RedirectCRM string
			}{bridgeURL, nonce, strings.Join(providerIDs, ","), crmURL + "/"})
		default:
			http.NotFound(w, r)
		}
	}), nil
}

// embedPage is the demo CRM of an embedded deployment: served from http://localhost:PORT while the bridge
// is http://127.0.0.1:PORT, two different sites, as a real CRM and bridge would be.
var embedPage = template.Must(template.New("embed").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Demo CRM (embedded)</title>
<style>body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1f2937}
#widget{border:1px solid #d1d5db;border-radius:.5rem;max-width:24rem}
button{padding:.5rem 1rem;margin:.25rem .25rem .25rem 0}
code,pre{word-break:break-all;white-space:pre-wrap;background:#f3f4f6;padding:.1rem .3rem;border-radius:.25rem}
.note{background:#fffbeb;border:1px solid #fcd34d;padding:.5rem 1rem;border-radius:.5rem}</style>
<script src="{{.Bridge}}/static/fuyun-bridge.js"></script></head>
<body><h1>Demo CRM — embedded login</h1>
<p>This page is another site than the bridge (<code>{{.Bridge}}</code>). It embeds the bridge's sign-in widget in
an iframe with the JS SDK; the widget opens the identity provider in a popup, and the token comes back by
<code>postMessage</code>.</p>
<p class="note">In <code>dev</code> the AC_TOKEN cookie is not <code>Secure</code>, so the iframe's own (third-party)
cookie cannot be stored here; the token still reaches this page through the SDK. With
<code>same_site: none</code>, <code>secure: true</code> and <code>partitioned: true</code> over HTTPS the iframe keeps
a partitioned AC_TOKEN as well. The redirect flow is on <a href="{{.RedirectCRM}}">the other demo CRM page</a>.</p>
<h2>1. The widget</h2>
<div id="widget"></div>
<h2>2. Your own button</h2>
<p><button id="own-login" type="button">Sign in with Dev IdP (FuyunBridge.login)</button>
<button id="logout" type="button">Sign out (FuyunBridge.logout)</button></p>
<h2>Result</h2>
<pre id="result">(nothing yet)</pre>
<script nonce="{{.Nonce}}">
const out = document.getElementById("result");
const show = (what, v) => { out.textContent = what + ": " + JSON.stringify(v, (k, x) => k === "access_token" ? x.slice(0, 24) + "… (" + x.length + " characters)" : x, 2); };
FuyunBridge.mount(document.getElementById("widget"), {
  bridge: "{{.Bridge}}", providers: "{{.Providers}}".split(","),
  onLogin: (r) => show("login (widget)", r), onError: (e) => show("error (widget)", {code: e.code, description: e.description}),
});
document.getElementById("own-login").addEventListener("click", () => {
  FuyunBridge.login({provider: "dev", bridge: "{{.Bridge}}"})
    .then((r) => show("login (own button)", r), (e) => show("error (own button)", {code: e.code, description: e.description}));
});
document.getElementById("logout").addEventListener("click", () => {
  FuyunBridge.logout({bridge: "{{.Bridge}}"}).then(() => show("logout", "done"), (e) => show("logout error", e.code));
});
</script></body></html>`))
