package fuyun_test

import (
	"testing"
	"time"
)

// BenchmarkSign measures minting one subject JWT: one RSA-2048 signature plus a UUID and JSON.
func BenchmarkSign(b *testing.B) {
	s := newSigner(b)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign("alice", now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExchangeJWT is a full JWT-mode exchange against the emulator over loopback HTTP: mint, POST,
// verify, replay check, sign the access token, decode the answer.
func BenchmarkExchangeJWT(b *testing.B) {
	sim, srv := newEmulator(b, "http://127.0.0.1:1/unused")
	c := newClient(b, srv.URL+sim.TokenPath(), nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.ExchangeJWT(b.Context(), "alice"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExchangeOAuth is a full OAuth-mode exchange: the emulator calls a stub user endpoint each time.
func BenchmarkExchangeOAuth(b *testing.B) {
	sim, srv := newEmulator(b, stubUserEndpoint(b).URL)
	c := newClient(b, srv.URL+sim.TokenPath(), nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.ExchangeOAuth(b.Context(), idpToken); err != nil {
			b.Fatal(err)
		}
	}
}
