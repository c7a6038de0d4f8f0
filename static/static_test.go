package static

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

func TestAssetsAreEmbedded(t *testing.T) {
	css, err := FS.ReadFile("style.css")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"prefers-color-scheme: dark", `"PingFang SC"`, `"Microsoft YaHei"`, `"Noto Sans CJK SC"`, ":focus-visible"} {
		if !strings.Contains(string(css), want) {
			t.Errorf("style.css lacks %s", want)
		}
	}
	// No fonts, imports or images from anywhere but this origin.
	if m := regexp.MustCompile(`@import|url\(|https?://`).Find(css); m != nil {
		t.Errorf("style.css references an external resource: %s", m)
	}
}

func TestIconsAreSelfContainedSVG(t *testing.T) {
	icons, err := fs.Glob(FS, "icons/*.svg")
	if err != nil {
		t.Fatal(err)
	}
	if len(icons) < 4 {
		t.Fatalf("only %d icons embedded: %v", len(icons), icons)
	}
	for _, name := range icons {
		b, err := FS.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckIcon(b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCheckIconRefuses(t *testing.T) {
	for _, bad := range []string{
		`<svg xmlns="http://www.w3.org/2000/svg"><path/></svg>`,
		`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><script>alert(1)</script></svg>`,
		`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1" onload="x()"/>`,
		`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><image href="https://evil.example/x.png"/></svg>`,
		`<html/>`,
	} {
		if CheckIcon([]byte(bad)) == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}
