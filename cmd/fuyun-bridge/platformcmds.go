package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/platform"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
)

// runGroup runs one of subs, the commands of fuyun-bridge (name "") or of one of its commands made of several
// (tenants import, store migrate, …).
func runGroup(name string, subs []command, args []string, stdout, stderr io.Writer) int {
	prefix := strings.TrimSpace("fuyun-bridge " + name)
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: %s <command> [flags]\n\nCommands:\n", prefix)
		for _, c := range subs {
			fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
		}
		fmt.Fprintf(w, "\nRun '%s <command> --help' for a command's flags.\n", prefix)
	}
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		usage(stdout)
		return 0
	}
	for _, c := range subs {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "%s: unknown command %q\n\n", prefix, args[0])
	usage(stderr)
	return 2
}

// platformCmd is a command of platform mode: it reads the configuration of --config and works on its store.
type platformCmd struct {
	fs     *flag.FlagSet
	stderr io.Writer
	path   *string
}

// platformFlags defines --config on fs for a command of platform mode.
func platformFlags(fs *flag.FlagSet, stderr io.Writer) *platformCmd {
	path := fs.String("config", "", "the bridge's YAML configuration, with its store: section (required; or set "+configEnv+")")
	return &platformCmd{fs: fs, stderr: stderr, path: path}
}

// fail says why the command failed and returns code.
func (p *platformCmd) fail(code int, format string, args ...any) int {
	fmt.Fprintf(p.stderr, "fuyun-bridge %s: %s\n", p.fs.Name(), fmt.Sprintf(format, args...))
	return code
}

// load reads the configuration as serve does (the file, then the FUYUN_BRIDGE_* variables) and refuses one
// without a store; on failure it has said why and returns the exit code.
func (p *platformCmd) load() (*config.Config, int) {
	if !configPath(p.path) {
		return nil, p.fail(2, "--config FILE is required, or %s", configEnv)
	}
	cfg, err := config.Load(*p.path, config.EnvOverrides(os.LookupEnv)...)
	switch {
	case cfg != nil && !cfg.Store.Enabled(), err != nil && !setsStoreDriver(*p.path):
		// Without a store the file is a single-company one, and its problems (no providers) are beside the point.
		return nil, p.fail(1, "platform mode is off: set store.driver (sqlite or postgres) and the store's other keys in %s", *p.path)
	case err != nil:
		return nil, p.fail(1, "the configuration has problems:\n%v", err)
	}
	return cfg, 0
}

// open loads the configuration and opens its store; on failure it has said why and returns the exit code.
func (p *platformCmd) open(ctx context.Context) (*config.Config, *store.Store, int) {
	cfg, code := p.load()
	if cfg == nil {
		return nil, nil, code
	}
	st, err := store.Open(ctx, platform.StoreOptions(cfg, nil))
	if err != nil {
		return nil, nil, p.fail(1, "cannot open the tenant store (%s): %v", cfg.Store.Driver, err)
	}
	return cfg, st, 0
}

// setsStoreDriver reports whether the file at path, or the environment, sets store.driver, for a configuration
// that Load refused.
func setsStoreDriver(path string) bool {
	if os.Getenv(config.EnvPrefix+"STORE_DRIVER") != "" {
		return true
	}
	data, err := os.ReadFile(path)
	var file struct {
		Store struct {
			Driver string `yaml:"driver"`
		} `yaml:"store"`
	}
	return err != nil || yaml.Unmarshal(data, &file) != nil || file.Store.Driver != ""
}

// allTenants lists every tenant of the store, in id order.
func allTenants(ctx context.Context, st *store.Store) ([]store.Tenant, error) {
	var all []store.Tenant
	for cursor := ""; ; {
		ts, next, err := st.List(ctx, cursor, 1000)
		if err != nil {
			return nil, err
		}
		all = append(all, ts...)
		if next == "" {
			return all, nil
		}
		cursor = next
	}
}
