package logbuf

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Handler is slog's JSON or text handler with a fast path for the lines a
// server writes most (one per request): a record whose message, keys and
// string values are plain printable ASCII and whose other values are
// integers is written by appending bytes, in exactly the form slog's own
// handler writes (TestHandlerWritesWhatSlogWrites). Every other record,
// and every logger made with WithAttrs or WithGroup, goes to slog's handler.
type Handler struct {
	slog.Handler // slog's handler, for everything the fast path does not take
	w            io.Writer
	json         bool
	fast         bool // no ReplaceAttr, no AddSource: the fast path may run
}

// NewHandler returns a handler writing JSON lines (json) or slog's text
// lines to w with the options o (nil: slog's defaults). Each line is one
// Write, and the fast path does not take slog's lock: w must be safe for
// concurrent use, as a Writer is.
func NewHandler(w io.Writer, json bool, o *slog.HandlerOptions) *Handler {
	if o == nil {
		o = &slog.HandlerOptions{}
	}
	h := &Handler{w: w, json: json, fast: o.ReplaceAttr == nil && !o.AddSource}
	if json {
		h.Handler = slog.NewJSONHandler(w, o)
	} else {
		h.Handler = slog.NewTextHandler(w, o)
	}
	return h
}

var lines = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Handle writes r in one Write.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	ok := h.fast && h.plainHead(r.Time, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		ok = ok && h.plainAttr(a)
		return ok
	})
	if !ok {
		return h.Handler.Handle(ctx, r)
	}
	bp := lines.Get().(*[]byte)
	defer lines.Put(bp)
	b := h.appendHead((*bp)[:0], r.Time, r.Level, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b = h.appendAttr(b, a)
		return true
	})
	*bp = b
	return h.end(b)
}

// Line logs a line at level, stamped now, as a Logger's LogAttrs would,
// without making a Record: for the request line, whose seven attributes
// overflow the five a Record holds without allocating.
func (h *Handler) Line(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	if !h.Enabled(ctx, level) {
		return
	}
	now := time.Now()
	ok := h.fast && h.plainHead(now, msg)
	for _, a := range attrs {
		ok = ok && h.plainAttr(a)
	}
	if !ok {
		r := slog.NewRecord(now, level, msg, 0)
		r.AddAttrs(attrs...)
		h.Handler.Handle(ctx, r)
		return
	}
	bp := lines.Get().(*[]byte)
	defer lines.Put(bp)
	b := h.appendHead((*bp)[:0], now, level, msg)
	for _, a := range attrs {
		b = h.appendAttr(b, a)
	}
	*bp = b
	h.end(b)
}

func (h *Handler) plainHead(t time.Time, msg string) bool {
	return !t.IsZero() && t.Year() >= 0 && t.Year() < 10000 && h.plain(msg)
}

func (h *Handler) plainAttr(a slog.Attr) bool {
	switch a.Value.Kind() {
	case slog.KindString:
		return h.plain(a.Key) && h.plain(a.Value.String())
	case slog.KindInt64, slog.KindUint64:
		return h.plain(a.Key)
	}
	return false
}

func (h *Handler) appendHead(b []byte, t time.Time, level slog.Level, msg string) []byte {
	t = t.Round(0)
	if h.json {
		b = append(b, `{"time":"`...)
		b = appendStamp(b, t, true)
		b = append(b, `","level":"`...)
		b = append(b, level.String()...)
		b = append(b, `","msg":"`...)
		b = append(b, msg...)
		return append(b, '"')
	}
	b = append(b, "time="...)
	b = appendStamp(b, t, false)
	b = append(b, " level="...)
	b = append(b, level.String()...)
	b = append(b, " msg="...)
	return append(b, msg...)
}

func (h *Handler) appendAttr(b []byte, a slog.Attr) []byte {
	if h.json {
		b = append(append(append(b, `,"`...), a.Key...), `":`...)
	} else {
		b = append(append(append(b, ' '), a.Key...), '=')
	}
	switch a.Value.Kind() {
	case slog.KindString:
		if h.json {
			return append(append(append(b, '"'), a.Value.String()...), '"')
		}
		return append(b, a.Value.String()...)
	case slog.KindInt64:
		return strconv.AppendInt(b, a.Value.Int64(), 10)
	}
	return strconv.AppendUint(b, a.Value.Uint64(), 10)
}

func (h *Handler) end(b []byte) error {
	if h.json {
		b = append(b, '}')
	}
	_, err := h.w.Write(append(b, '\n'))
	return err
}

// plain reports a string both handlers write as it is: printable ASCII
// with nothing JSON escapes (" and \) and, in text, nothing that makes slog
// quote the value (a space, =, ") or an empty string.
func (h *Handler) plain(s string) bool {
	if s == "" {
		return h.json
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || (!h.json && (c == ' ' || c == '=')) {
			return false
		}
	}
	return true
}

// appendStamp writes a line's time as slog does: in JSON, RFC 3339 with
// the nanoseconds and no trailing zeros (time.RFC3339Nano); in text,
// RFC 3339 with exactly three digits of milliseconds. The date, the time
// of day to the second and the zone are formatted once a second.
func appendStamp(b []byte, t time.Time, json bool) []byte {
	sec := t.Unix()
	s := stamps.Load()
	if s == nil || s.sec != sec || s.loc != t.Location() {
		// The seconds part: RFC 3339 of the time truncated to the second,
		// split where the fraction goes.
		full := t.Truncate(time.Second).AppendFormat(nil, time.RFC3339)
		n := len("2006-01-02T15:04:05")
		s = &stamp{sec: sec, loc: t.Location(), day: string(full[:n]), zone: string(full[n:])}
		stamps.Store(s)
	}
	b = append(b, s.day...)
	ns := t.Nanosecond()
	if json {
		if ns != 0 {
			digits := 9
			for ns%10 == 0 {
				ns /= 10
				digits--
			}
			b = appendDigits(append(b, '.'), ns, digits)
		}
	} else {
		b = appendDigits(append(b, '.'), ns/1e6, 3)
	}
	return append(b, s.zone...)
}

// stamp is the part of the time a second's lines share.
type stamp struct {
	sec       int64
	loc       *time.Location
	day, zone string
}

var stamps atomic.Pointer[stamp]

// appendDigits appends v in exactly n decimal digits.
func appendDigits(b []byte, v, n int) []byte {
	for range n {
		b = append(b, '0')
	}
	for i := len(b) - 1; n > 0; i, n = i-1, n-1 {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return b
}
