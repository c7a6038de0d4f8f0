package config

import (
	"errors"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Session key pairs: keyA is standard padded base64 : URL-safe unpadded, keyB likewise.
const (
	keyA = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=:paWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaU"
	keyB = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=:pqampqampqampqampqampqampqampqampqampqampqY"
	// key16 is a 16-byte key, the wrong length for either half.
	key16 = "eHh4eHh4eHh4eHh4eHh4eA=="
)

// Sections of a minimal valid config; a test snippet replaces the sections whose top-level keys it has.
const (
	baseServer  = "server:\n  public_url: https://bridge.example.com\n"
	baseSession = "session:\n  keys: [\"" + keyA + "\"]\n"
	baseFuyun   = "fuyun:\n  client_id: fuyun-client\n  client_secret: base-fuyun-secret\n" +
		"  redirect_url: https://bridge.example.com/callback\n  app_name: crmapp\n"
	baseProviders = "providers:\n  - id: ms\n    type: microsoft\n    tenant: organizations\n    allowed_tenants: [72f988bf-86f1-41af-91ab-2d7cd011db47]\n    client_id: ms-client\n"
)

// topKey matches a top-level key at the start of a line.
var topKey = regexp.MustCompile(`(?m)^([A-Za-z_]+):`)

// compose puts snippet first (so its line numbers are the document's) and appends the base sections it
// does not replace.
func compose(snippet string) string {
	have := map[string]bool{}
	for _, m := range topKey.FindAllStringSubmatch(snippet, -1) {
		have[m[1]] = true
	}
	doc := snippet
	for _, s := range []string{baseServer, baseSession, baseFuyun, baseProviders} {
		if k := topKey.FindStringSubmatch(s)[1]; !have[k] {
			doc += s
		}
	}
	return doc
}

// testOptions returns hermetic ParseOptions: env and files are the whole world, Dir is /cfg.
func testOptions(env, files map[string]string) ParseOptions {
	return ParseOptions{
		Name: "config.yaml",
		Dir:  "/cfg",
		LookupEnv: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
		ReadFile: func(name string) ([]byte, error) {
			v, ok := files[filepath.ToSlash(name)]
			if !ok {
				return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
			}
			return []byte(v), nil
		},
	}
}

// parse parses doc with testOptions and returns the config and the problems (nil when valid).
func parse(t *testing.T, doc string, env, files map[string]string) (*Config, Problems) {
	t.Helper()
	cfg, err := Parse([]byte(doc), testOptions(env, files))
	if err == nil {
		if cfg == nil {
			t.Fatal("Parse returned neither config nor error")
		}
		return cfg, nil
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Parse error is %T, want Problems: %v", err, err)
	}
	if cfg != nil {
		t.Error("Parse returned a config along with problems")
	}
	if len(ps) == 0 {
		t.Fatal("Parse returned an empty Problems")
	}
	return nil, ps
}

// mustParse parses doc and fails the test on any problem.
func mustParse(t *testing.T, doc string, env, files map[string]string) *Config {
	t.Helper()
	cfg, ps := parse(t, doc, env, files)
	if ps != nil {
		t.Fatalf("unexpected problems:\n%v\ndocument:\n%s", ps, doc)
	}
	return cfg
}

// find returns the problem at path, if any.
func find(ps Problems, path string) (Problem, bool) {
	for _, p := range ps {
		if p.Path == path {
			return p, true
		}
	}
	return Problem{}, false
}

// paths lists the problems' paths, for failure messages.
func paths(ps Problems) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}
