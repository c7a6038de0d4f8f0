package bridge

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
	"time"
)

func TestProxyTrustResolve(t *testing.T) {
	prefixes, err := ParseTrustedProxies([]string{"10.0.0.0/8", "192.168.1.10", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	trust := proxyTrust{prefixes: prefixes}
	tests := []struct {
		name   string
		remote string
		xff    []string
		proto  string
		tls    bool
		wantIP string
		https  bool
	}{
		{"no proxy", "203.0.113.9:5000", nil, "", false, "203.0.113.9", false},
		{"untrusted peer's headers are ignored", "203.0.113.9:5000", []string{"198.51.100.1"}, "https", false, "203.0.113.9", false},
		{"trusted peer", "10.1.2.3:443", []string{"198.51.100.1"}, "https", false, "198.51.100.1", true},
		{"single trusted address", "192.168.1.10:443", []string{"198.51.100.1"}, "", false, "198.51.100.1", false},
		{"IPv6 loopback proxy", "[::1]:443", []string{"2001:db8::7"}, "", false, "2001:db8::7", false},
		{"client-forged hop left of the real one", "10.1.2.3:443", []string{"6.6.6.6, 198.51.100.1"}, "", false, "198.51.100.1", false},
		{"chain of trusted proxies", "10.1.2.3:443", []string{"198.51.100.1, 10.9.9.9", "192.168.1.10"}, "", false, "198.51.100.1", false},
		{"all hops trusted", "10.1.2.3:443", []string{"10.2.2.2"}, "", false, "10.2.2.2", false},
		{"garbage hop", "10.1.2.3:443", []string{"not-an-ip"}, "", false, "10.1.2.3", false},
		{"garbage left of a good hop", "10.1.2.3:443", []string{"<script>, 198.51.100.1"}, "", false, "198.51.100.1", false},
		{"proto list: the trusted peer's value is last", "10.1.2.3:443", nil, "https, http", false, "10.1.2.3", false},
		{"proto http over a direct TLS connection", "10.1.2.3:443", nil, "http", true, "10.1.2.3", true},
		{"direct TLS", "203.0.113.9:5000", nil, "", true, "203.0.113.9", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if tc.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			got := trust.resolve(r)
			if got.ip != tc.wantIP || got.https != tc.https {
				t.Errorf("resolve = %+v, want ip %s https %v", got, tc.wantIP, tc.https)
			}
		})
	}
}

func TestParseTrustedProxiesRefusesGarbage(t *testing.T) {
	if _, err := ParseTrustedProxies([]string{"10.0.0.0/8", "proxy.local"}); err == nil {
		t.Error("a host name was accepted as a trusted proxy")
	}
}

func TestLimiterSetBoundsAndRefills(t *testing.T) {
	l := newLimiterSet(RateLimit{Rate: 1, Burst: 2}, 3)
	now := time.Unix(1_700_000_000, 0)
	for i, want := range []bool{true, true, false} {
		if ok, wait := l.allow("a", now); ok != want || (!ok && (wait <= 0 || wait > time.Second)) {
			t.Fatalf("request %d: allow = %v, wait %v; want %v", i, ok, wait, want)
		}
	}
	if ok, _ := l.allow("a", now.Add(time.Second)); !ok {
		t.Error("no token after one second at 1/s")
	}
	for _, k := range []string{"b", "c", "d", "e"} {
		l.allow(k, now)
	}
	if n := l.len(); n != 3 {
		t.Errorf("limiter tracks %d callers, want at most 3", n)
	}
	// "a" was evicted (least recently seen) and starts again with a full bucket.
	if ok, _ := l.allow("a", now.Add(time.Second)); !ok {
		t.Error("an evicted caller was not given a fresh bucket")
	}
}
