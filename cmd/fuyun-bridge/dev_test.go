package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/devstack"
)

// TestDevPlatformPrints: `dev --platform` shows every tenant's sign-in page, the admin key and the curl that
// creates the third tenant, then that tenant's page.
func TestDevPlatformPrints(t *testing.T) {
	ps, err := devstack.StartPlatform(devstack.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ps.Close(context.Background()) })
	var out bytes.Buffer
	printPlatform(&out, ps)
	want := []string{ps.BridgeURL + "/ ", "alice@acme.example", ps.AdminKey, ps.CreateCommand(), ps.Dir,
		"then open " + ps.TenantURL(ps.NewTenant)}
	for _, id := range ps.Tenants {
		want = append(want, ps.TenantURL(id))
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
}
