package xmpp_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"mellium.im/sasl"

	"github.com/parley-chat/parley/accounts"
)

func TestMessageExchangeOverEveryTransport(t *testing.T) {
	e := newEnv(t, nil)
	alice, _ := e.user("alice", "alice-password")
	bob, _ := e.user("bob", "bob-password")
	for _, k := range []transportKind{viaSTARTTLS, viaTLS, viaWS} {
		t.Run(k.String(), func(t *testing.T) {
			a := e.login(k, alice, "alice-password")
			b := e.login(k, bob, "bob-password")
			a.send(`<message to="` + bob + `@localhost" type="chat" id="m1" xmlns="jabber:client"><body>hi &amp; &lt;b&gt;</body>` +
				`<extraParams xmlns="jabber:client"><save_to_history>1</save_to_history><x:custom xmlns:x="urn:example:x" x:attr="1"/></extraParams></message>`)
			got := b.expect("message", `id="m1"`)
			for _, want := range []string{`from="` + a.jid + `"`, `<body>hi &amp; &lt;b&gt;</body>`, `<x:custom xmlns:x="urn:example:x" x:attr="1"/>`, `xmlns="jabber:client"`} {
				if !strings.Contains(got, want) {
					t.Errorf("delivered %s\nmissing %s", got, want)
				}
			}
			b.send(`<message to="` + a.jid + `" type="chat" id="m2"><body>back</body></message>`)
			a.expect("message", `id="m2"`)
		})
	}
}

func TestSASLMechanisms(t *testing.T) {
	e := newEnv(t, nil)
	user, _ := e.user("carol", "carol-password")
	_, token, _, err := e.acc.CreateSession(context.Background(), e.app.ID, e.app.AuthKey, &accounts.Login{Login: "carol", Password: "carol-password"})
	if err != nil {
		t.Fatal(err)
	}
	for _, mech := range []sasl.Mechanism{sasl.Plain, sasl.ScramSha1, sasl.ScramSha256} {
		for _, secret := range []struct{ name, value string }{{"password", "carol-password"}, {"token", token}} {
			t.Run(mech.Name+"/"+secret.name, func(t *testing.T) {
				c := e.dial(viaTLS)
				if s, ok := c.auth(mech, user, secret.value); !ok {
					t.Fatalf("refused: %s", s)
				}
				c.open(e.domain)
				c.bind("")
				if !strings.HasPrefix(c.jid, user+"@localhost/") {
					t.Fatalf("bound %q", c.jid)
				}
			})
		}
	}
}

