package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a configuration. Its message never contains a secret.
type Problem struct {
	// File is the configuration's name (ParseOptions.Name).
	File string
	// Path is the YAML key path, e.g. providers[1].mapping.transform; "" for the whole document.
	Path string
	// Line is the 1-based line of the key or value; 0 when the key is absent or set by an override.
	Line int
	// Origin is the environment variable or flag that set the key (Override.Origin); "" for the file.
	Origin string
	Msg    string
}

// String formats the problem as "file:line: path: message", or "file: path (from ORIGIN): message" for a key
// that an environment variable or a flag set.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path)
		if p.Origin != "" {
			b.WriteString(" (from " + p.Origin + ")")
		}
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem Parse found; it is the error Parse and Load return.
type Problems []Problem

// Error lists the problems, one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
