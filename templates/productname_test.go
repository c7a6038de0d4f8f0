package templates

import (
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/fuyun-bridge/fuyun-bridge/static"
)

// TestOneProductName: the pages, the widget and the SDK call the product by one name per language — the
// brand the sign-in page uses ("Fuyun contact center", "智能联络中心") — never a shortened form such as
// "登录联络中心", "the contact center" or "Fuyun sign-in". A text names the product when it contains a word
// of the name.
func TestOneProductName(t *testing.T) {
	names := []struct {
		lang, name string
		words      *regexp.Regexp // must match only inside name
	}{
		// "Fuyun" as a word: the identifiers fuyun-bridge and FuyunBridge are not prose.
		{LangEN, uiEN["brand"], regexp.MustCompile(`(?i:contact cent(?:er|re))|\bFuyun\b`)},
		{LangZH, uiZH["brand"], regexp.MustCompile(`联络中心|智能`)},
	}
	texts := map[string]map[string]string{LangEN: {}, LangZH: {}}
	for key, s := range uiEN {
		texts[LangEN]["messages.go uiEN "+key] = s
	}
	for key, s := range uiZH {
		texts[LangZH]["messages.go uiZH "+key] = s
	}
	for code, e := range errorsEN {
		texts[LangEN]["messages.go errorsEN "+code] = e.title + "\n" + e.message + "\n" + e.hint
	}
	for code, e := range errorsZH {
		texts[LangZH]["messages.go errorsZH "+code] = e.title + "\n" + e.message + "\n" + e.hint
	}
	// The scripts' own strings (the SDK's iframe title, its error sentences), by language of their letters.
	scripts, err := fs.Glob(static.FS, "*.js")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no scripts in static.FS: %v", err)
	}
	literal := regexp.MustCompile(`"(?:[^"\\\n]|\\.)*"`)
	han := regexp.MustCompile(`\p{Han}`)
	for _, name := range scripts {
		b, err := static.FS.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, lit := range literal.FindAllString(string(b), -1) {
			s, err := strconv.Unquote(lit)
			if err != nil {
				s = lit
			}
			lang := LangEN
			if han.MatchString(s) {
				lang = LangZH
			}
			texts[lang]["static/"+name+" string "+strconv.Itoa(i)] = s
		}
	}

	if !strings.Contains(uiEN["signin.heading"], uiEN["brand"]) || !strings.Contains(uiZH["signin.heading"], uiZH["brand"]) {
		t.Fatalf("the sign-in headings %q, %q do not use the brand %q, %q", uiEN["signin.heading"], uiZH["signin.heading"], uiEN["brand"], uiZH["brand"])
	}
	for _, n := range names {
		if len(texts[n.lang]) < 50 {
			t.Fatalf("%s: only %d texts found", n.lang, len(texts[n.lang]))
		}
		for where, s := range texts[n.lang] {
			// Blank out every use of the full name; any word of it left over is another name.
			if w := n.words.FindString(strings.ReplaceAll(s, n.name, " ")); w != "" {
				t.Errorf("%s: %q names the product otherwise than %q (%q)", where, s, n.name, w)
			}
		}
	}
}
