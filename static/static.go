// Package static holds the bridge's browser assets (style sheet, icons), embedded
// into the binary so a deployment is a single file and pages never load anything
// from another origin.
package static

import "embed"

// FS holds the style sheets, icons and scripts (the JS SDK fuyun-bridge.js, and embed.js and popup.js
// of the embedded login); the bridge serves it under /static/.
//
//go:embed style.css embed.css *.js icons/*.svg
var FS embed.FS
