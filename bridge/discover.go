package bridge

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/fuyun-bridge/fuyun-bridge/templates"
)

// maxEmail bounds the address /discover reads (RFC 5321's path limit).
const maxEmail = 254

// DiscoverRateLimit bounds the root's /discover per client address: a person typing an address never meets it
// (10 at once, then one a second); a scanner of which domains are the platform's customers is slowed to that.
var DiscoverRateLimit = RateLimit{Rate: 1, Burst: 10}

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
	if ok, wait := p.discoverLimit.allow(clientIP(r), p.now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		root.writeError(w, r, failf(CodeRateLimited, errors.New("too many discoveries from this address")))
		return
	}
	email, domain, err := discoveryEmail(r)
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
	d := srv.discovery(r, email, domain)
	d.Tenant, d.DisplayName = e.rec.ID, e.rec.DisplayName
	root.answerDiscovery(w, r, d)
}

// handleDiscover is a platform tenant's own email box (its sign-in page offers one when it has several
// providers): the address's domain picks the provider (see providerFor), and the login starts there.
func (s *Server) handleDiscover(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	email, domain, err := discoveryEmail(r)
	if err != nil {
		s.writeError(w, r, failf(CodeInvalidRequest, err))
		return
	}
	d := s.discovery(r, email, domain)
	d.Tenant, d.DisplayName = s.opts.Tenant, s.opts.TenantName
	s.answerDiscovery(w, r, d)
}

// discoveryEmail reads /discover's email parameter and its domain.
func discoveryEmail(r *http.Request) (email, domain string, err error) {
	email = strings.TrimSpace(r.URL.Query().Get("email"))
	domain, err = emailDomain(email)
	return email, domain, err
}

// discovery is where an address of domain signs in at this server: every provider, and the login to go to —
// the provider that providerFor picks, else the sign-in page, login_hint (and return_to) carried.
func (s *Server) discovery(r *http.Request, email, domain string) discovery {
	q := r.URL.Query()
	hint := urlValues("login_hint", email, "return_to", q.Get("return_to"), "lang", q.Get("lang")).Encode()
	var d discovery
	for _, rt := range s.order {
		d.Providers = append(d.Providers, discoveryLink{ID: rt.Provider.ID(), Name: rt.Provider.DisplayName(),
			LoginURL: s.absolute("/login/"+rt.Provider.ID()) + "?" + hint})
	}
	if rt := s.providerFor(domain); rt != nil {
		d.LoginURL = s.absolute("/login/"+rt.Provider.ID()) + "?" + hint
	} else {
		d.LoginURL = s.absolute("/") + "?" + hint
	}
	return d
}

// providerFor is the provider an address of domain signs in with: the only one; else the first whose mapping
// lists the domain in allowed_domains; else the only one that restricts no domain; else none (the sign-in
// page lets the agent choose). The address is the one typed in the email box; a mapping's allowed_domains
// apply to the IdP's claim, which may differ, so with one provider it is the one whatever they list.
func (s *Server) providerFor(domain string) *Route {
	if len(s.order) == 1 {
		return s.order[0]
	}
	var open []*Route
	for _, rt := range s.order {
		if rt.Mapper.AllowsDomain(domain) {
			if rt.Mapper.RestrictsDomains() {
				return rt
			}
			open = append(open, rt)
		}
	}
	if len(open) == 1 {
		return open[0]
	}
	return nil
}

// answerDiscovery answers /discover: JSON for a program, else a page that names the company and moves on by
// itself rather than a redirect (see templates' continue page).
func (s *Server) answerDiscovery(w http.ResponseWriter, r *http.Request, d discovery) {
	if wantsJSON(r) || r.URL.Query().Get("format") == "json" {
		writeJSON(w, http.StatusOK, d)
		return
	}
	s.render(w, r, http.StatusOK, templates.PageContinue, templates.Continue{Page: s.page(r), Company: d.DisplayName, URL: d.LoginURL})
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
