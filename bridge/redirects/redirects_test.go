package redirects

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var testAllowed = []string{
	"https://crm.example.com",
	"https://*.apps.example.com",
	"https://*.example.org/",
	"http://localhost:3000",
	"https://crm.example.com:8443",
	"http://[::1]:5173",
	"https://xn--bcher-kva.example",
}

func newTestList(t testing.TB) *AllowList {
	t.Helper()
	self, err := url.Parse("https://bridge.example.com")
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(testAllowed, self)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

// refusedTargets are open-redirect payloads; every one must be refused by Check. They also seed FuzzCheck,
// and testdata/fuzz/FuzzCheck holds them as files (TestSeedCorpusRefused checks each file is refused).
var refusedTargets = []struct{ name, raw string }{
	{"protocol-relative", "//evil.com"},
	{"protocol-relative path", "//evil.com/x"},
	{"slash backslash", `/\evil.com`},
	{"backslash slash", `\/evil.com`},
	{"slash backslash slash", `/\/evil.com`},
	{"double backslash", `\\evil.com`},
	{"backslash in path", `/a\b`},
	{"triple slash", "///evil.com"},
	{"https opaque", "https:evil.com"},
	{"https one slash", "https:/evil.com"},
	{"https three slashes", "https:///evil.com"},
	{"https backslashes", `https:\\evil.com`},
	{"encoded double slash", "/%2F%2Fevil.com"},
	{"encoded double slash lower", "/%2f%2fevil.com"},
	{"encoded slash after slash", "/%2Fevil.com"},
	{"encoded backslash", "/%5Cevil.com"},
	{"encoded backslash lower", "/%5cevil.com"},
	{"double encoded slash", "/%252F%252Fevil.com"},
	{"encoded dots", "/%2e%2e//evil.com"},
	{"dot segments to double slash", "/..//evil.com"},
	{"encoded dot segment", "/%2e%2e/evil.com"},
	{"encoded dot segment upper", "/a/%2E/b"},
	{"trailing dot dot", "/a/.."},
	{"dot segment", "/./x"},
	{"double slash inside path", "/a//evil.com"},
	{"encoded NUL", "/x%00"},
	{"encoded CR LF", "/x%0d%0aLocation:%20http://evil.com"},
	{"encoded DEL", "/x%7f"},
	{"encoded control in query", "/x?a=%0a"},
	{"malformed escape", "/x%zz"},
	{"truncated escape", "/x%2"},
	{"tab", "/\tevil"},
	{"tab before slash", "/\t/evil.com"},
	{"CRLF header injection", "/\r\nLocation: x"},
	{"LF", "/x\ny"},
	{"NUL", "/x\x00"},
	{"NUL first", "\x00/x"},
	{"DEL", "/x\x7f"},
	{"space in path", "/a b"},
	{"leading space slash", " /x"},
	{"javascript", "javascript:alert(1)"},
	{"javascript leading space", " javascript:alert(1)"},
	{"javascript mixed case", "JaVaScRiPt:alert(1)"},
	{"javascript tab inside", "java\tscript:alert(1)"},
	{"javascript with slashes", "javascript://crm.example.com/%0aalert(1)"},
	{"data", "data:text/html,<script>alert(1)</script>"},
	{"data base64", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="},
	{"vbscript", "vbscript:msgbox(1)"},
	{"file", "file:///etc/passwd"},
	{"ftp", "ftp://crm.example.com/"},
	{"ws", "wss://crm.example.com/"},
	{"bare host", "evil.com"},
	{"bare allowed host", "crm.example.com/x"},
	{"userinfo host trick", "https://crm.example.com@evil.com"},
	{"userinfo with port", "https://crm.example.com:443@evil.com"},
	{"userinfo on allowed host", "https://user:pass@crm.example.com/"},
	{"userinfo user only", "https://user@crm.example.com/"},
	{"encoded at", "https://crm.example.com%40evil.com"},
	{"backslash at", `https://crm.example.com\@evil.com`},
	{"backslash host end", `https://evil.com\.crm.example.com`},
	{"fragment at", "https://evil.com#@crm.example.com"},
	{"query host", "https://evil.com?crm.example.com"},
	{"path host", "https://evil.com/crm.example.com"},
	{"suffix attack", "https://crm.example.com.evil.com"},
	{"suffix attack path", "https://crm.example.com.evil.com/x"},
	{"prefix attack", "https://evilcrm.example.com"},
	{"wildcard sibling", "https://evilapps.example.com"},
	{"wildcard bare domain", "https://apps.example.com"},
	{"wildcard bare domain org", "https://example.org/"},
	{"wildcard parent", "https://example.com"},
	{"wildcard wrong scheme", "http://a.apps.example.com"},
	{"wildcard wrong port", "https://a.apps.example.com:444"},
	{"wrong port", "https://crm.example.com:444/"},
	{"port zero-padded", "https://crm.example.com:0443/"},
	{"port out of range", "https://crm.example.com:70000/"},
	{"port not a number", "https://crm.example.com:https/"},
	{"wrong scheme", "http://crm.example.com/"},
	{"wrong scheme default port", "http://crm.example.com:443/"},
	{"https on http entry", "https://localhost:3000/"},
	{"localhost other port", "http://localhost:3001/"},
	{"localhost no port", "http://localhost/"},
	{"IPv6 other port", "http://[::1]:5174/"},
	{"unicode ideographic dots", "https://crm。example。com"},
	{"unicode fullwidth dot", "https://crm．example．com/"},
	{"unicode fullwidth slash", "/／evil.com"},
	{"unicode host", "https://bücher.example/"},
	{"encoded unicode host", "https://b%C3%BCcher.example/"},
	{"trailing dot", "https://crm.example.com./x"},
	{"trailing dot bare", "https://crm.example.com."},
	{"empty label", "https://crm..example.com/"},
	{"empty host", "https:///x"},
	{"empty host with port", "https://:443/x"},
	{"underscore host", "https://a_b.apps.example.com/"},
	{"unclosed IPv6", "http://[::1:5173/"},
	{"IPv4 in IPv6 literal", "http://[127.0.0.1]:5173/"},
	{"non-standard IPv4", "http://127.1:3000/"},
	{"scheme only", "https:"},
	{"scheme relative dot", "https:.//evil.com"},
	{"mailto", "mailto:a@crm.example.com"},
	{"question only", "?next=//evil.com"},
	{"hash only", "#x"},
	{"dot slash", "./x"},
	{"dot dot", "../x"},
	{"very long", "/" + strings.Repeat("a", MaxLength)},
	{"very long absolute", "https://crm.example.com/" + strings.Repeat("a", MaxLength)},
}

func TestCheckRefuses(t *testing.T) {
	a := newTestList(t)
	for _, tc := range refusedTargets {
		t.Run(tc.name, func(t *testing.T) {
			got, err := a.Check(tc.raw)
			if err == nil {
				t.Fatalf("Check(%q) = %q, want refusal", tc.raw, got)
			}
			if !errors.Is(err, ErrNotAllowed) {
				t.Errorf("Check(%q) error %v does not wrap ErrNotAllowed", tc.raw, err)
			}
			if got != "" {
				t.Errorf("Check(%q) returned %q alongside an error", tc.raw, got)
			}
		})
	}
}

func TestCheckAllows(t *testing.T) {
	a := newTestList(t)
	for _, tc := range []struct{ name, raw, want string }{
		{"empty means default", "", ""},
		{"root", "/", "/"},
		{"path", "/dashboard", "/dashboard"},
		{"path with query", "/dashboard?tab=1", "/dashboard?tab=1"},
		{"path with fragment", "/a/b#sec", "/a/b#sec"},
		{"encoded slash in query", "/login?next=%2Fhome", "/login?next=%2Fhome"},
		{"double slash in query", "/x?u=https://evil.com//y", "/x?u=https://evil.com//y"},
		{"encoded utf-8 path", "/caf%C3%A9", "/caf%C3%A9"},
		{"colon in path", "/a:b", "/a:b"},
		{"exact origin", "https://crm.example.com", "https://crm.example.com"},
		{"exact origin slash", "https://crm.example.com/", "https://crm.example.com/"},
		{"exact origin path query", "https://crm.example.com/deals?id=7&x=%2F#top", "https://crm.example.com/deals?id=7&x=%2F#top"},
		{"explicit default port", "https://crm.example.com:443/x", "https://crm.example.com:443/x"},
		{"upper case scheme and host", "HTTPS://CRM.Example.COM/Path", "https://crm.example.com/Path"},
		{"non-default port entry", "https://crm.example.com:8443/x", "https://crm.example.com:8443/x"},
		{"wildcard one label", "https://a.apps.example.com/x", "https://a.apps.example.com/x"},
		{"wildcard two labels", "https://b.a.apps.example.com/", "https://b.a.apps.example.com/"},
		{"wildcard with trailing slash entry", "https://shop.example.org/", "https://shop.example.org/"},
		{"loopback http", "http://localhost:3000/cb?x=1", "http://localhost:3000/cb?x=1"},
		{"IPv6 loopback", "http://[::1]:5173/", "http://[::1]:5173/"},
		{"punycode host", "https://xn--bcher-kva.example/", "https://xn--bcher-kva.example/"},
		{"bridge itself", "https://bridge.example.com/logged-out", "https://bridge.example.com/logged-out"},
		{"bridge itself port 443", "https://bridge.example.com:443/", "https://bridge.example.com:443/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := a.Check(tc.raw)
			if err != nil {
				t.Fatalf("Check(%q): %v", tc.raw, err)
			}
			if got != tc.want {
				t.Errorf("Check(%q) = %q, want %q", tc.raw, got, tc.want)
			}
		})
	}
}

func TestCheckLengthBoundary(t *testing.T) {
	a := newTestList(t)
	atLimit := "/" + strings.Repeat("a", MaxLength-1)
	if _, err := a.Check(atLimit); err != nil {
		t.Errorf("target of exactly %d bytes refused: %v", MaxLength, err)
	}
	if _, err := a.Check(atLimit + "a"); err == nil {
		t.Errorf("target of %d bytes allowed", MaxLength+1)
	}
}

func TestAllowsOrigin(t *testing.T) {
	a := newTestList(t)
	for _, tc := range []struct {
		origin string
		want   bool
	}{
		{"https://crm.example.com", true},
		{"https://CRM.example.com", true},
		{"https://crm.example.com:443", true},
		{"https://crm.example.com:8443", true},
		{"https://x.apps.example.com", true},
		{"http://localhost:3000", true},
		{"http://[::1]:5173", true},
		{"https://bridge.example.com", true},
		{"https://crm.example.com/", false},
		{"https://crm.example.com/x", false},
		{"https://crm.example.com:444", false},
		{"http://crm.example.com", false},
		{"https://apps.example.com", false},
		{"https://evilapps.example.com", false},
		{"https://crm.example.com.evil.com", false},
		{"https://crm.example.com.", false},
		{"https://u@crm.example.com", false},
		{"null", false},
		{"", false},
		{"crm.example.com", false},
		{"https://crm。example。com", false},
	} {
		if got := a.AllowsOrigin(tc.origin); got != tc.want {
			t.Errorf("AllowsOrigin(%q) = %v, want %v", tc.origin, got, tc.want)
		}
	}
}

func TestNewRefusesBadEntries(t *testing.T) {
	self, _ := url.Parse("https://bridge.example.com")
	for _, tc := range []struct{ name, entry string }{
		{"no scheme", "crm.example.com"},
		{"ftp", "ftp://crm.example.com"},
		{"http non-loopback", "http://crm.example.com"},
		{"http wildcard", "http://*.example.com"},
		{"http wildcard localhost", "http://*.localhost:3000"},
		{"path", "https://crm.example.com/app"},
		{"query", "https://crm.example.com?x"},
		{"fragment", "https://crm.example.com#x"},
		{"userinfo", "https://u@crm.example.com"},
		{"wildcard not whole label", "https://*crm.example.com"},
		{"wildcard in middle", "https://crm.*.example.com"},
		{"double wildcard", "https://*.*.example.com"},
		{"bare wildcard", "https://*"},
		{"wildcard over TLD", "https://*.com"},
		{"wildcard over IP", "https://*.0.0.1"},
		{"trailing dot", "https://crm.example.com."},
		{"unicode host", "https://bücher.example"},
		{"bad port", "https://crm.example.com:99999"},
		{"zero port", "https://crm.example.com:0"},
		{"empty host", "https://"},
		{"space", " https://crm.example.com"},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New([]string{"https://ok.example.com", tc.entry}, self); err == nil {
				t.Errorf("New accepted %q", tc.entry)
			}
		})
	}
	if _, err := New(nil, nil); err == nil {
		t.Error("New accepted a nil public URL")
	}
	bad, _ := url.Parse("https://bridge.example.com./")
	if _, err := New(nil, bad); err == nil {
		t.Error("New accepted a public URL with a trailing dot")
	}
}

