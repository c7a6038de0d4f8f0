package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary play the harness's children: the driver re-executes itself (here: the
// test binary) as "stubs" and "bridge".
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && (os.Args[1] == "stubs" || os.Args[1] == "bridge") {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestHarnessRunsFullLogins drives a small run in each mode end to end: three processes, every login
// successful, no discovery or JWKS fetch during the run, and exactly 3 bridge requests per login (token,
// userinfo, Fuyun) with userinfo: always, 2 with auto (the stub's ID token carries the verified email).
func TestHarnessRunsFullLogins(t *testing.T) {
	for _, tc := range []struct {
		mode, userinfo string
		upstream       float64
		injected       float64
	}{{"oauth", "always", 3, 3}, {"jwt", "always", 3, 3}, {"oauth", "auto", 2, 3}, {"jwt", "auto", 2, 2}} {
		mode := tc.mode
		t.Run(mode+"-"+tc.userinfo, func(t *testing.T) {
			var out, errOut bytes.Buffer
			jsonPath := filepath.Join(t.TempDir(), "r.json")
			code := run([]string{"-n", "40", "-c", "4", "-warmup", "5", "-mode", mode, "-userinfo", tc.userinfo, "-idp-latency", "1ms", "-json", jsonPath, "-timeout", "2m"}, &out, &errOut)
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
			}
			var r result
			b, err := os.ReadFile(jsonPath)
			if err != nil || json.Unmarshal(b, &r) != nil {
				t.Fatalf("-json output: %v %s", err, b)
			}
			if r.OK != 40 || r.Failed != 0 || r.BridgeUpstream != tc.upstream || r.MetadataFetches != 0 {
				t.Fatalf("ok %d failed %d upstream/login %.2f metadata %d\n%s", r.OK, r.Failed, r.BridgeUpstream, r.MetadataFetches, out.String())
			}
			if r.BridgeRSSMiB <= 0 || r.InjectedMS < tc.injected || r.CallbackMS <= 0 || r.FloorMS <= 0 {
				t.Fatalf("missing figures: rss %.1f injected %.1f callback %.2f\n%s", r.BridgeRSSMiB, r.InjectedMS, r.CallbackMS, out.String())
			}
			if !strings.Contains(out.String(), "40 ok, 0 failed") {
				t.Fatalf("report:\n%s", out.String())
			}
		})
	}
}

func TestPercentiles(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for q, want := range map[float64]time.Duration{.5: 50 * time.Millisecond, .99: 99 * time.Millisecond, 1: 100 * time.Millisecond} {
		if got := pct(d, q); got != want {
			t.Errorf("pct(%v) = %s, want %s", q, got, want)
		}
	}
	if pct(nil, .5) != 0 {
		t.Error("pct of nothing must be 0")
	}
}

func TestProcReaders(t *testing.T) {
	if _, err := procCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if hwm, err := procHWM(os.Getpid()); err != nil || hwm <= 0 {
		t.Fatalf("VmHWM %d %v", hwm, err)
	}
}
