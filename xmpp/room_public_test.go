package xmpp_test

import (
	"strings"
	"testing"
)

// A public dialog is an open room: anyone of the app joins, only subscribers
// speak; a password keeps non-members out until they give it; a ban keeps a
// user out of the room and from subscribing over REST, until lifted.
func TestPublicRoomPasswordAndBan(t *testing.T) {
	e := newChatEnv(t)
	aJID, _ := e.user("ann", "ann-password")
	bJID, _ := e.user("ben", "ben-password")
	ta, tb := e.token("ann", "ann-password"), e.token("ben", "ben-password")
	a := e.login(viaTLS, aJID, "ann-password")
	b := e.login(viaTLS, bJID, "ben-password")
	code, d := e.rest(ta, "POST", "/chat/Dialog.json", `{"type":1,"name":"town square"}`)
	room, _ := obj(d)["xmpp_room_jid"].(string)
	if code != 201 || room == "" {
		t.Fatalf("public dialog: %d %v", code, d)
	}
	id := obj(d)["_id"].(string)
	a.send(`<presence to="` + room + `/Ann"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	a.readUntil("<subject")
	a.send(`<iq type="set" id="pw" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#owner"><x xmlns="jabber:x:data" type="submit"><field var="muc#roomconfig_passwordprotectedroom"><value>1</value></field><field var="muc#roomconfig_roomsecret"><value>s3cret</value></field><field var="muc#roomconfig_membersonly"><value>0</value></field></x></query></iq>`)
	if got := a.readUntil(`id="pw"`); !strings.Contains(got, `type="result"`) {
		t.Fatalf("set a password: %s", got)
	}
	// Ben discovers the room before joining: open, moderated, password-protected.
	b.send(`<iq type="get" id="info" to="` + room + `"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)
	if got := b.readUntil(`id="info"`); !strings.Contains(got, `"muc_open"`) || !strings.Contains(got, `"muc_passwordprotected"`) || !strings.Contains(got, `"muc_moderated"`) {
		t.Fatalf("public room info: %s", got)
	}
	b.send(`<presence id="j1" to="` + room + `/Ben"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	if got := b.readUntil(`id="j1"`); !strings.Contains(got, "not-authorized") {
		t.Fatalf("join without the password: %s", got)
	}
	b.send(`<presence id="j2" to="` + room + `/Ben"><x xmlns="http://jabber.org/protocol/muc"><password>s3cret</password></x></presence>`)
	if got := b.readUntil(`id="j2"`); !strings.Contains(got, `role="visitor"`) || !strings.Contains(got, `affiliation="none"`) {
		t.Fatalf("a non-subscriber's join: %s", got)
	}
	b.readUntil("<subject")
	b.send(`<message to="` + room + `" type="groupchat" id="v"><body>hi</body></message>`)
	if got := b.readUntil(`id="v"`); !strings.Contains(got, `type="error"`) {
		t.Fatalf("a visitor posted: %s", got)
	}

	a.send(`<iq type="set" id="ban" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="outcast" nick="Ben"/></query></iq>`)
	a.readUntil(`id="ban"`)
	if got := b.readUntil(`type="unavailable"`); !strings.Contains(got, `<status code="301"/>`) {
		t.Fatalf("the ban: %s", got)
	}
	b.send(`<presence id="j3" to="` + room + `/Ben"><x xmlns="http://jabber.org/protocol/muc"><password>s3cret</password></x></presence>`)
	if got := b.readUntil(`id="j3"`); !strings.Contains(got, "forbidden") {
		t.Fatalf("a banned user joined: %s", got)
	}
	if code, _ := e.rest(tb, "POST", "/chat/Dialog/"+id+"/subscribe.json", ""); code != 403 {
		t.Fatalf("a banned user subscribed over REST: %d", code)
	}
	a.send(`<iq type="get" id="list" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="outcast"/></query></iq>`)
	if got := a.readUntil(`id="list"`); !strings.Contains(got, `jid="`+bJID+`@localhost" affiliation="outcast"`) {
		t.Fatalf("outcast list: %s", got)
	}
	// Lifted: Ben may subscribe again, and then speaks.
	a.send(`<iq type="set" id="lift" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="none" jid="` + bJID + `@localhost"/></query></iq>`)
	a.readUntil(`id="lift"`)
	if code, _ := e.rest(tb, "POST", "/chat/Dialog/"+id+"/subscribe.json", ""); code != 200 {
		t.Fatalf("subscribe after the ban was lifted: %d", code)
	}
}
