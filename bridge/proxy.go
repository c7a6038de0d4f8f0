package bridge

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// maxRequestBody bounds every request body the bridge might read (the API's form or JSON, the logout form).
const maxRequestBody = 64 << 10

// ParseTrustedProxies turns server.trusted_proxies entries (CIDRs or single addresses) into prefixes.
func ParseTrustedProxies(entries []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, e := range entries {
		if p, err := netip.ParsePrefix(e); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(e)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is neither an IP address nor a CIDR", e)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// clientInfo is what the edge middleware learned about the caller.
type clientInfo struct {
	ip    string // the client's address: the peer, or the X-Forwarded-For hop a trusted proxy vouches for
	https bool   // the client reached us (or a trusted proxy) over https
}

const clientInfoKey ctxKey = 1

// proxyTrust decides what the X-Forwarded-* headers of a request are worth.
type proxyTrust struct {
	prefixes []netip.Prefix
}

func (t proxyTrust) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// resolve works out the client from the peer address and, only when the peer is a trusted proxy, from
// X-Forwarded-For (walked right to left, skipping trusted hops: the first untrusted hop is the client, since
// anything left of it was written by the client itself) and X-Forwarded-Proto.
func (t proxyTrust) resolve(r *http.Request) clientInfo {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	info := clientInfo{ip: host, https: r.TLS != nil}
	peer, err := netip.ParseAddr(host)
	if err != nil || !t.trusted(peer) {
		return info
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for _, h := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			break // garbage from here leftwards: keep the last address we could vouch for
		}
		info.ip = a.Unmap().String()
		if !t.trusted(a) {
			break
		}
	}
	if p := r.Header.Values("X-Forwarded-Proto"); len(p) > 0 {
		// Only the last value is the trusted peer's own; earlier ones may come from the client.
		vals := strings.Split(p[len(p)-1], ",")
		switch strings.ToLower(strings.TrimSpace(vals[len(vals)-1])) {
		case "https":
			info.https = true
		case "http":
			info.https = r.TLS != nil
		}
	}
	return info
}

// withEdge resolves the client (trusted proxies) once per request and bounds request bodies.
func (s *Server) withEdge(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
		}
		info := s.proxies.resolve(r)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientInfoKey, info)))
	})
}

// viaHTTPS reports whether the client's connection (or the trusted proxy's client-facing one) was https.
func viaHTTPS(r *http.Request) bool {
	if info, ok := r.Context().Value(clientInfoKey).(clientInfo); ok {
		return info.https
	}
	return r.TLS != nil
}
