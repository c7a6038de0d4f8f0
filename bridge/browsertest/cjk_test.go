package browsertest_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// headingGlyphs draws the heading's text, one character at a time, in the heading's own computed font on
// a canvas, and draws U+E000 (a private-use code point that no installed font covers, so it is always the
// missing-glyph box) the same way. Missing lists each character whose pixels are identical to that box.
// The widths are only logged: a CJK glyph and the box are both one em wide, so they cannot tell.
const headingGlyphsJS = `(function () {
	var h = document.querySelector("h1");
	var text = h.textContent.trim();
	var font = getComputedStyle(h).font;
	var c = document.createElement("canvas");
	c.width = 200; c.height = 120;
	var g = c.getContext("2d", {willReadFrequently: true});
	g.font = font;
	function pixels(s) {
		g.clearRect(0, 0, c.width, c.height);
		g.fillStyle = "#000";
		g.textBaseline = "top";
		g.fillText(s, 10, 10);
		return Array.prototype.join.call(g.getImageData(0, 0, c.width, c.height).data, ",");
	}
	var tofu = pixels("\uE000");
	var chars = Array.from(text);
	var missing = chars.filter(function (ch) { return pixels(ch) === tofu; });
	return {
		Text: text, Font: font, Missing: missing.join(""),
		Width: g.measureText(text).width,
		TofuWidth: g.measureText("\uE000".repeat(chars.length)).width,
		TofuInk: tofu.split(",").some(function (v, i) { return i % 4 === 3 && v !== "0"; })
	};
})()`

type headingGlyphs struct {
	Text, Font, Missing string
	Width, TofuWidth    float64
	TofuInk             bool
}

// TestZhHeadingRendersWithCJKFont opens the zh-CN sign-in page and fails if its heading would be drawn as
// missing-glyph boxes ("tofu"), which is what an agent sees on a machine without a CJK font. It saves a
// screenshot of the heading when FUYUN_SCREENSHOT_DIR is set.
//
// document.fonts.check() cannot tell: for a font that is not a web font it answers true whether or not the
// system has it. So the check compares pixels with the box drawn for U+E000.
//
// Verified to fail without a CJK font: run with FONTCONFIG_FILE pointing at a fonts.conf whose only <dir> is
// /usr/share/fonts/truetype/dejavu (the browser inherits the variable), every character of 登录智能联络中心
// draws exactly the U+E000 box and the test fails; with the system fonts.conf and fonts-noto-cjk it passes.
func TestZhHeadingRendersWithCJKFont(t *testing.T) {
	b := shared.Get(t)
	st := startEmbeddedStack(t)
	ctx := b.Tab(t, 30*time.Second)
	if err := chromedp.Do(ctx, chromedp.Navigate(st.bridgeURL+"/?lang=zh-CN")); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("FUYUN_SCREENSHOT_DIR"); dir != "" {
		png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS("h1")))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "signin-heading-zh-CN.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[headingGlyphs](headingGlyphsJS))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("heading %q in %s: width %.1f, as many boxes %.1f", got.Text, got.Font, got.Width, got.TofuWidth)
	if got.Text != "登录智能联络中心" {
		t.Fatalf("heading %q, want the zh-CN sign-in heading", got.Text)
	}
	if !got.TofuInk {
		t.Fatal("U+E000 drew nothing: the missing-glyph reference is not a box, so the comparison proves nothing")
	}
	if got.Missing != "" {
		t.Errorf("%q of the heading render as missing-glyph boxes: no CJK font (scripts/test installs fonts-noto-cjk)", got.Missing)
	}
}
