package xmpp_test

import (
	"fmt"
	"strings"
	"testing"
)

// A room's owner configures it and manages its members over XEP-0045, on
// the dialog rules: the name changes the dialog, a member added is an
// occupant, a member removed (or banned) leaves the dialog and the room;
// a plain member may do none of it.
func TestRoomAdministration(t *testing.T) {
	e := newChatEnv(t)
	aJID, _ := e.user("ann", "ann-password")
	bJID, ub := e.user("ben", "ben-password")
	_, uc := e.user("cat", "cat-password")
	ta := e.token("ann", "ann-password")
	_, g := e.rest(ta, "POST", "/chat/Dialog.json", fmt.Sprintf(`{"type":2,"name":"old","occupants_ids":"%d"}`, ub.ID))
	did, room := obj(g)["_id"].(string), obj(g)["xmpp_room_jid"].(string)
	a := e.login(viaTLS, aJID, "ann-password")
	b := e.login(viaTLS, bJID, "ben-password")

	a.send(`<iq type="get" id="c0" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#owner"/></iq>`)
	if got := a.readUntil(`id="c0"`); !strings.Contains(got, `var="muc#roomconfig_roomname"`) || !strings.Contains(got, "<value>old</value>") {
		t.Fatalf("config form: %s", got)
	}
	a.send(`<iq type="set" id="c1" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#owner"><x xmlns="jabber:x:data" type="submit">` +
		`<field var="FORM_TYPE"><value>http://jabber.org/protocol/muc#roomconfig</value></field><field var="muc#roomconfig_roomname"><value>new name</value></field></x></query></iq>`)
	a.readUntil(`id="c1"`)
	if _, d := e.rest(ta, "GET", "/chat/Dialog.json?_id="+did, ""); obj(items(d)[0])["name"] != "new name" {
		t.Fatalf("dialog after configuration: %v", d)
	}
	b.send(`<iq type="set" id="c2" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="member" jid="` + fmt.Sprintf("%d-%d@localhost", uc.ID, e.app.ID) + `"/></query></iq>`)
	if got := b.readUntil(`id="c2"`); !strings.Contains(got, "forbidden") {
		t.Fatalf("a member added someone: %s", got)
	}
	a.send(`<iq type="set" id="c3" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="member" jid="` + fmt.Sprintf("%d-%d@localhost", uc.ID, e.app.ID) + `"/></query></iq>`)
	a.readUntil(`id="c3"`)
	occupants := func() string {
		_, d := e.rest(ta, "GET", "/chat/Dialog.json?_id="+did, "")
		return fmt.Sprint(obj(items(d)[0])["occupants_ids"])
	}
	if got := occupants(); !strings.Contains(got, fmt.Sprint(uc.ID)) {
		t.Fatalf("occupants after adding a member: %s", got)
	}
	// Ben joins, then is banned: he leaves the room with 301 and the dialog.
	b.send(`<presence to="` + room + `/ben"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	b.readUntil("<subject")
	a.send(`<iq type="set" id="c4" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="outcast" jid="` + bJID + `@localhost"><reason>spam</reason></item></query></iq>`)
	a.readUntil(`id="c4"`)
	if got := b.readUntil(`type="unavailable"`); !strings.Contains(got, `<status code="301"/>`) {
		t.Fatalf("the banned occupant's presence: %s", got)
	}
	if got := occupants(); strings.Contains(got, fmt.Sprint(ub.ID)) {
		t.Fatalf("occupants after the ban: %s", got)
	}
}
