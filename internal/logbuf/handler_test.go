package logbuf

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"testing"
	"time"
)

// record makes a request line as the server logs it, with the given path.
func record(at time.Time, level slog.Level, msg string, attrs ...slog.Attr) slog.Record {
	r := slog.NewRecord(at, level, msg, 0)
	r.AddAttrs(attrs...)
	return r
}

// both writes r with the fast handler and with slog's own.
func both(t *testing.T, json bool, o *slog.HandlerOptions, r slog.Record) (fast, std string, writes int) {
	t.Helper()
	var a, b syncBuffer
	if err := NewHandler(&a, json, o).Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	var h slog.Handler = slog.NewTextHandler(&b, o)
	if json {
		h = slog.NewJSONHandler(&b, o)
	}
	if err := h.Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return a.String(), b.String(), a.writes
}

func TestHandlerWritesWhatSlogWrites(t *testing.T) {
	at := time.Date(2026, 11, 27, 8, 4, 21, 120_000_000, time.UTC)
	request := func(path, remote string) slog.Record {
		return record(at, slog.LevelInfo, "request", slog.String("id", "1f2e3d4c-2s"), slog.String("method", "POST"),
			slog.String("path", path), slog.Int("status", 200), slog.Int("bytes", 814),
			slog.Int64("duration_us", 97), slog.String("remote", remote))
	}
	cases := map[string]slog.Record{
		"request":             request("/v1/license/check", "127.0.0.1:53122"),
		"IPv6 remote":         request("/v1/orgs", "[::1]:443"),
		"path with a space":   request("/admin/a b", "127.0.0.1:1"),
		"path with =":         request("/a=b", "127.0.0.1:1"),
		"path with a quote":   request(`/a"b`, "127.0.0.1:1"),
		"path with unicode":   request("/ärger", "127.0.0.1:1"),
		"path with a newline": request("/a\nb", "127.0.0.1:1"),
		"empty value":         request("", "127.0.0.1:1"),
		"backslash":           request(`/a\b`, "127.0.0.1:1"),
		"warning":             record(at, slog.LevelWarn, "sighting flush failed; will retry", slog.Int("pending", 3)),
		"negative and uint":   record(at, slog.LevelError, "x", slog.Int("a", -7), slog.Uint64("b", 1<<63)),
		"other kinds":         record(at, slog.LevelInfo, "x", slog.Bool("ok", true), slog.Duration("d", time.Second), slog.Any("err", nil)),
		"a group":             record(at, slog.LevelInfo, "x", slog.Group("g", slog.String("a", "b"))),
		"no attributes":       record(at, slog.LevelDebug, "started"),
		"time with zero ms":   record(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), slog.LevelInfo, "x"),
		"another zone":        record(time.Date(2026, 1, 2, 3, 4, 5, 999_999_999, time.FixedZone("", 5*3600+1800)), slog.LevelInfo, "x"),
		"year 10000":          record(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), slog.LevelInfo, "x"),
		"zero time":           record(time.Time{}, slog.LevelInfo, "x"),
	}
	for name, r := range cases {
		for _, json := range []bool{true, false} {
			fast, std, writes := both(t, json, nil, r)
			if fast != std {
				t.Errorf("%s (json %v):\nfast %q\nslog %q", name, json, fast, std)
			}
			if writes != 1 {
				t.Errorf("%s (json %v): %d writes, want one per line", name, json, writes)
			}
		}
	}
	// Options the fast path does not know send every record to slog.
	o := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == "remote" {
			a.Value = slog.StringValue("hidden")
		}
		return a
	}}
	for _, json := range []bool{true, false} {
		if fast, std, _ := both(t, json, o, cases["request"]); fast != std || !bytes.Contains([]byte(fast), []byte("hidden")) {
			t.Errorf("ReplaceAttr (json %v): fast %q, slog %q", json, fast, std)
		}
	}
}

