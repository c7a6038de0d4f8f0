package bridge_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/platformtest"
)

// scaleStoreEnv hands the store to the child process of TestPlatformTenThousandTenants, which loads it.
const scaleStoreEnv = "FUYUN_BRIDGE_SCALE_STORE"

// scaleTenants is the scale test's size: 10,000 tenants, or 1,000 under the race detector, which makes the run
// 5–10× slower and the process several times bigger, so that its time and size are not asserted then.
func scaleTenants() int {
	if bridge.RaceEnabled {
		return 1_000
	}
	return 10_000
}

// scaleFigures is what the child process measured.
type scaleFigures struct {
	Tenants  int           `json:"tenants"`
	GOGC     string        `json:"gogc"`
	Load     time.Duration `json:"load"`      // NewPlatform, then Run until Loaded
	RSSStart int64         `json:"rss_start"` // VmRSS with the store open, before NewPlatform (bytes)
	RSS      int64         `json:"rss"`       // VmRSS once loaded
	HWM      int64         `json:"hwm"`       // VmHWM once loaded: the peak, loading included
	Heap     uint64        `json:"heap"`      // HeapInuse after a GC once loaded
}

// TestPlatformTenThousandTenants: a replica over a store of 10,000 tenants loads them in under 3 s, in under
// 200 MiB of RSS, and serves every one of them: a login at one, discovery and readiness.
//
// Time and memory are measured in a process of their own — this test binary run again with scaleStoreEnv set,
// which loads the store as `serve` would (its GOGC included) and reports VmRSS and VmHWM from
// /proc/self/status — so that they are the platform's, not those of this test's IdP, emulator and records.
func TestPlatformTenThousandTenants(t *testing.T) {
	if path := os.Getenv(scaleStoreEnv); path != "" {
		loadForFigures(t, path)
		return
	}
	n := scaleTenants()
	rig := platformtest.New(t)
	path := platformtest.SQLite(t)
	_, st := rig.Open(t, "sqlite", path)
	start := time.Now()
	rig.Fill(t, st, n)
	t.Logf("%d tenants written with CreateMany in %v", n, time.Since(start).Round(time.Millisecond))

	f := measureLoad(t, path)
	t.Logf("load of %d tenants (GOGC=%s): %v; RSS %.1f MiB before, %.1f MiB after, peak %.1f MiB; heap in use %.1f MiB",
		f.Tenants, f.GOGC, f.Load.Round(time.Millisecond), mib(f.RSSStart), mib(f.RSS), mib(f.HWM), mib(int64(f.Heap)))
	if f.Tenants != n {
		t.Fatalf("the child loaded %d tenants, want %d", f.Tenants, n)
	}
	if !bridge.RaceEnabled {
		if f.Load > 3*time.Second {
			t.Errorf("loading %d tenants took %v, want under 3s", n, f.Load)
		}
		if f.HWM > 200<<20 {
			t.Errorf("peak RSS %.1f MiB with %d tenants, want under 200 MiB", mib(f.HWM), n)
		}
	}

	br := rig.Replica(t, "sqlite", path)
	rig.Balance(br)
	p := br.Platform
	if p.Tenants() != n {
		t.Fatalf("%d tenants in the snapshot, want %d", p.Tenants(), n)
	}
	last := fmt.Sprintf("t-%05d", n-1)
	for _, id := range []string{"acme", "t-00001", last} {
		if v := p.TenantVersion(id); v != 1 {
			t.Errorf("tenant %s at version %d, want 1", id, v)
		}
	}
	res := platformtest.Login(t, rig.Public, "acme", "alice")
	if client, _ := clientOf(t, res.ACToken); res.ACToken == "" || client != "crm-acme" {
		t.Fatalf("login at acme among %d tenants: %d: %.300s", n, res.Status, res.Body)
	}
	req := httptest.NewRequest(http.MethodGet, rig.Public+"/discover?email=agent@"+last+".example", nil)
	req.Header.Set("Accept", "application/json")
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	var d struct{ Tenant string }
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil || d.Tenant != last {
		t.Errorf("discovery of %s's domain: %d %s", last, rec.Code, rec.Body)
	}
	if status, body := get(t, rig.Public+"/t/t-99999/"); status != http.StatusNotFound || !strings.Contains(body, "tenant_not_found") {
		t.Errorf("a tenant beyond the store: %d", status)
	}
	if status, body := get(t, rig.Public+"/readyz"); status != http.StatusOK || !strings.Contains(body, fmt.Sprintf("store: current, %d tenants", n)) {
		t.Errorf("/readyz: %d %q", status, body)
	}
}

// measureLoad runs this test binary again to load the store at path, and returns what it measured.
func measureLoad(t *testing.T, path string) scaleFigures {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestPlatformTenThousandTenants$", "-test.count=1")
	cmd.Env = append(os.Environ(), scaleStoreEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the loading process: %v\n%s", err, out)
	}
	for sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan(); {
		if figures, ok := strings.CutPrefix(sc.Text(), "scale figures: "); ok {
			var f scaleFigures
			if err := json.Unmarshal([]byte(figures), &f); err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("the loading process reported no figures:\n%s", out)
	return scaleFigures{}
}

// loadForFigures is the child's side: open the store, load it as a replica would and print the figures.
func loadForFigures(t *testing.T, path string) {
	f := scaleFigures{GOGC: bridge.TuneGCFor(true)}
	// Only public_url is read off the rig: this process starts no IdP and no emulator.
	rig := &platformtest.Rig{Public: "http://127.0.0.1:8080"}
	cfg, st := rig.Open(t, "sqlite", path)
	f.RSSStart = procStatus(t, "VmRSS")
	start := time.Now()
	p, err := bridge.NewPlatform(cfg, st, bridge.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	go p.Run(t.Context())
	for !p.Loaded() {
		if time.Since(start) > 30*time.Second {
			t.Fatal("not loaded after 30s")
		}
		time.Sleep(time.Millisecond)
	}
	f.Load = time.Since(start)
	f.Tenants = p.Tenants()
	f.RSS, f.HWM = procStatus(t, "VmRSS"), procStatus(t, "VmHWM")
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f.Heap = ms.HeapInuse
	out, _ := json.Marshal(f)
	fmt.Printf("scale figures: %s\n", out)
}

// procStatus reads one "kB" field of /proc/self/status, in bytes.
func procStatus(t *testing.T, field string) int64 {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		var kb int64
		if _, err := fmt.Sscanf(line, field+": %d kB", &kb); err == nil {
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

func mib(bytes int64) float64 { return float64(bytes) / (1 << 20) }

// BenchmarkPlatformDispatch is a request to a tenant whose server is built — /t/acme/healthz, the cheapest
// route, so that finding the tenant is most of the work — among 10 and among 10,000 tenants: the two must be
// within noise (the snapshot's lookups are map lookups).
//
//	go test -run '^$' -bench PlatformDispatch -benchmem -count 5 ./bridge/
func BenchmarkPlatformDispatch(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) {
			rig := platformtest.New(b)
			path := platformtest.SQLite(b)
			_, st := rig.Open(b, "sqlite", path)
			rig.Fill(b, st, n)
			p := rig.Replica(b, "sqlite", path).Platform
			serve := func() {
				rec := httptest.NewRecorder()
				p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, rig.Public+"/t/acme/healthz", nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("/t/acme/healthz: %d %s", rec.Code, rec.Body)
				}
			}
			serve() // builds acme's server
			b.ReportAllocs()
			for b.Loop() {
				serve()
			}
		})
	}
}
