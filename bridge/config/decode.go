package config

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/fuyun-bridge/fuyun-bridge/providers"
)

// parser carries one Parse call's inputs and findings.
type parser struct {
	opts     ParseOptions
	problems Problems
	// warnings are accepted but weakening choices (posture.go).
	warnings Problems
	// lines maps a key path to the line of its value, for problems found after decoding.
	lines map[string]int
	// given holds the paths set to a non-null value, so that "max_age:" keeps its default but "0s" does not.
	given map[string]bool
	// failed holds the paths whose value could not be read (env or decode problems); checking them
	// afterwards would only repeat the problem in other words ("required" after "want a string").
	failed map[string]bool
	// checking is set once the tree is decoded.
	checking bool
	// origins maps the path of each overridden key to its Override.Origin; literal holds the overrides' nodes,
	// which ${VAR} expansion leaves alone.
	origins map[string]string
	literal map[*yaml.Node]bool
}

// add records a problem at an explicit line.
func (p *parser) add(path string, line int, format string, args ...any) {
	if p.checking && p.failedAt(path) {
		return
	}
	if !p.checking {
		p.failed[path] = true
	}
	p.problems = append(p.problems, p.problem(path, line, fmt.Sprintf(format, args...)))
}

// problem is msg at path: at line of the file, or from the override that set path.
func (p *parser) problem(path string, line int, msg string) Problem {
	if origin, ok := p.origins[path]; ok {
		return Problem{File: p.opts.Name, Path: path, Origin: origin, Msg: msg}
	}
	return Problem{File: p.opts.Name, Path: path, Line: line, Msg: msg}
}

// failedAt reports whether path or one of its ancestors could not be read.
func (p *parser) failedAt(path string) bool {
	for {
		if p.failed[path] {
			return true
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return p.failed[""]
		}
		path = path[:i]
	}
}

// addf records a problem at path, with the line of path or, when path is absent, of its nearest
// present ancestor.
func (p *parser) addf(path, format string, args ...any) {
	p.add(path, p.lineOf(path), format, args...)
}

// lineOf is the line of path's value or of its nearest present ancestor; 0 if none.
func (p *parser) lineOf(path string) int {
	for path != "" {
		if l, ok := p.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// yamlLine finds the line number in yaml.v3's syntax errors ("yaml: line 3: …").
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// parseYAML parses data into a node tree; it refuses more than one document.
func (p *parser) parseYAML(data []byte) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			// An empty file: let validation report what is missing.
			return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}, true
		}
		p.syntaxError(data, err)
		return nil, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.add("", extra.Line, "more than one YAML document; a configuration is one document")
		return nil, false
	} else if !errors.Is(err, io.EOF) {
		p.syntaxError(data, err)
		return nil, false
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: root.Line}, true
	}
	return root, true
}

// syntaxError turns a yaml.v3 parse error into a problem with its line.
func (p *parser) syntaxError(data []byte, err error) {
	msg := err.Error()
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	// yaml.v3 reports a key that fits no block at the line where the enclosing block started.
	if strings.HasPrefix(msg, "did not find expected key") {
		if bad := misindentedLine(data, line); bad > line {
			p.add("", bad, "invalid YAML: %s: check the indentation of line %d (it fits none of the blocks opened since line %d)", msg, bad, line)
			return
		}
	}
	p.add("", line, "invalid YAML: %s", msg)
}

// misindentedLine finds, after the block that starts at line start, the first line whose indentation matches
// none of the blocks open at that point: deeper than its siblings without a key above it opening a block, or
// between two levels. 0 when none does (the error is elsewhere, or lies in what this simple reading skips:
// flow collections and block scalars are passed over).
func misindentedLine(data []byte, start int) int {
	lines := strings.Split(string(data), "\n")
	if start < 1 || start > len(lines) {
		return 0
	}
	base := indentOf(lines[start-1])
	var levels []int // indentation of the open blocks, innermost last
	opens := true    // the previous line ends with "key:", so a deeper line starts a block
	scalarAt := -1   // inside a block scalar (|, >) deeper than this indentation
	for i := start; i < len(lines); i++ {
		text := strings.TrimSpace(lines[i])
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		ind := indentOf(lines[i])
		if scalarAt >= 0 && ind > scalarAt {
			continue
		}
		scalarAt = -1
		if ind <= base {
			return 0 // the block ended without a misfit
		}
		switch top := len(levels) - 1; {
		case opens && (top < 0 || ind > levels[top]):
			levels = append(levels, ind)
		case top >= 0 && ind > levels[top]:
			return i + 1
		default:
			for len(levels) > 0 && levels[len(levels)-1] > ind {
				levels = levels[:len(levels)-1]
			}
			if len(levels) == 0 || levels[len(levels)-1] != ind {
				return i + 1
			}
		}
		content := strings.TrimSpace(strings.SplitN(text, " #", 2)[0])
		opens = strings.HasSuffix(content, ":") || content == "-"
		if item, ok := strings.CutPrefix(content, "- "); ok && strings.Contains(item+" ", ": ") {
			levels = append(levels, ind+2) // "- key: value": the item's mapping continues at the dash's content
		}
		if strings.HasSuffix(content, "|") || strings.HasSuffix(content, ">") || strings.HasSuffix(content, "|-") || strings.HasSuffix(content, ">-") {
			scalarAt = ind
		}
	}
	return 0
}

