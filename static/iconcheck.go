package static

import (
	"encoding/xml"
	"fmt"
	"regexp"
	"strings"
)

var eventHandler = regexp.MustCompile(`\son[a-z]+=`)

// CheckIcon says what, if anything, keeps b from being a self-contained SVG icon that is safe to serve from
// the bridge's origin: an <svg> root with a viewBox, and no script, event handler, link or external
// reference. The static icons and every provider type's icon are held to it.
func CheckIcon(b []byte) error {
	var root struct {
		XMLName xml.Name
		ViewBox string `xml:"viewBox,attr"`
	}
	if err := xml.Unmarshal(b, &root); err != nil {
		return err
	}
	if root.XMLName.Local != "svg" || root.ViewBox == "" {
		return fmt.Errorf("root <%s> viewBox=%q, want an <svg> with a viewBox", root.XMLName.Local, root.ViewBox)
	}
	// Only the SVG namespace URL may appear: no scripts, links or external images.
	s := strings.ReplaceAll(string(b), `xmlns="http://www.w3.org/2000/svg"`, "")
	if eventHandler.MatchString(s) {
		return fmt.Errorf("has an event handler")
	}
	for _, bad := range []string{"<script", "href", "http"} {
		if strings.Contains(s, bad) {
			return fmt.Errorf("contains %q", bad)
		}
	}
	return nil
}
