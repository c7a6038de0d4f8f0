package apikeys

import (
	"strings"
	"testing"
)

func TestGenerateThenVerify(t *testing.T) {
	key, line, err := Generate("crm-prod")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, "fbk_crm-prod.") || len(key) != len("fbk_crm-prod.")+43 {
		t.Errorf("key shape %q", key)
	}
	if strings.Contains(line, key) || strings.Contains(line, strings.TrimPrefix(key, "fbk_crm-prod.")) {
		t.Fatal("the keys-file line contains the key")
	}
	other, otherLine, _ := Generate("crm-test")
	set, err := Parse(strings.NewReader("# keys\n\n"+line+"\n"+otherLine+"\n"), "keys")
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 2 {
		t.Fatalf("Len = %d", set.Len())
	}
	tests := []struct {
		name, key, wantID string
	}{
		{"first key", key, "crm-prod"},
		{"second key", other, "crm-test"},
		{"secret of one, id of the other", "fbk_crm-test." + strings.TrimPrefix(key, "fbk_crm-prod."), ""},
		{"one character changed", key[:len(key)-1] + flip(key[len(key)-1]), ""},
		{"unknown id", "fbk_nobody." + strings.TrimPrefix(key, "fbk_crm-prod."), ""},
		{"no prefix", strings.TrimPrefix(key, "fbk_"), ""},
		{"empty secret", "fbk_crm-prod.", ""},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, ok := set.Verify(tc.key)
			if id != tc.wantID || ok != (tc.wantID != "") {
				t.Errorf("Verify = %q, %v; want %q", id, ok, tc.wantID)
			}
		})
	}
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestParseRefusals(t *testing.T) {
	const hash = "0000000000000000000000000000000000000000000000000000000000000000"
	key, _, _ := Generate("k1")
	tests := []struct {
		name, file, want string
	}{
		{"two fields", "k1:" + hash + "\n", "line 1: want <id>:sha256"},
		{"bad id", "bad id:sha256:" + hash + "\n", "line 1: key id"},
		{"unknown hash", "k1:md5:" + hash + "\n", `unknown hash "md5"`},
		{"short hash", "# c\nk1:sha256:abcd\n", "line 2 (key k1): the hash must be 64 hex digits"},
		{"duplicate", "k1:sha256:" + hash + "\nk1:sha256:" + hash + "\n", "line 2: key id k1 is used twice"},
		{"a key instead of its hash", key + "\n", "looks like a key itself"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.file), "keys")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), hash) || strings.Contains(err.Error(), key) {
				t.Errorf("error quotes the file's secret material: %v", err)
			}
		})
	}
}

func TestGenerateRefusesBadIDs(t *testing.T) {
	for _, id := range []string{"", "a.b", "a:b", strings.Repeat("x", 33), "ünï"} {
		if _, _, err := Generate(id); err == nil {
			t.Errorf("Generate(%q) succeeded", id)
		}
	}
}

func TestFromHeader(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Bearer fbk_a.b", "fbk_a.b"},
		{"bearer  fbk_a.b ", "fbk_a.b"},
		{"Basic Zm9vOmJhcg==", ""},
		{"Bearer", ""},
		{"", ""},
	}
	for _, tc := range tests {
		got, err := FromHeader(tc.in)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("FromHeader(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