// indentOf counts a line's leading spaces.
func indentOf(line string) int { return len(line) - len(strings.TrimLeft(line, " ")) }

// childPath joins a mapping key onto a path.
func childPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// indexPath joins a sequence index onto a path.
func indexPath(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// expandEnv replaces ${VAR} in every string scalar value of the tree, in place. Keys are left alone,
// and so are aliases (their anchor is expanded where it is defined).
func (p *parser) expandEnv(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p.expandEnv(n.Content[i+1], childPath(path, n.Content[i].Value))
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p.expandEnv(c, indexPath(path, i))
		}
	case yaml.ScalarNode:
		if n.ShortTag() != "!!str" || !strings.Contains(n.Value, "$") || p.literal[n] {
			return
		}
		v, err := expand(n.Value, p.opts.LookupEnv)
		if err != nil {
			p.add(path, n.Line, "%v", err)
			return
		}
		n.Value = v
		n.Tag = "!!str"
		if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			n.Tag = plainTag(v)
		}
	}
}

// plainTag is the tag of a value that came from the environment unquoted (secure: ${COOKIE_SECURE}, or
// FUYUN_BRIDGE_COOKIE_SECURE): it may stand for a bool or a number; anything else is pinned to a string, so
// that a value reading "null" or "~" is not lost. String fields take the text as-is whatever the tag.
func plainTag(v string) string {
	switch tag := (&yaml.Node{Kind: yaml.ScalarNode, Value: v}).ShortTag(); tag {
	case "!!bool", "!!int", "!!float":
		return tag
	}
	return "!!str"
}

// expand substitutes ${NAME} references in s. "$${" is a literal "${"; any other "$" is literal.
// The error names the variable but never shows the value around it.
func expand(s string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	var unset []string
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		switch {
		case strings.HasPrefix(s, "$${"):
			b.WriteString("${")
			s = s[3:]
		case strings.HasPrefix(s, "${"):
			end := strings.IndexByte(s, '}')
			if end < 0 || !isEnvName(s[2:end]) {
				return "", errors.New(`malformed ${...} reference: want ${NAME} with NAME of letters, digits and _ (write $${ for a literal ${)`)
			}
			name := s[2:end]
			v, ok := lookup(name)
			if !ok {
				unset = append(unset, name)
			}
			b.WriteString(v)
			s = s[end+1:]
		default:
			b.WriteByte('$')
			s = s[1:]
		}
	}
	switch len(unset) {
	case 0:
		return b.String(), nil
	case 1:
		return "", fmt.Errorf("environment variable %s is not set", unset[0])
	}
	return "", fmt.Errorf("environment variables %s are not set", strings.Join(unset, ", "))
}

// isEnvName reports whether s is a shell-style variable name.
func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// decode fills out from n, walking the tree alongside out's type so that every unknown key, duplicate
// key and wrong type is reported with its own path and line. Leaf values are decoded by yaml.v3 itself.
// (yaml.v3's KnownFields exists only on Decoder, which cannot read a node tree that has been
// env-expanded; and its messages carry neither paths nor, reliably, secret-free text.)
func (p *parser) decode(n *yaml.Node, out any, path string) {
	p.decodeValue(n, reflect.ValueOf(out).Elem(), path)
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

func (p *parser) decodeValue(n *yaml.Node, v reflect.Value, path string) {
	line := n.Line
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	p.lines[path] = line
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // an empty value keeps the zero value, and so its default
	}
	p.given[path] = true
	if v.Kind() != reflect.Pointer && reflect.PointerTo(v.Type()).Implements(unmarshalerType) {
		if err := n.Decode(v.Addr().Interface()); err != nil {
			p.add(path, line, "%s", typeErrorMsg(err))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		e := reflect.New(v.Type().Elem())
		p.decodeValue(n, e.Elem(), path)
		v.Set(e)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			p.add(path, line, "want a mapping of keys (%s), not %s", strings.Join(sortedKeys(v.Type()), ", "), kindName(n))
			return
		}
		if v.Type() == providerType {
			p.decodeProvider(n, v.Addr().Interface().(*Provider), path)
			return
		}
		p.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			p.add(path, line, "want a list, not %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			p.decodeValue(c, s.Index(i), indexPath(path, i))
		}
		v.Set(s)
	default:
		if n.Kind != yaml.ScalarNode {
			p.add(path, line, "want %s, not %s", wantName(v.Type()), kindName(n))
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			// yaml.v3's message would quote the value, which may be a secret.
			p.add(path, line, "want %s", wantName(v.Type()))
		}
	}
}

