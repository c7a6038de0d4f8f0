package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
)

// testCodec stands in for the bridge's tenant schema: a JSON object with id, display_name, domains, hosts,
// providers (each with a type) and a "secrets" object of key path → string, {"set": true} or null.
type testCodec struct{}

var _ TenantCodec = testCodec{}

var testFields = []string{"id", "display_name", "domains", "hosts", "providers", "secrets"}

func (testCodec) Decode(body []byte) (Decoded, []Problem) {
	var problems []Problem
	raw := map[string]json.RawMessage{}
	if err := json.Unmarshal(body, &raw); err != nil {
		return Decoded{}, []Problem{{Message: "the document must be a JSON object"}}
	}
	for key, line := range topLevelLines(body) {
		if !slices.Contains(testFields, key) {
			problems = append(problems, Problem{Path: key, Line: line, Message: "unknown field"})
		}
	}
	var d Decoded
	field := func(name string, into any) {
		if v, ok := raw[name]; ok {
			if err := json.Unmarshal(v, into); err != nil {
				problems = append(problems, Problem{Path: name, Message: err.Error()})
			}
		}
	}
	field("id", &d.ID)
	field("display_name", &d.DisplayName)
	field("domains", &d.Domains)
	field("hosts", &d.Hosts)
	if d.DisplayName == "" {
		problems = append(problems, Problem{Path: "display_name", Message: "is required"})
	}
	var providers []map[string]any
	field("providers", &providers)
	for i, p := range providers {
		if s, _ := p["type"].(string); s == "" {
			problems = append(problems, Problem{Path: fmt.Sprintf("providers[%d].type", i), Message: "is required"})
		}
	}
	if providers != nil {
		d.Config, _ = json.Marshal(map[string]any{"providers": providers})
	}
	var secrets map[string]json.RawMessage
	field("secrets", &secrets)
	d.Secrets = map[string]Secret{}
	for _, path := range slices.Sorted(maps.Keys(secrets)) {
		v := secrets[path]
		var s string
		var keep struct{ Set bool }
		switch {
		case string(v) == "null":
		case json.Unmarshal(v, &s) == nil:
			d.Secrets[path] = Secret{Value: s}
		case json.Unmarshal(v, &keep) == nil && keep.Set:
			d.Secrets[path] = Secret{Keep: true}
		default:
			problems = append(problems, Problem{Path: "secrets." + path, Message: `want a string, {"set": true} or null`})
		}
	}
	return d, problems
}

// Validate stands in for what only the merged tenant shows: a secret of providers[i] needs that provider.
func (testCodec) Validate(t store.Tenant) []Problem {
	var doc struct{ Providers []json.RawMessage }
	if len(t.Config) > 0 {
		if err := json.Unmarshal(t.Config, &doc); err != nil {
			return []Problem{{Message: err.Error()}}
		}
	}
	var problems []Problem
	for _, path := range slices.Sorted(maps.Keys(t.Secrets)) {
		var i int
		if _, err := fmt.Sscanf(path, "providers[%d]", &i); err == nil && i >= len(doc.Providers) {
			problems = append(problems, Problem{Path: path, Message: "the secret's entry is not in the document"})
		}
	}
	return problems
}

func (testCodec) Redact(t store.Tenant) (json.RawMessage, error) {
	doc := map[string]any{"id": t.ID, "display_name": t.DisplayName, "domains": orNone(t.Domains), "hosts": orNone(t.Hosts)}
	if len(t.Config) > 0 {
		var cfg map[string]any
		if err := json.Unmarshal(t.Config, &cfg); err != nil {
			return nil, err
		}
		maps.Copy(doc, cfg)
	}
	secrets := map[string]any{}
	for path := range t.Secrets {
		secrets[path] = map[string]bool{"set": true}
	}
	doc["secrets"] = secrets
	return json.Marshal(doc)
}

// topLevelLines maps each top-level key of a JSON object to its 1-based line.
func topLevelLines(body []byte) map[string]int {
	lines := map[string]int{}
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil {
		return lines
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return lines
		}
		key, _ := tok.(string)
		lines[key] = 1 + bytes.Count(body[:dec.InputOffset()], []byte("\n"))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return lines
		}
	}
	return lines
}
