// Package platform joins the three parts of platform mode that know nothing of each other: the tenant schema
// (bridge/config), the tenant store (bridge/store) and the admin API (bridge/admin). It reads a tenant document
// into what the store keeps, puts a stored tenant back together, and is the admin API's TenantCodec; Open
// opens a configuration's store with platform mode (bridge.Platform) over it.
//
// A secret written {set: true} (what the admin API's GET and `tenants export` show in place of a value) means
// "keep the value the store has": Parse reports it as such, and the caller merges in the stored value
// (admin.Merge) and validates the whole tenant again (Validate) before writing it.
package platform

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/admin"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
)

// placeholder stands in for a kept secret while the document is read: the secret is known to be set, its
// value is not. It never reaches the store: Parse reports the path as kept instead.
const placeholder = "kept"

// Parse reads one tenant document, YAML or JSON, with config.ParseTenant and opts, into the parts the store
// keeps. Each secret is its value or, written {set: true}, admin.Secret{Keep: true}. The error is
// config.Problems listing everything wrong, with the paths, lines and messages of the YAML file's problems,
// or another error when opts is unusable.
func Parse(data []byte, opts config.TenantOptions) (admin.Decoded, error) {
	kept, err := findKept(data, name(opts))
	if err != nil {
		return admin.Decoded{}, err
	}
	// First read without the kept secrets: every problem but "required" at a kept secret is the author's.
	t, err := config.ParseTenant(kept.replaced(data, "null"), opts)
	if err != nil {
		if err = dropKeptRequired(err, kept); err != nil {
			return admin.Decoded{}, err
		}
	}
	if len(kept) > 0 {
		// Read again with a stand-in for each kept secret, to have the tenant to split (and the checks that
		// the missing secrets held back, such as building a provider).
		if t, err = config.ParseTenant(kept.replaced(data, `"`+placeholder+`"`), opts); err != nil {
			return admin.Decoded{}, err
		}
	}
	rec, err := Record(t)
	if err != nil {
		return admin.Decoded{}, err
	}
	d := admin.Decoded{ID: rec.ID, DisplayName: rec.DisplayName, Domains: rec.Domains, Hosts: rec.Hosts,
		Config: rec.Config, Secrets: map[string]admin.Secret{}}
	for path, v := range rec.Secrets {
		d.Secrets[path] = admin.Secret{Value: v}
	}
	var problems config.Problems
	for _, k := range kept {
		if _, isSecret := rec.Secrets[k.path]; !isSecret {
			problems = append(problems, config.Problem{File: name(opts), Path: k.path, Line: k.line,
				Msg: "{set: true} keeps a stored secret, and this key is not a secret: give its value"})
			continue
		}
		d.Secrets[k.path] = admin.Secret{Keep: true}
	}
	if problems != nil {
		return admin.Decoded{}, problems
	}
	return d, nil
}

// dropKeptRequired returns the problems of err but those that only say a kept secret is missing: a message
// starting "required" at exactly the secret's path or its *_file path. It returns nil when none is left, and
// err itself when it is not config.Problems.
func dropKeptRequired(err error, kept keptSecrets) error {
	var ps config.Problems
	if !errors.As(err, &ps) {
		return err
	}
	var left config.Problems
	for _, p := range ps {
		if !strings.HasPrefix(p.Msg, "required") || !slices.ContainsFunc(kept, func(k keptSecret) bool {
			return p.Path == k.path || p.Path == k.path+"_file"
		}) {
			left = append(left, p)
		}
	}
	if left == nil {
		return nil
	}
	return left
}

// Validate checks a tenant about to be written, its kept secrets merged in, by putting it back together as
// Load does. Its problems carry no line: the lines would be those of the stored document, not of what the
// author wrote.
func Validate(t store.Tenant, opts config.TenantOptions) error {
	_, err := Load(t, opts)
	var ps config.Problems
	if errors.As(err, &ps) {
		for i := range ps {
			ps[i].Line = 0
		}
		return ps
	}
	return err
}

// Load puts a stored tenant back together (config.JoinTenant) and validates it. opts.Name defaults to
// "tenant <id>".
func Load(t store.Tenant, opts config.TenantOptions) (*config.Tenant, error) {
	if opts.Name == "" {
		opts.Name = "tenant " + t.ID
	}
	ct, err := config.JoinTenant(t.Config, t.Secrets, opts)
	if err != nil {
		return nil, err
	}
	if ct.ID != t.ID {
		return nil, fmt.Errorf("platform: stored tenant %q holds the document of tenant %q", t.ID, ct.ID)
	}
	return ct, nil
}

// Record takes a tenant apart for the store (config.Tenant.Split). Version and UpdatedAt are the store's.
func Record(t *config.Tenant) (store.Tenant, error) {
	doc, secrets, err := t.Split()
	if err != nil {
		return store.Tenant{}, err
	}
	return store.Tenant{ID: t.ID, DisplayName: t.DisplayName, Domains: t.Domains, Hosts: t.Hosts,
		Config: doc, Secrets: secrets}, nil
}

// name is the document's name in problems, as config.ParseTenant defaults it.
func name(opts config.TenantOptions) string {
	if opts.Name == "" {
		return "tenant"
	}
	return opts.Name
}
