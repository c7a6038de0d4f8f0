package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/apikeys"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/config"
)

func runAdmin(args []string, stdout, stderr io.Writer) int {
	return runGroup("admin", []command{
		{"apikey", "generate an admin API key and its admin.keys_file line", runAdminAPIKey},
	}, args, stdout, stderr)
}

func runAdminAPIKey(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("admin apikey", "admin apikey --id NAME [--tenants ID,ID…]", stdout, stderr)
	id := fs.String("id", "", "the key's name, shown in the audit log: 1-32 of A-Z a-z 0-9 _ - (required)")
	tenants := fs.String("tenants", "", "limit the key to these tenants (comma-separated ids); default every tenant")
	if code, stop := parseFlags(fs, args, stdout); stop {
		return code
	}
	if *id == "" {
		fmt.Fprintln(stderr, "fuyun-bridge admin apikey: --id NAME is required (e.g. --id ops)")
		return 2
	}
	var ids []string
	for t := range strings.SplitSeq(*tenants, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if !config.ValidTenantID(t) {
			fmt.Fprintf(stderr, "fuyun-bridge admin apikey: --tenants: %q is not a tenant id (1 to 63 of a-z, 0-9 and -)\n", t)
			return 2
		}
		ids = append(ids, t)
	}
	key, line, err := apikeys.Generate(*id)
	if err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge admin apikey: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, `Admin API key (shown once; the bridge stores only its hash):

  %s

Send it as "Authorization: Bearer <key>" to the admin API (admin.listen).
Add this line to the file named by admin.keys_file, then reload the bridge (SIGHUP, or POST /admin/v1/reload
with a key it already accepts) or restart it:

%s
`, key, line)
	if len(ids) > 0 {
		fmt.Fprintf(stdout, `
It may act on %s only: add this to the bridge's YAML file (merge with an admin.scopes you have):

admin:
  scopes:
    %s: [%s]
`, strings.Join(ids, ", "), *id, strings.Join(ids, ", "))
	}
	return 0
}
