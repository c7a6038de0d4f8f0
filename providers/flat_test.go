package providers

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
)

// Config is the tests' flat description of a provider entry: every key any preset has. New turns it into the
// preset's own configuration type, as the config package does from YAML, so that the tests of each preset's
// behaviour read as before presets owned their configuration.
type Config struct {
	ID, Type, DisplayName  string
	ClientID, ClientSecret string
	Scopes                 []string
	Issuer                 string
	AuthURL, TokenURL      string
	UserinfoURL            string
	Tenant                 string
	AllowedTenants         []string
	Domain                 string
	RedirectURL            string
}

// New builds cfg's provider through its preset, the way the bridge does. A key set in cfg that the preset's
// configuration type lacks is an error, as an unknown YAML key is.
func New(cfg Config, opts Options) (testProvider, error) {
	preset, ok := Lookup(cfg.Type)
	if !ok {
		p, err := Build(cfg.Type, Common{ID: cfg.ID}, nil, opts)
		return testProvider{p}, err
	}
	pc := preset.NewConfig()
	v := reflect.ValueOf(pc).Elem()
	set := func(name string, val any) error {
		rv := reflect.ValueOf(val)
		if rv.IsZero() {
			return nil
		}
		f := v.FieldByName(name)
		if !f.IsValid() {
			return fmt.Errorf("%s is not a key of type %s", name, cfg.Type)
		}
		f.Set(rv)
		return nil
	}
	for name, val := range map[string]any{
		"ClientID": cfg.ClientID, "ClientSecret": cfg.ClientSecret, "Scopes": cfg.Scopes, "Issuer": cfg.Issuer,
		"AuthURL": cfg.AuthURL, "TokenURL": cfg.TokenURL, "UserinfoURL": cfg.UserinfoURL, "Tenant": cfg.Tenant,
		"AllowedTenants": cfg.AllowedTenants, "Domain": cfg.Domain,
	} {
		if err := set(name, val); err != nil {
			return testProvider{}, err
		}
	}
	p, err := Build(cfg.Type, Common{ID: cfg.ID, DisplayName: cfg.DisplayName, RedirectURL: cfg.RedirectURL}, pc, opts)
	return testProvider{p}, err
}

// DefaultScopes is the scopes a preset's configuration has after ApplyDefaults when the YAML names none.
func DefaultScopes(typ string) []string {
	p, ok := Lookup(typ)
	if !ok {
		return nil
	}
	pc := p.NewConfig()
	pc.ApplyDefaults()
	f := reflect.ValueOf(pc).Elem().FieldByName("Scopes")
	if !f.IsValid() {
		return nil
	}
	return f.Interface().([]string)
}

// testProvider gives tests the optional abilities of a provider directly: Ready is nil for a provider
// without Readier; UserInfo fails the call for one without UserInfoer.
type testProvider struct{ Provider }

func (p testProvider) Ready(ctx context.Context) error {
	if r, ok := p.Provider.(Readier); ok {
		return r.Ready(ctx)
	}
	return nil
}

func (p testProvider) UserInfo(ctx context.Context, token string) (*Identity, error) {
	u, ok := p.Provider.(UserInfoer)
	if !ok {
		return nil, fmt.Errorf("provider type %s has no UserInfo", p.Type())
	}
	return u.UserInfo(ctx, token)
}

// callback is the authorization response query of a standard OAuth 2.0 IdP.
func callback(code, iss, verifier, nonce string) CallbackRequest {
	q := url.Values{"code": {code}}
	if iss != "" {
		q.Set("iss", iss)
	}
	return CallbackRequest{Query: q, CodeVerifier: verifier, Nonce: nonce}
}
