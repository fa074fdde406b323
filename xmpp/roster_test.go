package xmpp_test

import (
	"strings"
	"testing"

	"mellium.im/sasl"
)

// Rosters and presence subscriptions (RFC 6121) between local users: a
// roster set is pushed; a subscription request reaches the contact (at
// their next login when offline), its approval updates both rosters, and
// presence then flows to the subscriber.
func TestRosterSubscription(t *testing.T) {
	e := newChatEnv(t)
	aJID, _ := e.user("ann", "ann-password")
	bJID, _ := e.user("ben", "ben-password")
	cJID, _ := e.user("cat", "cat-password")
	ann, ben := aJID+"@localhost", bJID+"@localhost"
	f := e.dial(viaTLS)
	if s, ok := f.auth(sasl.Plain, aJID, "ann-password"); !ok {
		t.Fatal(s)
	}
	f.open(e.domain)
	f.expect("features", `<ver xmlns="urn:xmpp:features:rosterver"/>`)
	a := e.login(viaTLS, aJID, "ann-password")
	b := e.login(viaTLS, bJID, "ben-password")
	for _, c := range []*client{a, b} {
		c.send(`<iq type="get" id="r0"><query xmlns="jabber:iq:roster"/></iq>`)
		if got := c.readUntil(`id="r0"`); !strings.Contains(got, `ver="`) {
			t.Fatalf("roster get: %s", got)
		}
		c.send(`<presence/>`)
	}
	a.send(`<iq type="set" id="r1"><query xmlns="jabber:iq:roster"><item jid="` + ben + `" name="Ben"><group>friends</group></item></query></iq>`)
	if got := a.readUntil(`<item jid="` + ben + `"`); !strings.Contains(got, `subscription="none"`) || !strings.Contains(got, "<group>friends</group>") {
		t.Fatalf("push after a set: %s", got)
	}
	a.send(`<presence to="` + ben + `" type="subscribe"/>`)
	if got := b.readUntil(`type="subscribe"`); !strings.Contains(got, `from="`+ann+`"`) {
		t.Fatalf("request at Ben: %s", got)
	}
	b.send(`<presence to="` + ann + `" type="subscribed"/>`)
	if got := a.readUntil(`subscription="to"`); !strings.Contains(got, `jid="`+ben+`"`) {
		t.Fatalf("Ann's push after approval: %s", got)
	}
	// Ben's presence now reaches Ann.
	b.send(`<presence><status>in a meeting</status></presence>`)
	if got := a.readUntil("in a meeting"); !strings.Contains(got, `from="`+b.jid+`"`) {
		t.Fatalf("presence to the subscriber: %s", got)
	}
	// A request to a user who is offline waits for their login.
	a.send(`<presence to="` + cJID + `@localhost" type="subscribe"><status>hi cat</status></presence>`)
	c := e.login(viaTLS, cJID, "cat-password")
	c.send(`<presence/>`)
	if got := c.readUntil(`type="subscribe"`); !strings.Contains(got, `from="`+ann+`"`) || !strings.Contains(got, "hi cat") {
		t.Fatalf("pending request at login: %s", got)
	}
}
