package main

import (
	"context"
	"fmt"
	"io"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/platform"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
)

func runStore(args []string, stdout, stderr io.Writer) int {
	return runGroup("store", []command{
		{"migrate", "move the tenant store's schema up (default) or down", runStoreMigrate},
		{"rotate-keys", "re-encrypt every tenant's secrets under the first encryption key", runStoreRotateKeys},
	}, args, stdout, stderr)
}

func runStoreMigrate(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("store migrate", "store migrate --config FILE [--to VERSION | --down]\n\n"+
		"Applies the store's migrations up to the newest this build knows (serve does so at start-up too), or to\n"+
		"VERSION, up or down; --down rolls back the newest one. Rolling back to 0 removes every tenant.", stdout, stderr)
	cmd := platformFlags(fs, stderr)
	to := fs.Int64("to", -1, "the schema version to move to, up or down (0 removes every table of the store)")
	down := fs.Bool("down", false, "roll back the newest applied migration")
	if code, stop := parseFlags(fs, args, stdout); stop {
		return code
	}
	if *down && isSet(fs, "to") {
		return cmd.fail(2, "give --to VERSION or --down, not both")
	}
	if isSet(fs, "to") && *to < 0 {
		return cmd.fail(2, "--to %d: a version is 0 or more", *to)
	}
	cfg, code := cmd.load()
	if cfg == nil {
		return code
	}
	ctx := context.Background()
	opts := platform.StoreOptions(cfg, nil)
	// Rolling back the migrations above Latest is none: it only reads the version.
	from, err := store.Migrate(ctx, opts, store.Down, store.Latest)
	if err != nil {
		return cmd.fail(1, "%v", err)
	}
	dir, target := store.Up, store.Latest
	switch {
	case *down && from <= 1:
		return cmd.fail(1, "the schema is at version %d; rolling back further removes every tenant: say --to 0 to mean it", from)
	case *down:
		dir, target = store.Down, from-1
	case isSet(fs, "to") && *to < from:
		dir, target = store.Down, *to
	case isSet(fs, "to"):
		target = *to
	}
	now, err := store.Migrate(ctx, opts, dir, target)
	if err != nil {
		return cmd.fail(1, "from version %d: %v", from, err)
	}
	if now == from {
		fmt.Fprintf(stdout, "schema at version %d; nothing to do\n", now)
		return 0
	}
	fmt.Fprintf(stdout, "schema moved from version %d to %d\n", from, now)
	return 0
}

func runStoreRotateKeys(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("store rotate-keys", "store rotate-keys --config FILE\n\n"+
		"Re-encrypts every tenant's secrets that are not under the first of store.encryption_keys. Put the new key\n"+
		"first, keep the old ones after it, run this, then remove the old ones.", stdout, stderr)
	cmd := platformFlags(fs, stderr)
	if code, stop := parseFlags(fs, args, stdout); stop {
		return code
	}
	cfg, st, code := cmd.open(context.Background())
	if st == nil {
		return code
	}
	defer st.Close()
	n, err := st.RotateKeys(context.Background())
	if err != nil {
		return cmd.fail(1, "after re-encrypting %d tenant(s): %v", n, err)
	}
	fmt.Fprintf(stdout, "re-encrypted %d tenant(s) under key %s (the first of store.encryption_keys)\n", n, store.KeyID(cfg.Store.Keys[0]))
	if len(cfg.Store.Keys) > 1 {
		fmt.Fprintf(stdout, "Every tenant is now under the first key: remove the other %d key(s) from store.encryption_keys, then restart (roll) the bridge.\n", len(cfg.Store.Keys)-1)
	}
	return 0
}
