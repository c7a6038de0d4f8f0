package providers

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// preset is the static description of one provider type. Presets are data where they can be; build holds
// the code for the type's real quirks (validation, endpoints, claim normalisation).
type preset struct {
	scopes       []string
	mappingField string
	fallbacks    []string
	build        func(cfg Config, opts Options) (Provider, error)
}

// presets is the registry: adding a provider type means one file and one line here.
var presets = map[string]preset{
	TypeMicrosoft:  {scopes: []string{"openid", "profile", "email"}, mappingField: "email", fallbacks: []string{"preferred_username", "upn"}, build: newMicrosoft},
	TypeSalesforce: {scopes: []string{"openid", "profile", "email"}, mappingField: "email", build: newSalesforce},
	TypeGoogle:     {scopes: []string{"openid", "email", "profile"}, mappingField: "email", build: newGoogle},
	TypeOIDC:       {scopes: []string{"openid", "profile", "email"}, mappingField: "email", build: newOIDC},
	TypeOAuth2:     {scopes: nil, mappingField: "email", build: newOAuth2},
}

// Provider type names as written in the config's `type:`.
const (
	TypeMicrosoft  = "microsoft"
	TypeSalesforce = "salesforce"
	TypeGoogle     = "google"
	TypeOIDC       = "oidc"
	TypeOAuth2     = "oauth2"
)

// Types lists the supported provider types, sorted, for help texts and validation.
func Types() []string {
	out := make([]string, 0, len(presets))
	for t := range presets {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// MappingDefaults is the preset's default mapping field and fallbacks when the config sets none.
// An unknown type yields ("email", nil).
func MappingDefaults(typ string) (field string, fallbacks []string) {
	p, ok := presets[typ]
	if !ok {
		return "email", nil
	}
	return p.mappingField, slices.Clone(p.fallbacks)
}

// DefaultScopes is the preset's default scopes when the config sets none; nil for oauth2 and unknown types.
func DefaultScopes(typ string) []string {
	return slices.Clone(presets[typ].scopes)
}

// New builds the provider of cfg.Type. It validates cfg but makes no network call: discovery and keys are
// loaded lazily on first use, so the bridge can start while an IdP is down.
func New(cfg Config, opts Options) (Provider, error) {
	p, ok := presets[cfg.Type]
	if !ok {
		return nil, fmt.Errorf("provider %q: unknown type %q (supported: %s)", cfg.ID, cfg.Type, strings.Join(Types(), ", "))
	}
	if err := validateCommon(cfg); err != nil {
		return nil, fmt.Errorf("provider %q (%s): %w", cfg.ID, cfg.Type, err)
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = DefaultScopes(cfg.Type)
	}
	prov, err := p.build(cfg, opts)
	if err != nil {
		return nil, fmt.Errorf("provider %q (%s): %w", cfg.ID, cfg.Type, err)
	}
	return prov, nil
}
