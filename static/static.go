// Package static holds the bridge's browser assets (style sheet, icons), embedded
// into the binary so a deployment is a single file and pages never load anything
// from another origin.
package static

import "embed"

// FS holds style.css and icons/*.svg; the bridge serves it under /static/.
//
//go:embed style.css icons/*.svg
var FS embed.FS
