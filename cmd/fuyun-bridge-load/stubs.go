package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun/fuyunsim"
	"github.com/fuyun-bridge/fuyun-bridge/providers/devidp"
)

// plan is what the driver tells its two children: addresses, secrets and latencies of one run. It is written
// to a 0600 file in the run's temporary directory, never passed on a command line.
type plan struct {
	BridgeURL    string        `json:"bridge_url"`
	CallbackBase string        `json:"callback_base"` // the providers' callbacks are {CallbackBase}/callback/{id}
	IdPURL       string        `json:"idp_url"`       // the IdP as the bridge and the browser see it
	IdPSimURL    string        `json:"idp_sim_url"`   // the same IdP on its own listener, for the emulator's userinfo calls
	FuyunURL     string        `json:"fuyun_url"`
	ClientID     string        `json:"client_id"`
	IdPSecret    string        `json:"idp_secret"`
	FuyunSecret  string        `json:"fuyun_secret"`
	JWTIssuer    string        `json:"jwt_issuer"`
	AppName      string        `json:"app_name"`
	PublicKeyPEM string        `json:"public_key_pem"`
	IdPLatency   time.Duration `json:"idp_latency"`
	FuyunLatency time.Duration `json:"fuyun_latency"`
	// LatencyModel is how the latencies apply: latencyTotal or latencyAdded.
	LatencyModel  string   `json:"latency_model"`
	ProviderIDs   []string `json:"provider_ids"`
	InheritedFDs  []string `json:"inherited_fds"` // names of the listeners on fd 3, 4, …
	ControlURL    string   `json:"control_url"`
	StopOnStdinEO bool     `json:"stop_on_stdin_eof"`
}

// Listener names, in the order the driver passes them to the stubs process.
const (
	lnIdP     = "idp"
	lnIdPSim  = "idp_sim"
	lnFuyun   = "fuyun"
	lnControl = "control"
)

// counter counts requests by listener and path.
type counter struct {
	mu     sync.Mutex
	counts map[string]map[string]int64
}

// Latency models (-latency-model).
const (
	// latencyTotal: every request is answered no sooner than the latency after it arrived, the stub's own
	// work (signing a token, checking a JWT) included — an upstream whose own response time is the latency, as
	// a real IdP's or Fuyun's is. A call the stub makes to another stub (the emulator's to the IdP's user
	// endpoint in OAuth mode) comes on top, with its own latency: Fuyun's answer then takes its latency plus
	// that call's, as the floor counts it.
	latencyTotal = "total"
	// latencyAdded: the latency is slept before the stub works, so the stub's own work comes on top.
	latencyAdded = "added"
)

func (c *counter) wrap(name string, latency time.Duration, model string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		c.mu.Lock()
		m := c.counts[name]
		if m == nil {
			m = map[string]int64{}
			c.counts[name] = m
		}
		m[r.URL.Path]++
		c.mu.Unlock()
		if latency <= 0 {
			h.ServeHTTP(w, r)
			return
		}
		if model == latencyAdded {
			if !sleep(r.Context(), latency) {
				return
			}
			h.ServeHTTP(w, r)
			return
		}
		calls := new(atomic.Int64) // nanoseconds spent calling other stubs (nestedTransport)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), nestedKey{}, calls)))
		if !sleep(r.Context(), latency+time.Duration(calls.Load())-time.Since(start)) {
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// nestedKey marks a request context with the time its handler spent calling other stubs.
type nestedKey struct{}

// nestedTransport adds the time of each call to the calling request's nested time (see latencyTotal).
type nestedTransport struct{ next http.RoundTripper }

func (t nestedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	if calls, ok := r.Context().Value(nestedKey{}).(*atomic.Int64); ok {
		calls.Add(int64(time.Since(start)))
	}
	return resp, err
}

// waiting counts the requests sleeping in sleep.
var waiting atomic.Int32

// spinFor is how much of a wait sleep spends yielding in a loop instead of on a timer, so that a stub
// answers at the latency asked and not a timer's wake-up later (about 0.3 ms on this machine's VMs, which
// would count as the bridge's); only while few requests wait, so that a load run's stubs do not spin on the
// cores the bridge is measured on.
const spinFor = time.Millisecond

// sleep waits d, or until ctx ends (then false).
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	deadline := time.Now().Add(d)
	precise := waiting.Add(1) <= 2
	defer waiting.Add(-1)
	if precise {
		d -= spinFor
	}
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false
		}
	}
	for precise && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	return ctx.Err() == nil
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(c.counts)
}

