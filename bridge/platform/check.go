package platform

import (
	"context"
	"time"

	"github.com/fuyun-bridge/fuyun-bridge/bridge"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/diagnose"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/store"
)

// CheckReport is the report of POST /admin/v1/tenants/{id}/check.
type CheckReport struct {
	OK     bool       `json:"ok"`
	Checks []CheckRow `json:"checks"`
}

// CheckRow is one provider's or Fuyun's result, as `fuyun-bridge check` prints it.
type CheckRow struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	Status      string `json:"status"`
	Keys        string `json:"keys,omitempty"`
	RedirectURI string `json:"redirect_uri,omitempty"`
	Error       string `json:"error,omitempty"`
}

// Check is what `fuyun-bridge check` does for the file's providers, for one stored tenant of the process's
// configuration cfg: each provider's discovery and keys, and the tenant's Fuyun token endpoint. It answers
// admin.Options.Check.
func Check(ctx context.Context, cfg *config.Config, t store.Tenant) (any, error) {
	ct, err := Load(t, config.TenantOptions{PublicURL: cfg.Server.PublicURL})
	if err != nil {
		return nil, err
	}
	one := *cfg
	one.Providers, one.Fuyun = ct.Providers, ct.Fuyun
	one.Fuyun.Timeout = cfg.Fuyun.Timeout
	timeout := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	rows, ok := diagnose.Endpoints(&one, bridge.UpstreamClient(), timeout)
	report := CheckReport{OK: ok}
	for _, r := range rows {
		out := CheckRow{ID: r.ID, Type: r.Type, Status: r.Status, Keys: r.Keys, RedirectURI: r.RedirectURI}
		if r.Err != nil {
			out.Error = r.Err.Error()
		}
		report.Checks = append(report.Checks, out)
	}
	return report, nil
}
