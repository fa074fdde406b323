package xmpp_test

import (
	"fmt"
	"testing"
	"time"

	"mellium.im/sasl"
)

// loginWith signs in with mech and secret (a password or a session token).
func (e *env) loginWith(mech sasl.Mechanism, user, secret string) *client {
	e.t.Helper()
	c := e.dial(viaTLS)
	if s, ok := c.auth(mech, user, secret); !ok {
		e.t.Fatalf("login with %s failed: %s", mech.Name, s)
	}
	c.open(e.domain)
	c.bind("")
	return c
}

func alive(t *testing.T, c *client, id string) {
	t.Helper()
	c.send(`<iq type="get" id="` + id + `"><ping xmlns="urn:xmpp:ping"/></iq>`)
	c.readUntil(`id="` + id + `"`)
}

// Revocation is immediate: logout ends the streams of that token; a
// password change ends every other token and stream (the session that made
// it stays); deleting the user ends all; a token's streams end when it
// expires.
func TestRevocation(t *testing.T) {
	e := newChatEnv(t)
	aJID, ua := e.user("ann", "ann-password")
	t1, t2, t3 := e.token("ann", "ann-password"), e.token("ann", "ann-password"), e.token("ann", "ann-password")
	s1 := e.loginWith(sasl.Plain, aJID, t1)
	s2 := e.loginWith(sasl.ScramSha1, aJID, t2)
	s3 := e.loginWith(sasl.ScramSha256, aJID, "ann-password")

	if code, _ := e.rest(t1, "DELETE", "/session.json", ""); code != 200 {
		t.Fatalf("logout: %d", code)
	}
	s1.readUntil("<not-authorized")
	alive(t, s2, "p1")
	alive(t, s3, "p2")

	body := `{"user":{"password":"new-password-1","old_password":"ann-password"}}`
	if code, out := e.rest(t2, "PUT", fmt.Sprintf("/users/%d.json", ua.ID), body); code != 200 {
		t.Fatalf("password change: %d %v", code, out)
	}
	s3.readUntil("<not-authorized")
	alive(t, s2, "p3")
	if code, _ := e.rest(t3, "GET", "/session.json", ""); code != 401 {
		t.Fatalf("another token after a password change: %d, want 401", code)
	}
	if code, _ := e.rest(t2, "GET", "/session.json", ""); code != 200 {
		t.Fatalf("the token that changed the password: %d, want 200", code)
	}

	if code, _ := e.rest(t2, "DELETE", fmt.Sprintf("/users/%d.json", ua.ID), ""); code != 200 {
		t.Fatalf("delete user: %d", code)
	}
	s2.readUntil("<not-authorized")
}

func TestTokenStreamsEndWithTheToken(t *testing.T) {
	e := newChatEnv(t)
	e.acc.TokenTTL = 1500 * time.Millisecond
	aJID, _ := e.user("ann", "ann-password")
	tok := e.token("ann", "ann-password")
	s := e.loginWith(sasl.ScramSha1, aJID, tok)
	p := e.loginWith(sasl.Plain, aJID, "ann-password")
	s.readUntil("<not-authorized")
	alive(t, p, "still")
}
