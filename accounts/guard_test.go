package accounts_test

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/accounts"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newGuard(cfg accounts.LoginGuardConfig) (*accounts.LoginGuard, *fakeClock) {
	g := accounts.NewLoginGuard(cfg)
	c := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	g.SetClock(c.now)
	return g, c
}

var (
	ipA = netip.MustParseAddr("192.0.2.1")
	ipB = netip.MustParseAddr("192.0.2.2")
)

func TestLoginGuardLockoutGrowsAndExpires(t *testing.T) {
	g, clock := newGuard(accounts.LoginGuardConfig{AccountFreeFailures: 3, IPFreeFailures: 1000, IPRate: -1,
		FirstLockout: time.Second, MaxLockout: 8 * time.Second})
	alice := accounts.AccountByLogin(1, "alice")
	for i := range 3 {
		if ok, _ := g.Allow(alice, ipA); !ok {
			t.Fatalf("free attempt %d refused", i+1)
		}
		g.Failed(alice, ipA)
	}
	if ok, _ := g.Allow(alice, ipA); !ok {
		t.Fatal("the attempt after the free failures was refused before it failed")
	}
	// Each failure past the free ones doubles the lockout: 1, 2, 4, 8, 8 s.
	for _, want := range []time.Duration{1, 2, 4, 8, 8} {
		g.Failed(alice, ipA)
		ok, retry := g.Allow(alice, ipA)
		if ok || retry != want*time.Second {
			t.Fatalf("after a failure: ok=%v retry=%v, want locked for %v", ok, retry, want*time.Second)
		}
		// Still locked from another address: the lock is the account's.
		if ok, _ := g.Allow(alice, ipB); ok {
			t.Fatal("a locked account was allowed from another address")
		}
		clock.add(want*time.Second - time.Millisecond)
		if ok, _ := g.Allow(alice, ipA); ok {
			t.Fatal("allowed before the lockout ended")
		}
		clock.add(time.Millisecond)
		if ok, _ := g.Allow(alice, ipA); !ok {
			t.Fatal("still locked after the lockout ended")
		}
	}
	// Another account from the same address is untouched.
	if ok, _ := g.Allow(accounts.AccountByLogin(1, "bob"), ipA); !ok {
		t.Fatal("another account was locked")
	}
	// The same login in another app is another account.
	if ok, _ := g.Allow(accounts.AccountByLogin(2, "alice"), ipA); !ok {
		t.Fatal("the same login in another app was locked")
	}
	// A success clears the account's failures: the next failure is free.
	g.Succeeded(alice, ipA)
	g.Failed(alice, ipA)
	if ok, _ := g.Allow(alice, ipA); !ok {
		t.Fatal("failures survived a successful login")
	}
}

func TestLoginGuardForgetsQuietFailures(t *testing.T) {
	g, clock := newGuard(accounts.LoginGuardConfig{AccountFreeFailures: 2, IPRate: -1, ForgetAfter: time.Hour})
	alice := accounts.AccountByID(1, 42)
	g.Failed(alice, ipA)
	g.Failed(alice, ipA)
	clock.add(time.Hour + time.Second)
	g.Failed(alice, ipA) // counts as the first again
	if ok, _ := g.Allow(alice, ipA); !ok {
		t.Fatal("failures older than ForgetAfter still counted")
	}
}

