package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Tenant is one customer company of platform mode: who it is, which email domains and hosts lead to it, and
// the per-company sections of the YAML file, with the same keys and rules. Process-wide settings (server,
// session, api, log, cookie's other keys, fuyun.timeout) stay in the file.
type Tenant struct {
	// ID is the tenant's URL segment (/t/{id}/…): 1 to 63 of a-z, 0-9 and -, starting with a letter or digit.
	ID string `yaml:"id"`
	// DisplayName is shown to people; default the id.
	DisplayName string `yaml:"display_name"`
	// Domains are the lower-case email domains that home-realm discovery sends to this tenant.
	Domains []string `yaml:"domains"`
	// Hosts are the host[:port]s the tenant is served on besides the bridge's public URL; optional.
	Hosts []string `yaml:"hosts"`
	// Cookie may set only domain (see tenantCookieKeys).
	Cookie    Cookie     `yaml:"cookie"`
	Redirects Redirects  `yaml:"redirects"`
	Embed     Embed      `yaml:"embed"`
	Fuyun     Fuyun      `yaml:"fuyun"`
	Providers []Provider `yaml:"providers"`

	// Warnings are accepted settings that weaken a protection, as for Config.
	Warnings Problems `yaml:"-"`

	// source is the document as read (${VAR} expanded, secrets joined in), which Split takes apart: what the
	// author wrote, not what defaults made of it, is what gets stored.
	source *yaml.Node
}

// TenantOptions are the inputs of ParseTenant and JoinTenant besides the document.
type TenantOptions struct {
	// Name is shown in problems in place of a file name; default "tenant".
	Name string
	// PublicURL is the process's server.public_url (Config.Server.PublicURL): a provider's redirect URI is
	// {PublicURL}/t/{id}/callback/{provider id}.
	PublicURL string
	// AllowFiles is for a tenant the operator brings (a file, `tenants import`): *_file secrets and
	// mapping.accounts_file are read, relative to Dir, and ${VAR} references are expanded. Leave it false for
	// the admin API: whoever sends a tenant there must read neither the bridge's files nor its environment, so
	// those keys are refused and a $ is literal.
	AllowFiles bool
	// Dir, LookupEnv and ReadFile are as in ParseOptions; used only with AllowFiles.
	Dir       string
	LookupEnv func(string) (string, bool)
	ReadFile  func(string) ([]byte, error)
}

// tenantID is the store's id pattern: the tenant's URL segment.
var tenantID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidTenantID reports whether id can name a tenant: 1 to 63 of a-z, 0-9 and -, starting with a letter or
// digit.
func ValidTenantID(id string) bool { return tenantID.MatchString(id) }

// tenantCookieKeys are the cookie keys a tenant may set: the domain its CRM shares with the bridge is the
// company's. The others stay process-wide: secure follows server.public_url, same_site and partitioned how
// the deployment is framed, the name is what Fuyun's SDK reads, max_age the operator's session policy.
var tenantCookieKeys = []string{"domain"}

// ParseTenant parses and validates one tenant, written as YAML or JSON (a JSON document is YAML, and its
// lines are reported as such). Its error, if any, is a Problems listing everything that is wrong, with the
// same paths and messages as the YAML file's problems with the same keys.
func ParseTenant(data []byte, opts TenantOptions) (*Tenant, error) {
	public, err := opts.public()
	if err != nil {
		return nil, err
	}
	p := opts.parser()
	t := &Tenant{}
	if root, ok := p.parseYAML(jsonForYAML(data)); ok {
		if opts.AllowFiles {
			p.expandEnv(root, "")
		}
		p.tenant(root, t, public, opts.AllowFiles)
	}
	if err := p.result(); err != nil {
		return nil, err
	}
	t.Warnings = p.warnings
	return t, nil
}

