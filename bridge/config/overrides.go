package config

import (
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts the name of every environment variable that sets a configuration key.
const EnvPrefix = "FUYUN_BRIDGE_"

// Override sets one key from outside the configuration file: an environment variable or a command-line flag.
type Override struct {
	// Path is the key's dotted path, e.g. server.listen.
	Path string
	// Value is the key's value, taken literally: ${VAR} in it is not expanded.
	Value string
	// Origin names where the value came from (FUYUN_BRIDGE_SERVER_LISTEN, --listen); problems cite it in
	// place of a line.
	Origin string
}

// EnvVar is an environment variable that sets one configuration key.
type EnvVar struct {
	Name string // FUYUN_BRIDGE_SERVER_PUBLIC_URL
	Path string // server.public_url
}

// EnvVars lists one variable per single-value key of the configuration's sections, nested ones included
// (FUYUN_BRIDGE_FUYUN_JWT_ISSUER), in the order of the Config struct. Lists, and so every providers key, have
// none: one variable cannot say which entry it means.
func EnvVars() []EnvVar {
	var out []EnvVar
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "-" || name == "" {
				continue
			}
			p := childPath(path, name)
			ft := f.Type
			switch {
			case ft.Kind() == reflect.Slice || ft.Kind() == reflect.Map:
			case ft.Kind() == reflect.Struct && !reflect.PointerTo(ft).Implements(unmarshalerType):
				walk(ft, p)
			default:
				out = append(out, EnvVar{Name: EnvPrefix + strings.ToUpper(strings.ReplaceAll(p, ".", "_")), Path: p})
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return out
}

// EnvOverrides returns the overrides that lookup (os.LookupEnv) sets, in EnvVars order. A variable set to ""
// counts as unset, as a container runtime passes a variable it was given empty.
func EnvOverrides(lookup func(string) (string, bool)) []Override {
	var out []Override
	for _, v := range EnvVars() {
		if val, ok := lookup(v.Name); ok && val != "" {
			out = append(out, Override{Path: v.Path, Value: val, Origin: v.Name})
		}
	}
	return out
}

// applyOverrides writes each override into the tree, in order (so a later one wins), before ${VAR} expansion
// and decoding: its value is then decoded, defaulted and validated exactly as if the file had it, and its
// problems cite its origin. A section that is missing or empty is created; one that is not a mapping is left
// for decoding to report.
func (p *parser) applyOverrides(root *yaml.Node) {
	for _, o := range p.opts.Overrides {
		if val := nodeAt(root, o.Path, true); val != nil {
			*val = *overrideNode(o.Value)
			p.literal[val] = true
			p.origins[o.Path] = o.Origin
		}
	}
}

// nodeAt is the value node at key path in the tree of root ("fuyun.jwt.issuer", "providers[1].secret"), or nil
// when a step is missing or not of the kind it needs. With create, a missing key is added, and a missing or
// empty section on the way becomes a mapping (list entries are never created).
func nodeAt(root *yaml.Node, path string, create bool) *yaml.Node {
	n := root
	for _, step := range pathSteps(path) {
		if i, ok := strings.CutPrefix(step, "["); ok {
			j, err := strconv.Atoi(strings.TrimSuffix(i, "]"))
			if n.Kind != yaml.SequenceNode || err != nil || j < 0 || j >= len(n.Content) {
				return nil
			}
			n = n.Content[j]
			continue
		}
		if create && (n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")) {
			*n = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line}
		}
		if n.Kind != yaml.MappingNode {
			return nil
		}
		val := mappingValue(n, step)
		if val == nil {
			if !create {
				return nil
			}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: step}, &yaml.Node{})
			val = n.Content[len(n.Content)-1]
		}
		n = val
	}
	return n
}

// pathSteps splits a key path into keys and [n] indexes: providers[1].fuyun → providers, [1], fuyun.
func pathSteps(path string) []string {
	var steps []string
	for _, part := range strings.Split(path, ".") {
		key, rest, _ := strings.Cut(part, "[")
		steps = append(steps, key)
		for rest != "" {
			var idx string
			idx, rest, _ = strings.Cut(rest, "]")
			steps = append(steps, "["+idx+"]")
			rest = strings.TrimPrefix(rest, "[")
		}
	}
	return steps
}

// mappingValue is the value node of key in mapping n (the first, if the file repeats it), or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// overrideNode is a scalar holding v as an unquoted value from the environment: see plainTag.
func overrideNode(v string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: plainTag(v), Value: v}
}
