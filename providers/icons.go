package providers

import (
	"embed"
	"io/fs"
)

// icons are the presets' sign-in button images; the bridge serves each preset's at /icons/{type}.svg.
//
//go:embed icons/*.svg
var icons embed.FS

func mustIcon(name string) []byte {
	b, err := fs.ReadFile(icons, "icons/"+name+".svg")
	if err != nil {
		panic(err) // embedded at build time: a missing file is a build mistake
	}
	return b
}

var (
	iconMicrosoft  = mustIcon("microsoft")
	iconSalesforce = mustIcon("salesforce")
	iconGoogle     = mustIcon("google")
	iconOIDC       = mustIcon("oidc")
	iconOAuth2     = mustIcon("oauth2")
)
