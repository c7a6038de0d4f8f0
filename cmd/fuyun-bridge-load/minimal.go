package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
)

// runMinimal serves the minimal relying party on the listener inherited as fd 3: what any Go relying
// party built on the same libraries must do for a login, and nothing else. It exists to measure the
// floor of this machine and these libraries (-rp minimal), so that the bridge's figures can be read
// against it: how much of a login's latency and CPU is the bridge's own.
//
// Per login it does what the protocol requires: /login/{id} makes a state, a nonce and a PKCE verifier
// (kept in memory, not sealed in a cookie) and redirects to the IdP; /callback/{id} redeems the code
// (x/oauth2), verifies the ID token and its nonce (go-oidc), reads the email claim, exchanges with Fuyun
// (bridge/fuyun: a freshly signed subject JWT, or the IdP's access token), sets AC_TOKEN and answers 303.
// None of the bridge's work beyond that: no sealed state or handoff cookie, no policy beyond the nonce
// and the claim, no log line, no metrics, no userinfo.
//
// It is a measuring device, not a relying party to copy: its state lives in one process's memory and it
// checks only what the measurement needs.
func runMinimal(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("minimal", flag.ContinueOnError)
	fs.SetOutput(stderr)
	planPath := fs.String("plan", "", "the run's plan (written by the driver)")
	keyPath := fs.String("key", "", "the Fuyun JWT signing key (PEM)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int { fmt.Fprintf(stderr, "minimal: %v\n", err); return 1 }
	p, err := readPlan(*planPath)
	if err != nil {
		return fail(err)
	}
	key, err := fuyun.LoadPrivateKeyFile(*keyPath)
	if err != nil {
		return fail(err)
	}
	bridge.TuneGCFor(false) // the bridge's own GC setting as serve runs it, so that the two compare
	ctx, stop := stopContext()
	defer stop()
	upstream := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second}}
	octx := oidc.ClientContext(ctx, upstream)
	provider, err := oidc.NewProvider(octx, p.IdPURL)
	if err != nil {
		return fail(err)
	}
	signer, err := fuyun.NewSigner(key, p.JWTIssuer, 5*time.Minute, "")
	if err != nil {
		return fail(err)
	}
	fc, err := fuyun.NewClient(fuyun.Config{
		TokenURL: p.FuyunURL + "/oauth/token_exchange", ClientID: p.ClientID, ClientSecret: p.FuyunSecret,
		Scope: "user_management,hotline", RedirectURL: p.BridgeURL + "/callback", AppName: p.AppName,
		Signer: signer, HTTPClient: upstream, MaxAttempts: 1, BreakerThreshold: -1,
	})
	if err != nil {
		return fail(err)
	}
	m := &minimalRP{
		verifier: provider.Verifier(&oidc.Config{ClientID: p.ClientID}),
		fuyun:    fc,
		upstream: upstream,
		pending:  map[string]minimalLogin{},
	}
	for _, id := range p.ProviderIDs {
		m.oauth2 = append(m.oauth2, minimalProvider{id: id, jwt: id == providerJWT, cfg: oauth2.Config{
			ClientID: p.ClientID, ClientSecret: p.IdPSecret, Endpoint: provider.Endpoint(),
			RedirectURL: p.CallbackBase + "/callback/" + id, Scopes: []string{oidc.ScopeOpenID, "profile", "email"},
		}})
	}
	lns, err := inheritedListeners([]string{"bridge"})
	if err != nil {
		return fail(err)
	}
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return fail(err)
	}
	defer stopProfile()
	srv := &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.Serve(lns["bridge"]); err != nil && err != http.ErrServerClosed {
		return fail(err)
	}
	return 0
}

type minimalRP struct {
	verifier *oidc.IDTokenVerifier
	fuyun    *fuyun.Client
	upstream *http.Client
	oauth2   []minimalProvider

	mu      sync.Mutex
	pending map[string]minimalLogin // by state
}

type minimalProvider struct {
	id  string
	jwt bool
	cfg oauth2.Config
}

type minimalLogin struct {
	provider        *minimalProvider
	nonce, verifier string
	returnTo        string
}

func (m *minimalRP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/readyz" {
		_, _ = io.WriteString(w, "ready\n")
		return
	}
	for i := range m.oauth2 {
		p := &m.oauth2[i]
		switch r.URL.Path {
		case "/login/" + p.id:
			m.login(w, r, p)
			return
		case "/callback/" + p.id:
			m.callback(w, r)
			return
		}
	}
	http.NotFound(w, r)
}

func (m *minimalRP) login(w http.ResponseWriter, r *http.Request, p *minimalProvider) {
	l := minimalLogin{provider: p, nonce: randomToken(), verifier: oauth2.GenerateVerifier(), returnTo: r.URL.Query().Get("return_to")}
	state := randomToken()
	m.mu.Lock()
	m.pending[state] = l
	m.mu.Unlock()
	opts := []oauth2.AuthCodeOption{oidc.Nonce(l.nonce), oauth2.S256ChallengeOption(l.verifier)}
	if hint := r.URL.Query().Get("login_hint"); hint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", hint))
	}
	http.Redirect(w, r, p.cfg.AuthCodeURL(state, opts...), http.StatusFound)
}

func (m *minimalRP) callback(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	m.mu.Lock()
	l, ok := m.pending[state]
	delete(m.pending, state)
	m.mu.Unlock()
	if !ok {
		http.Error(w, "unknown state", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(r.Context(), m.upstream), 30*time.Second)
	defer cancel()
	tok, err := l.provider.cfg.Exchange(ctx, r.URL.Query().Get("code"), oauth2.VerifierOption(l.verifier))
	if err != nil {
		http.Error(w, "code redemption: "+err.Error(), http.StatusBadGateway)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := m.verifier.Verify(ctx, raw)
	if err != nil || idt.Nonce != l.nonce {
		http.Error(w, "id token refused", http.StatusBadRequest)
		return
	}
	var claims struct {
		Email string `json:"email"`
	}
	if err := idt.Claims(&claims); err != nil || claims.Email == "" {
		http.Error(w, "no email", http.StatusBadRequest)
		return
	}
	var ft *fuyun.Token
	if l.provider.jwt {
		user, _, _ := strings.Cut(claims.Email, "@")
		ft, err = m.fuyun.ExchangeJWT(ctx, user)
	} else {
		ft, err = m.fuyun.ExchangeOAuth(ctx, tok.AccessToken)
	}
	if err != nil {
		http.Error(w, "fuyun: "+err.Error(), http.StatusBadGateway)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: "AC_TOKEN", Value: ft.AccessToken, Path: "/", HttpOnly: true,
		MaxAge: int(ft.ExpiresIn), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, l.returnTo, http.StatusSeeOther)
}

func randomToken() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
