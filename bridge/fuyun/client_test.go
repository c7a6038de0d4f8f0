package fuyun_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
)

const (
	testClientID     = "crm-client"
	testClientSecret = "s3cr3t-Client-Secret"
	testAppName      = "crmapp"
	testScope        = "user_management,hotline"
	testRedirect     = "https://bridge.example.test/callback"
	idpToken         = "idp-opaque-access-token-7f3a9c" // a third-party access token in OAuth mode
)

// stubUserEndpoint plays the third-party IdP's user endpoint: it knows one access token.
func stubUserEndpoint(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+idpToken {
			http.Error(w, `{"error":"invalid_token"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"sub":"00u1","email":"Alice@Corp.Example.test","name":"Alice"}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// newEmulator starts the Fuyun emulator on loopback with one client in both modes and two agents.
func newEmulator(t testing.TB, userEndpoint string) (*fuyunsim.Server, *httptest.Server) {
	t.Helper()
	sim, err := fuyunsim.New(fuyunsim.Config{
		Issuer: "http://developer.rhinokeen.test",
		Clients: []fuyunsim.Client{{
			ClientID:     testClientID,
			ClientSecret: testClientSecret,
			Scopes:       []string{"user_management", "hotline"},
			JWT:          &fuyunsim.JWTClient{Issuer: testIssuer, Key: &rsaKey().PublicKey},
			OAuth:        &fuyunsim.OAuthClient{AppName: testAppName, UserEndpoint: userEndpoint, MappingField: "email"},
		}},
		Agents: []fuyunsim.Agent{
			{AccountName: "alice", Email: "alice@corp.example.test", Mobile: "+8613800000001"},
			{AccountName: "bob", Email: "bob@corp.example.test"},
		},
	}, fuyunsim.Options{SigningKey: otherKey()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv
}

func newSigner(t testing.TB) *fuyun.Signer {
	t.Helper()
	s, err := fuyun.NewSigner(rsaKey(), testIssuer, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newClient builds a client for tokenURL; mod adjusts the config first.
func newClient(t testing.TB, tokenURL string, mod func(*fuyun.Config)) *fuyun.Client {
	t.Helper()
	cfg := fuyun.Config{
		TokenURL:     tokenURL,
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		Scope:        testScope,
		RedirectURL:  testRedirect,
		AppName:      testAppName,
		Signer:       newSigner(t),
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := fuyun.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestExchangeAgainstEmulator(t *testing.T) {
	sim, srv := newEmulator(t, stubUserEndpoint(t).URL)
	c := newClient(t, srv.URL+sim.TokenPath(), nil)
	cases := []struct {
		name     string
		exchange func(context.Context) (*fuyun.Token, error)
	}{
		{"jwt mode", func(ctx context.Context) (*fuyun.Token, error) { return c.ExchangeJWT(ctx, "alice") }},
		{"oauth mode", func(ctx context.Context) (*fuyun.Token, error) { return c.ExchangeOAuth(ctx, idpToken) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := tc.exchange(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if tok.TokenType != "bearer" || tok.ExpiresIn != 2591999 || tok.Scope != testScope || tok.Issuer != sim.Issuer() || tok.JTI == "" {
				t.Fatalf("token response %+v", tok)
			}
			verified, err := sim.VerifyAccessToken(tok.AccessToken)
			if err != nil {
				t.Fatalf("the access token is not the emulator's: %v", err)
			}
			shown, err := tok.Claims()
			if err != nil {
				t.Fatal(err)
			}
			if verified.UserName != "alice" || shown.UserName != "alice" || shown.ClientID != testClientID ||
				shown.JTI != tok.JTI || strings.Join(shown.Scope, ",") != testScope {
				t.Fatalf("claims %+v (verified %+v)", shown, verified)
			}
		})
	}
}

func TestExchangeRefusedByEmulator(t *testing.T) {
	sim, srv := newEmulator(t, stubUserEndpoint(t).URL)
	cases := []struct {
		name     string
		mod      func(*fuyun.Config)
		exchange func(*fuyun.Client) (*fuyun.Token, error)
		status   int
		code     string
	}{
		{"unknown agent", nil, func(c *fuyun.Client) (*fuyun.Token, error) { return c.ExchangeJWT(context.Background(), "mallory") }, 400, "invalid_grant"},
		{"wrong secret", func(c *fuyun.Config) { c.ClientSecret = "not-the-secret" },
			func(c *fuyun.Client) (*fuyun.Token, error) { return c.ExchangeJWT(context.Background(), "alice") }, 401, "invalid_client"},
		{"scope not granted", func(c *fuyun.Config) { c.Scope = "user_management,admin" },
			func(c *fuyun.Client) (*fuyun.Token, error) { return c.ExchangeJWT(context.Background(), "alice") }, 400, "invalid_scope"},
		{"IdP refuses the token", nil, func(c *fuyun.Client) (*fuyun.Token, error) {
			return c.ExchangeOAuth(context.Background(), "expired-idp-token")
		}, 400, "invalid_grant"},
		{"unknown App Name", func(c *fuyun.Config) { c.AppName = "otherapp" },
			func(c *fuyun.Client) (*fuyun.Token, error) { return c.ExchangeOAuth(context.Background(), idpToken) }, 400, "invalid_grant"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.exchange(newClient(t, srv.URL+sim.TokenPath(), tc.mod))
			var fe *fuyun.Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *fuyun.Error", err)
			}
			if fe.StatusCode != tc.status || fe.Code != tc.code || fe.Temporary() || fe.Attempts != 1 || fe.Description == "" {
				t.Fatalf("got %+v (temporary %v); want HTTP %d %s, one attempt", fe, fe.Temporary(), tc.status, tc.code)
			}
		})
	}
}

// captured is one request as the token endpoint saw it.
type captured struct {
	method, path, query, contentType, accept, auth string
	form                                           url.Values
}

func capture(r *http.Request) captured {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	return captured{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), r.Header.Get("Accept"), r.Header.Get("Authorization"), form}
}

func TestWireFormat(t *testing.T) {
	var mu sync.Mutex
	var got []captured
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, capture(r))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"x.y.z","token_type":"bearer","expires_in":2591999,"scope":"user_management,hotline","iss":"i","jti":"j"}`)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL+"/oauth/token_exchange", nil)
	if _, err := c.ExchangeJWT(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExchangeOAuth(t.Context(), idpToken); err != nil {
		t.Fatal(err)
	}
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(testClientID+":"+testClientSecret))
	for i, req := range got {
		if req.method != http.MethodPost || req.path != "/oauth/token_exchange" || req.query != "" {
			t.Errorf("request %d: %s %s?%s", i, req.method, req.path, req.query)
		}
		if req.contentType != "application/x-www-form-urlencoded" || req.accept != "application/json" || req.auth != wantAuth {
			t.Errorf("request %d: Content-Type %q, Accept %q, Authorization %q", i, req.contentType, req.accept, req.auth)
		}
		if len(req.form) != 5 || req.form.Get("grant_type") != fuyun.GrantTypeTokenExchange ||
			req.form.Get("scope") != testScope || req.form.Get("redirect_url") != testRedirect {
			t.Errorf("request %d: form %v", i, req.form)
		}
	}
	if len(got) != 2 {
		t.Fatalf("%d requests; want 2", len(got))
	}
	if got[0].form.Get("subject_issuer") != testIssuer || strings.Count(got[0].form.Get("subject_token"), ".") != 2 {
		t.Errorf("jwt mode: subject_issuer %q, subject_token not a JWT", got[0].form.Get("subject_issuer"))
	}
	if got[1].form.Get("subject_issuer") != testAppName || got[1].form.Get("subject_token") != idpToken {
		t.Errorf("oauth mode: form %v", got[1].form)
	}
}

