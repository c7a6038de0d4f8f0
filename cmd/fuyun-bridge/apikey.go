package main

import (
	"fmt"
	"io"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/apikeys"
)

func runAPIKey(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("apikey", "apikey --id NAME", stdout, stderr)
	id := fs.String("id", "", "the key's name, shown in logs and metrics: 1-32 of A-Z a-z 0-9 _ - (required)")
	if code, stop := parseFlags(fs, args, stdout); stop {
		return code
	}
	if *id == "" {
		fmt.Fprintln(stderr, "fuyun-bridge apikey: --id NAME is required (e.g. --id crm-prod)")
		return 2
	}
	key, line, err := apikeys.Generate(*id)
	if err != nil {
		fmt.Fprintf(stderr, "fuyun-bridge apikey: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, `API key for the CRM backend (shown once; the bridge stores only its hash):

  %s

Send it as "Authorization: Bearer <key>" to POST /api/v1/token.
Add this line to the file named by api.keys_file, then restart (roll) the bridge:

%s
`, key, line)
	return 0
}