func TestAuthRefused(t *testing.T) {
	e := newEnv(t, nil)
	dave, _ := e.user("dave", "dave-password")
	e.user("erin", "erin-password")
	ctx := context.Background()
	_, erinToken, _, err := e.acc.CreateSession(ctx, e.app.ID, e.app.AuthKey, &accounts.Login{Login: "erin", Password: "erin-password"})
	if err != nil {
		t.Fatal(err)
	}
	_, daveToken, _, err := e.acc.CreateSession(ctx, e.app.ID, e.app.AuthKey, &accounts.Login{Login: "dave", Password: "dave-password"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, user, secret string
		expire             bool
	}{
		{"wrong password", dave, "not-the-password", false},
		{"foreign user's token", dave, erinToken, false},
		{"unknown user", "999999-1", "whatever-pass", false},
		{"expired token", dave, daveToken, true},
	}
	for _, tc := range cases {
		for _, mech := range []sasl.Mechanism{sasl.Plain, sasl.ScramSha1, sasl.ScramSha256} {
			t.Run(tc.name+"/"+mech.Name, func(t *testing.T) {
				if tc.expire {
					e.acc.SetClock(func() time.Time { return time.Now().Add(3 * time.Hour) })
					defer e.acc.SetClock(time.Now)
				}
				c := e.dial(viaTLS)
				s, ok := c.auth(mech, tc.user, tc.secret)
				if ok || !strings.Contains(s, "<not-authorized/>") {
					t.Fatalf("want not-authorized, got %s", s)
				}
			})
		}
	}
}

func TestSASLRetryAfterFailure(t *testing.T) {
	e := newEnv(t, nil)
	user, _ := e.user("frank", "frank-password")
	c := e.dial(viaWS)
	if s, ok := c.auth(sasl.Plain, user, "wrong-wrong"); ok {
		t.Fatalf("wrong password accepted: %s", s)
	}
	// The same stream may try again (the server does not resend features).
	c.send(`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">` + plainB64(user, "frank-password") + `</auth>`)
	c.expect("success", "")
}

func plainB64(user, pass string) string {
	return b64("\x00" + user + "\x00" + pass)
}

func TestNoImpersonation(t *testing.T) {
	e := newEnv(t, nil)
	alice, _ := e.user("alice", "alice-password")
	bob, _ := e.user("bob", "bob-password")
	mallory, _ := e.user("mallory", "mallory-password")
	b := e.login(viaTLS, bob, "bob-password")
	m := e.login(viaTLS, mallory, "mallory-password")
	m.send(`<message from="` + alice + `@localhost/phone" to="` + bob + `@localhost" type="chat" id="x1"><body>I am alice</body></message>`)
	got := b.expect("message", `id="x1"`)
	if !strings.Contains(got, `from="`+m.jid+`"`) || strings.Contains(got, alice) {
		t.Fatalf("from not stamped: %s", got)
	}
}

func TestOversizedStanzaRefusedNodeKeepsServing(t *testing.T) {
	e := newEnv(t, nil)
	alice, _ := e.user("alice", "alice-password")
	bob, _ := e.user("bob", "bob-password")
	big := e.login(viaTLS, alice, "alice-password")
	b := e.login(viaWS, bob, "bob-password")
	other := e.login(viaSTARTTLS, alice, "alice-password")
	// The server cuts the stream mid-write: send from a goroutine, ignore errors.
	go big.nc.Write([]byte(`<message to="` + bob + `@localhost" type="chat"><body>` + strings.Repeat("A", 1<<20) + `</body></message>`))
	s := big.readUntil("stream:error")
	if !strings.Contains(s, "policy-violation") {
		t.Fatalf("want policy-violation, got %s", s)
	}
	if k, _ := big.readUnit(3 * time.Second); k != 3 /* stream close */ && k != 0 {
		t.Fatalf("stream not closed")
	}
	other.send(`<message to="` + bob + `@localhost" type="chat" id="after"><body>still here</body></message>`)
	b.expect("message", `id="after"`)
	// 64 KiB stanzas (video-call SDPs) pass.
	other.send(`<message to="` + bob + `@localhost" type="headline" id="sdp"><body>` + strings.Repeat("s", 64<<10) + `</body></message>`)
	if got := b.expect("message", `id="sdp"`); len(got) < 64<<10 {
		t.Fatalf("large stanza truncated to %d bytes", len(got))
	}
}

func TestMalformedStanzaIsolated(t *testing.T) {
	e := newEnv(t, nil)
	alice, _ := e.user("alice", "alice-password")
	bob, _ := e.user("bob", "bob-password")
	a := e.login(viaWS, alice, "alice-password")
	b := e.login(viaWS, bob, "bob-password")
	cases := []struct{ name, stanza string }{
		{"SDK array elements", `<message to="` + bob + `@localhost" type="chat" id="bad1" xmlns="jabber:client"><body>x</body><extraParams xmlns="jabber:client"><tags><0>a</0><1>b</1></tags></extraParams></message>`},
		{"bad entity", `<message to="` + bob + `@localhost" type="chat" id="bad2"><body>a &nope; b</body></message>`},
		{"undeclared prefix", `<message to="` + bob + `@localhost" type="chat" id="bad3"><y:foo/></message>`},
		{"mismatched tags", `<message to="` + bob + `@localhost" type="chat" id="bad4"><body>x</bodi></message>`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a.send(tc.stanza)
			got := a.expect("message", `type="error"`)
			if !strings.Contains(got, `code="400"`) || !strings.Contains(got, "bad-request") {
				t.Fatalf("want bad-request with code 400, got %s", got)
			}
		})
	}
	b.nothing(300 * time.Millisecond)
	a.send(`<message to="` + bob + `@localhost" type="chat" id="good"><body>fine</body></message>`)
	b.expect("message", `id="good"`)
}