func TestLoginGuardPerAddress(t *testing.T) {
	g, clock := newGuard(accounts.LoginGuardConfig{AccountFreeFailures: 1000, IPFreeFailures: 4, IPRate: -1})
	// Guessing at many accounts from one address locks the address.
	for i := range 5 {
		g.Failed(accounts.AccountByLogin(1, "user"+strconv.Itoa(i)), ipA)
	}
	if ok, retry := g.Allow(accounts.AccountByLogin(1, "fresh"), ipA); ok || retry != time.Second {
		t.Fatalf("address past its free failures: ok=%v retry=%v", ok, retry)
	}
	if ok, _ := g.Allow(accounts.AccountByLogin(1, "fresh"), ipB); !ok {
		t.Fatal("another address was locked")
	}
	// A success does not reset the address.
	g.Succeeded(accounts.AccountByLogin(1, "mine"), ipA)
	if ok, _ := g.Allow(accounts.LoginAccount{}, ipA); ok {
		t.Fatal("a success reset the address's lockout")
	}
	clock.add(time.Second)
	if ok, _ := g.Allow(accounts.LoginAccount{}, ipA); !ok {
		t.Fatal("address still locked after its lockout")
	}
	// IPv6 addresses are limited by their /64.
	g2, _ := newGuard(accounts.LoginGuardConfig{IPFreeFailures: 1, IPRate: -1})
	g2.Failed(accounts.LoginAccount{}, netip.MustParseAddr("2001:db8:1:2::1"))
	g2.Failed(accounts.LoginAccount{}, netip.MustParseAddr("2001:db8:1:2::ffff"))
	if ok, _ := g2.Allow(accounts.LoginAccount{}, netip.MustParseAddr("2001:db8:1:2:aaaa::7")); ok {
		t.Fatal("another address of the same /64 escaped the lockout")
	}
	if ok, _ := g2.Allow(accounts.LoginAccount{}, netip.MustParseAddr("2001:db8:1:3::1")); !ok {
		t.Fatal("another /64 was locked")
	}
	// Exempt loopback has no per-address checks; its accounts still lock.
	g3, _ := newGuard(accounts.LoginGuardConfig{AccountFreeFailures: 1, IPFreeFailures: 1, IPRate: 1, IPBurst: 1, ExemptLoopback: true})
	lo := netip.MustParseAddr("127.0.0.1")
	for i := range 5 {
		acct := accounts.AccountByLogin(1, "u"+strconv.Itoa(i))
		if ok, _ := g3.Allow(acct, lo); !ok {
			t.Fatalf("exempt loopback refused at attempt %d", i+1)
		}
		g3.Failed(acct, lo)
	}
	g3.Failed(accounts.AccountByLogin(1, "u0"), lo)
	if ok, _ := g3.Allow(accounts.AccountByLogin(1, "u0"), lo); ok {
		t.Fatal("an account past its free failures was allowed from exempt loopback")
	}
	if _, ips := g3.Len(); ips != 0 {
		t.Fatalf("exempt loopback tracked in %d address entries", ips)
	}
}

func TestLoginGuardAttemptRate(t *testing.T) {
	g, clock := newGuard(accounts.LoginGuardConfig{IPRate: 2, IPBurst: 3})
	for i := range 3 {
		if ok, _ := g.Allow(accounts.AccountByLogin(1, "u"+strconv.Itoa(i)), ipA); !ok {
			t.Fatalf("attempt %d of the burst refused", i+1)
		}
	}
	ok, retry := g.Allow(accounts.AccountByLogin(1, "next"), ipA)
	if ok || retry != time.Second {
		t.Fatalf("past the burst: ok=%v retry=%v, want refused for 1s", ok, retry)
	}
	if ok, _ := g.Allow(accounts.AccountByLogin(1, "next"), ipB); !ok {
		t.Fatal("another address shared the rate")
	}
	clock.add(500 * time.Millisecond) // one token at 2/s
	if ok, _ := g.Allow(accounts.AccountByLogin(1, "next"), ipA); !ok {
		t.Fatal("refused after a token was earned")
	}
}

func TestLoginGuardBoundedMemory(t *testing.T) {
	g, _ := newGuard(accounts.LoginGuardConfig{MaxKeys: 50})
	for i := range 10_000 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		g.Allow(accounts.AccountByEmail(1, strconv.Itoa(i)+"@example.com"), ip)
		g.Failed(accounts.AccountByEmail(1, strconv.Itoa(i)+"@example.com"), ip)
	}
	if a, i := g.Len(); a > 50 || i > 50 {
		t.Fatalf("tracking %d accounts and %d addresses, cap 50", a, i)
	}
	// A long name is tracked by its hash: still its own account.
	long := strings.Repeat("x", 1<<20)
	g2, _ := newGuard(accounts.LoginGuardConfig{AccountFreeFailures: 1, IPRate: -1, IPFreeFailures: 100})
	g2.Failed(accounts.AccountByLogin(1, long), ipA)
	g2.Failed(accounts.AccountByLogin(1, long), ipA)
	if ok, _ := g2.Allow(accounts.AccountByLogin(1, long), ipA); ok {
		t.Fatal("a long login escaped its lockout")
	}
	if ok, _ := g2.Allow(accounts.AccountByLogin(1, long+"y"), ipA); !ok {
		t.Fatal("two long logins shared a lockout")
	}
	if k := fmt.Sprint(accounts.AccountByLogin(1, long)); len(k) > 200 {
		t.Fatalf("a 1 MiB login is kept as %d bytes", len(k))
	}
}