func readPlan(path string) (*plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}

// inheritedListeners turns fd 3, 4, … into listeners, named as the plan says.
func inheritedListeners(names []string) (map[string]net.Listener, error) {
	out := map[string]net.Listener{}
	for i, name := range names {
		f := os.NewFile(uintptr(3+i), name)
		ln, err := net.FileListener(f)
		if err != nil {
			return nil, fmt.Errorf("listener %s on fd %d: %w", name, 3+i, err)
		}
		_ = f.Close()
		out[name] = ln
	}
	return out, nil
}

// stopContext ends on SIGTERM/SIGINT or when stdin reaches EOF (the driver died or closed the pipe), so a
// child never outlives its driver.
func stopContext() (context.Context, context.CancelFunc) {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	return ctx, cancel
}

func runStubs(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("stubs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	planPath := fs.String("plan", "", "the run's plan file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	p, err := readPlan(*planPath)
	if err != nil {
		fmt.Fprintf(stderr, "stubs: %v\n", err)
		return 1
	}
	lns, err := inheritedListeners(p.InheritedFDs)
	if err != nil {
		fmt.Fprintf(stderr, "stubs: %v\n", err)
		return 1
	}
	var redirects []string
	for _, id := range p.ProviderIDs {
		redirects = append(redirects, p.CallbackBase+"/callback/"+id)
	}
	logger := slog.New(slog.DiscardHandler)
	idp, err := devidp.New(devidp.Options{
		Issuer:  p.IdPURL,
		Clients: []devidp.Client{{ID: p.ClientID, Secret: p.IdPSecret, RedirectURIs: redirects}},
		Logger:  logger,
	})
	if err != nil {
		fmt.Fprintf(stderr, "stubs: devidp: %v\n", err)
		return 1
	}
	pub, err := fuyun.ParsePublicKey([]byte(p.PublicKeyPEM))
	if err != nil {
		fmt.Fprintf(stderr, "stubs: public key: %v\n", err)
		return 1
	}
	var agents []fuyunsim.Agent
	for _, u := range devidp.DemoUsers() {
		agents = append(agents, fuyunsim.Agent{AccountName: u.Username, Email: u.Email, Mobile: u.PhoneNumber})
	}
	simClient := &http.Client{Transport: nestedTransport{&http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second}}}
	sim, err := fuyunsim.New(fuyunsim.Config{
		Issuer:   p.FuyunURL,
		TokenTTL: fuyunsim.DefaultTokenTTL,
		Clients: []fuyunsim.Client{{
			ClientID:     p.ClientID,
			ClientSecret: p.FuyunSecret,
			Scopes:       []string{"user_management", "hotline"},
			JWT:          &fuyunsim.JWTClient{Issuer: p.JWTIssuer, Key: pub},
			OAuth:        &fuyunsim.OAuthClient{AppName: p.AppName, UserEndpoint: p.IdPSimURL + "/userinfo", MappingField: "email"},
		}},
		Agents: agents,
	}, fuyunsim.Options{Logger: logger, HTTPClient: simClient, ReplayCapacity: 1_000_000})
	if err != nil {
		fmt.Fprintf(stderr, "stubs: fuyunsim: %v\n", err)
		return 1
	}
	cnt := &counter{counts: map[string]map[string]int64{}}
	handlers := map[string]http.Handler{
		lnIdP:     cnt.wrap(lnIdP, p.IdPLatency, p.LatencyModel, idp),
		lnIdPSim:  cnt.wrap(lnIdPSim, p.IdPLatency, p.LatencyModel, idp),
		lnFuyun:   cnt.wrap(lnFuyun, p.FuyunLatency, p.LatencyModel, sim),
		lnControl: cnt,
	}
	ctx, stop := stopContext()
	defer stop()
	var servers []*http.Server
	for name, ln := range lns {
		h, ok := handlers[name]
		if !ok {
			fmt.Fprintf(stderr, "stubs: unknown listener %q\n", name)
			return 1
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
		servers = append(servers, srv)
		go func() { _ = srv.Serve(ln) }()
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for _, srv := range servers {
		_ = srv.Shutdown(sctx)
	}
	return 0
}
