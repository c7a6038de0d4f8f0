package devidp

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

const (
	appID         = "app"
	appSecret     = "app-secret-0123456789"
	appRedirect   = "http://127.0.0.1:1/callback"
	otherID       = "other"
	otherSecret   = "other-secret-0123456789"
	otherRedirect = "http://127.0.0.1:1/other"
	defaultScope  = "openid profile email phone"
)

// fakeClock is a settable Options.Now, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testIdP is an IdP served over real HTTP on 127.0.0.1.
type testIdP struct {
	*IdP
	url    string       // the server's base URL (the issuer unless the test gave it a path)
	client *http.Client // does not follow redirects, so tests see the authorization response
}

func testClients() []Client {
	return []Client{
		{ID: appID, Secret: appSecret, RedirectURIs: []string{appRedirect, "http://127.0.0.1:1/callback?tenant=a"}},
		{ID: otherID, Secret: otherSecret, RedirectURIs: []string{otherRedirect}},
	}
}

// startIdP serves a new IdP on a loopback listener; mutate may adjust the options (Issuer is preset to
// the listener's URL).
func startIdP(tb testing.TB, mutate func(*Options)) *testIdP {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	opts := Options{Issuer: base, Clients: testClients()}
	if mutate != nil {
		mutate(&opts)
	}
	idp, err := New(opts)
	if err != nil {
		_ = ln.Close()
		tb.Fatalf("New: %v", err)
	}
	srv := httptest.NewUnstartedServer(idp)
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	tb.Cleanup(srv.Close)
	return &testIdP{
		IdP: idp,
		url: base,
		client: &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// authParamsFor returns a valid authorization request for client app and its PKCE verifier.
func authParamsFor(hint string) (url.Values, string) {
	verifier := oauth2.GenerateVerifier()
	q := url.Values{
		"client_id":             {appID},
		"redirect_uri":          {appRedirect},
		"response_type":         {"code"},
		"scope":                 {defaultScope},
		"state":                 {"st-123"},
		"nonce":                 {"n-456"},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
	}
	if hint != "" {
		q.Set("login_hint", hint)
	}
	return q, verifier
}

// get sends GET path?q without following redirects.
func (ti *testIdP) get(tb testing.TB, path string, q url.Values) *http.Response {
	tb.Helper()
	resp, err := ti.client.Get(ti.Issuer() + path + "?" + q.Encode())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// postForm sends a form, with extra headers, without following redirects.
func (ti *testIdP) postForm(tb testing.TB, path string, form url.Values, header http.Header) *http.Response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, ti.Issuer()+path, strings.NewReader(form.Encode()))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := ti.client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// location parses the redirect of an authorization response, failing unless it goes to wantPrefix.
func location(tb testing.TB, resp *http.Response, wantStatus int, wantPrefix string) url.Values {
	tb.Helper()
	if resp.StatusCode != wantStatus {
		body, _ := io.ReadAll(resp.Body)
		tb.Fatalf("status %d, want %d; body %.300s", resp.StatusCode, wantStatus, body)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, wantPrefix+"?") {
		tb.Fatalf("Location %q does not go to %s", loc, wantPrefix)
	}
	u, err := url.Parse(loc)
	if err != nil {
		tb.Fatal(err)
	}
	return u.Query()
}

// loginCode runs the authorization step with login_hint and returns the code and PKCE verifier.
// It closes what it opens at once (no Cleanup), so the benchmark reuses connections and keeps no garbage.
func (ti *testIdP) loginCode(tb testing.TB, hint string) (code, verifier string) {
	tb.Helper()
	q, verifier := authParamsFor(hint)
	resp, err := ti.client.Get(ti.Issuer() + "/authorize?" + q.Encode())
	if err != nil {
		tb.Fatal(err)
	}
	defer drainClose(resp)
	got := location(tb, resp, http.StatusFound, appRedirect)
	if got.Get("code") == "" {
		tb.Fatalf("no code in %v", got)
	}
	return got.Get("code"), verifier
}

// redeemForm is a token request for client app, authenticated by client_secret_post.
func redeemForm(code, verifier string) url.Values {
	return url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {appRedirect},
		"code_verifier": {verifier},
		"client_id":     {appID},
		"client_secret": {appSecret},
	}
}

// decodeJSON reads a JSON object body.
func decodeJSON(tb testing.TB, resp *http.Response) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		tb.Fatalf("decoding the %d response: %v", resp.StatusCode, err)
	}
	return m
}

// redeem exchanges a code and returns the token response, failing on any error.
func (ti *testIdP) redeem(tb testing.TB, code, verifier string) map[string]any {
	tb.Helper()
	resp, err := ti.client.PostForm(ti.Issuer()+"/token", redeemForm(code, verifier))
	if err != nil {
		tb.Fatal(err)
	}
	defer drainClose(resp)
	body := decodeJSON(tb, resp)
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("token: %d %v", resp.StatusCode, body)
	}
	return body
}

// userinfo reads /userinfo with an access token.
func (ti *testIdP) userinfo(tb testing.TB, accessToken string) (*http.Response, map[string]any) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, ti.Issuer()+"/userinfo", nil)
	if err != nil {
		tb.Fatal(err)
	}
	if accessToken != "" {
		req.Header.Set("Authorization", "Bearer "+accessToken)
	}
	resp, err := ti.client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer drainClose(resp)
	return resp, decodeJSON(tb, resp)
}

// drainClose reads the rest of a body and closes it, so that the connection is reused.
func drainClose(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
}
