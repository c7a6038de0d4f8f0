package providers

import (
	"context"
	"encoding/json"
	"regexp"
	"testing"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/mapping"
	"github.com/fuyun-bridge/fuyun-bridge/providers/idpstub"
)

// numericIdentity signs in through one real flow against the stub whose user carries claim = literal
// (a JSON number written exactly as given) and returns the identity.
type numericIdentity func(t *testing.T, claim string, literal json.Number) (*Identity, error)

var numericSources = []struct {
	name string
	get  numericIdentity
}{
	{"oidc id_token", func(t *testing.T, claim string, lit json.Number) (*Identity, error) {
		s, p := oidcStub(t, nil)
		s.Shape(func(sh *idpstub.Shape) { sh.IDToken = func(c map[string]any) { c[claim] = lit } })
		return login(t, p, s, nil)
	}},
	{"oidc userinfo (callback)", func(t *testing.T, claim string, lit json.Number) (*Identity, error) {
		s, p := oidcStub(t, nil)
		s.Shape(func(sh *idpstub.Shape) { sh.Userinfo = func(c map[string]any) { c[claim] = lit } })
		return login(t, p, s, nil)
	}},
	{"oidc userinfo (backend API)", func(t *testing.T, claim string, lit json.Number) (*Identity, error) {
		s, p := oidcStub(t, nil)
		s.Shape(func(sh *idpstub.Shape) { sh.Userinfo = func(c map[string]any) { c[claim] = lit } })
		return p.UserInfo(context.Background(), s.IssueAccessToken())
	}},
	{"oauth2 userinfo", func(t *testing.T, claim string, lit json.Number) (*Identity, error) {
		s, p := oauth2Stub(t, map[string]any{"sub": "u-1", "email": "alice@example.com", "email_verified": true, claim: lit})
		return login(t, p, s, nil)
	}},
}

// Issue 13, finding 2: claims went through float64, so 9007199254740993 mapped like 9007199254740992 and two
// distinct 19-digit ids both became "1234567890123456800".
func TestClaimsKeepExactNumbers(t *testing.T) {
	orgRule := []mapping.ClaimRule{{Claim: "organization_id", Values: []string{"1234567890123456789"}}}
	tests := []struct {
		name    string
		claim   string
		literal json.Number
		cfg     mapping.Config
		want    string // the account, or the mapping error code
	}{
		{"beyond 2^53", "user_id", "9007199254740993", mapping.Config{Field: "user_id"}, "9007199254740993"},
		{"2^53", "user_id", "9007199254740992", mapping.Config{Field: "user_id"}, "9007199254740992"},
		{"19 digits", "user_id", "1234567890123456789", mapping.Config{Field: "user_id"}, "1234567890123456789"},
		{"19 digits, neighbour", "user_id", "1234567890123456788", mapping.Config{Field: "user_id"}, "1234567890123456788"},
		{"negative", "user_id", "-9007199254740993", mapping.Config{Field: "user_id"}, "-9007199254740993"},
		{"fraction refused", "user_id", "1.5", mapping.Config{Field: "user_id"}, mapping.CodeInvalid},
		{"exponent refused", "user_id", "1e3", mapping.Config{Field: "user_id"}, mapping.CodeInvalid},
		{"require_claims 19-digit org admitted", "organization_id", "1234567890123456789",
			mapping.Config{Field: "email", RequireClaims: orgRule}, "alice@example.com"},
		{"require_claims 19-digit org, neighbour refused", "organization_id", "1234567890123456788",
			mapping.Config{Field: "email", RequireClaims: orgRule}, mapping.CodeClaimNotAllowed},
		{"require_claims exponent refused", "organization_id", "1.234567890123456789e18",
			mapping.Config{Field: "email", RequireClaims: orgRule}, mapping.CodeClaimNotAllowed},
	}
	for _, src := range numericSources {
		for _, tt := range tests {
			t.Run(src.name+"/"+tt.name, func(t *testing.T) {
				id, err := src.get(t, tt.claim, tt.literal)
				if err != nil {
					t.Fatalf("sign-in: %v", err)
				}
				m, err := mapping.New(tt.cfg, mapping.Options{})
				if err != nil {
					t.Fatal(err)
				}
				res, err := m.Map(id.Claims)
				if code := mapping.ErrorCode(err); code != "" || err != nil {
					if code != tt.want {
						t.Fatalf("Map: %v (code %q), want %s", err, code, tt.want)
					}
					return
				}
				if res.Account != tt.want {
					t.Fatalf("account %q, want %q (claim %s = %v %T)", res.Account, tt.want, tt.claim, id.Claims[tt.claim], id.Claims[tt.claim])
				}
			})
		}
	}
}

var integerLiteral = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

// FuzzClaimsExactNumbers: any JSON integer literal in a userinfo body maps to an account with exactly its digits.
func FuzzClaimsExactNumbers(f *testing.F) {
	for _, s := range []string{"0", "-1", "9007199254740993", "1234567890123456789", "123456789012345678901234567890"} {
		f.Add(s)
	}
	m, err := mapping.New(mapping.Config{Field: "user_id"}, mapping.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, lit string) {
		if !integerLiteral.MatchString(lit) || len(lit) > 200 {
			return
		}
		claims, err := decodeClaims([]byte(`{"sub":"u-1","user_id":` + lit + `}`))
		if err != nil {
			t.Fatalf("decode %s: %v", lit, err)
		}
		sub, err := oauth2Subject(map[string]any{"id": claims["user_id"]})
		if err != nil || sub != lit {
			t.Fatalf("subject %q, %v; want %s", sub, err, lit)
		}
		res, err := m.Map(claims)
		if err != nil {
			t.Fatalf("Map %s: %v", lit, err)
		}
		if res.Account != lit {
			t.Fatalf("account %q, want %q", res.Account, lit)
		}
	})
}
