package providers

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Preset is one provider type as a self-contained unit: its configuration type (only its own keys), its
// defaults, its display and how it is built. The registry (registry.go) maps each type name to its Preset;
// adding an identity provider is one file (or folder) here and one registry line.
type Preset struct {
	// Name is the IdP's product name for help texts and docs ("Microsoft Entra ID").
	Name string
	// NewConfig returns a fresh, zero configuration of the type, which the config package decodes the
	// provider's own YAML keys into (yaml tags; a string key K with a sibling K_file is a secret that may be
	// given as a file).
	NewConfig func() PresetConfig
	// MappingField and Fallbacks are the mapping defaults when the configuration names no field.
	MappingField string
	Fallbacks    []string
	// JWTOnly marks an IdP that Fuyun's OAuth mode cannot use (Fuyun's OAuth mode calls a standard user
	// endpoint with a Bearer token); Why says so in a sentence for the configuration error.
	JWTOnly bool
	Why     string
	// Icon is the sign-in button's SVG image; nil uses the generic one.
	Icon []byte
	// Example is a commented YAML snippet of a provider entry of this type, for docs and `--help`.
	Example string
}

// PresetConfig is a provider type's own configuration, decoded from its YAML block.
type PresetConfig interface {
	// ApplyDefaults fills what the YAML left out (scopes, endpoints); it runs before Validate.
	ApplyDefaults()
	// Validate checks the type's own keys, makes no network call and returns every problem keyed by the
	// key's path relative to the provider entry ("tenant", "allowed_tenants[1]").
	Validate() []FieldError
	// Build makes the provider; called only when Validate found nothing.
	Build(c Common, opts Options) (Provider, error)
}

// Common is what every provider has, whatever its type; the bridge fills it.
type Common struct {
	ID          string
	Type        string
	DisplayName string
	// RedirectURL is {public_url}/callback/{id}.
	RedirectURL string
}

// FieldError is one problem with a key of a provider's configuration.
type FieldError struct {
	Key string // relative to the provider entry: "tenant", "scopes[0]"; "" for the entry itself
	Msg string
}

func (e FieldError) Error() string {
	if e.Key == "" {
		return e.Msg
	}
	return e.Key + ": " + e.Msg
}

// MappingView is what a preset may check of the provider's mapping: whether it pins who may sign in.
type MappingView struct {
	Field          string
	Fallbacks      []string
	AllowedDomains []string
	AccountsFile   bool
	RequireClaims  []string // claim names
}

// MappingGuard is implemented by a PresetConfig whose IdP admits users of other organisations unless the
// mapping (or the type's own keys) pin them: errors refuse the configuration, warnings are printed by check
// and logged at start-up. Keys are relative to the provider entry ("mapping.require_claims").
type MappingGuard interface {
	GuardMapping(m MappingView) (errs, warnings []FieldError)
}

// Lookup returns the preset of a type name.
func Lookup(typ string) (Preset, bool) {
	p, ok := registry[typ]
	return p, ok
}

// Types lists the supported provider types, sorted, for help texts and validation.
func Types() []string {
	out := make([]string, 0, len(registry))
	for t := range registry {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// MappingDefaults is the preset's default mapping field and fallbacks when the config sets none.
// An unknown type yields ("email", nil).
func MappingDefaults(typ string) (field string, fallbacks []string) {
	p, ok := registry[typ]
	if !ok {
		return "email", nil
	}
	return p.MappingField, slices.Clone(p.Fallbacks)
}

// Build validates cfg and builds the provider of typ. It makes no network call: discovery and keys are
// loaded lazily on first use, so the bridge can start while an IdP is down.
func Build(typ string, c Common, cfg PresetConfig, opts Options) (Provider, error) {
	if _, ok := registry[typ]; !ok {
		return nil, fmt.Errorf("provider %q: unknown type %q (supported: %s)", c.ID, typ, strings.Join(Types(), ", "))
	}
	c.Type = typ
	if err := validateCommon(c); err != nil {
		return nil, fmt.Errorf("provider %q (%s): %w", c.ID, typ, err)
	}
	cfg.ApplyDefaults()
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("provider %q (%s): %w", c.ID, typ, errs[0])
	}
	p, err := cfg.Build(c, opts)
	if err != nil {
		return nil, fmt.Errorf("provider %q (%s): %w", c.ID, typ, err)
	}
	return p, nil
}
