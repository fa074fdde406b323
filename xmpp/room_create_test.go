package xmpp_test

import (
	"strings"
	"testing"
)

// A client creates a room by joining a name that does not exist: a group
// dialog it owns, visible over REST under that room address; it configures
// the room, adds a member who joins, they talk, and the owner bans them.
func TestRoomCreatedByJoining(t *testing.T) {
	e := newChatEnv(t)
	aJID, _ := e.user("ann", "ann-password")
	bJID, _ := e.user("ben", "ben-password")
	ta := e.token("ann", "ann-password")
	a := e.login(viaTLS, aJID, "ann-password")
	b := e.login(viaTLS, bJID, "ben-password")
	room := "team@muc.localhost"

	a.send(`<presence to="` + room + `/ann"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	self := a.readUntil(`<status code="110"/>`)
	if !strings.Contains(self, `<status code="201"/>`) || !strings.Contains(self, `affiliation="owner"`) {
		t.Fatalf("creator's self-presence: %s", self)
	}
	a.readUntil("<subject")
	_, l := e.rest(ta, "GET", "/chat/Dialog.json", "")
	if len(items(l)) != 1 || obj(items(l)[0])["xmpp_room_jid"] != room || obj(items(l)[0])["name"] != "team" {
		t.Fatalf("the room over REST: %v", l)
	}
	a.send(`<iq type="set" id="cfg" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#owner"><x xmlns="jabber:x:data" type="submit"/></query></iq>`)
	a.readUntil(`id="cfg"`)

	// Not a member yet: Ben cannot join.
	b.send(`<presence to="` + room + `/ben"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	if got := b.readUntil(`type="error"`); !strings.Contains(got, "forbidden") {
		t.Fatalf("a non-member's join: %s", got)
	}
	a.send(`<iq type="set" id="add" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="member" jid="` + bJID + `@localhost"/></query></iq>`)
	a.readUntil(`id="add"`)
	b.send(`<presence to="` + room + `/ben"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	b.readUntil("<subject")
	a.send(`<message to="` + room + `" type="groupchat" id="hello"><body>welcome</body></message>`)
	if got := b.readUntil(`id="hello"`); !strings.Contains(got, `from="`+room+`/`) {
		t.Fatalf("message in the created room: %s", got)
	}
	a.send(`<iq type="set" id="ban" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="outcast" jid="` + bJID + `@localhost"/></query></iq>`)
	a.readUntil(`id="ban"`)
	if got := b.readUntil(`type="unavailable"`); !strings.Contains(got, `<status code="301"/>`) {
		t.Fatalf("ban: %s", got)
	}
	b.send(`<message to="` + room + `" type="groupchat" id="after"><body>still here?</body></message>`)
	if got := b.readUntil(`id="after"`); !strings.Contains(got, `type="error"`) {
		t.Fatalf("a banned user posted: %s", got)
	}
}
