package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"runtime"
	"time"

	"github.com/licet/licet/internal/server/web"
	"golang.org/x/time/rate"
)

// Every password check costs an argon2id hash: 19 MiB and tens of
// milliseconds of one core. Whoever can reach the login page can ask for
// one, so the server bounds both how many run at once and how many wrong
// guesses anyone gets.

// hashGate runs at most as many hashes at once as the process has cores;
// a few more requests wait briefly in line, and the rest are turned away
// at once (503 with Retry-After). Memory for hashing thus stays at about
// cores × 19 MiB whatever the crowd.
//
// A known browser (see loginThrottle) does not queue behind the crowd: it
// waits in a line of its own, and a slot being freed goes to it first, so a
// crowd of failed logins from many addresses cannot turn the owner away.
// It waits for that slot however long the hashes in progress take (until
// its request ends): a crowd slows every hash down, beyond the crowd's wait
// on a busy machine, and the owner's line is short and its place certain.
type hashGate struct {
	slots, line, known chan struct{}
	handoff            chan struct{} // a freed slot passed to a known browser
	wait               time.Duration
}

func newHashGate(slots, line int, wait time.Duration) *hashGate {
	return &hashGate{slots: make(chan struct{}, max(1, slots)), line: make(chan struct{}, line),
		known: make(chan struct{}, line), handoff: make(chan struct{}), wait: wait}
}

// do runs fn when a slot is free, waiting in line at most g.wait; it says
// false, without running fn, when the line is full or the wait runs out.
// known puts the caller in the known browsers' line, which waits for the
// next freed slot as long as ctx lasts.
func (g *hashGate) do(ctx context.Context, known bool, fn func()) bool {
	select {
	case g.slots <- struct{}{}:
	default:
		line := g.line
		if known {
			line = g.known
		}
		select {
		case line <- struct{}{}:
		default:
			return false
		}
		defer func() { <-line }()
		handoff := g.handoff
		var timeout <-chan time.Time // a known browser waits for its slot
		if !known {
			handoff = nil // only known browsers take a slot handed over
			t := time.NewTimer(g.wait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case g.slots <- struct{}{}:
		case <-handoff:
		case <-timeout:
			return false
		case <-ctx.Done():
			return false
		}
	}
	defer g.release()
	fn()
	return true
}

// release passes the slot to a waiting known browser, or frees it.
func (g *hashGate) release() {
	select {
	case g.handoff <- struct{}{}:
	default:
		<-g.slots
	}
}

// loginThrottle counts failed logins per (account, source address), per
// source address, and per account. The per-account bound is far higher
// than the others, so that someone who knows an administrator's address
// cannot lock its owner out from everywhere: the owner's own address keeps
// its own count. A successful login clears its address's counts.
//
// Attackers on many addresses can still spend the per-account bound and
// keep it spent. A browser that has signed in to the account carries a
// cookie (an HMAC of the address under a key of this process, which is
// also where the counts live) and is exempt from the per-account bound;
// the per-address bounds still apply to it.
type loginThrottle struct {
	pair, source, account *web.Limiter
	key                   []byte
}

func newLoginThrottle() *loginThrottle {
	key := make([]byte, 32)
	rand.Read(key)
	return &loginThrottle{
		pair:    web.NewLimiter(rate.Every(12*time.Second), 5),  // 5 guesses, then one per 12 s
		source:  web.NewLimiter(rate.Every(3*time.Second), 20),  // 20 guesses, then one per 3 s
		account: web.NewLimiter(rate.Every(6*time.Second), 100), // 100 guesses, then one per 6 s, from all addresses together
		key:     key,
	}
}

// knownCookie names the cookie of a browser that has signed in before.
const knownCookie = "licet_known"

// knownToken is the cookie value for a browser that signed in as email.
func (lt *loginThrottle) knownToken(email string) string {
	m := hmac.New(sha256.New, lt.key)
	m.Write([]byte(email))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// known says whether tok shows a browser that signed in as email.
func (lt *loginThrottle) known(email, tok string) bool {
	return tok != "" && hmac.Equal([]byte(tok), []byte(lt.knownToken(email)))
}

func pairKey(email, ip string) string { return email + "\x00" + ip }

// allowed says whether a login for email from ip may be tried now, or how
// long until it may. A known browser is exempt from the per-account bound.
func (lt *loginThrottle) allowed(email, ip string, known bool, now time.Time) (bool, time.Duration) {
	ip = web.Source(ip)
	wait := time.Duration(0)
	for _, c := range []struct {
		l   *web.Limiter
		key string
	}{{lt.source, ip}, {lt.pair, pairKey(email, ip)}, {lt.account, email}} {
		if known && c.l == lt.account {
			continue
		}
		if ok, d := c.l.Peek(c.key, now); !ok {
			wait = max(wait, d)
		}
	}
	return wait == 0, wait
}

func (lt *loginThrottle) failed(email, ip string, now time.Time) {
	ip = web.Source(ip)
	lt.source.Allow(ip, now)
	lt.pair.Allow(pairKey(email, ip), now)
	lt.account.Allow(email, now)
}

func (lt *loginThrottle) succeeded(email, ip string) {
	ip = web.Source(ip)
	lt.source.Forget(ip)
	lt.pair.Forget(pairKey(email, ip))
}

// defaultHashGate: as many hashes at once as cores, twice that in line,
// waiting at most two seconds.
func defaultHashGate() *hashGate {
	n := runtime.GOMAXPROCS(0)
	return newHashGate(n, 2*n, 2*time.Second)
}
