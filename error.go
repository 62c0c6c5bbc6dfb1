package licet

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to exactly one HTTP status in the server's table;
// anything that is not a *Error is an internal error whose detail is logged,
// never shown.
const (
	EINVALID      = "invalid"      // malformed input: 400
	EUNAUTHORIZED = "unauthorized" // missing or wrong credentials: 401
	EFORBIDDEN    = "forbidden"    // authenticated, but not allowed: 403
	ENOTFOUND     = "not_found"    // 404
	ECONFLICT     = "conflict"     // state forbids it (seat limit, exists already): 409
	ETOOLARGE     = "too_large"    // 413
	EUNSUPPORTED  = "unsupported"  // media type: 415
	ERATE         = "rate_limited" // 429
	EREADONLY     = "read_only"    // a backup server refuses writes: 409
	EUNAVAILABLE  = "unavailable"  // the database cannot be reached: 503
	EINTERNAL     = "internal"     // 500
)

// Error is an error a user may see: a code and a message meant for people.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, or EINTERNAL when err is not an *Error.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of err meant for users; internal errors
// say only "internal error".
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
