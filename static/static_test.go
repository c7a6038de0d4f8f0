package static

import (
	"encoding/xml"
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
	if len(icons) < 9 {
		t.Fatalf("only %d icons embedded: %v", len(icons), icons)
	}
	for _, name := range icons {
		b, err := FS.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var root struct {
			XMLName xml.Name
			ViewBox string `xml:"viewBox,attr"`
		}
		if err := xml.Unmarshal(b, &root); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if root.XMLName.Local != "svg" || root.ViewBox == "" {
			t.Errorf("%s: root <%s> viewBox=%q, want an <svg> with a viewBox", name, root.XMLName.Local, root.ViewBox)
		}
		// Only the SVG namespace URL may appear: no scripts, links or external images.
		s := strings.ReplaceAll(string(b), `xmlns="http://www.w3.org/2000/svg"`, "")
		for _, bad := range []string{"<script", "href", "http", "on"} {
			if bad == "on" {
				if regexp.MustCompile(`\son[a-z]+=`).MatchString(s) {
					t.Errorf("%s has an event handler", name)
				}
				continue
			}
			if strings.Contains(s, bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
	}
}
