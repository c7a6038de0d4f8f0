package platform

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/admin"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/apikeys"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
)

// StoreOptions are the options to open the store of a configuration's store section.
func StoreOptions(cfg *config.Config, logger *slog.Logger) store.Options {
	return store.Options{Driver: cfg.Store.Driver, Path: cfg.Store.Path, DSN: cfg.Store.DSN,
		EncryptionKeys: cfg.Store.Keys, PollInterval: cfg.Store.PollInterval.Std(), Logger: logger}
}

// Open opens the store of a configuration's store section (migrating it) and builds platform mode over it
// with bo, as serve does; the store is closed again when the platform cannot be built. The caller starts
// Platform.Run and closes the store after it.
func Open(ctx context.Context, cfg *config.Config, bo bridge.BuildOptions) (*bridge.Platform, *store.Store, error) {
	st, err := store.Open(ctx, StoreOptions(cfg, bo.Logger))
	if err != nil {
		return nil, nil, fmt.Errorf("store (%s): %w", cfg.Store.Driver, err)
	}
	p, err := bridge.NewPlatform(cfg, st, bo)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return p, st, nil
}

// NewAdmin builds the admin API of a configuration over its store: the keys of admin.keys_file (which must be
// set), the key scopes of admin.scopes and the Codec of server.public_url. opts gives the rest (Check, Reload,
// Logger); its Store, Keys, Scopes and Codec are set here.
func NewAdmin(cfg *config.Config, st *store.Store, opts admin.Options) (*admin.Handler, error) {
	keys, err := apikeys.Load(cfg.Admin.KeysFile)
	if err != nil {
		return nil, fmt.Errorf("admin.keys_file: %w", err)
	}
	codec, err := NewCodec(cfg.Server.PublicURL)
	if err != nil {
		return nil, err
	}
	opts.Store, opts.Keys, opts.Scopes, opts.Codec = st, keys, cfg.Admin.Scopes, codec
	return admin.New(opts), nil
}
