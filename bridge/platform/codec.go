package platform

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/admin"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
)

// Codec is the admin API's TenantCodec for the bridge's tenant schema. Documents sent to it may name no file
// and read no environment variable (config.TenantOptions.AllowFiles is false).
type Codec struct {
	opts config.TenantOptions
}

var _ admin.TenantCodec = (*Codec)(nil)

// NewCodec returns the codec of a bridge whose server.public_url is publicURL (each provider's redirect URI is
// {publicURL}/t/{id}/callback/{provider id}). A URL that is not absolute http(s) is an error.
func NewCodec(publicURL string) (*Codec, error) {
	c := &Codec{opts: config.TenantOptions{PublicURL: publicURL}}
	// Reading an empty tenant checks the URL first; the empty tenant's own problems are expected.
	var ps config.Problems
	if _, err := config.ParseTenant([]byte("{}"), c.opts); err != nil && !errors.As(err, &ps) {
		return nil, fmt.Errorf("platform: %w", err)
	}
	return c, nil
}

// Decode reads a JSON tenant document; a secret written {"set": true} is kept (see Parse).
func (c *Codec) Decode(body []byte) (admin.Decoded, []admin.Problem) {
	d, err := Parse(body, c.opts)
	if err != nil {
		return admin.Decoded{}, adminProblems(err)
	}
	return d, nil
}

// Validate checks the tenant about to be written, its kept secrets merged in.
func (c *Codec) Validate(t store.Tenant) []admin.Problem {
	if err := Validate(t, c.opts); err != nil {
		return adminProblems(err)
	}
	return nil
}

// Redact is the stored tenant as GET shows it: every secret that is set as {"set": true}.
func (c *Codec) Redact(t store.Tenant) (json.RawMessage, error) {
	ct, err := Load(t, c.opts)
	if err != nil {
		return nil, err
	}
	return ct.Redacted()
}

// adminProblems turns config.Problems into the admin API's problems, paths, lines and messages unchanged;
// any other error becomes one problem with its text.
func adminProblems(err error) []admin.Problem {
	var ps config.Problems
	if !errors.As(err, &ps) {
		return []admin.Problem{{Message: err.Error()}}
	}
	out := make([]admin.Problem, len(ps))
	for i, p := range ps {
		out[i] = admin.Problem{Path: p.Path, Line: p.Line, Message: p.Msg}
	}
	return out
}