// public parses PublicURL as Parse leaves server.public_url: absolute, no trailing slash.
func (o TenantOptions) public() (*url.URL, error) {
	u, msg := parseHTTPURL(o.PublicURL)
	if msg != "" {
		return nil, fmt.Errorf("config: TenantOptions.PublicURL: %s", msg)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// parser starts a parse of a tenant document.
func (o TenantOptions) parser() *parser {
	if o.Name == "" {
		o.Name = "tenant"
	}
	return newParser(ParseOptions{Name: o.Name, Dir: o.Dir, LookupEnv: o.LookupEnv, ReadFile: o.ReadFile})
}

// company is the tenant's per-company part; public is nil when the redirect URIs cannot be known (a bad id).
func (t *Tenant) company(public *url.URL) company {
	var base *url.URL
	if public != nil {
		base = TenantURL(public, t.ID, t.Hosts)
	}
	return company{cookie: &t.Cookie, redirects: &t.Redirects, embed: &t.Embed, fuyun: &t.Fuyun,
		providers: t.Providers, public: base, callback: "/callback/", hosts: t.Hosts}
}

// TenantURL is where tenant id is served: {public}/t/{id}, or, when it lists hosts, its first host with
// public's scheme and path. That URL is the base of its providers' redirect URIs ({TenantURL}/callback/{id}):
// a login must finish on the host where it started, whose cookies the callback carries.
func TenantURL(public *url.URL, id string, hosts []string) *url.URL {
	u := *public
	if len(hosts) > 0 {
		u.Host = hosts[0]
	} else {
		u.Path = strings.TrimRight(u.Path, "/") + "/t/" + id
	}
	u.RawPath = ""
	return &u
}

// tenant decodes and checks a tenant document with the rules of the file's sections plus the tenant's own.
func (p *parser) tenant(root *yaml.Node, t *Tenant, public *url.URL, allowFiles bool) {
	if !p.refuseAliases(root) {
		return
	}
	p.refuseProcessWide(root)
	p.decode(root, t, "")
	t.source = root
	p.checking = true
	if !tenantID.MatchString(t.ID) {
		public = nil // the redirect URIs would be wrong; the id is reported below
	}
	co := t.company(public)
	if allowFiles {
		p.resolveCompany(co)
	} else {
		p.refuseFiles(co)
	}
	for _, s := range co.secrets() {
		p.secret(s.value, *s.file, s.path)
	}
	setDefault(&t.DisplayName, t.ID)
	p.companyDefaults(co)
	p.validateTenant(t)
	p.validateCompany(co)
}

// refuseAliases refuses anchors and aliases: Split could not remove a secret that an alias repeats elsewhere,
// and expanding aliases on copy is how a small document becomes a huge one.
func (p *parser) refuseAliases(n *yaml.Node) bool {
	if n.Anchor != "" || n.Kind == yaml.AliasNode {
		p.add("", n.Line, "anchors and aliases (&name, *name) are not supported in a tenant; repeat the value")
		return false
	}
	for _, c := range n.Content {
		if !p.refuseAliases(c) {
			return false
		}
	}
	return true
}

var (
	configKeys = yamlFields(reflect.TypeFor[Config]())
	tenantKeys = yamlFields(reflect.TypeFor[Tenant]())
	cookieKeys = yamlFields(reflect.TypeFor[Cookie]())
)

// processWide reports whether key of section ("" for the top level) belongs to the whole deployment.
func processWide(section, key string) bool {
	switch section {
	case "":
		_, inConfig := configKeys[key]
		_, inTenant := tenantKeys[key]
		return inConfig && !inTenant
	case "cookie":
		_, isCookie := cookieKeys[key]
		return isCookie && !slices.Contains(tenantCookieKeys, key)
	case "fuyun":
		return key == "timeout" // it bounds the process's calls, whoever they are for
	}
	return false
}

// refuseProcessWide reports and removes the process-wide keys of a tenant document, at the top level and in
// its cookie and fuyun sections, before decoding: their problem is where they are, not what they say.
func (p *parser) refuseProcessWide(root *yaml.Node) {
	drop := func(m *yaml.Node, section string) {
		kept := m.Content[:0:0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			k := m.Content[i]
			if processWide(section, k.Value) {
				p.add(childPath(section, k.Value), k.Line, "%s is a process-wide setting: it belongs in the bridge's YAML file, not in a tenant", childPath(section, k.Value))
				continue
			}
			kept = append(kept, k, m.Content[i+1])
		}
		m.Content = kept
	}
	if root.Kind != yaml.MappingNode {
		return // decoding reports it
	}
	drop(root, "")
	for _, section := range []string{"cookie", "fuyun"} {
		if m := mappingValue(root, section); m != nil && m.Kind == yaml.MappingNode {
			drop(m, section)
		}
	}
}

// refuseFiles refuses every file a tenant names when files are not allowed, and forgets it so nothing reads it.
func (p *parser) refuseFiles(co company) {
	const why = "files are not read for a tenant sent through the admin API"
	for _, s := range co.secrets() {
		if *s.file != "" {
			p.addf(s.path+"_file", "%s: give %s itself", why, lastKey(s.path))
			*s.file = ""
		}
	}
}

// validateTenant checks what only a tenant has: its id, domains and hosts.
func (p *parser) validateTenant(t *Tenant) {
	switch {
	case t.ID == "":
		p.addf("id", "required: the tenant's URL segment, e.g. acme")
	case !tenantID.MatchString(t.ID):
		p.addf("id", "%q: want 1 to 63 of a-z, 0-9 and -, starting with a letter or digit", t.ID)
	}
	p.uniqueNames("domains", t.Domains, "a lower-case domain name such as acme.com", func(d string) bool {
		return isDomainName(d) && strings.Contains(d, ".")
	})
	p.uniqueNames("hosts", t.Hosts, "a lower-case host or host:port such as crm.acme.com or crm.acme.com:8443", isHostPort)
}

// uniqueNames checks each entry of the list at path with valid and refuses repeats.
func (p *parser) uniqueNames(path string, list []string, want string, valid func(string) bool) {
	first := map[string]int{}
	for i, s := range list {
		switch j, dup := first[s]; {
		case !valid(s):
			p.addf(indexPath(path, i), "%q: want %s", s, want)
		case dup:
			p.addf(indexPath(path, i), "%q is already %s", s, indexPath(path, j))
		default:
			first[s] = i
		}
	}
}

// isHostPort reports whether s is a lower-case DNS name or an IP address (IPv6 in brackets), with an
// optional port.
func isHostPort(s string) bool {
	host := s
	if h, port, err := net.SplitHostPort(s); err == nil {
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return false
		}
		host = h
		if strings.Contains(h, ":") && !strings.HasPrefix(s, "[") {
			return false
		}
	} else if b, ok := strings.CutPrefix(s, "["); ok && strings.HasSuffix(b, "]") {
		host = strings.TrimSuffix(b, "]")
		return strings.Contains(host, ":") && net.ParseIP(host) != nil
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.To4() != nil || host != s // IPv6 only in brackets
	}
	return isDomainName(host)
}

// hostOnly is the host of a host[:port].
func hostOnly(s string) string {
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return strings.Trim(s, "[]")
}

// jsonForYAML rewrites the one JSON escape YAML lacks, \/, as /, when data is JSON; lines are unchanged.
func jsonForYAML(data []byte) []byte {
	if !bytes.Contains(data, []byte(`\/`)) || !json.Valid(data) {
		return data
	}
	out := make([]byte, 0, len(data))
	inString, escaped := false, false
	for _, c := range data {
		switch {
		case escaped:
			escaped = false
			if c != '/' {
				out = append(out, '\\')
			}
		case inString && c == '\\':
			escaped = true
			continue
		case c == '"':
			inString = !inString
		}
		out = append(out, c)
	}
	return out
}