// jtiOf reads the jti of a subject JWT the way a test may: without verifying it.
func jtiOf(t *testing.T, raw string) string {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Errorf("subject token: %v", err)
		return ""
	}
	var c jwt.Claims
	_ = tok.UnsafeClaimsWithoutVerification(&c)
	return c.ID
}

func TestRetryMintsFreshJTI(t *testing.T) {
	sim, emu := newEmulator(t, "http://127.0.0.1:1/unused")
	_ = emu
	var mu sync.Mutex
	var jtis []string
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := capture(r)
		mu.Lock()
		jtis = append(jtis, jtiOf(t, req.form.Get("subject_token")))
		first := len(jtis) == 1
		mu.Unlock()
		if first {
			http.Error(w, "upstream busy", http.StatusServiceUnavailable)
			return
		}
		sim.ServeHTTP(w, r)
	}))
	defer front.Close()
	c := newClient(t, front.URL+sim.TokenPath(), nil)
	tok, err := c.ExchangeJWT(t.Context(), "alice")
	if err != nil {
		t.Fatalf("the retry should have succeeded: %v", err)
	}
	if _, err := sim.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	if len(jtis) != 2 || jtis[0] == "" || jtis[0] == jtis[1] {
		t.Fatalf("jtis per attempt %q; want two different ones", jtis)
	}
}