func (p *parser) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	p.decodeFields(n, path, []reflect.Value{v}, func(key string) string {
		return fmt.Sprintf("unknown key %q (known keys: %s)", key, strings.Join(sortedKeys(v.Type()), ", "))
	})
}

var providerType = reflect.TypeFor[Provider]()

// decodeProvider decodes one providers entry: the keys every entry has into pr, the others into a fresh
// configuration of the entry's type (its preset owns them). With an unknown or missing type only the common
// keys are read: the type's problem is the one to report, not one "unknown key" per key of the intended type.
func (p *parser) decodeProvider(n *yaml.Node, pr *Provider, path string) {
	targets := []reflect.Value{reflect.ValueOf(pr).Elem()}
	var typ string
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "type" && n.Content[i+1].Kind == yaml.ScalarNode {
			typ = n.Content[i+1].Value
		}
	}
	preset, known := providers.Lookup(typ)
	if known {
		pr.Preset = preset.NewConfig()
		targets = append(targets, reflect.ValueOf(pr.Preset).Elem())
	}
	p.decodeFields(n, path, targets, func(key string) string {
		if !known {
			return "" // reported as the type's problem
		}
		keys := append(sortedKeys(providerType), sortedKeys(targets[1].Type())...)
		sort.Strings(keys)
		return fmt.Sprintf("unknown key %q for type %s (its keys: %s)", key, typ, strings.Join(keys, ", "))
	})
}

// decodeFields decodes a mapping node's keys into the first of targets whose struct has the key; unknown
// returns the problem of a key none has ("" to pass over it silently).
func (p *parser) decodeFields(n *yaml.Node, path string, targets []reflect.Value, unknown func(key string) string) {
	fields := make([]map[string][]int, len(targets))
	for i, t := range targets {
		fields[i] = yamlFields(t.Type())
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		kp := childPath(path, key)
		if k.Kind != yaml.ScalarNode {
			p.add(path, k.Line, "keys must be plain names")
			continue
		}
		if key == "<<" {
			p.add(kp, k.Line, "merge keys (<<) are not supported; repeat the keys instead")
			continue
		}
		if first, dup := seen[key]; dup {
			p.add(kp, k.Line, "duplicate key (first set at line %d)", first)
			continue
		}
		seen[key] = k.Line
		target := -1
		for j := range targets {
			if _, ok := fields[j][key]; ok {
				target = j
				break
			}
		}
		if target < 0 {
			msg := unknown(key)
			switch meant := closeKey(key, fields, n); {
			case msg == "":
				p.failed[kp] = true
			case meant != "":
				// The key the author meant is absent: its "required" would only repeat this problem.
				p.add(kp, k.Line, "unknown key %q (did you mean %s?)", key, meant)
				p.failed[childPath(path, meant)] = true
			default:
				p.add(kp, k.Line, "%s", msg)
			}
			continue
		}
		p.decodeValue(val, targets[target].FieldByIndex(fields[target][key]), kp)
		if val.Kind != yaml.AliasNode {
			// Prefer the key's line: for a block mapping or list the value starts on the next line.
			p.lines[kp] = k.Line
		}
	}
}

// closeKey is the known key (of fields) within an edit distance of 2 of key that mapping n does not set, if
// exactly one is: what a typo like publc_url meant.
func closeKey(key string, fields []map[string][]int, n *yaml.Node) string {
	meant := ""
	for _, f := range fields {
		for known := range f {
			if mappingValue(n, known) == nil && editDistance(key, known) <= 2 {
				if meant != "" && meant != known {
					return ""
				}
				meant = known
			}
		}
	}
	return meant
}

// editDistance is the Levenshtein distance between a and b, in bytes (keys are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// yamlFields maps each YAML key of struct type t to its field index, following ",inline".
func yamlFields(t reflect.Type) map[string][]int {
	fields := map[string][]int{}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("yaml")
			if tag == "-" {
				continue
			}
			name, flags, _ := strings.Cut(tag, ",")
			idx := append(append([]int(nil), prefix...), i)
			if strings.Contains(","+flags+",", ",inline,") {
				walk(f.Type, idx)
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			fields[name] = idx
		}
	}
	walk(t, nil)
	return fields
}

// sortedKeys lists the YAML keys of struct type t, for "known keys" hints.
func sortedKeys(t reflect.Type) []string {
	fields := yamlFields(t)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// kindName describes what a node is, for "want X, not Y" messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return "a single value"
}

// wantName describes the scalar type a field expects.
func wantName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	}
	return "a " + t.String()
}

// typeErrorMsg extracts a custom unmarshaler's message; yaml.v3 returns it as-is.
func typeErrorMsg(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return "wrong type"
	}
	return err.Error()
}
