package platform

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
)

// keptSecret is one value written {set: true}: its key path, its 1-based line, and the bytes it spans.
type keptSecret struct {
	path       string
	line       int
	start, end int
}

type keptSecrets []keptSecret

// replaced is data with each kept value replaced by value, padded with spaces and keeping the line breaks
// the value spanned, so that every other key keeps its line and the problems config reports stay true.
func (ks keptSecrets) replaced(data []byte, value string) []byte {
	out := bytes.Clone(data)
	for _, k := range ks {
		n := copy(out[k.start:k.end], value)
		for i := k.start + n; i < k.end; i++ {
			if out[i] != '\n' && out[i] != '\r' {
				out[i] = ' '
			}
		}
	}
	return out
}

// findKept finds the mapping values written {set: true} ({"set": true} in JSON, or set: true on a line of its
// own) and where each lies in data. A document YAML cannot read has none: ParseTenant reports why. The
// error, config.Problems, is for a {set: true} written so that it cannot be cut out cleanly.
func findKept(data []byte, name string) (keptSecrets, error) {
	readable := yamlReadable(data)
	var file yaml.Node
	if yaml.Unmarshal(readable, &file) != nil || len(file.Content) != 1 {
		return nil, nil
	}
	var (
		ks    keptSecrets
		nodes []*yaml.Node
		bad   config.Problems
	)
	lines := lineStarts(data)
	walkMappings(file.Content[0], "", func(path string, v *yaml.Node) bool {
		if !isSetTrue(v) {
			return false
		}
		k := keptSecret{path: path, line: v.Line, start: offset(data, lines, v.Line, v.Column)}
		if v.Style&yaml.FlowStyle != 0 {
			k.end = k.start + bytes.IndexByte(data[k.start:], '}') + 1
		} else {
			val := v.Content[1]
			k.end = offset(data, lines, val.Line, val.Column) + len(val.Value)
		}
		if k.end <= k.start || k.end-k.start < len(placeholder)+2 {
			bad = append(bad, config.Problem{File: name, Path: path, Line: v.Line, Msg: "write {set: true} on one line"})
			return true
		}
		ks, nodes = append(ks, k), append(nodes, v)
		return true
	})
	// The cut must change those values and nothing else: read the document again and compare.
	for _, v := range nodes {
		*v = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	var want, got any
	if bad == nil && (file.Content[0].Decode(&want) != nil || yaml.Unmarshal(yamlReadable(ks.replaced(data, "null")), &got) != nil ||
		!reflect.DeepEqual(want, got)) {
		for _, k := range ks {
			bad = append(bad, config.Problem{File: name, Path: k.path, Line: k.line, Msg: "write {set: true} on one line, without comments"})
		}
	}
	if bad != nil {
		return nil, bad
	}
	return ks, nil
}

// walkMappings calls visit with every mapping value of the tree below n and its key path; visit returns true
// to not look inside the value.
func walkMappings(n *yaml.Node, path string, visit func(path string, v *yaml.Node) bool) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			if !visit(p, n.Content[i+1]) {
				walkMappings(n.Content[i+1], p, visit)
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			walkMappings(c, path+"["+strconv.Itoa(i)+"]", visit)
		}
	}
}

// isSetTrue reports whether v is the mapping {set: true} and nothing else.
func isSetTrue(v *yaml.Node) bool {
	if v.Kind != yaml.MappingNode || len(v.Content) != 2 || v.Content[0].Value != "set" {
		return false
	}
	var set bool
	return v.Content[1].Kind == yaml.ScalarNode && v.Content[1].ShortTag() == "!!bool" && v.Content[1].Decode(&set) == nil && set
}

// lineStarts is the byte offset of each line of data.
func lineStarts(data []byte) []int {
	starts := []int{0}
	for i, c := range data {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// offset is the byte offset of a 1-based line and column, the column counted in characters as the YAML
// parser counts it.
func offset(data []byte, lines []int, line, column int) int {
	if line < 1 || line > len(lines) {
		return len(data)
	}
	i := lines[line-1]
	for range column - 1 {
		if i >= len(data) {
			break
		}
		_, size := utf8.DecodeRune(data[i:])
		i += size
	}
	return i
}

// yamlReadable makes a JSON document readable by the YAML parser without moving a byte: JSON's \/ escape,
// which YAML lacks, becomes \\. The values change, their places do not, and only places are read from it.
func yamlReadable(data []byte) []byte {
	if !bytes.Contains(data, []byte(`\/`)) || !json.Valid(data) {
		return data
	}
	out := bytes.Clone(data)
	inString := false
	for i := 0; i < len(out); i++ {
		switch {
		case inString && out[i] == '\\':
			if i+1 < len(out) && out[i+1] == '/' {
				out[i+1] = '\\'
			}
			i++
		case out[i] == '"':
			inString = !inString
		}
	}
	return out
}