// FuzzHandler holds the fast path to slog's bytes for any text and numbers.
func FuzzHandler(f *testing.F) {
	f.Add("request", "path", "/v1/license/check", int64(200), uint64(5), int64(1_790_000_000_123_456_789))
	f.Add("m", "k=", "a b", int64(-1), uint64(0), int64(0))
	f.Add("", "", "", int64(0), uint64(0), int64(-1))
	f.Fuzz(func(t *testing.T, msg, key, value string, i int64, u uint64, nanos int64) {
		r := record(time.Unix(0, nanos).UTC(), slog.LevelInfo, msg, slog.String(key, value), slog.Int64("i", i), slog.Uint64(key, u))
		for _, json := range []bool{true, false} {
			if fast, std, _ := both(t, json, nil, r); fast != std {
				t.Fatalf("json %v:\nfast %q\nslog %q", json, fast, std)
			}
		}
	})
}

func TestHandlerRandomLines(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	chars := []byte("abcXYZ019 =\"\\/:.-_[]{}<>&\t\n\x00\x7f\xc3\xa4")
	str := func() string {
		b := make([]byte, rng.IntN(6))
		for i := range b {
			b[i] = chars[rng.IntN(len(chars))]
		}
		return string(b)
	}
	for range 5000 {
		at := time.Unix(rng.Int64N(1<<34), rng.Int64N(1e9)).UTC()
		r := record(at, slog.Level(rng.IntN(16)-8), str(), slog.String(str(), str()), slog.Int(str(), rng.IntN(1<<20)-1<<19))
		for _, json := range []bool{true, false} {
			if fast, std, _ := both(t, json, nil, r); fast != std {
				t.Fatalf("json %v:\nfast %q\nslog %q", json, fast, std)
			}
		}
	}
}

func TestHandlerWithAttrsAndGroupsAreSlogs(t *testing.T) {
	var a, b syncBuffer
	fast := slog.New(NewHandler(&a, true, nil)).With("service", "licet").WithGroup("g")
	std := slog.New(slog.NewJSONHandler(&b, nil)).With("service", "licet").WithGroup("g")
	at := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	fast.Handler().Handle(context.Background(), record(at, slog.LevelInfo, "x", slog.String("k", "v")))
	std.Handler().Handle(context.Background(), record(at, slog.LevelInfo, "x", slog.String("k", "v")))
	if a.String() != b.String() {
		t.Errorf("fast %q, slog %q", a.String(), b.String())
	}
}

