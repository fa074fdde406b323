package xmpp_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestPrivacyListsAsTheSDKEncodesThem(t *testing.T) {
	e := newChatEnv(t)
	aJID, _ := e.user("ann", "ann-password")
	bJID, ub := e.user("ben", "ben-password")
	cJID, uc := e.user("cat", "cat-password")
	a := e.login(viaWS, aJID, "ann-password")
	b := e.login(viaTLS, bJID, "ben-password")
	c := e.login(viaWS, cJID, "cat-password")
	iq := func(cl *client, id, body string) string {
		cl.send(`<iq type="` + body[:3] + `" id="` + id + `">` + body[3:] + `</iq>`)
		return cl.readUntil(`id="` + id + `"`)
	}
	// Ben blocked one way (items with children), Cat both ways (no children).
	list := fmt.Sprintf(`set<query xmlns="jabber:iq:privacy"><list name="l1">`+
		`<item type="jid" value="%s@localhost" action="deny" order="1"><message/><presence-in/><presence-out/><iq/></item>`+
		`<item type="jid" value="muc.localhost/%d" action="deny" order="2"><message/><presence-in/><presence-out/><iq/></item>`+
		`<item type="jid" value="%s@localhost" action="deny" order="3"/>`+
		`<item type="jid" value="muc.localhost/%d" action="deny" order="4"/>`+
		`</list></query>`, bJID, ub.ID, cJID, uc.ID)
	if got := iq(a, "edit", list); !strings.Contains(got, `type="result"`) {
		t.Fatalf("create: %s", got)
	}
	if got := iq(a, "def", `set<query xmlns="jabber:iq:privacy"><default name="l1"/></query>`); !strings.Contains(got, `type="result"`) {
		t.Fatalf("default: %s", got)
	}
	if got := iq(a, "names", `get<query xmlns="jabber:iq:privacy"/>`); !strings.Contains(got, `<default name="l1"/>`) || !strings.Contains(got, `<list name="l1"/>`) {
		t.Fatalf("names: %s", got)
	}
	got := iq(a, "get", `get<query xmlns="jabber:iq:privacy"><list name="l1"/></query>`)
	if strings.Index(got, bJID+"@localhost") > strings.Index(got, fmt.Sprintf("muc.localhost/%d", ub.ID)) ||
		!strings.Contains(got, fmt.Sprintf(`value="%s@localhost" action="deny" order="3"/>`, cJID)) {
		t.Fatalf("list not returned in pairs and order: %s", got)
	}
	send := func(from *client, to, id string) {
		from.send(`<message to="` + to + `@localhost" type="chat" id="` + id + `"><body>x</body></message>`)
	}

	send(b, aJID, "b2a") // Ben is blocked inbound: he gets an error the SDK reads
	if got := b.readUntil(`id="b2a"`); !strings.Contains(got, `type="error"`) || !strings.Contains(got, `code="503"`) || !strings.Contains(got, "<text") {
		t.Fatalf("blocked sender: %s", got)
	}
	send(a, bJID, "a2b") // one-way: Ann can still write to Ben
	b.readUntil(`id="a2b"`)
	send(c, aJID, "c2a") // mutual: neither way
	c.readUntil(`id="c2a"`)
	send(a, cJID, "a2c")
	if got := a.readUntil(`id="a2c"`); !strings.Contains(got, `type="error"`) {
		t.Fatalf("mutual block let Ann write: %s", got)
	}
	a.nothing(200 * time.Millisecond)
	c.nothing(100 * time.Millisecond)

	// In a group, Ben's messages silently do not reach Ann; Cat still gets them.
	_, d := e.rest(e.token("ann", "ann-password"), "POST", "/chat/Dialog.json", fmt.Sprintf(`{"type":2,"name":"g","occupants_ids":[%d,%d]}`, ub.ID, uc.ID))
	room := obj(d)["xmpp_room_jid"].(string)
	b.send(`<message to="` + room + `" type="groupchat" id="g1"><body>hi all</body></message>`)
	c.readUntil(`id="g1"`)
	b.readUntil(`id="g1"`)
	a.nothing(300 * time.Millisecond)

	// Declining the default list lifts the blocks.
	iq(a, "decline", `set<query xmlns="jabber:iq:privacy"><default/></query>`)
	send(b, aJID, "b2a-again")
	a.readUntil(`id="b2a-again"`)
	if got := iq(a, "del", `set<query xmlns="jabber:iq:privacy"><list name="l1"/></query>`); !strings.Contains(got, `type="result"`) {
		t.Fatalf("delete: %s", got)
	}
	if got := iq(a, "get2", `get<query xmlns="jabber:iq:privacy"><list name="l1"/></query>`); !strings.Contains(got, `code="404"`) {
		t.Fatalf("deleted list: %s", got)
	}
}

func TestBlockingCommandsViewTheDefaultList(t *testing.T) {
	e := newChatEnv(t)
	aJID, _ := e.user("ann", "ann-password")
	bJID, _ := e.user("ben", "ben-password")
	a := e.login(viaTLS, aJID, "ann-password")
	b := e.login(viaTLS, bJID, "ben-password")
	a.send(`<iq type="set" id="bl1"><block xmlns="urn:xmpp:blocking"><item jid="` + bJID + `@localhost"/></block></iq>`)
	a.readUntil(`id="bl1"`)
	a.send(`<iq type="get" id="bl2"><blocklist xmlns="urn:xmpp:blocking"/></iq>`)
	if got := a.readUntil(`id="bl2"`); !strings.Contains(got, `<item jid="`+bJID+`@localhost"/>`) {
		t.Fatalf("blocklist %s", got)
	}
	b.send(`<message to="` + aJID + `@localhost" type="chat" id="m1"><body>x</body></message>`)
	b.readUntil(`type="error"`)
	// The same block shows as the default privacy list.
	a.send(`<iq type="get" id="pl"><query xmlns="jabber:iq:privacy"/></iq>`)
	if got := a.readUntil(`id="pl"`); !strings.Contains(got, `<default name="blocklist"/>`) {
		t.Fatalf("privacy view %s", got)
	}
	a.send(`<iq type="set" id="ub"><unblock xmlns="urn:xmpp:blocking"/></iq>`)
	a.readUntil(`id="ub"`)
	b.send(`<message to="` + aJID + `@localhost" type="chat" id="m2"><body>x</body></message>`)
	a.readUntil(`id="m2"`)
}
