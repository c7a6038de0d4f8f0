package admin

import (
	_ "embed"
	"net/http"
)

// openAPIDoc describes this API; a test validates real responses against it.
//
//go:embed openapi.json
var openAPIDoc []byte

func (h *Handler) openAPI(c *call) error {
	c.w.Header().Set("Content-Type", "application/json")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(openAPIDoc)
	return nil
}