// countingServer answers every request with handler and counts them.
func countingServer(t *testing.T, handler http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestRetryPolicy(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		body      string
		attempts  int32
		temporary bool
	}{
		{"4xx is never retried", 400, `{"error":"invalid_grant","error_description":"unknown agent"}`, 1, false},
		{"429 is a 4xx too", 429, `{"error":"slow_down"}`, 1, false},
		{"5xx is retried up to MaxAttempts", 502, `<html>Bad Gateway</html>`, 3, true},
		{"503 is retried", 503, ``, 3, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, n := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			_, err := newClient(t, srv.URL, nil).ExchangeJWT(t.Context(), "alice")
			var fe *fuyun.Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *fuyun.Error", err)
			}
			if n.Load() != tc.attempts || fe.Attempts != int(tc.attempts) || fe.StatusCode != tc.status || fe.Temporary() != tc.temporary {
				t.Fatalf("server saw %d requests, error %+v temporary=%v; want %d attempts, temporary=%v",
					n.Load(), fe, fe.Temporary(), tc.attempts, tc.temporary)
			}
		})
	}
}

func TestConnectionErrorIsRetriedAndTemporary(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	start := time.Now()
	_, err = newClient(t, "http://"+addr+"/oauth/token_exchange", nil).ExchangeJWT(t.Context(), "alice")
	var fe *fuyun.Error
	if !errors.As(err, &fe) || fe.StatusCode != 0 || fe.Attempts != 3 || !fe.Temporary() || fe.Err == nil {
		t.Fatalf("got %#v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatalf("backoff too long: %s", time.Since(start))
	}
}

// hangingServer accepts requests and never answers until the client gives up.
func hangingServer(t *testing.T) *httptest.Server {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// net/http notices a client hanging up only once the body is consumed.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) }) // runs first: release handlers so Close does not wait on them
	return srv
}

func TestTimeouts(t *testing.T) {
	srv := hangingServer(t)
	t.Run("per-attempt timeout", func(t *testing.T) {
		c := newClient(t, srv.URL, func(c *fuyun.Config) { c.Timeout = 150 * time.Millisecond; c.MaxAttempts = 1 })
		start := time.Now()
		_, err := c.ExchangeJWT(t.Context(), "alice")
		elapsed := time.Since(start)
		var fe *fuyun.Error
		if !errors.As(err, &fe) || !fe.Temporary() || fe.StatusCode != 0 || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v", err)
		}
		if elapsed > time.Second {
			t.Fatalf("took %s with a 150ms timeout", elapsed)
		}
	})
	t.Run("caller deadline bounds all attempts", func(t *testing.T) {
		c := newClient(t, srv.URL, func(c *fuyun.Config) { c.Timeout = 10 * time.Second; c.MaxAttempts = 3 })
		ctx, cancel := context.WithTimeout(t.Context(), 250*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.ExchangeOAuth(ctx, idpToken)
		elapsed := time.Since(start)
		var fe *fuyun.Error
		if !errors.As(err, &fe) || !fe.Temporary() || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v", err)
		}
		if elapsed > time.Second {
			t.Fatalf("took %s with a 250ms deadline", elapsed)
		}
	})
	t.Run("cancellation between attempts", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		srv, n := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
			cancel() // the caller gives up while the first answer is on its way
			w.WriteHeader(http.StatusServiceUnavailable)
		})
		_, err := newClient(t, srv.URL, nil).ExchangeJWT(ctx, "alice")
		if !errors.Is(err, context.Canceled) || n.Load() != 1 {
			t.Fatalf("got %v after %d requests; want context.Canceled after 1", err, n.Load())
		}
	})
}

