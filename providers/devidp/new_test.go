package devidp

import (
	"strings"
	"testing"
	"time"
)

func TestNewRefusesBadOptions(t *testing.T) {
	good := func() Options {
		return Options{Issuer: "http://127.0.0.1:8081", Clients: testClients()}
	}
	tests := []struct {
		name    string
		modify  func(*Options)
		wantErr string
	}{
		{"empty issuer", func(o *Options) { o.Issuer = "" }, "issuer is required"},
		{"relative issuer", func(o *Options) { o.Issuer = "127.0.0.1/idp" }, "absolute"},
		{"ftp issuer", func(o *Options) { o.Issuer = "ftp://127.0.0.1" }, "absolute"},
		{"trailing slash", func(o *Options) { o.Issuer = "http://127.0.0.1:8081/" }, "slash"},
		{"issuer with query", func(o *Options) { o.Issuer = "http://127.0.0.1:8081?x=1" }, "query"},
		{"negative TTL", func(o *Options) { o.TokenTTL = -time.Second }, "negative"},
		{"no clients", func(o *Options) { o.Clients = nil }, "at least one client"},
		{"client without id", func(o *Options) { o.Clients[0].ID = "" }, "client id is empty"},
		{"client without secret", func(o *Options) { o.Clients[0].Secret = "" }, "no secret"},
		{"client without redirect", func(o *Options) { o.Clients[0].RedirectURIs = nil }, "no redirect URI"},
		{"relative redirect", func(o *Options) { o.Clients[0].RedirectURIs = []string{"/callback"} }, "absolute"},
		{"redirect with fragment", func(o *Options) { o.Clients[0].RedirectURIs = []string{"http://a/cb#x"} }, "fragment"},
		{"duplicate client", func(o *Options) { o.Clients[1].ID = appID }, "twice"},
		{"empty users", func(o *Options) { o.Users = []User{} }, "no users"},
		{"user without subject", func(o *Options) { o.Users = []User{{Username: "x"}} }, "subject"},
		{"duplicate username", func(o *Options) {
			o.Users = []User{{Username: "x", Subject: "1"}, {Username: "X", Subject: "2"}}
		}, "twice"},
		{"duplicate subject", func(o *Options) {
			o.Users = []User{{Username: "x", Subject: "1"}, {Username: "y", Subject: "1"}}
		}, "twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := good()
			tc.modify(&o)
			_, err := New(o)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New: %v, want an error containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), appSecret) {
				t.Errorf("error leaks a client secret: %v", err)
			}
		})
	}
	// The good options themselves are accepted, so each failure above is down to its one change.
	p, err := New(good())
	if err != nil {
		t.Fatalf("New(good): %v", err)
	}
	if p.Issuer() != "http://127.0.0.1:8081" {
		t.Errorf("Issuer() = %q", p.Issuer())
	}
}

func TestDemoUsers(t *testing.T) {
	users := DemoUsers()
	want := []User{
		{"alice", "dev-alice", "Alice Chen", "alice@example.com", true, "+8613800000001"},
		{"bob", "dev-bob", "Bob Li", "bob@example.com", true, "+8613800000002"},
		{"carol", "dev-carol", "Carol Wang", "carol@example.com", true, "+8613800000003"},
	}
	if len(users) != len(want) {
		t.Fatalf("%d users", len(users))
	}
	for i := range want {
		if users[i] != want[i] {
			t.Errorf("user %d = %+v, want %+v", i, users[i], want[i])
		}
	}
	if err := checkUsers(users); err != nil {
		t.Error(err)
	}
}
