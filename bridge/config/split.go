package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Split takes a tenant apart for the store: doc is the tenant as its author wrote it (YAML, ${VAR} already
// expanded, comments dropped) without any secret key or *_file key, and secrets holds each secret's value by
// key path ("fuyun.client_secret", "providers[1].secret"), files already read. JoinTenant puts them back.
// The tenant must come from ParseTenant or JoinTenant.
func (t *Tenant) Split() (doc []byte, secrets map[string]string, err error) {
	if t.source == nil {
		return nil, nil, errNotParsed
	}
	root := copyNode(t.source)
	secrets = map[string]string{}
	for _, s := range t.company(nil).secrets() {
		removeKey(root, s.path)
		removeKey(root, s.path+"_file")
		if *s.value != "" {
			secrets[s.path] = *s.value
		}
	}
	doc, err = yaml.Marshal(root)
	if err != nil {
		return nil, nil, fmt.Errorf("config: write tenant %s: %w", t.ID, err)
	}
	return doc, secrets, nil
}

// JoinTenant puts a document and its secrets from Split back together and validates the result as ParseTenant
// does, files and ${VAR} never read whatever opts.AllowFiles says: a stored tenant is complete. A secret whose
// path is not a secret key of the document is a problem.
func JoinTenant(doc []byte, secrets map[string]string, opts TenantOptions) (*Tenant, error) {
	public, err := opts.public()
	if err != nil {
		return nil, err
	}
	p := opts.parser()
	t := &Tenant{}
	if root, ok := p.parseYAML(doc); ok {
		paths := slices.Sorted(maps.Keys(secrets))
		for _, path := range paths {
			switch n := nodeAt(root, path, false); {
			case n != nil:
				p.add(path, n.Line, "set both in the document and in the secrets")
			default:
				if n = nodeAt(root, path, true); n == nil {
					p.add(path, 0, "the secret's entry is not in the document")
					continue
				}
				*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.DoubleQuotedStyle, Value: secrets[path]}
			}
		}
		if len(p.problems) == 0 {
			p.tenant(root, t, public, false)
			known := map[string]bool{}
			for _, s := range t.company(nil).secrets() {
				known[s.path] = true
			}
			for _, path := range paths {
				if !known[path] {
					p.add(path, 0, "is not a secret key")
				}
			}
		}
	}
	if err := p.result(); err != nil {
		return nil, err
	}
	t.Warnings = p.warnings
	return t, nil
}

// Redacted is the tenant as JSON, each secret that is set shown as {"set": true}: what the admin API shows.
func (t *Tenant) Redacted() ([]byte, error) {
	root, err := t.document(false, false)
	if err != nil {
		return nil, err
	}
	var v any
	if err := root.Decode(&v); err != nil {
		return nil, fmt.Errorf("config: redact tenant %s: %w", t.ID, err)
	}
	return json.Marshal(v)
}

// YAML is the tenant as a YAML document in its author's key order, comments dropped, for `tenants export`:
// each secret that is set written as its value when withSecrets, else as {set: true}, which `tenants import`
// reads as "keep the stored value".
func (t *Tenant) YAML(withSecrets bool) ([]byte, error) {
	root, err := t.document(withSecrets, true)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("config: write tenant %s: %w", t.ID, err)
	}
	return b.Bytes(), enc.Close()
}

// blockStyle writes n in YAML's block style and lets each scalar be quoted only where its value needs it (the
// tags are explicit, see copyNode), whatever style the author used: a tenant sent as JSON is exported as YAML
// an operator can edit.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// document is Split's document, in block style if block, with each secret that is set put back at its path:
// its value when withSecrets, else {set: true}.
func (t *Tenant) document(withSecrets, block bool) (*yaml.Node, error) {
	doc, secrets, err := t.Split()
	if err != nil {
		return nil, err
	}
	var file yaml.Node
	if err := yaml.Unmarshal(doc, &file); err != nil || len(file.Content) != 1 {
		return nil, fmt.Errorf("config: read back tenant %s: %v", t.ID, err)
	}
	root := file.Content[0]
	if block {
		blockStyle(root)
	}
	for _, path := range slices.Sorted(maps.Keys(secrets)) { // sorted: the same tenant, the same document
		n := nodeAt(root, path, true)
		switch {
		case n == nil:
		case withSecrets:
			*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: secrets[path]}
		default:
			*n = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle, Content: []*yaml.Node{
				{Kind: yaml.ScalarNode, Tag: "!!str", Value: "set"}, {Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"}}}
		}
	}
	return root, nil
}

// copyNode copies a node tree without its comments, which may hold anything, a secret included. Each scalar's
// tag is made explicit, so that writing it cannot change what it reads as (an empty null written as ”).
func copyNode(n *yaml.Node) *yaml.Node {
	c := *n
	c.HeadComment, c.LineComment, c.FootComment = "", "", ""
	if c.Kind == yaml.ScalarNode {
		c.Tag = n.ShortTag()
		if c.Tag == "!!null" {
			c.Value, c.Style = "null", 0
		}
	}
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, child := range n.Content {
		c.Content[i] = copyNode(child)
	}
	return &c
}

// removeKey removes the key at path from its mapping, if present.
func removeKey(root *yaml.Node, path string) {
	i := strings.LastIndexByte(path, '.')
	parent, key := root, path
	if i >= 0 {
		parent, key = nodeAt(root, path[:i], false), path[i+1:]
	}
	if parent == nil || parent.Kind != yaml.MappingNode {
		return
	}
	for j := 0; j+1 < len(parent.Content); j += 2 {
		if parent.Content[j].Value == key {
			parent.Content = slices.Delete(parent.Content, j, j+2)
			return
		}
	}
}

// errNotParsed is Split's error for a Tenant that did not come from ParseTenant or JoinTenant.
var errNotParsed = errors.New("config: the tenant was not read by ParseTenant or JoinTenant")

// Fingerprints names, for each provider id, the settings a login through that provider depends on: its entry
// and the fuyun section as the author wrote them, secrets left out (rotating a secret must not fail the logins
// in flight). Two versions of a tenant give a provider the same fingerprint exactly when those settings are
// the same, so a login started before a change finishes after it only if the change did not concern it.
func (t *Tenant) Fingerprints() (map[string]string, error) {
	doc, _, err := t.Split()
	if err != nil {
		return nil, err
	}
	var file yaml.Node
	if err := yaml.Unmarshal(doc, &file); err != nil || len(file.Content) != 1 {
		return nil, fmt.Errorf("config: fingerprint tenant %s: %v", t.ID, err)
	}
	root := file.Content[0]
	fuyun, _ := yaml.Marshal(mappingValue(root, "fuyun"))
	out := make(map[string]string, len(t.Providers))
	entries := mappingValue(root, "providers")
	for i, pr := range t.Providers {
		if entries == nil || i >= len(entries.Content) {
			return nil, fmt.Errorf("config: fingerprint tenant %s: providers[%d] is not in its document", t.ID, i)
		}
		entry, _ := yaml.Marshal(entries.Content[i])
		sum := sha256.Sum256(append(append(entry, 0), fuyun...))
		out[pr.ID] = base64.RawURLEncoding.EncodeToString(sum[:9])
	}
	return out, nil
}
