package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"
)

// identifierProfile is PRECIS IdentifierClass (RFC 8264) with NFC and no mappings: it refuses, never rewrites.
var identifierProfile = precis.NewIdentifier()

// highlyRestrictive are the script sets beyond a single script that Unicode TR39 §5.2 "Highly Restrictive"
// allows in one identifier (Common and Inherited are ignored).
var highlyRestrictive = [][]string{
	{"Latin", "Han", "Hiragana", "Katakana"},
	{"Latin", "Han", "Bopomofo"},
	{"Latin", "Han", "Hangul"},
}

// checkIdentifier refuses an IdP value about to become an account name when it could pass for another one:
// code points PRECIS IdentifierClass disallows (compatibility forms such as full-width letters, default-
// ignorable code points, old Hangul jamo fillers, spaces), a value NFC would change (U+212A KELVIN SIGN is
// canonically K), and letters of several scripts beyond the combinations of TR39 "highly restrictive"
// (Cyrillic "а" + Latin "lice").
func checkIdentifier(v string) error {
	if out, err := identifierProfile.String(v); err != nil || out != v {
		for _, r := range v {
			if out, err := identifierProfile.String(string(r)); err != nil || out != string(r) {
				return fmt.Errorf("contains %U, which is not allowed in an account name (a compatibility, full-width, invisible, filler or space character)", r)
			}
		}
		return errors.New("is not in canonical form (NFC) or breaks a PRECIS contextual rule")
	}
	var scripts []string
	for _, r := range v {
		if s := scriptOf(r); s != "Common" && s != "Inherited" && !slices.Contains(scripts, s) {
			scripts = append(scripts, s)
		}
	}
	if len(scripts) <= 1 {
		return nil
	}
	for _, allowed := range highlyRestrictive {
		if !slices.ContainsFunc(scripts, func(s string) bool { return !slices.Contains(allowed, s) }) {
			return nil
		}
	}
	return fmt.Errorf("mixes letters of the scripts %s", strings.Join(scripts, ", "))
}

// scriptOf names the Unicode script of r; "Common" for ASCII other than letters and for unassigned code points.
func scriptOf(r rune) string {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' {
			return "Latin"
		}
		return "Common"
	}
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return "Common"
}

// asciiLower folds A–Z only. Unicode folding would turn U+212A KELVIN SIGN into k and U+0130 (İ) into i, so a
// look-alike would map to, or pass the domain check of, an ASCII name.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}
