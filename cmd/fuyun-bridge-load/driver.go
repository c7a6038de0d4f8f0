package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
)

// Provider ids of the bridge the driver configures: one per Fuyun exchange mode.
const (
	providerJWT   = "load"
	providerOAuth = "load-oauth"
	loadClientID  = "fuyun-bridge-load"
)

// driverFlags are the driver's command-line settings.
type driverFlags struct {
	n, c, warmup             int
	mode, userinfo           string
	idpLatency, fuyunLatency time.Duration
	latencyModel             string
	timeout                  time.Duration
	cpuProfile, keepDir      string
	target, provider, tenant string
	pid, platform            int
	jsonOut                  string
	rp                       string // rpBridge or rpMinimal
}

// The relying parties the driver can start: the bridge, or the minimal one that measures the floor.
const (
	rpBridge  = "bridge"
	rpMinimal = "minimal"
)

func runDriver(args []string, stdout, stderr io.Writer) int {
	var f driverFlags
	fs := flag.NewFlagSet("fuyun-bridge-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&f.n, "n", 2000, "logins to measure")
	fs.IntVar(&f.c, "c", 32, "logins in flight at once")
	fs.IntVar(&f.warmup, "warmup", 100, "logins before measuring (fill connection pools, warm caches); not counted")
	fs.StringVar(&f.mode, "mode", "oauth", "Fuyun exchange mode of the provider used: oauth or jwt")
	fs.StringVar(&f.userinfo, "userinfo", "auto", "the providers' userinfo mode: auto (skipped when the ID token suffices), always or never")
	fs.DurationVar(&f.idpLatency, "idp-latency", 0, "artificial latency added to every IdP request (e.g. 20ms)")
	fs.DurationVar(&f.fuyunLatency, "fuyun-latency", 0, "artificial latency added to every Fuyun request (e.g. 30ms)")
	fs.StringVar(&f.latencyModel, "latency-model", latencyTotal, "how the latencies apply: total (each upstream answers in exactly that time, its own work included, as a real one is measured) or added (slept before the stub works, which comes on top)")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Minute, "bound on the whole run")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "have the bridge process write a CPU profile of its whole life here")
	fs.StringVar(&f.keepDir, "keep", "", "write the run's config, plan and bridge log into this directory and keep it")
	fs.StringVar(&f.target, "target", "", "drive an already running bridge at this loopback URL instead of starting one")
	fs.StringVar(&f.provider, "provider", "", "provider id to log in with (with -target; default from -mode)")
	fs.StringVar(&f.tenant, "tenant", "", "with -target: log in at this tenant of a platform-mode bridge (/t/ID/login/…)")
	fs.IntVar(&f.platform, "platform", 0, "platform mode: the bridge serves a SQLite store of this many tenants and the logins go to tenant "+loadTenant+", which has the single-tenant config's providers")
	fs.IntVar(&f.pid, "pid", 0, "with -target: the bridge's process id, to report its CPU time and peak RSS")
	fs.StringVar(&f.jsonOut, "json", "", "also write the figures as JSON to this file")
	fs.StringVar(&f.rp, "rp", rpBridge, "the relying party to start: bridge, or minimal (only what any relying party on the same libraries must do: the floor the bridge's figures are read against)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if f.n <= 0 || f.c <= 0 || f.n > 1_000_000 || f.c > 4096 || f.warmup < 0 {
		fmt.Fprintln(stderr, "fuyun-bridge-load: -n must be 1..1000000, -c 1..4096, -warmup ≥ 0")
		return 2
	}
	if f.userinfo != "auto" && f.userinfo != "always" && f.userinfo != "never" {
		fmt.Fprintln(stderr, "fuyun-bridge-load: -userinfo must be auto, always or never")
		return 2
	}
	if f.latencyModel != latencyTotal && f.latencyModel != latencyAdded {
		fmt.Fprintln(stderr, "fuyun-bridge-load: -latency-model must be total or added")
		return 2
	}
	if f.mode != "oauth" && f.mode != "jwt" {
		fmt.Fprintln(stderr, "fuyun-bridge-load: -mode must be oauth or jwt")
		return 2
	}
	switch {
	case f.rp != rpBridge && f.rp != rpMinimal:
		fmt.Fprintln(stderr, "fuyun-bridge-load: -rp must be bridge or minimal")
		return 2
	case f.rp == rpMinimal && (f.platform > 0 || f.target != ""):
		fmt.Fprintln(stderr, "fuyun-bridge-load: -rp minimal starts its own relying party and has no platform mode")
		return 2
	case f.platform < 0 || f.platform > maxPlatform:
		fmt.Fprintf(stderr, "fuyun-bridge-load: -platform must be 1..%d tenants (0: single-tenant)\n", maxPlatform)
		return 2
	case f.platform > 0 && f.target != "":
		fmt.Fprintln(stderr, "fuyun-bridge-load: -platform starts its own bridge; with -target use -tenant")
		return 2
	case f.tenant != "" && f.target == "":
		fmt.Fprintln(stderr, "fuyun-bridge-load: -tenant is for -target; -platform logs in at tenant "+loadTenant)
		return 2
	case f.tenant != "" && !config.ValidTenantID(f.tenant):
		fmt.Fprintf(stderr, "fuyun-bridge-load: -tenant %q is not a tenant id\n", f.tenant)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	res, err := drive(ctx, f, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge-load: %v\n", err)
		return 1
	}
	res.print(stdout)
	if f.jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(f.jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintf(stderr, "fuyun-bridge-load: %v\n", err)
			return 1
		}
	}
	if res.Failed > 0 {
		return 3
	}
	return 0
}

