package xmpp_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"mellium.im/sasl"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/xmpp"
)

func TestIdleSessionsArePingedAndDeadOnesCut(t *testing.T) {
	e := newEnv(t, func(c *xmpp.Config) { c.IdleTimeout = time.Second; c.PingTimeout = 1500 * time.Millisecond })
	alice, _ := e.user("alice", "alice-password")
	live := e.login(viaTLS, alice, "alice-password")
	dead := e.login(viaWS, alice, "alice-password")
	ping := live.readUntil("urn:xmpp:ping")
	id := ping[strings.Index(ping, `id="`)+4:]
	id = id[:strings.Index(id, `"`)]
	live.send(`<iq type="result" id="` + id + `" to="localhost"/>`)
	dead.readUntil("urn:xmpp:ping") // and never answer
	if s := dead.readUntil("stream:error"); !strings.Contains(s, "connection-timeout") {
		t.Fatalf("want connection-timeout, got %s", s)
	}
	// The live one answered and is still served.
	live.send(`<iq type="get" id="still"><ping xmlns="urn:xmpp:ping"/></iq>`)
	live.readUntil(`id="still"`)
}

func TestLoginRateLimitPerIP(t *testing.T) {
	e := newEnv(t, func(c *xmpp.Config) { c.LoginRate = 0.01; c.LoginBurst = 2 })
	alice, _ := e.user("alice", "alice-password")
	for i := 0; i < 2; i++ {
		c := e.dial(viaTLS)
		if s, ok := c.auth(sasl.Plain, alice, "alice-password"); !ok {
			t.Fatalf("login %d refused: %s", i, s)
		}
	}
	c := e.dial(viaTLS)
	if s, ok := c.auth(sasl.Plain, alice, "alice-password"); ok || !strings.Contains(s, "temporary-auth-failure") {
		t.Fatalf("want temporary-auth-failure, got %s", s)
	}
}

func TestConnectionRateLimitPerIP(t *testing.T) {
	e := newEnv(t, func(c *xmpp.Config) { c.ConnRate = 0.01; c.ConnBurst = 3 })
	refused := 0
	for i := 0; i < 5; i++ {
		nc, err := net.Dial("tcp", e.c2s)
		if err != nil {
			t.Fatal(err)
		}
		nc.Write([]byte(`<stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams" to="localhost" version="1.0">`))
		nc.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 512)
		if n, _ := nc.Read(buf); n == 0 {
			refused++
		}
		nc.Close()
	}
	if refused != 2 {
		t.Fatalf("%d of 5 connections refused, want 2", refused)
	}
}

// A bound client that trickles one stanza forever is cut.
func TestTricklingStanzaIsCut(t *testing.T) {
	e := newEnv(t, func(c *xmpp.Config) { c.StanzaTimeout = 700 * time.Millisecond })
	alice, _ := e.user("alice", "alice-password")
	c := e.login(viaTLS, alice, "alice-password")
	c.send(`<message to="x@localhost"><body>`)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c.nc.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := c.nc.Write([]byte("a")); err != nil {
			break
		}
		if k, s := c.readUnit(150 * time.Millisecond); k != 0 {
			if !strings.Contains(s, "policy-violation") {
				t.Fatalf("want policy-violation, got %s", s)
			}
			return
		}
	}
	t.Fatal("a stanza trickled for 5 s and the stream was not cut")
}

// --max-stanza is exact, also for a stanza that arrives in one piece.
func TestMaxStanzaIsExact(t *testing.T) {
	e := newEnv(t, func(c *xmpp.Config) { c.MaxStanza = 4096 })
	alice, _ := e.user("alice", "alice-password")
	c := e.login(viaTLS, alice, "alice-password")
	fits := `<message to="x@localhost" id="fits" type="headline"><body>` + strings.Repeat("a", 3900) + `</body></message>`
	c.send(fits)
	over := `<message to="x@localhost" id="over"><body>` + strings.Repeat("a", 4096+2000) + `</body></message>`
	c.send(over)
	if s := c.readUntil("stream:error"); !strings.Contains(s, "policy-violation") {
		t.Fatalf("a %d-byte stanza under a 4096 limit: %s", len(over), s)
	}
}

// SASL failures lock the account (not only the address), under every
// mechanism: the right password is then refused with temporary-auth-failure.
func TestLoginGuardLocksAccountOverSASL(t *testing.T) {
	guard := accounts.NewLoginGuard(accounts.LoginGuardConfig{AccountFreeFailures: 3, FirstLockout: time.Minute, ExemptLoopback: true})
	e := newEnv(t, func(c *xmpp.Config) { c.LoginGuard = guard })
	alice, _ := e.user("alice", "alice-password")
	bob, _ := e.user("bob", "bob-password")
	for i, mech := range []sasl.Mechanism{sasl.Plain, sasl.ScramSha1, sasl.ScramSha256, sasl.Plain} {
		c := e.dial(viaTLS)
		if s, ok := c.auth(mech, alice, "wrong-password"); ok || !strings.Contains(s, "not-authorized") && i < 3 {
			t.Fatalf("wrong password %d: %s", i, s)
		}
	}
	for _, mech := range []sasl.Mechanism{sasl.Plain, sasl.ScramSha1} {
		c := e.dial(viaTLS)
		if s, ok := c.auth(mech, alice, "alice-password"); ok || !strings.Contains(s, "temporary-auth-failure") {
			t.Fatalf("right password while locked (%s): %s", mech.Name, s)
		}
	}
	e.login(viaTLS, bob, "bob-password") // another account is not affected
}
