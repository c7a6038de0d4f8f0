// Command fuyun-bridge-load is the bridge's load harness: it runs N full browser logins at concurrency C
// against a bridge wired to a stub IdP and the Fuyun emulator on loopback, and prints logins/s, latency
// percentiles, errors by code, the bridge process's CPU time per login, its peak RSS, and how many requests
// each upstream received per login.
//
// The three parties run in three processes, so that the stubs' RSA signing is not counted as the bridge's:
//
//	fuyun-bridge-load [flags]          the driver: spawns the two below, drives the logins, reports
//	fuyun-bridge-load stubs -plan F    devidp (login_hint approves at once) + fuyunsim, counting requests
//	fuyun-bridge-load bridge -config F the bridge (bridge.NewFromConfig + Serve) on an inherited listener
//
// With -platform N the bridge is in platform mode, as serve runs it (platform.Open, Platform.Run): the driver
// first writes a SQLite store of N tenants, t0 with the single-tenant config's providers and Fuyun
// registration, the others copies of it, and the logins go to /t/t0/.
//
// Everything listens on 127.0.0.1 only; runs are bounded by -n and -timeout.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "stubs":
			return runStubs(args[1:], stderr)
		case "bridge":
			return runBridge(args[1:], stderr)
		case "minimal":
			return runMinimal(args[1:], stderr)
		case "help", "-h", "--help":
			fmt.Fprint(stdout, usage)
			return 0
		}
	}
	return runDriver(args, stdout, stderr)
}

const usage = `usage: fuyun-bridge-load [flags]        run a load test (see -h of the flags below)
       fuyun-bridge-load stubs -plan FILE  (internal) the stub IdP and Fuyun emulator
       fuyun-bridge-load bridge -config FILE (internal) the bridge on fd 3
       fuyun-bridge-load minimal -plan FILE -key FILE (internal) the minimal relying party on fd 3 (-rp minimal)

Example: fuyun-bridge-load -n 2000 -c 32 -mode oauth -idp-latency 20ms -fuyun-latency 30ms
         fuyun-bridge-load -n 3000 -c 32 -mode jwt -platform 10000
`
