package bridge

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/fuyun-bridge/fuyun-bridge/templates"
)

// maxEmail bounds the address /discover reads (RFC 5321's path limit).
const maxEmail = 254

// discovery is GET /discover's JSON answer: the tenant an email domain belongs to and where its logins start.
type discovery struct {
	Tenant      string          `json:"tenant"`
	DisplayName string          `json:"display_name"`
	Providers   []discoveryLink `json:"providers"`
	// LoginURL is where a browser goes next: the provider's login when the tenant has one, else its sign-in
	// page; login_hint (and return_to, when given) included.
	LoginURL string `json:"login_url"`
}

type discoveryLink struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	LoginURL string `json:"login_url"`
}

// handleDiscover is home-realm discovery: GET /discover?email= finds the tenant whose domains hold the
// address's domain. A browser (the sign-in page's email box) is sent on to the login with login_hint; a
// program asking for JSON gets the answer. Every unknown domain gets the same answer, which names none that
// exists.
func (p *Platform) handleDiscover(w http.ResponseWriter, r *http.Request) {
	root := p.root.Load()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	q := r.URL.Query()
	email := strings.TrimSpace(q.Get("email"))
	domain, err := emailDomain(email)
	if err != nil {
		root.writeError(w, r, failf(CodeInvalidRequest, err))
		return
	}
	e, ok := p.table.Load().byDomain[domain]
	if !ok {
		root.writeError(w, r, failf(CodeUnknownDomain, fmt.Errorf("no tenant has domain %q", truncate(domain, 64))))
		return
	}
	srv, err := e.server(p)
	if err != nil {
		p.serveTenant(w, r, e, "") // answers tenant_unavailable and logs why
		return
	}
	d := discovery{Tenant: e.rec.ID, DisplayName: e.rec.DisplayName}
	hint := urlValues("login_hint", email, "return_to", q.Get("return_to"), "lang", q.Get("lang")).Encode()
	for _, rt := range srv.order {
		d.Providers = append(d.Providers, discoveryLink{ID: rt.Provider.ID(), Name: rt.Provider.DisplayName(),
			LoginURL: srv.absolute("/login/"+rt.Provider.ID()) + "?" + hint})
	}
	if len(d.Providers) == 1 {
		d.LoginURL = d.Providers[0].LoginURL
	} else {
		d.LoginURL = srv.absolute("/") + "?" + hint
	}
	if wantsJSON(r) || q.Get("format") == "json" {
		writeJSON(w, http.StatusOK, d)
		return
	}
	// A page that moves on by itself rather than a redirect: see templates' continue page.
	root.render(w, r, http.StatusOK, templates.PageContinue, templates.Continue{Page: root.page(r), Company: d.DisplayName, URL: d.LoginURL})
}

// emailDomain is the lower-case domain of an email address, checked enough to be a map key and a log value.
func emailDomain(email string) (string, error) {
	at := strings.LastIndexByte(email, '@')
	if email == "" || len(email) > maxEmail || at <= 0 || at == len(email)-1 {
		return "", errors.New("email must be an address such as agent@example.com")
	}
	domain := strings.ToLower(email[at+1:])
	for _, c := range domain {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return "", errors.New("the email's domain is not a domain name")
		}
	}
	return domain, nil
}