func BenchmarkRequestLine(b *testing.B) {
	r := record(time.Now(), slog.LevelInfo, "request", slog.String("id", "1f2e3d4c-2s"), slog.String("method", "POST"),
		slog.String("path", "/v1/license/check"), slog.Int("status", 200), slog.Int("bytes", 814),
		slog.Int64("duration_us", 97), slog.String("remote", "127.0.0.1:53122"))
	for _, c := range []struct {
		name string
		h    slog.Handler
	}{{"slog-json", slog.NewJSONHandler(discard{}, nil)}, {"fast-json", NewHandler(discard{}, true, nil)},
		{"slog-text", slog.NewTextHandler(discard{}, nil)}, {"fast-text", NewHandler(discard{}, false, nil)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.h.Handle(context.Background(), r)
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestLineIsLogAttrs: Line writes what a Logger's LogAttrs writes with
// slog's handler (the time aside: each is stamped when written), on the
// fast path and off it, and nothing below the level.
func TestLineIsLogAttrs(t *testing.T) {
	stamp := regexp.MustCompile(`^\{"time":"([^"]+)"|^time=(\S+)`)
	for _, json := range []bool{true, false} {
		for _, path := range []string{"/v1/license/check", "/a b", "/ä\n"} {
			attrs := []slog.Attr{slog.String("id", "x-1"), slog.String("method", "POST"), slog.String("path", path),
				slog.Int("status", 200), slog.Int("bytes", 0), slog.Int64("duration_us", 12), slog.String("remote", "[::1]:9")}
			var a, b syncBuffer
			o := &slog.HandlerOptions{Level: slog.LevelInfo}
			before := time.Now().Truncate(time.Millisecond)
			NewHandler(&a, json, o).Line(context.Background(), slog.LevelInfo, "request", attrs...)
			NewHandler(&a, json, o).Line(context.Background(), slog.LevelDebug, "hidden", attrs...)
			after := time.Now()
			var std slog.Handler = slog.NewTextHandler(&b, o)
			if json {
				std = slog.NewJSONHandler(&b, o)
			}
			slog.New(std).LogAttrs(context.Background(), slog.LevelInfo, "request", attrs...)
			m := stamp.FindStringSubmatch(a.String())
			if m == nil || a.writes != 1 {
				t.Fatalf("json %v: %d writes: %q", json, a.writes, a.String())
			}
			at, err := time.Parse(time.RFC3339Nano, m[1]+m[2])
			if err != nil || at.Before(before) || at.After(after) {
				t.Errorf("json %v: time %q not between %v and %v (%v)", json, m[1]+m[2], before, after, err)
			}
			strip := func(s string) string { return stamp.ReplaceAllString(s, "") }
			if strip(a.String()) != strip(b.String()) {
				t.Errorf("json %v, path %q:\nLine     %q\nLogAttrs %q", json, path, a.String(), b.String())
			}
		}
	}
}

func BenchmarkRequestLineDirect(b *testing.B) {
	h := NewHandler(discard{}, true, nil)
	b.ReportAllocs()
	for b.Loop() {
		h.Line(context.Background(), slog.LevelInfo, "request", slog.String("id", "1f2e3d4c-2s"), slog.String("method", "POST"),
			slog.String("path", "/v1/license/check"), slog.Int("status", 200), slog.Int("bytes", 814),
			slog.Int64("duration_us", 97), slog.String("remote", "127.0.0.1:53122"))
	}
}

func BenchmarkRequestLineLogAttrs(b *testing.B) {
	l := slog.New(NewHandler(discard{}, true, nil))
	b.ReportAllocs()
	for b.Loop() {
		l.LogAttrs(context.Background(), slog.LevelInfo, "request", slog.String("id", "1f2e3d4c-2s"), slog.String("method", "POST"),
			slog.String("path", "/v1/license/check"), slog.Int("status", 200), slog.Int("bytes", 814),
			slog.Int64("duration_us", 97), slog.String("remote", "127.0.0.1:53122"))
	}
}

// TestStampIsAppendFormat: the cached part of a line's time never shows
// through: each time, in any zone, on either side of a second's edge and
// in any order, is written as time's own formatting writes it.
func TestStampIsAppendFormat(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("", 5*3600+1800), time.FixedZone("", -8*3600), time.Local}
	rnd := rand.New(rand.NewPCG(3, 4))
	at := time.Date(2026, 3, 29, 0, 59, 58, 0, time.UTC)
	for i := range 20000 {
		// Mostly the next few milliseconds, as a server's lines come; now
		// and then a jump back or a new zone.
		switch {
		case i%997 == 0:
			at = at.Add(-time.Duration(rnd.Int64N(int64(time.Hour))))
		case i%7 == 0:
			at = at.Truncate(time.Second).Add(time.Duration(rnd.IntN(3)) * time.Millisecond) // round numbers, trailing zeros
		default:
			at = at.Add(time.Duration(rnd.Int64N(int64(3 * time.Millisecond))))
		}
		tz := at.In(zones[(i/50)%len(zones)])
		want := tz.AppendFormat(nil, time.RFC3339Nano)
		if got := appendStamp(nil, tz, true); string(got) != string(want) {
			t.Fatalf("JSON %v: %s, want %s", tz, got, want)
		}
		ms := tz.Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z07:00")
		if got := appendStamp(nil, tz, false); string(got) != ms {
			t.Fatalf("text %v: %s, want %s", tz, got, ms)
		}
	}
}