func TestUnusableResponses(t *testing.T) {
	huge := strings.Repeat("x", fuyun.MaxResponseBytes+10)
	cases := []struct {
		name      string
		status    int
		ctype     string
		body      string
		wantErr   error
		wantCode  string
		wantDesc  string
		temporary bool
	}{
		{"oversized success body", 200, "application/json", `{"access_token":"` + huge + `"}`, fuyun.ErrResponseTooLarge, "", "", false},
		{"oversized error body", 400, "text/plain", huge, fuyun.ErrResponseTooLarge, "", "", false},
		{"success but not JSON", 200, "text/html", "<html>login page</html>", fuyun.ErrMalformedReply, "", "login page", false},
		{"success without access_token", 200, "application/json", `{"token_type":"bearer"}`, fuyun.ErrMalformedReply, "", "no access_token", false},
		{"empty error body", 401, "", "", nil, "", "empty body", false},
		{"HTML error page", 502, "text/html; charset=utf-8", "<html><body>502 Bad Gateway</body></html>", nil, "", "Bad Gateway", true},
		{"OAuth error body", 400, "application/json", `{"error":"invalid_grant","error_description":"jwt expired"}`, nil, "invalid_grant", "jwt expired", false},
		{"Spring error body", 403, "application/json", `{"timestamp":1,"status":403,"message":"Access Denied"}`, nil, "", "Access Denied", false},
		{"redirect instead of an answer", 302, "text/html", "", nil, "", "empty body", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.ctype != "" {
					w.Header().Set("Content-Type", tc.ctype)
				}
				if tc.status == 302 {
					w.Header().Set("Location", "/login")
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			c := newClient(t, srv.URL, func(c *fuyun.Config) { c.MaxAttempts = 1 })
			tok, err := c.ExchangeJWT(t.Context(), "alice")
			var fe *fuyun.Error
			if !errors.As(err, &fe) {
				t.Fatalf("got token %+v, error %v; want a *fuyun.Error", tok, err)
			}
			if fe.StatusCode != tc.status || fe.Code != tc.wantCode || !strings.Contains(fe.Description, tc.wantDesc) || fe.Temporary() != tc.temporary {
				t.Fatalf("got %+v temporary=%v", fe, fe.Temporary())
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v; want %v", err, tc.wantErr)
			}
			if len(err.Error()) > 1000 {
				t.Fatalf("error message is %d bytes long; a body summary must be truncated", len(err.Error()))
			}
		})
	}
}

