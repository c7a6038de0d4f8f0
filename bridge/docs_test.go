package bridge

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// docFiles are the user-facing documents: the README, the security policy and the guides.
func docFiles(t *testing.T) []string {
	t.Helper()
	guides, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"../README.md", "../SECURITY.md", "../CHANGELOG.md"}, guides...)
}

// TestDocsLinksResolve: every relative link of the README and the guides names a file of the repository, every
// Markdown document they mention by path is one, and none cites a section of a document by number ("§"): the
// reader of a clone has nothing to look it up in.
func TestDocsLinksResolve(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mentioned := regexp.MustCompile("`([A-Za-z0-9_./-]+\\.md)`")
	for _, doc := range docFiles(t) {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		if strings.Contains(text, "§") {
			t.Errorf("%s cites a section by number", doc)
		}
		for _, m := range mentioned.FindAllStringSubmatch(text, -1) {
			if !existsInRepo(doc, m[1]) {
				t.Errorf("%s mentions %s, which is not in the repository", doc, m[1])
			}
		}
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.HasPrefix(target, "http") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, _, _ := strings.Cut(target, "#")
			if _, err := os.Stat(filepath.Join(filepath.Dir(doc), path)); err != nil {
				t.Errorf("%s links to %s, which does not exist", doc, target)
			}
		}
	}
}

// existsInRepo reports whether path, as a document mentions it, names a file: relative to the document or to
// the repository's root.
func existsInRepo(doc, path string) bool {
	for _, base := range []string{filepath.Dir(doc), ".."} {
		if _, err := os.Stat(filepath.Join(base, path)); err == nil {
			return true
		}
	}
	return false
}

// TestDocsStateTheCodesValues keeps one value per fact: each figure the documents state about a limit is the
// code's constant, and no document states another value for it.
func TestDocsStateTheCodesValues(t *testing.T) {
	var all strings.Builder
	for _, doc := range docFiles(t) {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	docs := all.String()
	secs := func(d time.Duration) string { return fmt.Sprintf("%d s", int(d/time.Second)) }
	facts := []struct {
		fact  string
		want  string         // must appear
		wrong *regexp.Regexp // another value for the same fact must not
	}{
		{"the login deadline", "callback is bounded by " + secs(DefaultLoginTimeout), regexp.MustCompile(`callback is bounded by (\d+) s`)},
		{"the login-state lifetime", fmt.Sprintf("single use, %d minutes", int(stateTTL/time.Minute)), regexp.MustCompile(`single use, (\d+) minutes`)},
		{"login states kept per browser", fmt.Sprintf("holds the %d newest logins", maxLoginStates), regexp.MustCompile(`holds the (\d+) newest logins`)},
		{"the readiness ping backoff", "the next one waits " + secs(PingBackoffMin), regexp.MustCompile(`the next one waits (\d+) s`)},
		{"the keep-warm default", fmt.Sprintf("`%ds`", int(DefaultKeepWarm/time.Second)), regexp.MustCompile("`server.keep_warm` \\| `(\\d+)s`")},
	}
	for _, f := range facts {
		if !strings.Contains(docs, f.want) {
			t.Errorf("%s: the documents never say %q", f.fact, f.want)
		}
		for _, m := range f.wrong.FindAllStringSubmatch(docs, -1) {
			if !strings.Contains(f.want, m[1]) {
				t.Errorf("%s: a document says %q", f.fact, m[0])
			}
		}
	}
}
