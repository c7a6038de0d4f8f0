package admin

import (
	"encoding/json"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
)

// TenantCodec turns a tenant document (the JSON body of POST and PUT) into the parts the store keeps, and a
// stored tenant back into the document GET shows. The admin API knows no tenant schema; the configuration
// package provides the codec.
type TenantCodec interface {
	// Decode parses and validates a document. Problems lists everything wrong at once (an unknown field, a
	// missing value, …); any problem refuses the request and the rest of Decoded is then ignored.
	Decode(body []byte) (Decoded, []Problem)
	// Validate checks a tenant about to be written, its kept secrets ({"set": true}) merged in: what Decode
	// could not check without their values. Any problem refuses the request and nothing is written.
	Validate(t store.Tenant) []Problem
	// Redact renders t as the document GET returns: every secret shown as {"set": true}, never its value.
	Redact(t store.Tenant) (json.RawMessage, error)
}

// Decoded is a tenant document split into what the store keeps.
type Decoded struct {
	ID          string
	DisplayName string
	Domains     []string
	Hosts       []string
	Config      []byte            // the non-secret document, as store.Tenant.Config
	Secrets     map[string]Secret // by key path, as store.Tenant.Secrets; a path not listed is removed
}

// Secret is what a document says about one secret: a new value, or keep the stored one.
type Secret struct {
	Value string
	Keep  bool // the document has {"set": true}: the stored value stays
}

// Problem is one thing wrong with a request body: where (a key path and, when known, a 1-based line) and what.
type Problem struct {
	Path    string `json:"path"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}
