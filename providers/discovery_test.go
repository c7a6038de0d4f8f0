package providers

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/providers/idpstub"
	"github.com/go-jose/go-jose/v4"
)

// tlsIssuer serves discovery and a JWKS over TLS as https://example.com (a name the httptest certificate
// holds): the returned client dials the test server whatever the URL's host, so nothing leaves this machine.
func tlsIssuer(t *testing.T, edit func(doc map[string]any)) *http.Client {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	const issuer = "https://example.com"
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body any
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			doc := map[string]any{
				"issuer": issuer, "authorization_endpoint": issuer + "/authorize", "token_endpoint": issuer + "/token",
				"userinfo_endpoint": issuer + "/userinfo", "jwks_uri": issuer + "/jwks",
			}
			edit(doc)
			body = doc
		case "/jwks":
			body = jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}}
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(ts.Close)
	tr := ts.Client().Transport.(*http.Transport).Clone()
	addr := ts.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	tr.DialTLSContext = nil
	tr.TLSClientConfig = &tls.Config{RootCAs: tr.TLSClientConfig.RootCAs}
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// Issue 13, finding 7: each discovery URL was checked on its own, so an https issuer's document could name
// http://127.0.0.1:…/token (or any private address) and the bridge would send the code, the PKCE verifier and
// its client secret there.
func TestDiscoveryURLsStayWithTheIssuer(t *testing.T) {
	tests := []struct {
		name  string
		field string
		url   string
		want  string // "" = ready; else a part of the error
	}{
		{"all on the issuer", "", "", ""},
		{"http loopback token endpoint", "token_endpoint", "http://127.0.0.1:8080/token", "scheme"},
		{"https loopback token endpoint", "token_endpoint", "https://127.0.0.1/token", "loopback, private"},
		{"IPv4-mapped loopback", "token_endpoint", "https://[::ffff:127.0.0.1]/token", "loopback, private"},
		{"localhost jwks", "jwks_uri", "https://localhost/jwks", "loopback, private"},
		{"name under localhost", "jwks_uri", "https://idp.localhost/jwks", "loopback, private"},
		{"Localhost in capitals", "jwks_uri", "https://LOCALHOST./jwks", "loopback, private"},
		{"link-local userinfo (cloud metadata)", "userinfo_endpoint", "https://169.254.169.254/latest/meta-data", "loopback, private"},
		{"RFC 1918 authorization endpoint", "authorization_endpoint", "https://10.0.0.5/authorize", "loopback, private"},
		{"ULA userinfo", "userinfo_endpoint", "https://[fd00::1]/userinfo", "loopback, private"},
		{"unspecified token endpoint", "token_endpoint", "https://0.0.0.0/token", "loopback, private"},
		{"decimal IPv4 token endpoint", "token_endpoint", "https://2130706433/token", "loopback, private"},
		{"public host", "token_endpoint", "https://login.example.net/token", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := tlsIssuer(t, func(doc map[string]any) {
				if tt.field != "" {
					doc[tt.field] = tt.url
				}
			})
			cfg := baseConfig("oidc")
			cfg.Issuer, cfg.Scopes = "https://example.com", DefaultScopes("oidc")
			p, err := New(cfg, Options{HTTPClient: client})
			if err != nil {
				t.Fatal(err)
			}
			err = p.Ready(context.Background())
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Ready: %v", err)
				}
				return
			}
			wantCode(t, err, CodeIdPUnavailable)
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("error %q does not say %q about %s", err, tt.want, tt.field)
			}
		})
	}
}

// A loopback issuer (tests, `dev`) may name loopback endpoints, but only with its own scheme.
func TestDiscoveryLoopbackIssuer(t *testing.T) {
	tests := []struct {
		name string
		edit func(s *idpstub.Stub, d map[string]any)
		want string
	}{
		{"loopback endpoints", func(*idpstub.Stub, map[string]any) {}, ""},
		{"https endpoint of an http issuer", func(s *idpstub.Stub, d map[string]any) {
			d["token_endpoint"] = strings.Replace(s.URL, "http:", "https:", 1) + "/token"
		}, "scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p := oidcStub(t, nil)
			s.Shape(func(sh *idpstub.Shape) { sh.Discovery = func(d map[string]any) { tt.edit(s, d) } })
			err := p.Ready(context.Background())
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Ready: %v", err)
				}
				if _, err := login(t, p, s, nil); err != nil {
					t.Fatalf("login: %v", err)
				}
				return
			}
			wantCode(t, err, CodeIdPUnavailable)
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestInternalHosts(t *testing.T) {
	for _, tt := range []struct {
		host               string
		loopback, internal bool
	}{
		{"localhost", true, true},
		{"LocalHost", true, true},
		{"localhoſt", false, false}, // U+017F folds to s under Unicode rules, not under ASCII ones
		{"127.0.0.2", true, true},
		{"[::1]", true, true},
		{"::ffff:127.0.0.1", true, true},
		{"a.localhost", false, true},
		{"192.168.1.10", false, true},
		{"172.16.0.1", false, true},
		{"fe80::1", false, true},
		{"0x7f.1", false, true},
		{"example.com", false, false},
		{"8.8.8.8", false, false},
		{"2001:db8::1", false, false},
	} {
		if got := IsLoopbackHost(tt.host); got != tt.loopback {
			t.Errorf("IsLoopbackHost(%q) = %v", tt.host, got)
		}
		if got := IsInternalHost(tt.host); got != tt.internal {
			t.Errorf("IsInternalHost(%q) = %v", tt.host, got)
		}
	}
}