func TestErrorsNeverLeakSecrets(t *testing.T) {
	// A hostile or broken server that echoes the whole request back, in every shape.
	echo := func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		everything := fmt.Sprintf("auth=%s body=%s token=%s", r.Header.Get("Authorization"), body, form.Get("subject_token"))
		switch r.URL.Path {
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":%q,"error_description":%q}`, form.Get("subject_token"), everything)
		case "/text":
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, everything)
		default: // a success status with a body that is not a token response
			_, _ = io.WriteString(w, everything)
		}
	}
	srv, _ := countingServer(t, echo)
	basic := base64.StdEncoding.EncodeToString([]byte(testClientID + ":" + testClientSecret))
	for _, path := range []string{"/json", "/text", "/ok-not-json"} {
		c := newClient(t, srv.URL+path, func(c *fuyun.Config) { c.MaxAttempts = 1 })
		for mode, exchange := range map[string]func() (*fuyun.Token, error){
			"jwt":   func() (*fuyun.Token, error) { return c.ExchangeJWT(t.Context(), "alice") },
			"oauth": func() (*fuyun.Token, error) { return c.ExchangeOAuth(t.Context(), idpToken) },
		} {
			_, err := exchange()
			if err == nil {
				t.Fatalf("%s %s: no error", path, mode)
			}
			msg := err.Error()
			for _, secret := range []string{testClientSecret, basic, idpToken, "eyJ"} {
				if strings.Contains(msg, secret) {
					t.Errorf("%s %s: error leaks %q: %s", path, mode, secret, msg)
				}
			}
			if !strings.Contains(msg, "[redacted]") && !strings.Contains(msg, "[token]") {
				t.Errorf("%s %s: expected a redaction marker in %s", path, mode, msg)
			}
		}
	}
}

func TestPing(t *testing.T) {
	sim, emu := newEmulator(t, "http://127.0.0.1:1/unused")
	notFound, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Error("Ping sent credentials")
		}
		http.NotFound(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	cases := []struct {
		name string
		url  string
		ok   bool
	}{
		{"emulator answers 405 to GET", emu.URL + sim.TokenPath(), true},
		{"a 404 still proves reachability", notFound.URL, true},
		{"connection refused", closed, false},
		{"hanging server", hangingServer(t).URL, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, tc.url, func(c *fuyun.Config) { c.Timeout = 200 * time.Millisecond })
			start := time.Now()
			err := c.Ping(t.Context())
			if (err == nil) != tc.ok {
				t.Fatalf("Ping = %v; want ok=%v", err, tc.ok)
			}
			var fe *fuyun.Error
			if err != nil && (!errors.As(err, &fe) || !fe.Temporary()) {
				t.Fatalf("Ping error %v should be a temporary *fuyun.Error", err)
			}
			if time.Since(start) > 2*time.Second {
				t.Fatalf("Ping took %s", time.Since(start))
			}
		})
	}
}

