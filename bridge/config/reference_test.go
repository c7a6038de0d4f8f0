package config

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/fuyun-bridge/fuyun-bridge/providers"
)

// yamlPaths lists every YAML key path of t: "server.tls.cert_file", "providers[].mapping.field".
func yamlPaths(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		ft, list := f.Type, f.Type.Kind() == reflect.Slice
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if opts == "inline" {
			out = append(out, yamlPaths(ft, prefix)...)
			continue
		}
		path := prefix + name
		out = append(out, path)
		if ft.Kind() == reflect.Struct {
			if list {
				path += "[]"
			}
			out = append(out, yamlPaths(ft, path+".")...)
		}
	}
	return out
}

// nodePaths collects the key paths present in a YAML tree, list elements merged.
func nodePaths(n *yaml.Node, prefix string, into map[string]bool) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			nodePaths(c, prefix, into)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := prefix + n.Content[i].Value
			into[p] = true
			if n.Content[i+1].Kind == yaml.SequenceNode {
				p += "[]"
			}
			nodePaths(n.Content[i+1], p+".", into)
		}
	}
}

// TestEveryKeyIsDocumented keeps the examples and the reference from drifting from the Config struct:
// every key must appear in testdata/full.yaml (set, or as a commented alternative "# key:") and, by its
// full dotted path, in the configuration reference (docs/configuration.md).
func TestEveryKeyIsDocumented(t *testing.T) {
	paths := yamlPaths(reflect.TypeOf(Config{}), "")
	if len(paths) < 50 {
		t.Fatalf("only %d key paths found; the walk is broken", len(paths))
	}
	raw, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	nodePaths(&root, "", present)
	ref, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	shows := func(doc []byte, p string) bool {
		leaf := p[strings.LastIndexByte(p, '.')+1:]
		return regexp.MustCompile(`(?m)^\s*(-\s*)?#?\s*` + regexp.QuoteMeta(leaf) + `:`).Match(doc)
	}
	for _, p := range paths {
		if !present[p] && !shows(raw, p) {
			t.Errorf("testdata/full.yaml does not show %s", p)
		}
		if !strings.Contains(string(ref), "`"+p+"`") {
			t.Errorf("the configuration reference (docs/configuration.md) does not list `%s`", p)
		}
	}
	// A provider entry's other keys belong to its type: each is shown (set or commented) in its preset's own
	// example, so that adding a type touches no file of this package, and listed in the configuration reference.
	for _, typ := range providers.Types() {
		p, _ := providers.Lookup(typ)
		for _, k := range yamlPaths(reflect.TypeOf(p.NewConfig()).Elem(), "providers[].") {
			if !shows([]byte(p.Example), k) {
				t.Errorf("the %s preset's Example does not show %s", typ, k)
			}
			if !strings.Contains(string(ref), "`"+k+"`") {
				t.Errorf("the configuration reference (docs/configuration.md) does not list `%s` (type %s)", k, typ)
			}
		}
	}
}
