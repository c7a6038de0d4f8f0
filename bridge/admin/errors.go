package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// Code is the stable error code of a refusal: the "error" of the JSON body and the "code" of the log line.
type Code string

// The admin API's error codes. Each has one HTTP status in statusOf.
const (
	CodeInvalidAPIKey    Code = "invalid_api_key"
	CodeForbidden        Code = "tenant_forbidden"
	CodeNotFound         Code = "not_found"
	CodeMethodNotAllowed Code = "method_not_allowed"
	CodeInvalidJSON      Code = "invalid_json"
	CodeInvalidTenant    Code = "invalid_tenant"
	CodeInvalidRequest   Code = "invalid_request"
	CodeUnsupportedMedia Code = "unsupported_media_type"
	CodeBodyTooLarge     Code = "body_too_large"
	CodeTenantExists     Code = "tenant_exists"
	CodeNameTaken        Code = "name_taken"
	CodeVersionMismatch  Code = "version_mismatch"
	CodeIfMatchRequired  Code = "if_match_required"
	CodeUnavailable      Code = "database_unavailable"
	CodeNotConfigured    Code = "not_configured"
	CodeConfigRefused    Code = "config_refused"
	CodeInternal         Code = "internal_error"
)

// statusOf is the HTTP status of every code; a code missing here is a test failure, not a silent 500.
var statusOf = map[Code]int{
	CodeInvalidAPIKey:    http.StatusUnauthorized,
	CodeForbidden:        http.StatusForbidden,
	CodeNotFound:         http.StatusNotFound,
	CodeMethodNotAllowed: http.StatusMethodNotAllowed,
	CodeInvalidJSON:      http.StatusBadRequest,
	CodeInvalidTenant:    http.StatusBadRequest,
	CodeInvalidRequest:   http.StatusBadRequest,
	CodeUnsupportedMedia: http.StatusUnsupportedMediaType,
	CodeBodyTooLarge:     http.StatusRequestEntityTooLarge,
	CodeTenantExists:     http.StatusConflict,
	CodeNameTaken:        http.StatusConflict,
	CodeVersionMismatch:  http.StatusPreconditionFailed,
	CodeIfMatchRequired:  http.StatusPreconditionRequired,
	CodeUnavailable:      http.StatusServiceUnavailable,
	CodeNotConfigured:    http.StatusNotImplemented,
	CodeConfigRefused:    http.StatusConflict,
	CodeInternal:         http.StatusInternalServerError,
}

// retryAfter is the Retry-After of a 503, in seconds: long enough for a database fail-over to finish.
const retryAfter = 5

// ReloadRefused is the error of an Options.Reload that refused the file (its problems, which never hold a
// secret's value) and changed nothing.
type ReloadRefused struct{ Err error }

func (e ReloadRefused) Error() string { return e.Err.Error() }
func (e ReloadRefused) Unwrap() error { return e.Err }

// refusal is a request the API answers with an error body and no change.
type refusal struct {
	code     Code
	desc     string
	problems []Problem
	cause    error // for the log only
}

func (r *refusal) Error() string { return string(r.code) + ": " + r.desc }

func refuse(code Code, desc string, problems ...Problem) *refusal {
	return &refusal{code: code, desc: desc, problems: problems}
}

// errorBody is the JSON of every refusal.
type errorBody struct {
	Error            Code      `json:"error"`
	ErrorDescription string    `json:"error_description"`
	Problems         []Problem `json:"problems"`
	RequestID        string    `json:"request_id"`
}

// writeRefusal answers a refusal with its status and the headers its status calls for.
func writeRefusal(w http.ResponseWriter, ref *refusal, requestID string) {
	status, ok := statusOf[ref.code]
	if !ok {
		status = http.StatusInternalServerError
	}
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="fuyun-bridge-admin"`)
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	problems := ref.problems
	if problems == nil {
		problems = []Problem{}
	}
	writeJSON(w, status, errorBody{Error: ref.code, ErrorDescription: ref.desc, Problems: problems, RequestID: requestID})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// asRefusal passes a refusal through; anything else is an internal error whose cause stays in the log.
func asRefusal(err error) *refusal {
	var ref *refusal
	if errors.As(err, &ref) {
		return ref
	}
	return &refusal{code: CodeInternal, desc: "The request failed; the log has the cause under this request id.", cause: err}
}