func TestBounceWhenRecipientOffline(t *testing.T) {
	e := newEnv(t, nil)
	alice, _ := e.user("alice", "alice-password")
	bob, _ := e.user("bob", "bob-password")
	a := e.login(viaTLS, alice, "alice-password")
	a.send(`<message to="` + bob + `@localhost" type="chat" id="off1"><body>are you there</body></message>`)
	got := a.expect("message", `id="off1"`)
	for _, want := range []string{`type="error"`, `code="503"`, "service-unavailable", "<text "} {
		if !strings.Contains(got, want) {
			t.Fatalf("bounce %s lacks %s", got, want)
		}
	}
	// Typing notifications are never bounced.
	a.send(`<message to="` + bob + `@localhost" type="chat"><composing xmlns="http://jabber.org/protocol/chatstates"/></message>`)
	a.nothing(300 * time.Millisecond)
}

func TestBareAndFullJIDRouting(t *testing.T) {
	e := newEnv(t, nil)
	alice, _ := e.user("alice", "alice-password")
	bob, _ := e.user("bob", "bob-password")
	a := e.login(viaTLS, alice, "alice-password")
	b1 := e.login(viaTLS, bob, "bob-password")
	b2 := e.login(viaWS, bob, "bob-password")
	if b1.jid == b2.jid {
		t.Fatal("two sessions share a resource")
	}
	a.send(`<message to="` + bob + `@localhost" type="chat" id="bare"><body>both</body></message>`)
	b1.expect("message", `id="bare"`)
	b2.expect("message", `id="bare"`)
	a.send(`<message to="` + b2.jid + `" type="chat" id="full"><body>one</body></message>`)
	b2.expect("message", `id="full"`)
	b1.nothing(300 * time.Millisecond)
	// IQs to a full JID are routed, and the answer comes back.
	a.send(`<iq type="get" id="v1" to="` + b1.jid + `"><query xmlns="jabber:iq:version"/></iq>`)
	b1.expect("iq", `id="v1"`)
	b1.send(`<iq type="result" id="v1" to="` + a.jid + `"><query xmlns="jabber:iq:version"><name>t</name></query></iq>`)
	if got := a.expect("iq", `id="v1"`); !strings.Contains(got, `from="`+b1.jid+`"`) {
		t.Fatalf("iq result %s", got)
	}
}

func TestRequestedResource(t *testing.T) {
	e := newEnv(t, nil)
	alice, _ := e.user("alice", "alice-password")
	cases := []struct {
		requested string
		honoured  bool
	}{
		{"my-phone-resource-xyz", true},
		{"7", false},                     // a substring of every id: the SDK would drop messages
		{"1234567890123", false},         // digits only
		{"my-phone-resource-xyz", false}, // taken by the first session
	}
	for _, tc := range cases {
		c := e.dial(viaTLS)
		if _, ok := c.auth(sasl.Plain, alice, "alice-password"); !ok {
			t.Fatal("login failed")
		}
		c.open(e.domain)
		c.bind(tc.requested)
		res := c.jid[strings.Index(c.jid, "/")+1:]
		if (res == tc.requested) != tc.honoured || len(res) < 12 {
			t.Errorf("requested %q, bound %q", tc.requested, res)
		}
	}
}

