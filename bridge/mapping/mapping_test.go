package mapping

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

func boolPtr(b bool) *bool { return &b }

// files returns an Options whose ReadFile serves the given in-memory files.
func files(m map[string]string) Options {
	return Options{ReadFile: func(name string) ([]byte, error) {
		s, ok := m[name]
		if !ok {
			return nil, fmt.Errorf("open %s: %w", name, fs.ErrNotExist)
		}
		return []byte(s), nil
	}}
}

func mustNew(t *testing.T, cfg Config, opts Options) *Mapper {
	t.Helper()
	m, err := New(cfg, opts)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return m
}

// claimsJSON decodes like the providers do, so numbers arrive as json.Number.
func claimsJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var c map[string]any
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

const accountsCSV = `idp_value,fuyun_account_name
# sales team
alice@corp.example.com, alice.fuyun

Bob@Corp.Example.com,bob.fuyun
`

func TestMap(t *testing.T) {
	opts := files(map[string]string{"accounts.csv": accountsCSV})
	for _, tc := range []struct {
		name    string
		cfg     Config
		claims  string
		want    Result
		wantErr string // error code
	}{
		// Selection.
		{"field", Config{Field: "preferred_username"}, `{"preferred_username":"alice"}`,
			Result{Account: "alice", Field: "preferred_username", Value: "alice"}, ""},
		{"first fallback when field missing", Config{Field: "upn", Fallbacks: []string{"preferred_username", "sub"}}, `{"preferred_username":"alice","sub":"123"}`,
			Result{Account: "alice", Field: "preferred_username", Value: "alice"}, ""},
		{"fallback when field empty", Config{Field: "upn", Fallbacks: []string{"sub"}}, `{"upn":"","sub":"s1"}`,
			Result{Account: "s1", Field: "sub", Value: "s1"}, ""},
		{"fallback when field blank", Config{Field: "upn", Fallbacks: []string{"sub"}}, `{"upn":"  ","sub":"s1"}`,
			Result{Account: "s1", Field: "sub", Value: "s1"}, ""},
		{"fallback when field null", Config{Field: "upn", Fallbacks: []string{"sub"}}, `{"upn":null,"sub":"s1"}`,
			Result{Account: "s1", Field: "sub", Value: "s1"}, ""},
		{"fallback when field bool", Config{Field: "upn", Fallbacks: []string{"sub"}}, `{"upn":true,"sub":"s1"}`,
			Result{Account: "s1", Field: "sub", Value: "s1"}, ""},
		{"fallback when field object", Config{Field: "upn", Fallbacks: []string{"sub"}}, `{"upn":{"a":"b"},"sub":"s1"}`,
			Result{Account: "s1", Field: "sub", Value: "s1"}, ""},
		{"fallback when field array", Config{Field: "upn", Fallbacks: []string{"sub"}}, `{"upn":["x"],"sub":"s1"}`,
			Result{Account: "s1", Field: "sub", Value: "s1"}, ""},
		{"number without exponent", Config{Field: "user_id"}, `{"user_id":4915112345678}`,
			Result{Account: "4915112345678", Field: "user_id", Value: "4915112345678"}, ""},
		{"integer beyond 2^53 keeps its digits", Config{Field: "user_id"}, `{"user_id":9007199254740993}`,
			Result{Account: "9007199254740993", Field: "user_id", Value: "9007199254740993"}, ""},
		{"fraction refused, no fallback", Config{Field: "user_id", Fallbacks: []string{"sub"}}, `{"user_id":1.5,"sub":"s1"}`, Result{}, CodeInvalid},
		{"exponent refused, no fallback", Config{Field: "user_id", Fallbacks: []string{"sub"}}, `{"user_id":1e3,"sub":"s1"}`, Result{}, CodeInvalid},
		{"required 19-digit claim exact", Config{Field: "sub", RequireClaims: []ClaimRule{{Claim: "org", Values: []string{"1234567890123456789"}}}},
			`{"sub":"s1","org":1234567890123456788}`, Result{}, CodeClaimNotAllowed},
		{"required claim as a fraction", Config{Field: "sub", RequireClaims: []ClaimRule{{Claim: "org", Values: []string{"1000", "1e3"}}}},
			`{"sub":"s1","org":1e3}`, Result{}, CodeClaimNotAllowed},
		{"nested path", Config{Field: "address.phone", Transform: "e164", RequireVerified: boolPtr(false)}, `{"address":{"phone":"+49 (151) 123-45678"}}`,
			Result{Account: "+4915112345678", Field: "address.phone", Value: "+4915112345678"}, ""},
		{"url-named claim", Config{Field: "https://example.com/claims/uid"}, `{"https://example.com/claims/uid":"u-1"}`,
			Result{Account: "u-1", Field: "https://example.com/claims/uid", Value: "u-1"}, ""},
		{"missing", Config{Field: "email", Fallbacks: []string{"upn"}}, `{"sub":"x"}`, Result{}, CodeMissing},
		{"missing: only unusable values", Config{Field: "email", Fallbacks: []string{"upn"}}, `{"email":"","upn":false}`, Result{}, CodeMissing},
		{"missing: nested parent not an object", Config{Field: "address.phone"}, `{"address":"x"}`, Result{}, CodeMissing},

		// Verification.
		{"email verified", Config{Field: "email"}, `{"email":"alice@corp.example.com","email_verified":true}`,
			Result{Account: "alice@corp.example.com", Field: "email", Value: "alice@corp.example.com"}, ""},
		{"email verified as string", Config{Field: "email"}, `{"email":"a@b.c","email_verified":"true"}`,
			Result{Account: "a@b.c", Field: "email", Value: "a@b.c"}, ""},
		{"email unverified", Config{Field: "email"}, `{"email":"a@b.c","email_verified":false}`, Result{}, CodeUnverified},
		{"email verification absent", Config{Field: "email"}, `{"email":"a@b.c"}`, Result{}, CodeUnverified},
		{"email verified string false", Config{Field: "email"}, `{"email":"a@b.c","email_verified":"false"}`, Result{}, CodeUnverified},
		{"email verified string TRUE is not true", Config{Field: "email"}, `{"email":"a@b.c","email_verified":"yes"}`, Result{}, CodeUnverified},
		{"email verified number is not true", Config{Field: "email"}, `{"email":"a@b.c","email_verified":1}`, Result{}, CodeUnverified},
		{"work_email needs email_verified", Config{Field: "work_email"}, `{"work_email":"a@b.c"}`, Result{}, CodeUnverified},
		{"unverified falls not through to fallback", Config{Field: "email", Fallbacks: []string{"sub"}}, `{"email":"a@b.c","sub":"s"}`, Result{}, CodeUnverified},
		{"require_verified false", Config{Field: "email", RequireVerified: boolPtr(false)}, `{"email":"a@b.c"}`,
			Result{Account: "a@b.c", Field: "email", Value: "a@b.c"}, ""},
		{"phone verified", Config{Field: "phone_number", Transform: "e164"}, `{"phone_number":"+4915112345678","phone_number_verified":true}`,
			Result{Account: "+4915112345678", Field: "phone_number", Value: "+4915112345678"}, ""},
		{"phone unverified", Config{Field: "phone_number"}, `{"phone_number":"+4915112345678","phone_number_verified":false}`, Result{}, CodeUnverified},
		{"phone verification absent", Config{Field: "phone_number"}, `{"phone_number":"+4915112345678"}`, Result{}, CodeUnverified},
		{"phone: email_verified does not count", Config{Field: "phone_number"}, `{"phone_number":"+4915112345678","email_verified":true}`, Result{}, CodeUnverified},
		{"mobile verified", Config{Field: "mobile_phone"}, `{"mobile_phone":"+4915112345678","mobile_phone_verified":"true"}`,
			Result{Account: "+4915112345678", Field: "mobile_phone", Value: "+4915112345678"}, ""},
		{"mobile unverified", Config{Field: "mobile"}, `{"mobile":"+4915112345678","mobile_verified":false}`, Result{}, CodeUnverified},
		{"nested phone verified", Config{Field: "address.phone"}, `{"address":{"phone":"+4915112345678","phone_verified":true}}`,
			Result{Account: "+4915112345678", Field: "address.phone", Value: "+4915112345678"}, ""},
		{"nested phone unverified", Config{Field: "address.phone"}, `{"address":{"phone":"+4915112345678"},"phone_verified":true}`, Result{}, CodeUnverified},
		{"fallback email needs its own verification", Config{Field: "upn", Fallbacks: []string{"email"}}, `{"email":"a@b.c"}`, Result{}, CodeUnverified},
		{"upn has no verification notion", Config{Field: "upn"}, `{"upn":"alice@corp.example.com"}`,
			Result{Account: "alice@corp.example.com", Field: "upn", Value: "alice@corp.example.com"}, ""},

		// Allowed domains.
		{"domain allowed", Config{Field: "upn", AllowedDomains: []string{"corp.example.com"}}, `{"upn":"alice@corp.example.com"}`,
			Result{Account: "alice@corp.example.com", Field: "upn", Value: "alice@corp.example.com"}, ""},
		{"domain case-insensitive", Config{Field: "upn", AllowedDomains: []string{"Corp.Example.com"}, Transform: "lowercase"}, `{"upn":"Alice@CORP.example.COM"}`,
			Result{Account: "alice@corp.example.com", Field: "upn", Value: "alice@corp.example.com"}, ""},
		{"domain checked before strip_domain", Config{Field: "upn", AllowedDomains: []string{"corp.example.com"}, Transform: "strip_domain"}, `{"upn":"alice@corp.example.com"}`,
			Result{Account: "alice", Field: "upn", Value: "alice"}, ""},
		{"domain other", Config{Field: "upn", AllowedDomains: []string{"corp.example.com"}}, `{"upn":"bob@other.com"}`, Result{}, CodeDomainNotAllowed},
		{"required claim matches", Config{Field: "email", RequireClaims: []ClaimRule{{Claim: "organization_id", Values: []string{"00DA", "00DB"}}}},
			`{"email":"a@x.com","email_verified":true,"organization_id":"00DB"}`, Result{Account: "a@x.com", Field: "email", Value: "a@x.com"}, ""},
		{"required claim other org", Config{Field: "email", RequireClaims: []ClaimRule{{Claim: "organization_id", Values: []string{"00DA"}}}},
			`{"email":"a@x.com","email_verified":true,"organization_id":"00DEVIL"}`, Result{}, CodeClaimNotAllowed},
		{"required claim absent", Config{Field: "email", RequireClaims: []ClaimRule{{Claim: "hd", Values: []string{"corp.example.com"}}}},
			`{"email":"a@gmail.com","email_verified":true}`, Result{}, CodeClaimNotAllowed},
		{"required claim not a string", Config{Field: "email", RequireClaims: []ClaimRule{{Claim: "hd", Values: []string{"true"}}}},
			`{"email":"a@x.com","email_verified":true,"hd":true}`, Result{}, CodeClaimNotAllowed},
		{"required claim case-sensitive", Config{Field: "email", RequireClaims: []ClaimRule{{Claim: "hd", Values: []string{"corp.example.com"}}}},
			`{"email":"a@x.com","email_verified":true,"hd":"CORP.example.com"}`, Result{}, CodeClaimNotAllowed},
		{"required nested claim and number", Config{Field: "email", RequireClaims: []ClaimRule{{Claim: "org.id", Values: []string{"42"}}}},
			`{"email":"a@x.com","email_verified":true,"org":{"id":42}}`, Result{Account: "a@x.com", Field: "email", Value: "a@x.com"}, ""},
		{"domain suffix attack", Config{Field: "upn", AllowedDomains: []string{"corp.example.com"}}, `{"upn":"bob@corp.example.com.evil.com"}`, Result{}, CodeDomainNotAllowed},
		{"domain prefix attack", Config{Field: "upn", AllowedDomains: []string{"corp.example.com"}}, `{"upn":"bob@evilcorp.example.com"}`, Result{}, CodeDomainNotAllowed},
		{"subdomain not included", Config{Field: "upn", AllowedDomains: []string{"example.com"}}, `{"upn":"bob@corp.example.com"}`, Result{}, CodeDomainNotAllowed},
		{"domain trailing dot", Config{Field: "upn", AllowedDomains: []string{"corp.example.com"}}, `{"upn":"bob@corp.example.com."}`, Result{}, CodeDomainNotAllowed},
		{"domain not email-like", Config{Field: "upn", AllowedDomains: []string{"corp.example.com"}}, `{"upn":"bob"}`, Result{}, CodeDomainNotAllowed},
		{"domain empty local part", Config{Field: "upn", AllowedDomains: []string{"corp.example.com"}}, `{"upn":"@corp.example.com"}`, Result{}, CodeDomainNotAllowed},
		{"domain two at signs", Config{Field: "upn", AllowedDomains: []string{"corp.example.com"}}, `{"upn":"\"bob@other.com\"@corp.example.com"}`, Result{}, CodeDomainNotAllowed},

		// Transforms.
		{"lowercase trims", Config{Field: "upn", Transform: "lowercase"}, `{"upn":"  Alice@Corp.COM "}`,
			Result{Account: "alice@corp.com", Field: "upn", Value: "alice@corp.com"}, ""},
		{"none keeps case", Config{Field: "upn", Transform: "none"}, `{"upn":"Alice"}`,
			Result{Account: "Alice", Field: "upn", Value: "Alice"}, ""},
		{"strip_domain", Config{Field: "upn", Transform: "strip_domain", AllowedDomains: []string{"corp.com"}}, `{"upn":"alice@corp.com"}`,
			Result{Account: "alice", Field: "upn", Value: "alice"}, ""},
		// strip_domain always comes with allowed_domains (New insists), so values that are not one email address
		// are refused before the transform.
		{"strip_domain without at", Config{Field: "upn", Transform: "strip_domain", AllowedDomains: []string{"corp.com"}}, `{"upn":"alice"}`, Result{}, CodeDomainNotAllowed},
		{"strip_domain two at signs", Config{Field: "upn", Transform: "strip_domain", AllowedDomains: []string{"corp.com"}}, `{"upn":"bob@other.com@corp.com"}`, Result{}, CodeDomainNotAllowed},
		{"strip_domain empty local", Config{Field: "upn", Transform: "strip_domain", AllowedDomains: []string{"corp.com"}}, `{"upn":"@corp.com"}`, Result{}, CodeDomainNotAllowed},
		{"strip_domain other domain", Config{Field: "upn", Transform: "strip_domain", AllowedDomains: []string{"corp.com"}}, `{"upn":"alice@gmail.com"}`, Result{}, CodeDomainNotAllowed},
		{"e164 00 prefix", Config{Field: "tel", Transform: "e164"}, `{"tel":"0049 151 1234.5678"}`,
			Result{Account: "+4915112345678", Field: "tel", Value: "+4915112345678"}, ""},
		{"e164 shortest", Config{Field: "tel", Transform: "e164"}, `{"tel":"+12345678"}`,
			Result{Account: "+12345678", Field: "tel", Value: "+12345678"}, ""},
		{"e164 longest", Config{Field: "tel", Transform: "e164"}, `{"tel":"+123456789012345"}`,
			Result{Account: "+123456789012345", Field: "tel", Value: "+123456789012345"}, ""},
		{"e164 national number not guessed", Config{Field: "tel", Transform: "e164"}, `{"tel":"030 1234567"}`, Result{}, CodeInvalid},
		{"e164 json number without plus", Config{Field: "tel", Transform: "e164"}, `{"tel":4915112345678}`, Result{}, CodeInvalid},
		{"e164 too short", Config{Field: "tel", Transform: "e164"}, `{"tel":"+1234567"}`, Result{}, CodeInvalid},
		{"e164 too long", Config{Field: "tel", Transform: "e164"}, `{"tel":"+1234567890123456"}`, Result{}, CodeInvalid},
		{"e164 leading zero", Config{Field: "tel", Transform: "e164"}, `{"tel":"+0123456789"}`, Result{}, CodeInvalid},
		{"e164 triple zero", Config{Field: "tel", Transform: "e164"}, `{"tel":"000123456789"}`, Result{}, CodeInvalid},
		{"e164 letters", Config{Field: "tel", Transform: "e164"}, `{"tel":"+49151CALLME"}`, Result{}, CodeInvalid},
		{"e164 extension", Config{Field: "tel", Transform: "e164"}, `{"tel":"+4915112345678 ext 12"}`, Result{}, CodeInvalid},
		{"e164 non-ASCII digits", Config{Field: "tel", Transform: "e164"}, `{"tel":"+４９１５１１２３４５６７８"}`, Result{}, CodeInvalid},
		{"e164 two plus", Config{Field: "tel", Transform: "e164"}, `{"tel":"++4915112345678"}`, Result{}, CodeInvalid},

		// Value shape.
		{"control character", Config{Field: "upn"}, `{"upn":"alice\nbob"}`, Result{}, CodeInvalid},
		{"NUL", Config{Field: "upn"}, `{"upn":"alice\u0000"}`, Result{}, CodeInvalid},
		{"DEL", Config{Field: "upn"}, `{"upn":"alice\u007f"}`, Result{}, CodeInvalid},
		{"C1 control", Config{Field: "upn"}, `{"upn":"alice\u0085"}`, Result{}, CodeInvalid},
		{"bidi override", Config{Field: "upn"}, `{"upn":"alice\u202e"}`, Result{}, CodeInvalid},
		{"tab with lowercase", Config{Field: "upn", Transform: "lowercase"}, `{"upn":"alice\t"}`, Result{}, CodeInvalid},
		{"256 bytes ok", Config{Field: "upn"}, `{"upn":"` + strings.Repeat("a", 256) + `"}`,
			Result{Account: strings.Repeat("a", 256), Field: "upn", Value: strings.Repeat("a", 256)}, ""},
		{"257 bytes", Config{Field: "upn"}, `{"upn":"` + strings.Repeat("a", 257) + `"}`, Result{}, CodeInvalid},
		{"invalid value does not fall through", Config{Field: "upn", Fallbacks: []string{"sub"}}, `{"upn":"a\nb","sub":"s"}`, Result{}, CodeInvalid},

		// Accounts table.
		{"table hit", Config{Field: "upn", AccountsFile: "accounts.csv"}, `{"upn":"alice@corp.example.com"}`,
			Result{Account: "alice.fuyun", Field: "upn", Value: "alice@corp.example.com"}, ""},
		{"table keys transformed", Config{Field: "upn", Transform: "lowercase", AccountsFile: "accounts.csv"}, `{"upn":"BOB@corp.example.com"}`,
			Result{Account: "bob.fuyun", Field: "upn", Value: "bob@corp.example.com"}, ""},
		{"table miss", Config{Field: "upn", AccountsFile: "accounts.csv"}, `{"upn":"carol@corp.example.com"}`, Result{}, CodeNotInTable},
		{"inline table hit", Config{Field: "upn", Accounts: accountsCSV}, `{"upn":"alice@corp.example.com"}`,
			Result{Account: "alice.fuyun", Field: "upn", Value: "alice@corp.example.com"}, ""},
		{"inline table miss", Config{Field: "upn", Accounts: accountsCSV}, `{"upn":"carol@corp.example.com"}`, Result{}, CodeNotInTable},
		{"table case-sensitive without transform", Config{Field: "upn", AccountsFile: "accounts.csv"}, `{"upn":"ALICE@corp.example.com"}`, Result{}, CodeNotInTable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustNew(t, tc.cfg, opts)
			got, err := m.Map(claimsJSON(t, tc.claims))
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("Map = %+v, want %s", got, tc.wantErr)
				}
				if code := ErrorCode(err); code != tc.wantErr {
					t.Fatalf("error code %q (%v), want %s", code, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			if *got != tc.want {
				t.Errorf("Map = %+v, want %+v", *got, tc.want)
			}
		})
	}
}