func TestSelfOriginOnly(t *testing.T) {
	self, _ := url.Parse("http://127.0.0.1:8080/base/path")
	a, err := New(nil, self)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Check("http://127.0.0.1:8080/x"); err != nil {
		t.Errorf("own origin refused: %v", err)
	}
	for _, raw := range []string{"http://127.0.0.1:8081/x", "https://127.0.0.1:8080/x", "http://localhost:8080/"} {
		if _, err := a.Check(raw); err == nil {
			t.Errorf("Check(%q) allowed with an empty allow-list", raw)
		}
	}
}

// FuzzCheck asserts the safety property, not the exact rules: whatever Check accepts is a relative path that
// cannot be read as a host, or an absolute URL whose origin Go parses to an allowed one.
func FuzzCheck(f *testing.F) {
	for _, tc := range refusedTargets {
		f.Add(tc.raw)
	}
	for _, s := range []string{"/dashboard?tab=1", "https://crm.example.com/x", "https://a.apps.example.com/"} {
		f.Add(s)
	}
	a := newTestList(f)
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := a.Check(raw)
		if err != nil {
			if !errors.Is(err, ErrNotAllowed) || got != "" {
				t.Fatalf("Check(%q) = %q, %v", raw, got, err)
			}
			return
		}
		if got == "" {
			if raw != "" {
				t.Fatalf("Check(%q) = \"\" without an error", raw)
			}
			return
		}
		for i := 0; i < len(got); i++ {
			if c := got[i]; c < 0x20 || c == 0x7f || c == '\\' {
				t.Fatalf("Check(%q) = %q contains byte 0x%02x", raw, got, c)
			}
		}
		if got[0] == '/' {
			if strings.HasPrefix(got, "//") {
				t.Fatalf("Check(%q) = %q is protocol-relative", raw, got)
			}
			u, err := url.Parse(got)
			if err != nil || u.Host != "" || u.Scheme != "" {
				t.Fatalf("Check(%q) = %q does not parse as a path: %v", raw, got, err)
			}
			return
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("Check(%q) = %q does not parse: %v", raw, got, err)
		}
		if u.User != nil || (u.Scheme != "https" && u.Scheme != "http") {
			t.Fatalf("Check(%q) = %q has user info or a bad scheme", raw, got)
		}
		if !a.AllowsOrigin(u.Scheme + "://" + u.Host) {
			t.Fatalf("Check(%q) = %q whose origin is not allowed", raw, got)
		}
	})
}

func TestSeedCorpusRefused(t *testing.T) {
	files, err := filepath.Glob("testdata/fuzz/FuzzCheck/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed corpus: %v", err)
	}
	a := newTestList(t)
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) != 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "string(") {
			t.Fatalf("%s: unexpected corpus format", name)
		}
		raw, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, err := a.Check(raw); err == nil {
			t.Errorf("%s: Check(%q) = %q, want refusal", name, raw, got)
		}
	}
}
