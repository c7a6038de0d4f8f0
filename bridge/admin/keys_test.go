package admin

import (
	"strings"
	"testing"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/apikeys"
)

// keysWith adds a key named id to base and writes the key to *into.
func keysWith(t *testing.T, base Verifier, id string, into *string) Verifier {
	t.Helper()
	key, line, err := apikeys.Generate(id)
	if err != nil {
		t.Fatal(err)
	}
	extra, err := apikeys.Parse(strings.NewReader(line), "extra")
	if err != nil {
		t.Fatal(err)
	}
	*into = key
	return eitherVerifier{base, extra}
}

type eitherVerifier []Verifier

func (vs eitherVerifier) Verify(key string) (string, bool) {
	for _, v := range vs {
		if id, ok := v.Verify(key); ok {
			return id, true
		}
	}
	return "", false
}
