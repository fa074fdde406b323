package accounts

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// LoginGuard slows down password guessing. It counts failed logins per
// account and per client address; past a few free failures each further one
// locks the account (or the address) for a delay that doubles up to a cap.
// It also holds every address to a plain attempt rate. REST logins and XMPP
// SASL share one guard, so an attacker gains nothing by switching protocol.
//
// Memory is bounded: each table keeps at most MaxKeys entries and drops the
// least recently used one to make room. Safe for concurrent use.
type LoginGuard struct {
	cfg      LoginGuardConfig
	now      func() time.Time
	mu       sync.Mutex
	accounts lru[LoginAccount]
	ips      lru[netip.Addr]
}

// LoginGuardConfig are the guard's settings; zero fields take the defaults
// of DefaultLoginGuardConfig.
type LoginGuardConfig struct {
	// AccountFreeFailures is how many failed logins an account takes before
	// it is locked.
	AccountFreeFailures int
	// IPFreeFailures is the same for one client address (or IPv6 /64),
	// higher because many users can share an address behind NAT.
	IPFreeFailures int
	// FirstLockout is the lockout after the first failure past the free ones;
	// each further failure doubles it, up to MaxLockout.
	FirstLockout time.Duration
	MaxLockout   time.Duration
	// ForgetAfter clears a failure count after this long without failures.
	ForgetAfter time.Duration
	// IPRate is login attempts per second per address (failed or not), with
	// IPBurst attempts in a row; a negative rate disables it.
	IPRate  float64
	IPBurst int
	// MaxKeys caps the accounts and the addresses tracked (each).
	MaxKeys int
	// ExemptLoopback spares loopback addresses the per-address checks (not
	// the per-account ones): local tools, load tests and a same-host proxy
	// that does not pass the client address all come from there.
	ExemptLoopback bool
}

// DefaultLoginGuardConfig are the defaults: 5 free failures per account and
// 20 per address, then 1 s doubling up to 15 min, forgotten after an hour
// of quiet; 5 attempts/s per address with bursts of 20; 100,000 keys.
func DefaultLoginGuardConfig() LoginGuardConfig {
	return LoginGuardConfig{
		AccountFreeFailures: 5, IPFreeFailures: 20,
		FirstLockout: time.Second, MaxLockout: 15 * time.Minute, ForgetAfter: time.Hour,
		IPRate: 5, IPBurst: 20, MaxKeys: 100_000,
	}
}

// LoginAccount names the account a login attempt is for. Build it with
// AccountByLogin, AccountByEmail or AccountByID; the zero value names no
// account (only the address is then checked).
type LoginAccount struct {
	AppID int64
	key   string
}

// AccountByLogin names an account by its login (REST login by login).
func AccountByLogin(appID int64, login string) LoginAccount {
	return LoginAccount{appID, "l:" + boundedKey(login)}
}

// AccountByEmail names an account by its email (REST login by email).
func AccountByEmail(appID int64, email string) LoginAccount {
	return LoginAccount{appID, "e:" + boundedKey(email)}
}

// boundedKey keeps a tracked name small whatever a client sends: a long
// one is kept as its SHA-256.
func boundedKey(name string) string {
	if len(name) <= 64 {
		return name
	}
	h := sha256.Sum256([]byte(name))
	return "#" + hex.EncodeToString(h[:])
}

// AccountByID names an account by its user id (XMPP SASL, whose JID local
// part is <userId>-<appId>).
func AccountByID(appID, userID int64) LoginAccount {
	return LoginAccount{appID, "i:" + strconv.FormatInt(userID, 10)}
}

// NewLoginGuard returns a guard with cfg, defaults filling its zero fields.
func NewLoginGuard(cfg LoginGuardConfig) *LoginGuard {
	def := DefaultLoginGuardConfig()
	fill := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	fillD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	fill(&cfg.AccountFreeFailures, def.AccountFreeFailures)
	fill(&cfg.IPFreeFailures, def.IPFreeFailures)
	fill(&cfg.IPBurst, def.IPBurst)
	fill(&cfg.MaxKeys, def.MaxKeys)
	fillD(&cfg.FirstLockout, def.FirstLockout)
	fillD(&cfg.MaxLockout, def.MaxLockout)
	fillD(&cfg.ForgetAfter, def.ForgetAfter)
	if cfg.IPRate == 0 {
		cfg.IPRate = def.IPRate
	}
	g := &LoginGuard{cfg: cfg, now: time.Now}
	g.accounts.init(cfg.MaxKeys)
	g.ips.init(cfg.MaxKeys)
	return g
}

// SetClock replaces the guard's clock (tests of expiry).
func (g *LoginGuard) SetClock(now func() time.Time) { g.now = now }