func TestNewClientValidation(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*fuyun.Config)
		hint string // "" means the config is valid
	}{
		{"valid", func(c *fuyun.Config) {}, ""},
		{"default production URL", func(c *fuyun.Config) { c.TokenURL = "" }, ""},
		{"http to loopback", func(c *fuyun.Config) { c.TokenURL = "http://localhost:8081/oauth/token_exchange" }, ""},
		{"http to a private host when allowed", func(c *fuyun.Config) { c.TokenURL = "http://fuyun-sim:8081/x"; c.AllowInsecureHTTP = true }, ""},
		{"http to a remote host", func(c *fuyun.Config) { c.TokenURL = "http://signin.rhinokeen.com/oauth/token_exchange" }, "plain http"},
		{"relative URL", func(c *fuyun.Config) { c.TokenURL = "/oauth/token_exchange" }, "absolute"},
		{"ftp URL", func(c *fuyun.Config) { c.TokenURL = "ftp://example.test/" }, "absolute"},
		{"credentials in URL", func(c *fuyun.Config) { c.TokenURL = "https://id:" + testClientSecret + "@example.test/" }, "credentials"},
		{"credentials in a broken URL", func(c *fuyun.Config) { c.TokenURL = "https://id:" + testClientSecret + "@exa mple.test/%zz" }, "not a valid URL"},
		{"query in URL", func(c *fuyun.Config) { c.TokenURL = "https://example.test/x?grant_type=y" }, "query"},
		{"no client id", func(c *fuyun.Config) { c.ClientID = "" }, "client_id"},
		{"colon in client id", func(c *fuyun.Config) { c.ClientID = "a:b" }, "':'"},
		{"no client secret", func(c *fuyun.Config) { c.ClientSecret = "" }, "client_secret"},
		{"newline in secret", func(c *fuyun.Config) { c.ClientSecret = "secret\n" }, "control characters"},
		{"no scope", func(c *fuyun.Config) { c.Scope = " " }, "scope"},
		{"no redirect URL", func(c *fuyun.Config) { c.RedirectURL = "" }, "redirect_url"},
		{"relative redirect URL", func(c *fuyun.Config) { c.RedirectURL = "/callback" }, "absolute"},
		{"negative timeout", func(c *fuyun.Config) { c.Timeout = -time.Second }, "negative"},
		{"too many attempts", func(c *fuyun.Config) { c.MaxAttempts = 50 }, "out of range"},
		{"negative attempts", func(c *fuyun.Config) { c.MaxAttempts = -1 }, "out of range"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fuyun.Config{TokenURL: "https://signin.example.test/oauth/token_exchange", ClientID: testClientID,
				ClientSecret: testClientSecret, Scope: testScope, RedirectURL: testRedirect}
			tc.mod(&cfg)
			_, err := fuyun.NewClient(cfg)
			switch {
			case tc.hint == "" && err != nil:
				t.Fatalf("refused a valid config: %v", err)
			case tc.hint != "" && err == nil:
				t.Fatal("accepted an invalid config")
			case tc.hint != "" && !strings.Contains(err.Error(), tc.hint):
				t.Fatalf("error %q does not mention %q", err, tc.hint)
			}
			if err != nil && strings.Contains(err.Error(), testClientSecret) {
				t.Fatalf("error leaks the secret: %v", err)
			}
		})
	}
}

func TestExchangeInputChecks(t *testing.T) {
	srv, n := countingServer(t, func(w http.ResponseWriter, r *http.Request) {})
	noSigner := newClient(t, srv.URL, func(c *fuyun.Config) { c.Signer = nil; c.AppName = "" })
	full := newClient(t, srv.URL, nil)
	checks := []struct {
		name string
		call func() (*fuyun.Token, error)
	}{
		{"jwt without signer", func() (*fuyun.Token, error) { return noSigner.ExchangeJWT(t.Context(), "alice") }},
		{"oauth without App Name", func() (*fuyun.Token, error) { return noSigner.ExchangeOAuth(t.Context(), idpToken) }},
		{"empty user name", func() (*fuyun.Token, error) { return full.ExchangeJWT(t.Context(), " ") }},
		{"empty subject token", func() (*fuyun.Token, error) { return full.ExchangeOAuth(t.Context(), "") }},
	}
	for _, c := range checks {
		if _, err := c.call(); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if n.Load() != 0 {
		t.Fatalf("%d requests were sent for invalid input", n.Load())
	}
}

func TestConcurrentExchanges(t *testing.T) {
	sim, srv := newEmulator(t, stubUserEndpoint(t).URL)
	c := newClient(t, srv.URL+sim.TokenPath(), nil)
	var wg sync.WaitGroup
	jtis := make(chan string, 64)
	for i := range 16 {
		wg.Go(func() {
			for range 4 {
				var tok *fuyun.Token
				var err error
				if i%2 == 0 {
					tok, err = c.ExchangeJWT(t.Context(), "alice")
				} else {
					tok, err = c.ExchangeOAuth(t.Context(), idpToken)
				}
				if err != nil {
					t.Error(err)
					return
				}
				jtis <- tok.JTI
			}
		})
	}
	wg.Wait()
	close(jtis)
	seen := map[string]bool{}
	for j := range jtis {
		if seen[j] {
			t.Fatalf("access-token jti %s issued twice", j)
		}
		seen[j] = true
	}
	if len(seen) != 64 {
		t.Fatalf("%d exchanges succeeded; want 64", len(seen))
	}
}
