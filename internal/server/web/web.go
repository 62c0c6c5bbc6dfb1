// Package web holds what every surface of licet's HTTP layer shares: the
// one table from error codes to statuses and the error answer, strict
// reading of JSON bodies and forms, per-key rate limits, the caller's
// address, and who is calling (the operator or an administrator).
package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/payload"
	"github.com/prometheus/client_golang/prometheus"
)

// MaxBody bounds every request body.
const MaxBody = 64 << 10

// UnavailableRetry is the Retry-After of a 503: about what a database
// failover under Patroni takes to settle a first time.
const UnavailableRetry = "2"

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[string]int{
	licet.EINVALID:      http.StatusBadRequest,
	licet.EUNAUTHORIZED: http.StatusUnauthorized,
	licet.EFORBIDDEN:    http.StatusForbidden,
	licet.ENOTFOUND:     http.StatusNotFound,
	licet.ECONFLICT:     http.StatusConflict,
	licet.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	licet.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	licet.ERATE:         http.StatusTooManyRequests,
	licet.EREADONLY:     http.StatusConflict,
	licet.EUNAVAILABLE:  http.StatusServiceUnavailable,
	licet.EINTERNAL:     http.StatusInternalServerError,
}

// ErrorStatus maps an error to its HTTP status. A timed-out or cancelled
// database call is "unavailable", not an internal error.
func ErrorStatus(err error) (int, string) {
	if errors.Is(err, context.DeadlineExceeded) {
		return http.StatusServiceUnavailable, licet.EUNAVAILABLE
	}
	code := licet.ErrorCode(err)
	return statusOf[code], code
}

// StatusClientClosed answers a request whose client hung up before the
// answer was ready (nginx's 499): nobody reads it, and it is no fault of
// the server's.
const StatusClientClosed = 499

// ClientClosed is the code, in logs and metrics, of a request its client
// abandoned: counted apart from internal errors.
const ClientClosed = "client_closed"

// Errors answers and logs failed requests: internal errors are logged,
// never shown.
type Errors struct {
	Logger *slog.Logger
	// DBErrors counts the requests answered 503 because the database
	// could not be reached (nil: not counted).
	DBErrors prometheus.Counter
}

// Write answers with a JSON error.
func (e *Errors) Write(w http.ResponseWriter, r *http.Request, err error) {
	status, code := e.Log(r, err)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", UnavailableRetry)
	}
	msg := licet.ErrorMessage(err)
	if code == licet.EUNAVAILABLE && msg == "internal error" {
		msg = "the service is temporarily unavailable; try again"
	}
	WriteJSON(w, status, payload.Error{Error: payload.ErrorDetail{Code: code, Message: msg}})
}

// Log logs err as its status deserves and returns the status and code to
// answer with.
func (e *Errors) Log(r *http.Request, err error) (int, string) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		e.Logger.Debug("client went away", "method", r.Method, "path", r.URL.Path)
		return StatusClientClosed, ClientClosed
	}
	status, code := ErrorStatus(err)
	if code == licet.EUNAVAILABLE && e.DBErrors != nil {
		e.DBErrors.Inc()
	}
	if status >= 500 {
		e.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	return status, code
}

// WriteJSON answers with v, indented.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// DecodeBody reads a JSON request body strictly: unknown fields, trailing
// data, a wrong type or a body over MaxBody are errors.
func DecodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	return DecodeBodyLimit(w, r, v, MaxBody)
}

// DecodeBodyLimit is DecodeBody with a bound of its own.
func DecodeBodyLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return licet.Errorf(licet.EUNSUPPORTED, "Content-Type must be application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return licet.Errorf(licet.ETOOLARGE, "the request is larger than %d bytes", limit)
		}
		return licet.Errorf(licet.EINVALID, "the request body could not be read")
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			return licet.Errorf(licet.EINVALID, "%s has the wrong type", te.Field)
		}
		if strings.HasPrefix(err.Error(), "json: unknown field") {
			return licet.Errorf(licet.EINVALID, "%s", strings.TrimPrefix(err.Error(), "json: "))
		}
		return licet.Errorf(licet.EINVALID, "malformed JSON")
	}
	if _, err := d.Token(); err != io.EOF {
		return licet.Errorf(licet.EINVALID, "more than one JSON value in the request")
	}
	return nil
}

// PlainText checks form and query values: valid UTF-8 and no NUL. Such
// bytes are never meaningful in a filter, a search or a form field;
// PostgreSQL refuses them with an error, SQLite cuts a pattern at a NUL.
func PlainText(v url.Values) error {
	for k, vs := range v {
		for _, s := range append(vs, k) {
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				return licet.Errorf(licet.EINVALID, "the parameter %q holds invalid UTF-8 or a NUL byte", strings.ToValidUTF8(k, "?"))
			}
		}
	}
	return nil
}

// ParseForm parses a request's form (within the handler's body limit) and
// refuses invalid text in it (PlainText).
func ParseForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	return PlainText(r.Form)
}

// GUIDParam reads a GUID path parameter.
func GUIDParam(r *http.Request, name string) (string, error) {
	id, ok := licet.ParseGUID(r.PathValue(name))
	if !ok {
		return "", licet.Errorf(licet.EINVALID, "%q is not a GUID", r.PathValue(name))
	}
	return id, nil
}

// OneEmail reads one plain e-mail address, lower-cased.
func OneEmail(v string) (string, error) {
	emails, err := licet.NormalizeEmails([]string{v})
	if err == nil && len(emails) != 1 {
		err = licet.Errorf(licet.EINVALID, "email is required")
	}
	if err != nil {
		return "", err
	}
	return emails[0], nil
}

// Writable refuses a change on a read-only server before any work.
func Writable(readOnly bool) error {
	if readOnly {
		return licet.Errorf(licet.EREADONLY, "this server is read-only; make changes on the primary")
	}
	return nil
}

// ClientIP is the address the request came from: the TCP peer's, or
// behind a proxy named in --trusted-proxies the client's, which the
// server's request-line middleware put in r.RemoteAddr (without a port).
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Source is what a per-address limit counts a client as: its address, or
// for IPv6 its /64, which one subscriber typically holds whole (counting
// single IPv6 addresses would give an attacker 2^64 fresh sources).
func Source(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Is4() || a.Is4In6() {
		return ip
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}

// TokenHash is what the database keeps of a token: its SHA-256, in hex.
func TokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// RandomToken is 32 random bytes, base64url.
func RandomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// IsOperatorToken reports whether tok is the operator token, whose
// SHA-256 is hash, in constant time.
func IsOperatorToken(tok string, hash []byte) bool {
	h := sha256.Sum256([]byte(tok))
	return len(hash) == len(h) && subtle.ConstantTimeCompare(h[:], hash) == 1
}

type ctxKey int

const adminKey ctxKey = 0

// WithAdmin is ctx carrying the administrator who calls (a console
// session's, or an API token's).
func WithAdmin(ctx context.Context, a *licet.Admin) context.Context {
	return context.WithValue(ctx, adminKey, a)
}

// AdminOf is the administrator who calls, if one does: not for the
// operator's token.
func AdminOf(r *http.Request) (*licet.Admin, bool) {
	a, ok := r.Context().Value(adminKey).(*licet.Admin)
	return a, ok
}

// Actor names who makes a change: the operator, or an administrator.
func Actor(r *http.Request) string {
	if a, ok := AdminOf(r); ok {
		return a.Email
	}
	return licet.ActorOperator
}
