// Command fuyun-bridge signs call-center agents in to the Fuyun contact center through their company's
// identity provider. Subcommands only; the logic lives in the bridge and providers packages.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"dev", "run a complete local demo: bridge, dev identity provider, Fuyun emulator", runDev},
		{"serve", "run the bridge with a configuration file", runServe},
		{"check", "validate a configuration and reach every IdP and Fuyun", runCheck},
		{"keygen", "generate the RSA key pair for Fuyun's JWT mode", runKeygen},
		{"token", "do one JWT-mode token exchange from the shell", runToken},
		{"apikey", "generate an API key for POST /api/v1/token and its keys-file line", runAPIKey},
		{"tenants", "platform mode: import, export and list the tenants of the store", runTenants},
		{"admin", "platform mode: generate admin API keys", runAdmin},
		{"store", "platform mode: migrate the tenant store, rotate its encryption keys", runStore},
		{"fuyun-sim", "run the Fuyun token-exchange emulator alone", runFuyunSim},
		{"version", "print the version", runVersion},
	}
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "--version", "-version", "-v":
			return runVersion(args[1:], stdout, stderr)
		}
	}
	return runGroup("", commands(), args, stdout, stderr)
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "--help" {
			fmt.Fprintln(stdout, "Usage: fuyun-bridge version\n\nPrints the version, the Go toolchain it was built with and, when recorded, the commit.")
			return 0
		}
		fmt.Fprintf(stderr, "fuyun-bridge version: unexpected argument %q\n", args[0])
		return 2
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = nil
	}
	fmt.Fprint(stdout, versionText(version, info))
	return 0
}

// versionText is what `version` prints: the release version (the -X main.version stamp, else the module
// version `go install …@v1.2.3` records, else "(devel)") and toolchain, then the commit and commit time that
// `go build` in a git checkout records, so a binary built without a stamp can still be traced to its source.
func versionText(stamped string, info *debug.BuildInfo) string {
	v, goVersion := stamped, "unknown"
	if info != nil {
		if v == "" && info.Main.Version != "" {
			v = info.Main.Version
		}
		goVersion = info.GoVersion
	}
	if v == "" {
		v = "(devel)"
	}
	text := fmt.Sprintf("fuyun-bridge %s (%s)\n", v, goVersion)
	if info == nil {
		return text
	}
	vcs := map[string]string{}
	for _, s := range info.Settings {
		vcs[s.Key] = s.Value
	}
	if rev := vcs["vcs.revision"]; rev != "" {
		text += "commit " + rev
		if t := vcs["vcs.time"]; t != "" {
			text += " " + t
		}
		if vcs["vcs.modified"] == "true" {
			text += " (modified)"
		}
		text += "\n"
	}
	return text
}
