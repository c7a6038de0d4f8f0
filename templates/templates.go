// Package templates renders the bridge's HTML pages (sign-in, success, error) in
// zh-CN and English. The pages load nothing but /static/style.css and
// /static/icons/*.svg and carry no script or inline style, so they work under the
// bridge's strict Content-Security-Policy.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
)

//go:embed html/*.html
var files embed.FS

// Page names accepted by Render.
const (
	PageSignIn  = "signin"
	PageSuccess = "success"
	PageError   = "error"
	PageEmbed   = "embed"
	PagePopup   = "popup"
	// PageContinue sends the browser on to a login (platform mode's discovery): Continue.
	PageContinue = "continue"
)

var pageNames = []string{PageSignIn, PageSuccess, PageError, PageEmbed, PagePopup, PageContinue}

// Set is the parsed pages; safe for concurrent use.
type Set struct {
	pages map[string]*template.Template
}

// New parses every page once; call it at start-up so a broken template fails the start.
func New() (*Set, error) {
	base, err := template.New("layout.html").Funcs(template.FuncMap{"icon": icon}).
		ParseFS(files, "html/layout.html")
	if err != nil {
		return nil, fmt.Errorf("templates: parse layout: %w", err)
	}
	s := &Set{pages: make(map[string]*template.Template, len(pageNames))}
	for _, name := range pageNames {
		t, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("templates: clone layout for %s: %w", name, err)
		}
		if _, err := t.ParseFS(files, "html/"+name+".html"); err != nil {
			return nil, fmt.Errorf("templates: parse %s: %w", name, err)
		}
		s.pages[name] = t
	}
	return s, nil
}

// Render writes page ("signin", "success" or "error") with data (SignIn, Success
// or ErrorPage). Nothing is written unless the whole page rendered.
func (s *Set) Render(w io.Writer, page string, data any) error {
	t, ok := s.pages[page]
	if !ok {
		return fmt.Errorf("templates: unknown page %q", page)
	}
	if p, ok := data.(interface{ page() Page }); ok {
		// A page whose lang attribute disagrees with its text misleads screen
		// readers and the language switch; fail loudly instead.
		if pg := p.page(); pg.Lang != pg.M.Lang() {
			return fmt.Errorf("templates: Page.Lang %q does not match Page.M (%q); build it with NewPage", pg.Lang, pg.M.Lang())
		}
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("templates: render %s: %w", page, err)
	}
	_, err := buf.WriteTo(w)
	return err
}

// Page is what every page needs: its language, messages and the request id.
type Page struct {
	Lang      string
	M         Messages
	RequestID string
}

// NewPage returns a Page in lang (as returned by Negotiate) with the matching messages.
func NewPage(lang, requestID string) Page {
	m := Catalog(lang)
	return Page{Lang: m.Lang(), M: m, RequestID: requestID}
}

func (p Page) page() Page { return p }

// SignIn is the data of the sign-in page (GET /).
type SignIn struct {
	Page
	Providers []ProviderLink
	// Error is an optional error code shown as a banner above the buttons.
	Error string
	// ReturnTo is the checked return_to of this page; the language links keep it.
	ReturnTo string
	// DiscoverURL, when set, adds an email box that sends the address there (GET, field email): platform
	// mode's home-realm discovery.
	DiscoverURL string
}

// Continue is the data of the page that home-realm discovery answers a browser with: it names the company
// found and moves on to its login at once (a meta refresh, with a link as a fallback).
type Continue struct {
	Page
	Company string
	URL     string // same-origin: the tenant's login or sign-in page
}

// ProviderLink is one sign-in button.
type ProviderLink struct {
	ID, Name string
	// Type picks the accent colour (microsoft, salesforce, google, oidc, oauth2 or dev; others look like oidc).
	Type string
	URL  string
	// Icon is the URL of the button's image (the provider type's own, served by the bridge).
	Icon string
}

// Success is the data of the page shown after a login without return_to.
type Success struct {
	Page
	UserName, ProviderName string
	// ExpiresIn is how long the AC_TOKEN cookie lives, in seconds; ExpiresAt an already formatted time, or "".
	ExpiresIn int64
	ExpiresAt string
	// ReturnTo, when set, becomes a Continue link.
	ReturnTo string
	// ShowToken (dev mode only) reveals Token in a collapsed block.
	ShowToken bool
	Token     string
}

// ErrorPage is the data of the page shown for every failure.
type ErrorPage struct {
	Page
	Status int
	Code   string
	// Detail is an optional sentence that is safe to show, such as the mapping problem.
	Detail string
	// RetryURL and HomeURL become links when set.
	RetryURL string
	HomeURL  string
}

// icon names the accent class of a provider type; unknown types get the generic OIDC one.
func icon(providerType string) string {
	switch providerType {
	case "microsoft", "salesforce", "google", "oidc", "oauth2", "dev":
		return providerType
	}
	return "oidc"
}

// Message types that the popup page and /embed post (public interface).
const (
	MessageLogin = "fuyun-bridge:login"
	MessageError = "fuyun-bridge:error"
)

// Embed is the data of the /embed widget, the sign-in iframe inside a CRM page. Unlike the other pages it
// runs a script (/static/embed.js) and lists its one allowed parent in frame-ancestors.
type Embed struct {
	Page
	// ParentOrigin is the exact, allow-listed origin of the page that frames the widget; the script posts
	// results there and nowhere else.
	ParentOrigin string
	// Providers open /login/{id}?mode=popup in a popup.
	Providers []ProviderLink
	// HandoffURL and LogoutURL are the bridge's /embed/handoff and /logout.
	HandoffURL, LogoutURL string
	// TimeoutSeconds bounds the wait for the popup.
	TimeoutSeconds int
}

// Popup is the data of the page a callback renders in popup mode: it posts Message to window.opener
// (at the bridge's own origin) and closes.
type Popup struct {
	Page
	Message PopupMessage
	// UserName is shown after a success; Code after a failure, with its texts and Detail.
	UserName string
	Code     string
	Detail   string
}

// PopupMessage is the postMessage payload of the popup page; the JSON names are public interface.
type PopupMessage struct {
	Type        string `json:"type"` // MessageLogin or MessageError
	AccessToken string `json:"access_token,omitempty"`
	ExpiresIn   int64  `json:"expires_in,omitempty"`
	UserName    string `json:"user_name,omitempty"`
	Provider    string `json:"provider,omitempty"`
	// Handoff is the sealed token that the /embed iframe redeems for its own (partitioned) cookie.
	Handoff string `json:"handoff,omitempty"`
	// LoginID is the handoff-nonce hash of the login, so /embed knows the answer is for its own login.
	LoginID          string `json:"login_id,omitempty"`
	Error            string `json:"error,omitempty"`
	ErrorDescription string `json:"error_description,omitempty"`
}
