package xmpp_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Occupants choose their nicknames: a session that chose one sees everyone
// by nick (with real JIDs), a session whose nick is its user id (the
// ConnectyCube SDK's join) sees everyone by id, nicks are unique in a room
// (a number is only its own user's), nick changes carry 303, and the owner
// kicks by nick.
func TestRoomNicknames(t *testing.T) {
	e := newChatEnv(t)
	aJID, ua := e.user("ann", "ann-password")
	bJID, ub := e.user("ben", "ben-password")
	cJID, uc := e.user("cyd", "cy-password")
	a := e.login(viaTLS, aJID, "ann-password")
	b := e.login(viaTLS, bJID, "ben-password")
	c := e.login(viaTLS, cJID, "cy-password")
	room := "club@muc.localhost"
	cyNick := fmt.Sprint(uc.ID)

	a.send(`<presence to="` + room + `/Ann"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	a.readUntil("<subject")
	a.send(`<iq type="set" id="add" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="member" jid="` + bJID + `@localhost"/><item affiliation="member" jid="` + cJID + `@localhost"/></query></iq>`)
	a.readUntil(`id="add"`)

	// Cy joins as the SDK does, by user id, with no history.
	c.send(`<presence to="` + room + `/` + cyNick + `"><x xmlns="http://jabber.org/protocol/muc"><history maxstanzas="0"/></x></presence>`)
	if got := c.readUntil(`<status code="110"/>`); !strings.Contains(got, `from="`+room+`/`+cyNick+`"`) {
		t.Fatalf("cy's self-presence: %s", got)
	}
	if got := a.readUntil(`/` + cyNick + `"`); !strings.Contains(got, `jid="`+cJID+`@localhost/`) {
		t.Fatalf("ann sees cy: %s", got)
	}

	for _, taken := range []string{"Ann", cyNick} {
		b.send(`<presence id="taken" to="` + room + `/` + taken + `"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
		if got := b.readUntil(`id="taken"`); !strings.Contains(got, "conflict") {
			t.Fatalf("ben took the nick %s: %s", taken, got)
		}
	}
	b.send(`<presence to="` + room + `/Ben"><show>away</show><status>at lunch &amp; back soon</status><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	if got := b.readUntil(`/Ann"`); !strings.Contains(got, `affiliation="owner"`) || !strings.Contains(got, `jid="`+aJID+`@localhost/`) {
		t.Fatalf("ben sees ann: %s", got)
	}
	if got := b.readUntil(`<status code="110"/>`); !strings.Contains(got, `from="`+room+`/Ben"`) || !strings.Contains(got, `<status code="100"/>`) {
		t.Fatalf("ben's self-presence: %s", got)
	}
	b.readUntil("<subject")
	if got := a.readUntil(`/Ben"`); !strings.Contains(got, `<show>away</show><status>at lunch &amp; back soon</status>`) {
		t.Fatalf("ann sees ben: %s", got)
	}
	benID := fmt.Sprint(ub.ID)
	if got := c.readUntil(`/` + benID + `"`); strings.Contains(got, "jid=") || strings.Contains(got, "Ben") {
		t.Fatalf("cy (by ids) sees ben: %s", got)
	}

	// Ann's message: from her nick for Ben, from her id for Cy.
	a.send(`<message to="` + room + `" type="groupchat" id="m1"><body>hello</body></message>`)
	if got := b.readUntil(`id="m1"`); !strings.Contains(got, `from="`+room+`/Ann"`) {
		t.Fatalf("ben gets: %s", got)
	}
	if got := c.readUntil(`id="m1"`); !strings.Contains(got, fmt.Sprintf(`from="%s/%d"`, room, ua.ID)) {
		t.Fatalf("cy gets: %s", got)
	}
	if got := a.readUntil(`id="m1"`); !strings.Contains(got, `from="`+room+`/Ann"`) {
		t.Fatalf("ann's echo: %s", got)
	}

	// A private message to room/nick reaches that occupant only.
	b.send(`<message to="` + room + `/Ann" type="chat" id="pm"><body>just for you</body></message>`)
	if got := a.readUntil(`id="pm"`); !strings.Contains(got, `from="`+room+`/Ben"`) || !strings.Contains(got, "http://jabber.org/protocol/muc#user") {
		t.Fatalf("private message: %s", got)
	}
	c.nothing(300 * time.Millisecond)
	for id, to := range map[string]string{"pm2": "/Nobody", "pm3": "/Ann"} {
		typ := "chat"
		if id == "pm3" {
			typ = "groupchat"
		}
		b.send(`<message to="` + room + to + `" type="` + typ + `" id="` + id + `"><body>x</body></message>`)
		if got := b.readUntil(`id="` + id + `"`); !strings.Contains(got, `type="error"`) {
			t.Fatalf("%s: %s", id, got)
		}
	}

	// Ben becomes Benny: 303 with the new nick, then the new presence.
	b.send(`<presence to="` + room + `/Benny"/>`)
	if got := a.readUntil(`/Ben"`); !strings.Contains(got, `type="unavailable"`) || !strings.Contains(got, `nick="Benny"`) || !strings.Contains(got, `<status code="303"/>`) {
		t.Fatalf("ann sees the nick change: %s", got)
	}
	a.readUntil(`/Benny"`)
	if got := b.readUntil(`/Ben"`); !strings.Contains(got, `<status code="303"/>`) || !strings.Contains(got, `<status code="110"/>`) {
		t.Fatalf("ben's own nick change: %s", got)
	}
	b.readUntil(`/Benny"`)

	// The owner kicks by nick.
	a.send(`<iq type="set" id="kick" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#admin"><item role="none" nick="Benny"/></query></iq>`)
	a.readUntil(`id="kick"`)
	if got := b.readUntil(`type="unavailable"`); !strings.Contains(got, `<status code="307"/>`) || !strings.Contains(got, `/Benny"`) {
		t.Fatalf("ben kicked: %s", got)
	}
}