func TestMapScalarTypes(t *testing.T) {
	m := mustNew(t, Config{Field: "id"}, Options{})
	for _, tc := range []struct {
		v    any
		want string // the account, or "!" and the error code
	}{
		{json.Number("4915112345678"), "4915112345678"},
		{json.Number("12345678901234567890"), "12345678901234567890"},
		{json.Number("-7"), "-7"},
		{int64(-7), "-7"},
		{uint8(7), "7"},
		// Not exact integers: fail closed rather than guess the digits.
		{json.Number("4.9e3"), "!" + CodeInvalid},
		{json.Number("12.5"), "!" + CodeInvalid},
		{float64(4915112345678), "!" + CodeInvalid},
		{float64(1e20), "!" + CodeInvalid},
		{float32(3.5), "!" + CodeInvalid},
	} {
		got, err := m.Map(map[string]any{"id": tc.v})
		if code, isErr := strings.CutPrefix(tc.want, "!"); isErr {
			if ErrorCode(err) != code {
				t.Errorf("%T %v: %+v, %v; want %s", tc.v, tc.v, got, err, code)
			}
			continue
		}
		if err != nil {
			t.Errorf("%T %v: %v", tc.v, tc.v, err)
			continue
		}
		if got.Account != tc.want {
			t.Errorf("%T %v: account %q, want %q", tc.v, tc.v, got.Account, tc.want)
		}
	}
}

