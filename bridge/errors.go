package bridge

import (
	"errors"
	"net/http"

	"github.com/fuyun-bridge/fuyun-bridge/bridge/fuyun"
	"github.com/fuyun-bridge/fuyun-bridge/bridge/mapping"
	"github.com/fuyun-bridge/fuyun-bridge/providers"
)

// Stable error codes owned by the bridge. Providers, mapping and the Fuyun client bring their own; every code
// is shared by the error page, the JSON error, the log line and (later) the metric label.
const (
	CodeUnknownProvider  = "unknown_provider"
	CodeInvalidRequest   = providers.CodeInvalidRequest
	CodeStateMissing     = "state_missing"
	CodeStateMismatch    = "state_mismatch"
	CodeStateExpired     = "state_expired"
	CodeIdPError         = providers.CodeIdPError
	CodeInvalidReturnTo  = "invalid_return_to"
	CodeCookieTooLarge   = "cookie_too_large"
	CodeInternal         = "internal_error"
	CodeNotFound         = "not_found"
	CodeFuyunRejected    = "fuyun_rejected"
	CodeFuyunUnavailable = "fuyun_unavailable"
	// Embedded login (embed.go, handoff.go, logout.go).
	CodeEmbedOriginNotAllowed = "embed_origin_not_allowed"
	CodeHandoffInvalid        = "handoff_invalid"
	CodeCrossOrigin           = "cross_origin_request"
	// Platform mode (platform.go).
	CodeTenantNotFound    = "tenant_not_found"
	CodeTenantChanged     = "tenant_changed"
	CodeTenantUnavailable = "tenant_unavailable"
	CodeUnknownDomain     = "unknown_domain"
)

// statusOf is the HTTP status each code is answered with.
var statusOf = map[string]int{
	CodeUnknownProvider:       http.StatusNotFound,
	CodeNotFound:              http.StatusNotFound,
	CodeInvalidRequest:        http.StatusBadRequest,
	CodeInvalidReturnTo:       http.StatusBadRequest,
	CodeStateMissing:          http.StatusBadRequest,
	CodeStateMismatch:         http.StatusBadRequest,
	CodeStateExpired:          http.StatusBadRequest,
	CodeIdPError:              http.StatusUnauthorized,
	CodeCookieTooLarge:        http.StatusInternalServerError,
	CodeInternal:              http.StatusInternalServerError,
	CodeFuyunRejected:         http.StatusForbidden,
	CodeFuyunUnavailable:      http.StatusServiceUnavailable,
	CodeEmbedOriginNotAllowed: http.StatusForbidden,
	CodeHandoffInvalid:        http.StatusBadRequest,
	CodeCrossOrigin:           http.StatusForbidden,
	CodeTenantNotFound:        http.StatusNotFound,
	CodeTenantChanged:         http.StatusConflict,
	CodeRateLimited:           http.StatusTooManyRequests,
	CodeTenantUnavailable:     http.StatusServiceUnavailable,
	CodeUnknownDomain:         http.StatusNotFound,

	providers.CodeIssuerMismatch:      http.StatusBadRequest,
	providers.CodeIdPUnavailable:      http.StatusServiceUnavailable,
	providers.CodeTokenFailed:         http.StatusBadGateway,
	providers.CodeIDTokenMissing:      http.StatusBadGateway,
	providers.CodeIDTokenInvalid:      http.StatusUnauthorized,
	providers.CodeNonceMismatch:       http.StatusUnauthorized,
	providers.CodeUserinfoFailed:      http.StatusBadGateway,
	providers.CodeUserinfoSubMismatch: http.StatusUnauthorized,
	providers.CodeTenantNotAllowed:    http.StatusForbidden,
	providers.CodeInvalidToken:        http.StatusUnauthorized,

	mapping.CodeMissing:          http.StatusForbidden,
	mapping.CodeUnverified:       http.StatusForbidden,
	mapping.CodeDomainNotAllowed: http.StatusForbidden,
	mapping.CodeNotInTable:       http.StatusForbidden,
	mapping.CodeInvalid:          http.StatusForbidden,
	mapping.CodeClaimNotAllowed:  http.StatusForbidden,
}

// loginError is a failed login step: a stable code, the cause for the log, and an optional sentence that is
// safe to show the agent (never a token or secret).
type loginError struct {
	code   string
	cause  error
	detail string
}

func (e *loginError) Error() string {
	if e.cause == nil {
		return e.code
	}
	return e.code + ": " + e.cause.Error()
}

func (e *loginError) Unwrap() error { return e.cause }

func failf(code string, cause error) *loginError { return &loginError{code: code, cause: cause} }

// classify turns any error of a login step into a loginError with the right stable code.
func classify(err error) *loginError {
	var le *loginError
	if errors.As(err, &le) {
		return le
	}
	var pe *providers.Error
	if errors.As(err, &pe) {
		return &loginError{code: pe.Code, cause: err, detail: pe.Detail}
	}
	var me *mapping.Error
	if errors.As(err, &me) {
		return &loginError{code: me.Code, cause: err, detail: me.Msg}
	}
	var fe *fuyun.Error
	if errors.As(err, &fe) {
		if fe.Temporary() {
			return &loginError{code: CodeFuyunUnavailable, cause: err}
		}
		return &loginError{code: CodeFuyunRejected, cause: err, detail: fe.Description}
	}
	return &loginError{code: CodeInternal, cause: err}
}

// httpStatus is the status a code is answered with; unknown codes are server errors.
func httpStatus(code string) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}
