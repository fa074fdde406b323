package xmpp_test

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLastActivityAndStatusStreaming(t *testing.T) {
	e := newChatEnv(t)
	aJID, _ := e.user("ann", "ann-password")
	bJID, _ := e.user("ben", "ben-password")
	cJID, _ := e.user("cat", "cat-password")
	a := e.login(viaWS, aJID, "ann-password")
	b := e.login(viaTLS, bJID, "ben-password")
	b.send(`<presence/>`)
	b.readUntil("<presence") // handled (and announced) before Ann subscribes
	last := func(id string) string {
		a.send(`<iq type="get" id="` + id + `" to="` + bJID + `@localhost"><query xmlns="jabber:iq:last"/></iq>`)
		return a.readUntil(`id="` + id + `"`)
	}
	if got := last("l1"); !strings.Contains(got, `seconds="0"`) || !strings.Contains(got, `from="`+bJID+`@localhost"`) {
		t.Fatalf("online: %s", got)
	}
	a.send(`<iq type="set" id="ss"><subscribe xmlns="https://connectycube.com/protocol/status_streaming" user_jid="` + bJID + `@localhost" enable="true"/></iq>`)
	a.readUntil(`id="ss"`)
	b.send(`</stream:stream>`) // logout
	// Ben's coming online is announced asynchronously: that push may still
	// arrive first.
	got := a.readUntil(`jabber:iq:last`)
	if strings.Contains(got, `seconds="0"`) {
		got = a.readUntil(`jabber:iq:last`)
	}
	if !strings.Contains(got, `from="`+bJID+`@localhost"`) || strings.Contains(got, `seconds="0"`) {
		t.Fatalf("status push on logout: %s", got)
	}
	time.Sleep(1100 * time.Millisecond)
	if got := last("l2"); attrInt(got, "seconds") < 1 {
		t.Fatalf("offline: %s", got)
	}
	b2 := e.login(viaTLS, bJID, "ben-password")
	b2.send(`<presence/>`)
	if got := a.readUntil(`jabber:iq:last`); !strings.Contains(got, `seconds="0"`) {
		t.Fatalf("status push on login: %s", got)
	}
	// A user who blocks the asker does not say.
	b2.send(`<iq type="set" id="bl"><block xmlns="urn:xmpp:blocking"><item jid="` + cJID + `@localhost"/></block></iq>`)
	b2.readUntil(`id="bl"`)
	c := e.login(viaTLS, cJID, "cat-password")
	c.send(`<iq type="get" id="l3" to="` + bJID + `@localhost"><query xmlns="jabber:iq:last"/></iq>`)
	if got := c.readUntil(`id="l3"`); !strings.Contains(got, `type="error"`) {
		t.Fatalf("blocked asker told: %s", got)
	}
}

func attrInt(s, name string) int {
	n, _ := strconv.Atoi(attr(s, name))
	return n
}

func TestInactiveClientsGetMessagesButNoTyping(t *testing.T) {
	e := newChatEnv(t)
	aJID, _ := e.user("ann", "ann-password")
	bJID, _ := e.user("ben", "ben-password")
	a := e.login(viaTLS, aJID, "ann-password")
	csi := e.login(viaTLS, bJID, "ben-password")
	mob := e.login(viaWS, bJID, "ben-password")
	csi.send(`<inactive xmlns="urn:xmpp:csi:0"/>`)
	mob.send(`<iq type="set" id="mk:markActive"><mobile xmlns="http://tigase.org/protocol/mobile#v2" enable="true"/></iq>`)
	mob.readUntil(`id="mk:markActive"`)
	time.Sleep(50 * time.Millisecond)
	a.send(`<message to="` + bJID + `@localhost" type="chat"><composing xmlns="http://jabber.org/protocol/chatstates"/></message>`)
	a.send(`<message to="` + bJID + `@localhost" type="chat" id="real"><body>hi</body></message>`)
	for _, cl := range []*client{csi, mob} {
		if got := cl.expect("message", `id="real"`); strings.Contains(got, "composing") {
			t.Fatalf("typing reached an inactive client")
		}
	}
	// Active again: typing flows.
	csi.send(`<active xmlns="urn:xmpp:csi:0"/>`)
	time.Sleep(50 * time.Millisecond)
	a.send(`<message to="` + bJID + `@localhost" type="chat"><paused xmlns="http://jabber.org/protocol/chatstates"/></message>`)
	csi.expect("message", "paused")
	mob.nothing(200 * time.Millisecond)
}

func TestCarbons(t *testing.T) {
	e := newChatEnv(t)
	aJID, _ := e.user("ann", "ann-password")
	bJID, _ := e.user("ben", "ben-password")
	a1 := e.login(viaTLS, aJID, "ann-password")
	a2 := e.login(viaWS, aJID, "ann-password")
	a3 := e.login(viaWS, aJID, "ann-password") // no carbons
	b1 := e.login(viaTLS, bJID, "ben-password")
	b2 := e.login(viaTLS, bJID, "ben-password")
	for _, cl := range []*client{a2, b2} {
		cl.send(`<iq type="set" id="cb"><enable xmlns="urn:xmpp:carbons:2"/></iq>`)
		cl.readUntil(`id="cb"`)
	}
	// Ann's 1-1 message to Ben's bare JID: a sent carbon to a2, no received
	// carbon (both of Ben's resources get the message itself).
	a1.send(`<message to="` + bJID + `@localhost" type="chat" id="c1"><body>one</body></message>`)
	if got := a2.expect("message", `<sent xmlns="urn:xmpp:carbons:2">`); !strings.Contains(got, `id="c1"`) || !strings.Contains(got, `<forwarded xmlns="urn:xmpp:forward:0">`) {
		t.Fatalf("sent carbon %s", got)
	}
	b1.expect("message", `id="c1"`)
	if got := b2.expect("message", `id="c1"`); strings.Contains(got, "carbons") {
		t.Fatalf("bare-JID message carbon-copied: %s", got)
	}
	a3.nothing(200 * time.Millisecond)
	// To one full JID: Ben's other carbons-enabled resource gets a received carbon.
	a1.send(`<message to="` + b1.jid + `" type="chat" id="c2"><body>two</body></message>`)
	b1.expect("message", `id="c2"`)
	if got := b2.expect("message", `<received xmlns="urn:xmpp:carbons:2">`); !strings.Contains(got, `id="c2"`) {
		t.Fatalf("received carbon %s", got)
	}
	a2.readUntil(`id="c2"`)
	// <private/> opts out.
	a1.send(`<message to="` + bJID + `@localhost" type="chat" id="c3"><body>three</body><private xmlns="urn:xmpp:carbons:2"/></message>`)
	a2.nothing(200 * time.Millisecond)
}
