package templates

import (
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const chromium = "/usr/bin/chromium"

// TestScreenshots renders every page next to the real style sheet and icons and
// has headless Chromium draw it at phone and desktop widths. It checks that the
// style sheet was applied (the page background is the CSS --bg colour); a human
// can look at the PNGs by setting FUYUN_SCREENSHOT_DIR (add FUYUN_SCREENSHOT_DARK=1
// for the dark scheme).
func TestScreenshots(t *testing.T) {
	if os.Getenv("FUYUN_BRIDGE_SKIP_BROWSER") == "1" {
		t.Skip("FUYUN_BRIDGE_SKIP_BROWSER=1: browser tests skipped")
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("headless Chromium is required (scripts/test installs Debian's chromium, or set FUYUN_BRIDGE_SKIP_BROWSER=1): %v", err)
	}
	s := mustNew(t)
	dir := os.Getenv("FUYUN_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.CopyFS(filepath.Join(dir, "static"), os.DirFS("../static")); err != nil && !os.IsExist(err) {
		t.Fatalf("copy static: %v", err)
	}
	// The provider types' icons live with their presets; the bridge serves them at /icons/.
	if err := os.CopyFS(filepath.Join(dir, "icons"), os.DirFS("../providers/icons")); err != nil && !os.IsExist(err) {
		t.Fatalf("copy icons: %v", err)
	}
	dark := os.Getenv("FUYUN_SCREENSHOT_DARK") != ""
	// Light --bg is #f3f5f9, dark is #0e131d.
	wantBG := [3]uint32{0xf3, 0xf5, 0xf9}
	if dark {
		wantBG = [3]uint32{0x0e, 0x13, 0x1d}
	}
	for _, lang := range []string{LangEN, LangZH} {
		for page, data := range samples(lang) {
			var buf strings.Builder
			if err := s.Render(&buf, page, data); err != nil {
				t.Fatal(err)
			}
			// file:// has no /static root; point the pages at the copy beside them.
			html := strings.ReplaceAll(buf.String(), `"/static/`, `"static/`)
			html = strings.ReplaceAll(html, `"/icons/`, `"icons/`)
			// Open the dev-mode token so its wrapping can be seen.
			html = strings.ReplaceAll(html, "<details>", "<details open>")
			htmlPath := filepath.Join(dir, page+"-"+lang+".html")
			if err := os.WriteFile(htmlPath, []byte(html), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, size := range []struct{ w, h int }{{420, 900}, {1280, 900}} {
				png := filepath.Join(dir, fmt.Sprintf("%s-%s-%d.png", page, lang, size.w))
				shoot(t, htmlPath, png, size.w, size.h, dark)
				checkBackground(t, png, size.w, size.h, wantBG)
			}
		}
	}
}

func shoot(t *testing.T, htmlPath, pngPath string, w, h int, dark bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--no-first-run", "--disable-extensions",
		"--user-data-dir=" + t.TempDir(),
		"--screenshot=" + pngPath, fmt.Sprintf("--window-size=%d,%d", w, h)}
	if dark {
		args = append(args, "--force-dark-mode", "--blink-settings=preferredColorScheme=0")
	}
	args = append(args, "file://"+htmlPath)
	if out, err := exec.CommandContext(ctx, chromium, args...).CombinedOutput(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", filepath.Base(pngPath), err, out)
	}
}

func checkBackground(t *testing.T, path string, w, h int, want [3]uint32) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("%s: %dx%d, want %dx%d", filepath.Base(path), b.Dx(), b.Dy(), w, h)
	}
	// Top-left corner: outside the card and its shadow on every page, so it shows the body background.
	r, g, b, _ := img.At(1, 1).RGBA()
	got := [3]uint32{r >> 8, g >> 8, b >> 8}
	for i := range got {
		if d := int(got[i]) - int(want[i]); d < -3 || d > 3 {
			t.Errorf("%s: background %v, want %v (style sheet not applied?)", filepath.Base(path), got, want)
			break
		}
	}
}