func TestErrorMessages(t *testing.T) {
	m := mustNew(t, Config{Field: "email", AllowedDomains: []string{"corp.example.com"}}, Options{})
	_, err := m.Map(map[string]any{"email": "bob@other.com", "email_verified": true, "secret_claim": "s3cr3t"})
	var me *Error
	if !errors.As(err, &me) {
		t.Fatalf("got %v, want *Error", err)
	}
	want := `email "bob@other.com" is not in an allowed domain (corp.example.com)`
	if me.Msg != want || err.Error() != want {
		t.Errorf("message %q, want %q", me.Msg, want)
	}
	if me.Field != "email" || me.Value != "bob@other.com" {
		t.Errorf("Field/Value = %q/%q", me.Field, me.Value)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Error("error leaks another claim")
	}

	_, err = m.Map(map[string]any{"other": "x"})
	if !strings.Contains(err.Error(), `"email"`) {
		t.Errorf("missing message %q does not list the fields tried", err)
	}

	long := strings.Repeat("x", 5000)
	_, err = mustNew(t, Config{Field: "upn"}, Options{}).Map(map[string]any{"upn": long})
	if !errors.As(err, &me) || len(me.Msg) > 200 || len(me.Value) > 100 {
		t.Errorf("long value not truncated in error: %d-byte message", len(err.Error()))
	}

	wrapped := fmt.Errorf("login: %w", err)
	if ErrorCode(wrapped) != CodeInvalid {
		t.Errorf("ErrorCode through wrapping = %q", ErrorCode(wrapped))
	}
	if ErrorCode(errors.New("x")) != "" || ErrorCode(nil) != "" {
		t.Error("ErrorCode of a foreign error is not empty")
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	opts := files(map[string]string{"ok.csv": "a,b\n"})
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no field", Config{}},
		{"unknown transform", Config{Field: "email", Transform: "upper"}},
		{"transform case", Config{Field: "email", Transform: "Lowercase"}},
		{"leading dot", Config{Field: ".email"}},
		{"trailing dot", Config{Field: "email."}},
		{"double dot", Config{Field: "address..phone"}},
		{"space in path", Config{Field: "e mail"}},
		{"control in path", Config{Field: "email\n"}},
		{"bad fallback", Config{Field: "email", Fallbacks: []string{""}}},
		{"long path", Config{Field: strings.Repeat("a", 257)}},
		{"empty domain", Config{Field: "email", AllowedDomains: []string{""}}},
		{"at domain", Config{Field: "email", AllowedDomains: []string{"@corp.com"}}},
		{"wildcard domain", Config{Field: "email", AllowedDomains: []string{"*.corp.com"}}},
		{"trailing dot domain", Config{Field: "email", AllowedDomains: []string{"corp.com."}}},
		{"space domain", Config{Field: "email", AllowedDomains: []string{" corp.com"}}},
		{"unicode domain", Config{Field: "email", AllowedDomains: []string{"bücher.de"}}},
		{"Kelvin sign domain", Config{Field: "email", AllowedDomains: []string{"\u212Aorp.com"}}},
		{"missing accounts file", Config{Field: "email", AccountsFile: "nope.csv"}},
		{"inline table malformed", Config{Field: "email", Accounts: "a,b,c\n"}},
		{"strip_domain without allowed_domains", Config{Field: "email", Transform: "strip_domain"}},
		{"strip_domain with only a table", Config{Field: "email", Transform: "strip_domain", AccountsFile: "ok.csv"}},
		{"required claim without values", Config{Field: "email", RequireClaims: []ClaimRule{{Claim: "hd"}}}},
		{"required claim empty value", Config{Field: "email", RequireClaims: []ClaimRule{{Claim: "hd", Values: []string{""}}}}},
		{"required claim bad path", Config{Field: "email", RequireClaims: []ClaimRule{{Claim: "a..b", Values: []string{"x"}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg, opts); err == nil {
				t.Errorf("New(%+v) accepted", tc.cfg)
			}
		})
	}
	if _, err := New(Config{Field: "a", AccountsFile: "ok.csv"}, opts); err != nil {
		t.Errorf("control case refused: %v", err)
	}
}

func TestAccountsFile(t *testing.T) {
	for _, tc := range []struct {
		name      string
		csv       string
		transform string
		want      map[string]string
		wantErr   string // substring, including the line number
	}{
		{"header", "idp_value,fuyun_account_name\na,A\n", "", map[string]string{"a": "A"}, ""},
		{"header any case with spaces", "IDP_Value, Fuyun_Account_Name\na,A\n", "", map[string]string{"a": "A"}, ""},
		{"no header", "a,A\nb,B\n", "", map[string]string{"a": "A", "b": "B"}, ""},
		{"comments and blank lines", "# table\n\na,A\n# more\n\nb,B\n", "", map[string]string{"a": "A", "b": "B"}, ""},
		{"comment before header", "# table\nidp_value,fuyun_account_name\na,A\n", "", map[string]string{"a": "A"}, ""},
		{"byte-order mark", "\ufeffidp_value,fuyun_account_name\na,A\n", "", map[string]string{"a": "A"}, ""},
		{"CRLF", "a,A\r\nb,B\r\n", "", map[string]string{"a": "A", "b": "B"}, ""},
		{"quoted comma", "\"a,x\",A\n", "", map[string]string{"a,x": "A"}, ""},
		{"keys transformed", "Alice@Corp.com,alice\n", "lowercase", map[string]string{"alice@corp.com": "alice"}, ""},
		{"keys strip_domain", "alice@corp.com,alice\n", "strip_domain", map[string]string{"alice": "alice"}, ""},
		{"keys e164", "0049 151 12345678,alice\n", "e164", map[string]string{"+4915112345678": "alice"}, ""},
		{"header only later is data", "a,A\nidp_value,fuyun_account_name\n", "", map[string]string{"a": "A", "idp_value": "fuyun_account_name"}, ""},
		{"duplicate", "idp_value,fuyun_account_name\na,A\nb,B\na,C\n", "", nil, "line 4: duplicate idp_value \"a\""},
		{"duplicate names first line", "a,A\n\n# x\na,C\n", "", nil, "first on line 1"},
		{"duplicate after transform", "alice@corp.com,A\nALICE@corp.com,B\n", "lowercase", nil, "line 2: duplicate"},
		{"duplicate after strip_domain", "alice@corp.com,A\nalice@other.com,B\n", "strip_domain", nil, "line 2: duplicate"},
		{"one field", "a,A\nb\n", "", nil, "line 2: want 2 fields"},
		{"three fields", "# c\na,A,x\n", "", nil, "line 2: want 2 fields"},
		{"empty key", "a,A\n,B\n", "", nil, "line 2: idp_value"},
		{"empty account", "a,A\nb, \n", "", nil, "line 2: fuyun_account_name"},
		{"long account", "a," + strings.Repeat("x", 257) + "\n", "", nil, "line 1: fuyun_account_name"},
		{"control in account", "a,\"x\ty\"\n", "", nil, "line 1: fuyun_account_name"},
		{"key fails transform", "+4915112345678,A\nnot a phone,B\n", "e164", nil, "line 2: idp_value"},
		{"bad quoting", "a,A\n\"b,B\n", "", nil, "line 2"},
		{"empty file", "", "", nil, "no entries"},
		{"header only", "idp_value,fuyun_account_name\n", "", nil, "no entries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(Config{Field: "v", Transform: tc.transform, AllowedDomains: []string{"corp.com"}, AccountsFile: "t.csv"}, files(map[string]string{"t.csv": tc.csv}))
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("accepted, table %v", m.accounts)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %q does not contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(m.accounts) != fmt.Sprint(tc.want) {
				t.Errorf("table %v, want %v", m.accounts, tc.want)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	claims := map[string]any{
		"email":                          "a@b.c",
		"address":                        map[string]any{"phone": "+49", "geo": map[string]any{"city": "Berlin"}, "nil": nil},
		"https://example.com/claims.uid": "url-claim",
		"ext":                            map[string]any{"https://example.com/roles": "admin"},
		"a.b":                            "literal",
		"a":                              map[string]any{"b": "nested"},
		"list":                           []any{map[string]any{"x": "y"}},
		"str":                            "not an object",
	}
	for _, tc := range []struct {
		path    string
		want    any
		present bool
	}{
		{"email", "a@b.c", true},
		{"address.phone", "+49", true},
		{"address.geo.city", "Berlin", true},
		{"address.nil", nil, true},
		{"https://example.com/claims.uid", "url-claim", true},
		{"ext.https://example.com/roles", "admin", true},
		{"a.b", "literal", true}, // the literal key wins over the nested path
		{"address.missing", nil, false},
		{"address.phone.x", nil, false},
		{"list.0.x", nil, false},
		{"str.x", nil, false},
		{"nope", nil, false},
		{"", nil, false},
	} {
		got, ok := Lookup(claims, tc.path)
		if ok != tc.present || got != tc.want {
			t.Errorf("Lookup(%q) = %v, %v; want %v, %v", tc.path, got, ok, tc.want, tc.present)
		}
	}
	if v, ok := Lookup(nil, "x"); ok || v != nil {
		t.Error("Lookup on nil claims found something")
	}
}

var e164Re = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

// FuzzMap checks that transforms and path lookup never panic, that every accepted value has the shape of a
// user_name, and that e164 output always matches E.164.
func FuzzMap(f *testing.F) {
	for _, s := range []struct{ path, value string }{
		{"phone_number", "+49 (151) 123-45678"},
		{"address.phone", "0049.151.12345678"},
		{"email", "Alice@Corp.Example.com"},
		{"a..b", "x"},
		{"a.b.c", "+0"},
		{"upn", "alice@"},
		{"x", "00"},
		{"x", "+１２３４５６７８９"},
		{"x", "a\x00b"},
	} {
		f.Add(s.path, s.value)
	}
	f.Fuzz(func(t *testing.T, path, value string) {
		claims := map[string]any{path: value, "email_verified": true, path + "_verified": true}
		// Also place the value under the nested interpretation of path.
		nested := map[string]any{}
		cur := nested
		segs := strings.Split(path, ".")
		for _, s := range segs[:len(segs)-1] {
			next := map[string]any{}
			cur[s] = next
			cur = next
		}
		cur[segs[len(segs)-1]] = value
		cur[segs[len(segs)-1]+"_verified"] = true
		Lookup(nested, path)
		Lookup(claims, path)

		for name, tf := range transforms {
			// The transform itself, whatever New would accept around it (strip_domain needs allowed_domains).
			if out, err := tf(value); err == nil && name == "strip_domain" && strings.Contains(out, "@") {
				t.Fatalf("strip_domain(%q) = %q still holds an @", value, out)
			}
			m, err := New(Config{Field: path, Transform: name}, Options{})
			if err != nil {
				continue
			}
			for _, c := range []map[string]any{claims, nested} {
				res, err := m.Map(c)
				if err != nil {
					if ErrorCode(err) == "" {
						t.Fatalf("Map error without a code: %v", err)
					}
					continue
				}
				if checkValue(res.Account) != nil || checkIdentifier(res.Account) != nil {
					t.Fatalf("transform %q accepted bad account %q", name, res.Account)
				}
				if name == "e164" && !e164Re.MatchString(res.Value) {
					t.Fatalf("e164(%q) = %q", value, res.Value)
				}
			}
		}
	})
}

func TestPinsSubject(t *testing.T) {
	opts := files(map[string]string{"subs.csv": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ,alice\n"})
	for _, tc := range []struct {
		name string
		cfg  Config
		want bool
	}{
		{"sub table", Config{Field: "sub", AccountsFile: "subs.csv"}, true},
		{"sub table, transform none", Config{Field: "sub", Transform: "none", AccountsFile: "subs.csv"}, true},
		{"sub without a table", Config{Field: "sub"}, false},
		{"sub table with a fallback", Config{Field: "sub", Fallbacks: []string{"email"}, AccountsFile: "subs.csv"}, false},
		{"sub table, lower-cased", Config{Field: "sub", Transform: "lowercase", AccountsFile: "subs.csv"}, false},
		{"email table", Config{Field: "email", AccountsFile: "subs.csv"}, false},
		{"oid table", Config{Field: "oid", AccountsFile: "subs.csv"}, false},
	} {
		if got := mustNew(t, tc.cfg, opts).PinsSubject(); got != tc.want {
			t.Errorf("%s: PinsSubject = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Issue 13, finding 4: Unicode case folding and look-alike code points let an IdP value become, or pass the
// domain check of, an ASCII name.
func TestMapLookalikes(t *testing.T) {
	lower := Config{Field: "preferred_username", Transform: "lowercase"}
	plain := Config{Field: "preferred_username"}
	for _, tc := range []struct {
		name  string
		cfg   Config
		value string
		want  string // the account, or "!" and the error code
	}{
		{"Kelvin sign is not k", lower, "\u212Aate", "!" + CodeInvalid},
		{"dotted capital I is not i", lower, "AL\u0130CE", "al\u0130ce"},
		{"ASCII still folds", lower, "  ALICE ", "alice"},
		{"Hangul filler U+3164", plain, "\u3164alice", "!" + CodeInvalid},
		{"Hangul choseong filler U+115F", plain, "alice\u115F", "!" + CodeInvalid},
		{"full-width letters", plain, "ａｌｉｃｅ", "!" + CodeInvalid},
		{"Kelvin sign untransformed", plain, "\u212Aate", "!" + CodeInvalid},
		{"Cyrillic а + Latin lice", plain, "\u0430lice", "!" + CodeInvalid},
		{"Latin + Greek", lower, "alic\u03b5", "!" + CodeInvalid},
		{"Hangul + Hiragana", plain, "김さん", "!" + CodeInvalid},
		{"Chinese name", plain, "张三", "张三"},
		{"Japanese name", plain, "田中さくら", "田中さくら"},
		{"Korean name", plain, "김철수", "김철수"},
		{"Latin + Han", plain, "alice张", "alice张"},
		{"accented Latin", plain, "jos\u00e9", "jos\u00e9"},
		{"digits", plain, "1001", "1001"},
		{"space inside", plain, "alice smith", "!" + CodeInvalid},
		{"phone", Config{Field: "phone_number", Transform: "e164", RequireVerified: boolPtr(false)}, "+8613800138000", "+8613800138000"},
		{"ASCII email", Config{Field: "email", Transform: "lowercase"}, "Alice@Corp.Example.com", "alice@corp.example.com"},
		{"domain with Kelvin sign", Config{Field: "email", AllowedDomains: []string{"example.co.uk"}}, "alice@EXAMPLE.CO.U\u212A", "!" + CodeDomainNotAllowed},
		{"domain with dotted capital I", Config{Field: "email", AllowedDomains: []string{"example.io"}}, "alice@EXAMPLE.\u0130O", "!" + CodeDomainNotAllowed},
		{"domain in ASCII capitals", Config{Field: "email", AllowedDomains: []string{"example.io"}}, "alice@EXAMPLE.IO", "alice@EXAMPLE.IO"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims := map[string]any{tc.cfg.Field: tc.value, "email_verified": true}
			got, err := mustNew(t, tc.cfg, Options{}).Map(claims)
			if code, isErr := strings.CutPrefix(tc.want, "!"); isErr {
				if ErrorCode(err) != code {
					t.Fatalf("Map(%q) = %+v, %v; want %s", tc.value, got, err, code)
				}
				return
			}
			if err != nil || got.Account != tc.want {
				t.Fatalf("Map(%q) = %+v, %v; want account %q", tc.value, got, err, tc.want)
			}
		})
	}
}
