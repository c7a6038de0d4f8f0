package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// TestLdflagsVersionStamp builds the command the way `make build` and the release do and runs the binary: the
// -X main.version stamp is what `version` and `--version` print.
func TestLdflagsVersionStamp(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	bin := filepath.Join(t.TempDir(), "fuyun-bridge")
	build := exec.Command(goCmd, "build", "-ldflags", "-X main.version=v9.8.7-stamp", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // as released, and sharing the build cache with the image test
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, arg := range []string{"version", "--version"} {
		out, err := exec.Command(bin, arg).Output()
		if err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		if !strings.HasPrefix(string(out), "fuyun-bridge v9.8.7-stamp (go") {
			t.Errorf("%s printed %q, want the stamped version first", arg, out)
		}
	}
}

func TestVersionText(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	cases := []struct {
		name, stamped string
		info          *debug.BuildInfo
		want          string
	}{
		{"no build info", "", nil, "fuyun-bridge (devel) (unknown)\n"},
		{"stamp wins over the module version", "v1.2.3", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.2"}},
			"fuyun-bridge v1.2.3 (go1.26.8)\n"},
		{"go install records the module version", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.2"}},
			"fuyun-bridge v1.2.2 (go1.26.8)\n"},
		{"commit and time from a git checkout", "v1.2.3-4-gabcdef0", &debug.BuildInfo{GoVersion: "go1.26.8",
			Settings: vcs("vcs", "git", "vcs.revision", "abcdef0123", "vcs.time", "2026-11-20T10:00:00Z", "vcs.modified", "false")},
			"fuyun-bridge v1.2.3-4-gabcdef0 (go1.26.8)\ncommit abcdef0123 2026-11-20T10:00:00Z\n"},
		{"uncommitted changes are said", "", &debug.BuildInfo{GoVersion: "go1.26.8",
			Settings: vcs("vcs.revision", "abcdef0123", "vcs.modified", "true")},
			"fuyun-bridge (devel) (go1.26.8)\ncommit abcdef0123 (modified)\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionText(tc.stamped, tc.info); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