// Allow reports whether a login attempt for account from ip may go ahead.
// When it may not, retryAfter says when to try again (at least a second).
// An allowed attempt uses one of the address's rate tokens; report its
// outcome with Failed or Succeeded.
func (g *LoginGuard) Allow(account LoginAccount, ip netip.Addr) (ok bool, retryAfter time.Duration) {
	now := g.now()
	ipKey, perIP := g.addrKey(ip)
	g.mu.Lock()
	defer g.mu.Unlock()
	var wait time.Duration
	if account.key != "" {
		if e := g.accounts.get(account, now, g.cfg.ForgetAfter); e != nil {
			wait = max(wait, e.lockedUntil.Sub(now))
		}
	}
	if !perIP {
		if wait > 0 {
			return false, roundUp(wait)
		}
		return true, 0
	}
	e := g.ips.get(ipKey, now, g.cfg.ForgetAfter)
	if e != nil {
		wait = max(wait, e.lockedUntil.Sub(now))
	}
	if wait > 0 {
		return false, roundUp(wait)
	}
	if g.cfg.IPRate > 0 {
		if e == nil {
			e = g.ips.add(ipKey, now)
			e.tokens = float64(g.cfg.IPBurst)
		}
		e.tokens = min(float64(g.cfg.IPBurst), e.tokens+now.Sub(e.refilled).Seconds()*g.cfg.IPRate)
		e.refilled = now
		if e.tokens < 1 {
			return false, roundUp(time.Duration((1 - e.tokens) / g.cfg.IPRate * float64(time.Second)))
		}
		e.tokens--
		e.seen = now
	}
	return true, 0
}

// Failed records a failed login: wrong password or unknown account.
func (g *LoginGuard) Failed(account LoginAccount, ip netip.Addr) {
	now := g.now()
	ipKey, perIP := g.addrKey(ip)
	g.mu.Lock()
	defer g.mu.Unlock()
	if account.key != "" {
		e := g.accounts.get(account, now, g.cfg.ForgetAfter)
		if e == nil {
			e = g.accounts.add(account, now)
		}
		g.fail(e, now, g.cfg.AccountFreeFailures)
	}
	if !perIP {
		return
	}
	e := g.ips.get(ipKey, now, g.cfg.ForgetAfter)
	if e == nil {
		e = g.ips.add(ipKey, now)
		e.tokens = float64(g.cfg.IPBurst)
	}
	g.fail(e, now, g.cfg.IPFreeFailures)
}

// Succeeded records a good login: the account's failures are forgotten.
// The address's are not, or one valid account would let an attacker reset
// the address between guesses at others.
func (g *LoginGuard) Succeeded(account LoginAccount, ip netip.Addr) {
	if account.key == "" {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.accounts.remove(account)
}

func (g *LoginGuard) fail(e *guardEntry, now time.Time, free int) {
	e.failures++
	e.seen, e.lastFailure = now, now
	if over := e.failures - free; over > 0 {
		d := g.cfg.MaxLockout
		if over <= 62 {
			d = time.Duration(math.Min(float64(g.cfg.FirstLockout)*math.Exp2(float64(over-1)), float64(g.cfg.MaxLockout)))
		}
		e.lockedUntil = now.Add(d)
	}
}

// roundUp gives whole seconds, as Retry-After carries.
func roundUp(d time.Duration) time.Duration {
	return max(time.Second, (d+time.Second-1)/time.Second*time.Second)
}

// addrKey maps an address to what it is limited as: IPv4 alone, IPv6 by its
// /64, since one host commonly holds a whole /64. perIP is false when the
// address gets no per-address checks (unknown, or exempt loopback).
func (g *LoginGuard) addrKey(ip netip.Addr) (key netip.Addr, perIP bool) {
	ip = ip.Unmap()
	if !ip.IsValid() || g.cfg.ExemptLoopback && ip.IsLoopback() {
		return ip, false
	}
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.Addr(), true
		}
	}
	return ip, true
}

type guardEntry struct {
	failures    int
	lastFailure time.Time
	lockedUntil time.Time
	seen        time.Time
	tokens      float64 // IP rate bucket
	refilled    time.Time
	elem        *list.Element
}

// lru is a map bounded to max entries that evicts the least recently used.
type lru[K comparable] struct {
	max   int
	m     map[K]*guardEntry
	order *list.List // of K, least recent first
}

func (l *lru[K]) init(max int) {
	l.max, l.m, l.order = max, map[K]*guardEntry{}, list.New()
}

// get returns k's entry, or nil when absent or quiet for forget (then it is
// dropped); failures older than forget are cleared.
func (l *lru[K]) get(k K, now time.Time, forget time.Duration) *guardEntry {
	e := l.m[k]
	if e == nil {
		return nil
	}
	if e.failures > 0 && now.Sub(e.lastFailure) > forget && !now.Before(e.lockedUntil) {
		e.failures = 0
	}
	// Without failures an entry quiet this long holds a full rate bucket:
	// the same as none.
	if e.failures == 0 && now.Sub(e.seen) > forget {
		l.remove(k)
		return nil
	}
	l.order.MoveToBack(e.elem)
	return e
}

func (l *lru[K]) add(k K, now time.Time) *guardEntry {
	for len(l.m) >= l.max {
		l.remove(l.order.Front().Value.(K))
	}
	e := &guardEntry{seen: now, refilled: now}
	e.elem = l.order.PushBack(k)
	l.m[k] = e
	return e
}

func (l *lru[K]) remove(k K) {
	if e := l.m[k]; e != nil {
		l.order.Remove(e.elem)
		delete(l.m, k)
	}
}

// Len reports how many accounts and addresses are tracked (tests, metrics).
func (g *LoginGuard) Len() (accounts, ips int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.accounts.m), len(g.ips.m)
}