// env is a running set of processes to drive.
type env struct {
	bridgeURL, provider, controlURL string
	tenant                          string // "" for a single-tenant bridge
	bridgePID, stubsPID             int
	latency                         map[string]time.Duration // injected per request, by stub listener
	stop                            func()
	// With -platform: the tenants in the store, how long writing it took, and when the bridge was started.
	tenants       int
	storeWrite    time.Duration
	bridgeStarted time.Time
}

func drive(ctx context.Context, f driverFlags, stderr io.Writer) (*result, error) {
	provider := providerOAuth
	if f.mode == "jwt" {
		provider = providerJWT
	}
	var e *env
	if f.target != "" {
		u, err := url.Parse(f.target)
		if err != nil || !isLoopbackHost(u.Hostname()) {
			return nil, fmt.Errorf("-target %q must be a loopback http URL", f.target)
		}
		if f.provider != "" {
			provider = f.provider
		}
		e = &env{bridgeURL: strings.TrimSuffix(f.target, "/"), provider: provider, tenant: f.tenant, bridgePID: f.pid, stop: func() {}}
	} else {
		var err error
		if e, err = start(ctx, f, provider, stderr); err != nil {
			return nil, err
		}
	}
	defer e.stop()
	if err := waitReady(ctx, e.bridgeURL); err != nil {
		return nil, err
	}
	var ready time.Duration
	if !e.bridgeStarted.IsZero() {
		ready = time.Since(e.bridgeStarted)
	}
	loginURL := e.bridgeURL + "/login/" + e.provider
	if e.tenant != "" {
		loginURL = e.bridgeURL + tenantPath(e.tenant) + "/login/" + e.provider
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        4 * f.c,
		MaxIdleConnsPerHost: 2 * f.c,
		IdleConnTimeout:     time.Minute,
	}
	defer tr.CloseIdleConnections()
	d := &loader{tr: tr, loginURL: loginURL, bridgeURL: e.bridgeURL}
	if f.warmup > 0 {
		if _, err := d.runMany(ctx, f.warmup, min(f.c, f.warmup)); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	before, err := sample(ctx, e)
	if err != nil {
		return nil, err
	}
	stats, err := d.runMany(ctx, f.n, f.c)
	if err != nil {
		return nil, err
	}
	after, err := sample(ctx, e)
	if err != nil {
		return nil, err
	}
	r := summarize(f, e, stats, before, after)
	r.Tenant, r.Tenants, r.StoreWriteSeconds, r.BridgeReadySeconds = e.tenant, e.tenants, e.storeWrite.Seconds(), ready.Seconds()
	return r, nil
}

// start writes the plan and the bridge's config, binds every listener here (so no port can be taken in
// between), and starts the stubs and the bridge as children that inherit them.
func start(ctx context.Context, f driverFlags, provider string, stderr io.Writer) (e *env, err error) {
	dir := f.keepDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "fuyun-bridge-load-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var cleanups []func()
	stop := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	if f.keepDir == "" {
		cleanups = append(cleanups, func() { _ = os.RemoveAll(dir) })
	}
	names := []string{"bridge", lnIdP, lnIdPSim, lnFuyun, lnControl}
	files := map[string]*os.File{}
	urls := map[string]string{}
	for _, name := range names {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		file, err := ln.(*net.TCPListener).File()
		_ = ln.Close() // the duplicate in file keeps the socket listening
		if err != nil {
			return nil, err
		}
		files[name], urls[name] = file, "http://"+ln.Addr().String()
	}
	closeFiles := func() {
		for _, file := range files {
			_ = file.Close()
		}
	}
	defer closeFiles()

	key, err := fuyun.GenerateKey()
	if err != nil {
		return nil, err
	}
	privPEM, err := fuyun.MarshalPrivateKeyPEM(key)
	if err != nil {
		return nil, err
	}
	pubPEM, err := fuyun.MarshalPublicKeyPEM(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	callbackBase := urls["bridge"]
	if f.platform > 0 {
		callbackBase += tenantPath(loadTenant)
	}
	p := plan{
		BridgeURL: urls["bridge"], CallbackBase: callbackBase, IdPURL: urls[lnIdP], IdPSimURL: urls[lnIdPSim], FuyunURL: urls[lnFuyun],
		ControlURL: urls[lnControl], ClientID: loadClientID, IdPSecret: random(24), FuyunSecret: random(24),
		JWTIssuer: urls["bridge"], AppName: "loadapp", PublicKeyPEM: string(pubPEM),
		IdPLatency: f.idpLatency, FuyunLatency: f.fuyunLatency, LatencyModel: f.latencyModel, ProviderIDs: []string{providerJWT, providerOAuth},
		InheritedFDs: []string{lnIdP, lnIdPSim, lnFuyun, lnControl},
	}
	planPath, cfgPath, keyPath := filepath.Join(dir, "plan.json"), filepath.Join(dir, "bridge.yaml"), filepath.Join(dir, "fuyun-private.pem")
	pb, _ := json.MarshalIndent(p, "", "  ")
	if err := os.WriteFile(planPath, pb, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(keyPath, privPEM, 0o600); err != nil {
		return nil, err
	}
	company := companyYAML(p, keyPath, f.userinfo)
	bridgeCompany := company
	if f.platform > 0 {
		bridgeCompany = storeYAML(filepath.Join(dir, "tenants.db"))
	}
	if err := os.WriteFile(cfgPath, []byte(bridgeConfig(p, bridgeCompany)), 0o600); err != nil {
		return nil, err
	}
	var storeWrite time.Duration
	if f.platform > 0 {
		if storeWrite, err = writeStore(ctx, cfgPath, company, f.platform); err != nil {
			return nil, err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	childOut := &lockedWriter{w: stderr} // both children write to it at once
	spawn := func(args []string, fds []*os.File) (*exec.Cmd, error) {
		cmd := exec.Command(self, args...)
		cmd.ExtraFiles = fds
		cmd.Stdout, cmd.Stderr = childOut, childOut
		stdin, err := cmd.StdinPipe() // closing it tells the child to stop, even if we die
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		cleanups = append(cleanups, func() {
			_ = stdin.Close()
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		})
		return cmd, nil
	}
	stubs, err := spawn([]string{"stubs", "-plan", planPath},
		[]*os.File{files[lnIdP], files[lnIdPSim], files[lnFuyun], files[lnControl]})
	if err != nil {
		return nil, fmt.Errorf("starting the stubs: %w", err)
	}
	bargs := []string{"bridge", "-config", cfgPath, "-log", filepath.Join(dir, "bridge.log")}
	if f.rp == rpMinimal {
		bargs = []string{"minimal", "-plan", planPath, "-key", keyPath}
	}
	if f.cpuProfile != "" {
		bargs = append(bargs, "-cpuprofile", f.cpuProfile)
	}
	bridgeStarted := time.Now()
	br, err := spawn(bargs, []*os.File{files["bridge"]})
	if err != nil {
		return nil, fmt.Errorf("starting the bridge: %w", err)
	}
	e = &env{
		bridgeURL: p.BridgeURL, provider: provider, controlURL: p.ControlURL,
		bridgePID: br.Process.Pid, stubsPID: stubs.Process.Pid,
		latency: map[string]time.Duration{lnIdP: f.idpLatency, lnIdPSim: f.idpLatency, lnFuyun: f.fuyunLatency},
		stop:    stop,
	}
	if f.platform > 0 {
		e.tenant, e.tenants, e.storeWrite, e.bridgeStarted = loadTenant, f.platform, storeWrite, bridgeStarted
	}
	return e, nil
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// companyYAML is the per-company part of the bridge's config, pointed at the stubs: redirects, fuyun and the
// two providers. It is the top level of the single-tenant config and, with -platform, tenant t0's document.
func companyYAML(p plan, keyPath, userinfo string) string {
	provider := func(id, mode string) string {
		return fmt.Sprintf(`
  - id: %s
    type: oidc
    issuer: %q
    client_id: %s
    client_secret: %q
    scopes: [openid, profile, email]
    fuyun_mode: %s
    userinfo: %s
    mapping:
      field: email
      transform: strip_domain
      require_verified: true
      allowed_domains: [example.com]`, id, p.IdPURL, p.ClientID, p.IdPSecret, mode, userinfo)
	}
	return fmt.Sprintf(`redirects:
  allowed: [%q]
fuyun:
  token_url: %q
  client_id: %s
  client_secret: %q
  scope: "user_management,hotline"
  redirect_url: %q
  app_name: %s
  jwt:
    issuer: %q
    private_key_file: %q
    ttl: 5m
providers:%s%s
`, crmOrigin, p.FuyunURL+"/oauth/token_exchange", p.ClientID, p.FuyunSecret,
		p.BridgeURL+"/callback", p.AppName, p.JWTIssuer, keyPath,
		provider(providerJWT, "jwt"), provider(providerOAuth, "oauth"))
}

// bridgeConfig is a production-shaped config (JSON logs at info, one line per login) whose company is
// company: companyYAML's sections, or with -platform storeYAML's store that holds them as tenant t0.
func bridgeConfig(p plan, company string) string {
	return fmt.Sprintf(`# written by fuyun-bridge-load for one run
server:
  listen: "127.0.0.1:0"
  metrics_public: true # the driver reads the bridge's own histograms from the public port
  public_url: %q
session:
  keys: [%q]
cookie:
  secure: false
log:
  level: info
  format: json
%s`, p.BridgeURL, random(32)+":"+random(32), company)
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// waitReady polls /readyz until the bridge has loaded discovery and keys and reached Fuyun (30 s at most).
func waitReady(ctx context.Context, base string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = strings.TrimSpace(string(b))
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bridge at %s not ready: %s", base, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// crmOrigin is where return_to sends the agent after a login, as a CRM page would; the driver stops at the
// 303 that points there (nothing listens on it: the CRM's page load is not the bridge's work).
const crmOrigin = "http://127.0.0.1:9"

// loader runs logins like a browser would: a fresh cookie jar per login, every redirect followed.
type loader struct {
	tr                  *http.Transport
	loginURL, bridgeURL string
	next                atomic.Int64
}

// runStats are the outcomes of one batch of logins.
type runStats struct {
	latencies []time.Duration
	errors    map[string]int
	wall      time.Duration
}

// users are the demo agents of providers/devidp that login_hint names.
var users = []string{"alice", "bob", "carol"}

func (d *loader) runMany(ctx context.Context, n, c int) (*runStats, error) {
	st := &runStats{errors: map[string]int{}, latencies: make([]time.Duration, 0, n)}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var issued atomic.Int64
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for issued.Add(1) <= int64(n) && ctx.Err() == nil {
				lat, code := d.login(ctx)
				mu.Lock()
				if code == "" {
					st.latencies = append(st.latencies, lat)
				} else {
					st.errors[code]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	st.wall = time.Since(start)
	if err := ctx.Err(); err != nil {
		return st, fmt.Errorf("run stopped after %d logins: %w", len(st.latencies), err)
	}
	return st, nil
}

var errorCodeRE = regexp.MustCompile(`<dd><code>([a-z_]+)</code></dd>`)

// login performs one whole login and returns its latency, or a short error code.
func (d *loader) login(ctx context.Context) (time.Duration, string) {
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Transport: d.tr, Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), crmOrigin+"/") {
				return http.ErrUseLastResponse
			}
			if len(via) >= 10 {
				return errors.New("too many redirects")
			}
			return nil
		}}
	u := d.loginURL + "?return_to=" + url.QueryEscape(crmOrigin+"/agent") + "&login_hint=" + users[d.next.Add(1)%int64(len(users))]
	start := time.Now()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	req.Header.Set("Accept", "text/html")
	resp, err := client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return 0, "client_timeout"
		}
		return 0, "client_error"
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	lat := time.Since(start)
	if resp.StatusCode != http.StatusSeeOther {
		if m := errorCodeRE.FindSubmatch(body); m != nil {
			return 0, string(m[1])
		}
		return 0, "http_" + strconv.Itoa(resp.StatusCode)
	}
	bu, _ := url.Parse(d.bridgeURL)
	for _, c := range jar.Cookies(bu) {
		if c.Name == "AC_TOKEN" && c.Value != "" {
			return lat, ""
		}
	}
	return 0, "no_ac_token"
}

// snapshot is what is sampled before and after the measured run.
type snapshot struct {
	bridgeCPU, stubsCPU, driverCPU time.Duration
	metrics                        map[string]float64 // sums of the bridge's own histograms, see scrapeMetrics
	counts                         map[string]map[string]int64
}

func sample(ctx context.Context, e *env) (*snapshot, error) {
	s := &snapshot{}
	if e.bridgePID > 0 {
		var err error
		if s.bridgeCPU, err = procCPU(e.bridgePID); err != nil {
			return nil, err
		}
	}
	if e.stubsPID > 0 {
		s.stubsCPU, _ = procCPU(e.stubsPID)
	}
	s.driverCPU, _ = procCPU(os.Getpid())
	s.metrics = scrapeMetrics(ctx, e.bridgeURL)
	if e.controlURL != "" {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.controlURL+"/counts", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("reading the stubs' request counts: %w", err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&s.counts); err != nil {
			return nil, fmt.Errorf("reading the stubs' request counts: %w", err)
		}
	}
	return s, nil
}

// Histograms of the bridge's /metrics whose _sum and _count the driver reads.
const (
	metricLogin    = "fuyun_bridge_login_duration_seconds"
	metricUpstream = "fuyun_bridge_upstream_request_duration_seconds"
)

// scrapeMetrics adds up the _sum and _count series of the login and upstream histograms over all labels;
// nil when /metrics cannot be read (a bridge serving it elsewhere).
func scrapeMetrics(ctx context.Context, base string) map[string]float64 {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		for _, m := range []string{metricLogin, metricUpstream} {
			for _, suffix := range []string{"_sum", "_count"} {
				if strings.HasPrefix(line, m+suffix+"{") || strings.HasPrefix(line, m+suffix+" ") {
					if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
						out[m+suffix] += v
					}
				}
			}
		}
	}
	return out
}

// clockTicks is USER_HZ, which Linux fixes at 100 for /proc whatever the kernel's HZ.
const clockTicks = 100

// procCPU is utime+stime of a process from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	fields := strings.Fields(s[i+1:]) // fields[0] is the state, field 3 of stat(5)
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	ut, err1 := strconv.ParseInt(fields[11], 10, 64) // utime, field 14
	st, err2 := strconv.ParseInt(fields[12], 10, 64) // stime, field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// procHWM is the peak resident set size (VmHWM) of a process, in bytes.
func procHWM(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, err
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmHWM", pid)
}

// result is the report of one run; its JSON form is what -json writes.
type result struct {
	Mode            string             `json:"mode"`
	N               int                `json:"n"`
	C               int                `json:"c"`
	IdPLatencyMS    float64            `json:"idp_latency_ms"`
	FuyunLatencyMS  float64            `json:"fuyun_latency_ms"`
	LatencyModel    string             `json:"latency_model"`
	OK              int                `json:"ok"`
	Failed          int                `json:"failed"`
	Errors          map[string]int     `json:"errors"`
	WallSeconds     float64            `json:"wall_seconds"`
	LoginsPerSecond float64            `json:"logins_per_second"`
	LatencyMS       map[string]float64 `json:"latency_ms"`  // p50 p90 p99 max
	InjectedMS      float64            `json:"injected_ms"` // artificial upstream delay per login
	// FloorMS is the injected latency on a login's critical path: the browser's authorize and the code
	// redemption, then in OAuth mode max(the bridge's userinfo, Fuyun's exchange with its own userinfo call),
	// which run in parallel, and in JWT mode the bridge's userinfo (if made) then Fuyun. FloorRatio is p50/FloorMS.
	FloorMS      float64            `json:"floor_ms"`
	FloorRatio   float64            `json:"floor_ratio"`
	AddedMS      map[string]float64 `json:"added_ms,omitempty"` // latency minus injected, p50 p99
	BridgeCPUms  float64            `json:"bridge_cpu_ms_per_login"`
	BridgeRSSMiB float64            `json:"bridge_peak_rss_mib"`
	StubsCPUms   float64            `json:"stubs_cpu_ms_per_login"`
	DriverCPUms  float64            `json:"driver_cpu_ms_per_login"`
	// PerLogin is the requests each stub listener received per login, by path.
	PerLogin map[string]map[string]float64 `json:"requests_per_login"`
	// BridgeUpstream is the bridge's own requests to the IdP and Fuyun per login (token, userinfo, exchange,
	// discovery, JWKS); the browser's /authorize and Fuyun's own userinfo calls are not the bridge's.
	BridgeUpstream float64 `json:"bridge_upstream_per_login"`
	// MetadataFetches is how many discovery or JWKS requests arrived during the measured run (want 0).
	MetadataFetches int64 `json:"metadata_fetches"`
	// CallbackOwnMS is the mean time a /callback spent outside its upstream round trips, from the bridge's
	// own histograms: (Σ callback duration − Σ upstream request duration) / callbacks.
	CallbackOwnMS float64 `json:"callback_own_ms"`
	// CallbackMS and CallbackUpstreamMS are the two means it is made of.
	CallbackMS         float64 `json:"callback_ms"`
	CallbackUpstreamMS float64 `json:"callback_upstream_ms"`
	// Tenant is the platform-mode tenant logged in at; Tenants the tenants of -platform's store, which took
	// StoreWriteSeconds to write; BridgeReadySeconds is from starting the bridge until its /readyz said ready.
	Tenant             string  `json:"tenant,omitempty"`
	Tenants            int     `json:"platform_tenants,omitempty"`
	StoreWriteSeconds  float64 `json:"store_write_seconds,omitempty"`
	BridgeReadySeconds float64 `json:"bridge_ready_seconds,omitempty"`
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1 // nearest rank
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func summarize(f driverFlags, e *env, st *runStats, before, after *snapshot) *result {
	r := &result{
		Mode: f.mode, N: f.n, C: f.c, IdPLatencyMS: ms(f.idpLatency), FuyunLatencyMS: ms(f.fuyunLatency), LatencyModel: f.latencyModel,
		OK: len(st.latencies), Errors: st.errors, WallSeconds: st.wall.Seconds(),
		LatencyMS: map[string]float64{}, PerLogin: map[string]map[string]float64{},
	}
	for _, n := range st.errors {
		r.Failed += n
	}
	total := r.OK + r.Failed
	r.LoginsPerSecond = float64(r.OK) / st.wall.Seconds()
	lat := append([]time.Duration(nil), st.latencies...)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	for _, p := range []struct {
		name string
		q    float64
	}{{"p50", .50}, {"p90", .90}, {"p99", .99}, {"max", 1}} {
		r.LatencyMS[p.name] = ms(pct(lat, p.q))
	}
	if e.bridgePID > 0 && total > 0 {
		r.BridgeCPUms = ms(after.bridgeCPU-before.bridgeCPU) / float64(total)
		if hwm, err := procHWM(e.bridgePID); err == nil {
			r.BridgeRSSMiB = float64(hwm) / (1 << 20)
		}
	}
	if e.stubsPID > 0 && total > 0 {
		r.StubsCPUms = ms(after.stubsCPU-before.stubsCPU) / float64(total)
	}
	if total > 0 {
		r.DriverCPUms = ms(after.driverCPU-before.driverCPU) / float64(total)
	}
	if before.metrics != nil && after.metrics != nil {
		if n := after.metrics[metricLogin+"_count"] - before.metrics[metricLogin+"_count"]; n > 0 {
			login := (after.metrics[metricLogin+"_sum"] - before.metrics[metricLogin+"_sum"]) / n * 1000
			up := (after.metrics[metricUpstream+"_sum"] - before.metrics[metricUpstream+"_sum"]) / n * 1000
			r.CallbackMS, r.CallbackUpstreamMS, r.CallbackOwnMS = login, up, login-up
		}
	}
	var injected time.Duration
	for ln, paths := range after.counts {
		for path, n := range paths {
			delta := n - before.counts[ln][path]
			if delta == 0 || total == 0 {
				continue
			}
			if r.PerLogin[ln] == nil {
				r.PerLogin[ln] = map[string]float64{}
			}
			r.PerLogin[ln][path] = float64(delta) / float64(total)
			injected += time.Duration(delta) * e.latency[ln]
			if strings.Contains(path, "/.well-known/") || strings.Contains(path, "jwks") {
				r.MetadataFetches += delta
			}
			// Bridge-originated: every IdP request on the bridge's listener except the browser's
			// /authorize, and every Fuyun request.
			if (ln == lnIdP && !strings.Contains(path, "authorize")) || ln == lnFuyun {
				r.BridgeUpstream += float64(delta) / float64(total)
			}
		}
	}
	if total > 0 {
		per := func(ln, path string) time.Duration {
			return time.Duration(r.PerLogin[ln][path] * float64(e.latency[ln]))
		}
		front := per(lnIdP, "/authorize") + per(lnIdP, "/token")
		userinfo, exchange := per(lnIdP, "/userinfo"), per(lnFuyun, "/oauth/token_exchange")+per(lnIdPSim, "/userinfo")
		floor := front + userinfo + exchange
		if f.mode == "oauth" {
			floor = front + max(userinfo, exchange)
		}
		if floor > 0 {
			r.FloorMS, r.FloorRatio = ms(floor), ms(pct(lat, .5))/ms(floor)
		}
	}
	if total > 0 && injected > 0 {
		r.InjectedMS = ms(injected / time.Duration(total))
		added := make([]time.Duration, len(lat))
		for i, l := range lat {
			added[i] = l - injected/time.Duration(total)
		}
		r.AddedMS = map[string]float64{"p50": ms(pct(added, .5)), "p99": ms(pct(added, .99))}
	}
	return r
}

func (r *result) print(w io.Writer) {
	fmt.Fprintf(w, "fuyun-bridge-load: mode=%s n=%d c=%d idp-latency=%gms fuyun-latency=%gms latency-model=%s\n", r.Mode, r.N, r.C, r.IdPLatencyMS, r.FuyunLatencyMS, r.LatencyModel)
	switch {
	case r.Tenants > 0:
		fmt.Fprintf(w, "  platform   %d tenants in a SQLite store, written in %.2fs; logins at %s/; bridge ready %.2fs after its start\n",
			r.Tenants, r.StoreWriteSeconds, tenantPath(r.Tenant), r.BridgeReadySeconds)
	case r.Tenant != "":
		fmt.Fprintf(w, "  platform   logins at %s/\n", tenantPath(r.Tenant))
	}
	fmt.Fprintf(w, "  logins     %d ok, %d failed in %.2fs = %.0f logins/s\n", r.OK, r.Failed, r.WallSeconds, r.LoginsPerSecond)
	fmt.Fprintf(w, "  latency    p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms\n", r.LatencyMS["p50"], r.LatencyMS["p90"], r.LatencyMS["p99"], r.LatencyMS["max"])
	if r.AddedMS != nil {
		fmt.Fprintf(w, "  added      p50 %.2fms  p99 %.2fms  beyond %.1fms of injected upstream latency per login\n", r.AddedMS["p50"], r.AddedMS["p99"], r.InjectedMS)
	}
	if r.FloorMS > 0 {
		fmt.Fprintf(w, "  floor      %.1fms of injected latency on the critical path (parallel calls counted once): p50 = %.3f × floor\n", r.FloorMS, r.FloorRatio)
	}
	switch {
	case r.CallbackMS > 0 && r.CallbackOwnMS >= 0:
		fmt.Fprintf(w, "  callback   mean %.2fms in the bridge, of which %.2fms waiting on upstreams: %.2fms its own (bridge histograms)\n", r.CallbackMS, r.CallbackUpstreamMS, r.CallbackOwnMS)
	case r.CallbackMS > 0:
		fmt.Fprintf(w, "  callback   mean %.2fms in the bridge; its upstream calls overlap (%.2fms summed), so its own time is not separable here (see make bench)\n", r.CallbackMS, r.CallbackUpstreamMS)
	}
	if r.BridgeCPUms > 0 || r.BridgeRSSMiB > 0 {
		fmt.Fprintf(w, "  bridge     %.3f ms CPU per login (utime+stime)   peak RSS %.1f MiB (VmHWM)\n", r.BridgeCPUms, r.BridgeRSSMiB)
	}
	if r.StubsCPUms > 0 {
		fmt.Fprintf(w, "  stubs      %.3f ms CPU per login (devidp + fuyunsim, another process)\n", r.StubsCPUms)
	}
	fmt.Fprintf(w, "  driver     %.3f ms CPU per login (this process: the browsers)\n", r.DriverCPUms)
	if len(r.PerLogin) > 0 {
		fmt.Fprintf(w, "  upstream   %.2f bridge requests per login; %d discovery/JWKS fetches during the run\n", r.BridgeUpstream, r.MetadataFetches)
		lns := make([]string, 0, len(r.PerLogin))
		for ln := range r.PerLogin {
			lns = append(lns, ln)
		}
		sort.Strings(lns)
		for _, ln := range lns {
			paths := make([]string, 0, len(r.PerLogin[ln]))
			for p := range r.PerLogin[ln] {
				paths = append(paths, p)
			}
			sort.Strings(paths)
			var parts []string
			for _, p := range paths {
				parts = append(parts, fmt.Sprintf("%s %.2f", p, r.PerLogin[ln][p]))
			}
			fmt.Fprintf(w, "    %-8s %s\n", ln, strings.Join(parts, "  "))
		}
	}
	if len(r.Errors) == 0 {
		fmt.Fprintln(w, "  errors     none")
		return
	}
	codes := make([]string, 0, len(r.Errors))
	for c := range r.Errors {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		fmt.Fprintf(w, "  error      %-24s %d\n", c, r.Errors[c])
	}
}