func TestServerIQs(t *testing.T) {
	e := newEnv(t, nil)
	alice, _ := e.user("alice", "alice-password")
	a := e.login(viaWS, alice, "alice-password")
	cases := []struct{ name, iq, want string }{
		{"ping", `<iq type="get" id="p1" to="localhost"><ping xmlns="urn:xmpp:ping"/></iq>`, `type="result"`},
		{"ping without to", `<iq type="get" id="p2"><ping xmlns="urn:xmpp:ping"/></iq>`, `type="result"`},
		{"disco info", `<iq type="get" id="d1" to="localhost"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`, `var="urn:xmpp:ping"`},
		{"roster", `<iq type="get" id="r1"><query xmlns="jabber:iq:roster"/></iq>`, `<query xmlns="jabber:iq:roster"/>`},
		{"legacy session", `<iq type="set" id="s1"><session xmlns="urn:ietf:params:xml:ns:xmpp-session"/></iq>`, `type="result"`},
		{"unknown", `<iq type="get" id="u1" to="localhost"><query xmlns="urn:example:nothing"/></iq>`, `service-unavailable`},
		{"remote domain", `<iq type="get" id="x1" to="example.org"><ping xmlns="urn:xmpp:ping"/></iq>`, `remote-server-not-found`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a.send(tc.iq)
			got := a.expect("iq", tc.want)
			if !strings.Contains(got, `to="`+a.jid+`"`) {
				t.Fatalf("reply not addressed to the client: %s", got)
			}
		})
	}
}

func TestPresenceReachesOwnResources(t *testing.T) {
	e := newEnv(t, nil)
	alice, _ := e.user("alice", "alice-password")
	a1 := e.login(viaTLS, alice, "alice-password")
	a2 := e.login(viaWS, alice, "alice-password")
	a1.send(`<presence><status>here</status></presence>`)
	got := a2.expect("presence", "here")
	if !strings.Contains(got, `from="`+a1.jid+`"`) {
		t.Fatalf("presence from %s", got)
	}
	a1.expect("presence", "here")
	a2.send(`<presence/>`)
	a1.readUntil(`from="` + a2.jid + `"`)
	a2.readUntil(`from="` + a1.jid + `"`) // the newcomer learns about a1
	a1.nc.Close()
	if got := a2.readUntil(`type="unavailable"`); !strings.Contains(got, a1.jid) {
		t.Fatalf("unavailable from %s", got)
	}
}

func TestStreamHeaderChecks(t *testing.T) {
	e := newEnv(t, nil)
	t.Run("wrong domain", func(t *testing.T) {
		c := e.dial(viaTLS)
		c.expect("features", "")
		c.nc.Close()
		d := e.dialRaw(viaTLS)
		d.split.Header = true
		d.send(`<stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams" to="example.org" version="1.0">`)
		d.readUnit(2 * time.Second)
		if s := d.read(); !strings.Contains(s, "host-unknown") {
			t.Fatalf("want host-unknown, got %s", s)
		}
	})
	t.Run("websocket host name accepted", func(t *testing.T) {
		d := e.dialRaw(viaWS)
		d.send(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="127.0.0.1" version="1.0"/>`)
		d.expect("open", "")
		d.expect("features", "PLAIN")
	})
	t.Run("plaintext SASL refused before STARTTLS", func(t *testing.T) {
		d := e.dialRaw(viaSTARTTLS)
		d.split.Header = true
		d.send(`<stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams" to="localhost" version="1.0">`)
		d.readUnit(2 * time.Second)
		d.expect("features", "<required/>")
		d.send(`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">` + plainB64("1-1", "x") + `</auth>`)
		if s := d.read(); !strings.Contains(s, "stream:error") {
			t.Fatalf("want a stream error, got %s", s)
		}
	})
}

func TestShutdownClosesStreams(t *testing.T) {
	e := newEnv(t, nil)
	alice, _ := e.user("alice", "alice-password")
	tcp := e.login(viaTLS, alice, "alice-password")
	ws := e.login(viaWS, alice, "alice-password")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.srv.Shutdown(ctx) }()
	tcp.readUntil("system-shutdown")
	if k, _ := tcp.readUnit(2 * time.Second); k != 3 {
		t.Fatalf("TCP stream not closed with </stream:stream> (kind %d)", k)
	}
	ws.readUntil("system-shutdown")
	ws.expect("close", "urn:ietf:params:xml:ns:xmpp-framing")
	tcp.send("</stream:stream>")
	ws.send(`<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>`)
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}
