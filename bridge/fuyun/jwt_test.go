package fuyun_test

import (
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
)

const testIssuer = "https://crm.example.test"

func TestNewSignerRefusals(t *testing.T) {
	cases := []struct {
		name   string
		issuer string
		ttl    time.Duration
		small  bool
		nilKey bool
		hint   string
	}{
		{name: "no key", issuer: testIssuer, nilKey: true, hint: "no private key"},
		{name: "1024-bit key", issuer: testIssuer, small: true, hint: "1024 bits"},
		{name: "empty issuer", issuer: " ", hint: "issuer is empty"},
		{name: "negative ttl", issuer: testIssuer, ttl: -time.Minute, hint: "too short"},
		{name: "sub-second ttl", issuer: testIssuer, ttl: time.Millisecond, hint: "too short"},
		{name: "ttl over a day", issuer: testIssuer, ttl: 25 * time.Hour, hint: "longer than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := rsaKey()
			switch {
			case tc.nilKey:
				key = nil
			case tc.small:
				key = smallKey()
			}
			s, err := fuyun.NewSigner(key, tc.issuer, tc.ttl, "")
			if err == nil {
				t.Fatalf("NewSigner accepted it: %+v", s)
			}
			if !strings.Contains(err.Error(), tc.hint) {
				t.Fatalf("error %q does not mention %q", err, tc.hint)
			}
		})
	}
}

// subjectPayload is what Fuyun reads from a subject JWT.
type subjectPayload struct {
	Iss      string `json:"iss"`
	UserName string `json:"user_name"`
	Exp      int64  `json:"exp"`
	Iat      int64  `json:"iat"`
	JTI      string `json:"jti"`
}

func TestSign(t *testing.T) {
	now := time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)
	cases := []struct {
		name    string
		ttl     time.Duration
		kid     string
		wantTTL int64
	}{
		{"default ttl, no kid", 0, "", 300},
		{"custom ttl and kid", 90 * time.Second, "crm-2026", 90},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := fuyun.NewSigner(rsaKey(), testIssuer, tc.ttl, tc.kid)
			if err != nil {
				t.Fatal(err)
			}
			if s.Issuer() != testIssuer {
				t.Fatalf("Issuer() = %q", s.Issuer())
			}
			raw, err := s.Sign("alice", now)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
			if err != nil {
				t.Fatalf("not an RS256 JWT: %v", err)
			}
			h := tok.Headers[0]
			if h.Algorithm != "RS256" || h.KeyID != tc.kid || h.ExtraHeaders["typ"] != "JWT" {
				t.Fatalf("header alg=%q kid=%q typ=%v", h.Algorithm, h.KeyID, h.ExtraHeaders["typ"])
			}
			var p subjectPayload
			if err := tok.Claims(&rsaKey().PublicKey, &p); err != nil {
				t.Fatalf("signature does not verify: %v", err)
			}
			if err := tok.Claims(&otherKey().PublicKey, &p); err == nil {
				t.Fatal("verifies with an unrelated key")
			}
			if p.Iss != testIssuer || p.UserName != "alice" {
				t.Fatalf("payload %+v", p)
			}
			// exp is a NumericDate in seconds, not the Java demo's milliseconds.
			if p.Iat != now.Unix() || p.Exp != now.Unix()+tc.wantTTL {
				t.Fatalf("iat=%d exp=%d; want iat=%d exp=%d", p.Iat, p.Exp, now.Unix(), now.Unix()+tc.wantTTL)
			}
			id, err := uuid.Parse(p.JTI)
			if err != nil || id.Version() != 4 {
				t.Fatalf("jti %q is not a random UUID: %v", p.JTI, err)
			}
		})
	}
}

func TestSignFreshJTIAndInputChecks(t *testing.T) {
	s, err := fuyun.NewSigner(rsaKey(), testIssuer, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 20 {
		raw, err := s.Sign("bob", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
		var p subjectPayload
		if err := tok.Claims(&rsaKey().PublicKey, &p); err != nil {
			t.Fatal(err)
		}
		if seen[p.JTI] {
			t.Fatalf("jti %s repeated", p.JTI)
		}
		seen[p.JTI] = true
		if d := p.Exp - time.Now().Unix(); d < 290 || d > 310 {
			t.Fatalf("zero now should mean the current time; exp is %ds away", d)
		}
	}
	if _, err := s.Sign("", time.Now()); err == nil {
		t.Fatal("signed for an empty user name")
	}
}

// guideAccessToken is the sample response token of Fuyun's integration guide.
const guideAccessToken = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwOi8vZGV2ZWxvcGVyLnJoaW5va2Vlbi5jb20iLCJleHAiOjE2MjY5NDY2OTUsInVzZXJfbmFtZSI6ImZ1eXVuLXRlc3QtdXNlciIsImp0aSI6ImQ0YmQ4MTM1LTZmZjYtNDZiNi05YTg2LTQ2MWNkMGVjNDI4NyIsImNsaWVudF9pZCI6ImlkcF90ZXN0XzE2UTRveiIsInNjb3BlIjpbImZ1eXVuLWRldiJdfQ.cDE0EuZaBRwsNf7WrbIPsZhw9juk5dpA2GtCEJ4WHf-iwz8tp9xnX4Kb4jmJqwtWjtrvz0mDeU8uFB31oiz4FzRQb30qhaCeJo7totjwZfTr4bI6bd8afb5C3kypgQUYAyg3wkMzF-6nKgnN_a9YViWp2vO1lq3gH7I5vA5CX6bACWu8OO7LtaD-nKf6JRCcdwY2CWDq_jl43mjz_oek0c8MBcnLL11PAk5VnZRYg7pO6AhPOUkqyAqwbBGcgkEw3pNR1aSTbL8-u69RczKaEgXB_lusshLEXeRK6uNlO8SZzx2BR0AG3nHSG9dAGEdaWMhPUR4gY488k4SYPFNNEQ"

func TestTokenClaimsIsUnverifiedDecode(t *testing.T) {
	// Fuyun's key is not ours, and the token expired in 2021: Claims decodes it anyway, for display only.
	c, err := (&fuyun.Token{AccessToken: guideAccessToken}).Claims()
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != "http://developer.rhinokeen.com" || c.UserName != "fuyun-test-user" ||
		c.JTI != "d4bd8135-6ff6-46b6-9a86-461cd0ec4287" || c.ClientID != "idp_test_16Q4oz" ||
		c.Expiry != 1626946695 || len(c.Scope) != 1 || c.Scope[0] != "fuyun-dev" {
		t.Fatalf("claims %+v", c)
	}
	for _, bad := range []string{"", "opaque-token", "a.b.c"} {
		if _, err := (&fuyun.Token{AccessToken: bad}).Claims(); err == nil {
			t.Errorf("Claims(%q) succeeded", bad)
		}
	}
}
