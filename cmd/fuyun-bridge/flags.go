package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
)

// newFlags makes a flag set whose --help prints usage to stdout (exit 0) and whose errors go to stderr (exit 2).
func newFlags(name, synopsis string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: fuyun-bridge %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, which must all be flags; it returns (exit code, true) when the command should stop now.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (int, bool) {
	if code, stop := parseFlagsArgs(fs, args, stdout); stop {
		return code, stop
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "fuyun-bridge %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return 2, true
	}
	return 0, false
}

// parseFlagsArgs is parseFlags for a command that takes arguments after its flags (fs.Args()).
func parseFlagsArgs(fs *flag.FlagSet, args []string, stdout io.Writer) (int, bool) {
	// flag.Parse prints the usage itself on -h and after every error: catch it, and print it once, to
	// stdout for --help and to stderr (with the error) otherwise.
	var printed bytes.Buffer
	stderr := fs.Output()
	fs.SetOutput(&printed)
	err := fs.Parse(args)
	fs.SetOutput(stderr)
	if errors.Is(err, flag.ErrHelp) {
		_, _ = stdout.Write(printed.Bytes())
		return 0, true
	}
	if err != nil {
		_, _ = stderr.Write(printed.Bytes())
		return 2, true
	}
	return 0, false
}

// configEnv names the configuration file when --config is absent.
const configEnv = "FUYUN_BRIDGE_CONFIG"

// keyFlags are the flags of serve and check that set a configuration key over the environment and the file.
var keyFlags = []struct{ name, path, usage string }{
	{"listen", "server.listen", "address to listen on (server.listen)"},
	{"public-url", "server.public_url", "the bridge's external URL (server.public_url)"},
	{"metrics-listen", "server.metrics_listen", "address of the /metrics listener (server.metrics_listen)"},
	{"log-level", "log.level", "debug, info, warn or error (log.level)"},
	{"log-format", "log.format", "json or text (log.format)"},
}

// configFlags defines --config and the keyFlags on fs. After parsing, load reads the configuration: the file
// of --config or else FUYUN_BRIDGE_CONFIG ("" when neither names one), with the environment's FUYUN_BRIDGE_*
// keys and then the flags that were given over it.
func configFlags(fs *flag.FlagSet) (path *string, load func() (*config.Config, error)) {
	path = fs.String("config", "", "the bridge's YAML configuration (required; or set "+configEnv+")")
	values := map[string]*string{}
	for _, f := range keyFlags {
		values[f.name] = fs.String(f.name, "", f.usage+"; overrides the environment and the file")
	}
	load = func() (*config.Config, error) {
		overrides := config.EnvOverrides(os.LookupEnv)
		for _, f := range keyFlags {
			if isSet(fs, f.name) {
				overrides = append(overrides, config.Override{Path: f.path, Value: *values[f.name], Origin: "--" + f.name})
			}
		}
		return config.Load(*path, overrides...)
	}
	return path, load
}

// configPath fills an empty --config from FUYUN_BRIDGE_CONFIG and reports whether a file is named.
func configPath(path *string) bool {
	if *path == "" {
		*path = os.Getenv(configEnv)
	}
	return *path != ""
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
