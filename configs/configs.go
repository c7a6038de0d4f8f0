// Package configs holds the example configurations. They are embedded so that `fuyun-bridge dev` runs
// exactly dev.yaml, and so that a test proves every example parses.
package configs

import "embed"

// FS holds every example configuration of this folder.
//
//go:embed *.yaml
var FS embed.FS
