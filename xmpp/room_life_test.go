package xmpp_test

import (
	"strings"
	"testing"
)

// A room's life beyond messages: configuration (listing, password, who sees
// JIDs, history length), disco#info with muc#roominfo, the subject, voice,
// mediated invitations and destruction.
func TestRoomLife(t *testing.T) {
	e := newChatEnv(t)
	aJID, _ := e.user("ann", "ann-password")
	bJID, _ := e.user("ben", "ben-password")
	ta := e.token("ann", "ann-password")
	a := e.login(viaTLS, aJID, "ann-password")
	b := e.login(viaTLS, bJID, "ben-password")
	room := "den@muc.localhost"

	a.send(`<presence to="` + room + `/Ann"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	if got := a.readUntil("<subject"); !strings.Contains(got, "<subject></subject>") {
		t.Fatalf("a new room's subject: %s", got)
	}
	a.send(`<iq type="get" id="form" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#owner"/></iq>`)
	if got := a.readUntil(`id="form"`); !strings.Contains(got, `var="muc#roomconfig_roomsecret"`) || !strings.Contains(got, `var="muc#roomconfig_historylength"`) {
		t.Fatalf("config form: %s", got)
	}
	submit := func(id string, fields ...string) string {
		x := `<x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE"><value>http://jabber.org/protocol/muc#roomconfig</value></field>`
		for i := 0; i+1 < len(fields); i += 2 {
			x += `<field var="` + fields[i] + `"><value>` + fields[i+1] + `</value></field>`
		}
		a.send(`<iq type="set" id="` + id + `" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#owner">` + x + `</x></query></iq>`)
		return a.readUntil(`id="` + id + `"`)
	}
	if got := submit("open", "muc#roomconfig_membersonly", "0"); !strings.Contains(got, "not-acceptable") {
		t.Fatalf("a group room made open: %s", got)
	}
	if got := submit("cfg", "muc#roomconfig_roomname", "The Den", "muc#roomconfig_publicroom", "0",
		"muc#roomconfig_whois", "moderators", "muc#roomconfig_historylength", "3", "muc#roomconfig_membersonly", "1"); !strings.Contains(got, `type="result"`) {
		t.Fatalf("configure: %s", got)
	}
	a.send(`<iq type="get" id="info" to="` + room + `"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)
	info := a.readUntil(`id="info"`)
	for _, want := range []string{`name="The Den"`, `"muc_hidden"`, `"muc_membersonly"`, `"muc_semianonymous"`, `"muc_persistent"`, "muc#roominfo", `var="muc#roominfo_occupants"`} {
		if !strings.Contains(info, want) {
			t.Fatalf("disco#info lacks %s: %s", want, info)
		}
	}

	// The subject: the owner sets it, everyone joining gets it.
	a.send(`<message to="` + room + `" type="groupchat"><subject>plans &amp; plots</subject></message>`)
	if got := a.readUntil("<subject"); !strings.Contains(got, "<subject>plans &amp; plots</subject>") || !strings.Contains(got, room+`/Ann"`) {
		t.Fatalf("subject change: %s", got)
	}

	// An invitation to a members-only room makes Ben a member.
	a.send(`<message to="` + room + `"><x xmlns="http://jabber.org/protocol/muc#user"><invite to="` + bJID + `@localhost"><reason>come in</reason></invite></x></message>`)
	if got := b.readUntil("<invite"); !strings.Contains(got, `from="`+room+`"`) || !strings.Contains(got, `<invite from="`+aJID+`@localhost"><reason>come in</reason></invite>`) {
		t.Fatalf("invitation: %s", got)
	}
	b.send(`<presence to="` + room + `/Ben"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	if got := b.readUntil(`/Ann"`); strings.Contains(got, "jid=") {
		t.Fatalf("a member sees JIDs in a semi-anonymous room: %s", got)
	}
	if got := b.readUntil("<subject"); !strings.Contains(got, "plans &amp; plots") {
		t.Fatalf("subject on join: %s", got)
	}
	if got := a.readUntil(`/Ben"`); !strings.Contains(got, `jid="`+bJID+`@localhost/`) {
		t.Fatalf("the owner sees JIDs: %s", got)
	}
	b.send(`<message to="` + room + `" type="groupchat"><subject>mine now</subject></message>`)
	if got := b.readUntil(`type="error"`); !strings.Contains(got, "forbidden") {
		t.Fatalf("a member changed the subject: %s", got)
	}

	// Voice: revoked, Ben is a visitor and cannot speak; granted, he can.
	voice := func(id, role string) {
		a.send(`<iq type="set" id="` + id + `" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#admin"><item nick="Ben" role="` + role + `"/></query></iq>`)
		a.readUntil(`id="` + id + `"`)
	}
	voice("mute", "visitor")
	if got := b.readUntil(`/Ben"`); !strings.Contains(got, `role="visitor"`) {
		t.Fatalf("ben's presence after losing voice: %s", got)
	}
	b.send(`<message to="` + room + `" type="groupchat" id="hush"><body>can I talk?</body></message>`)
	if got := b.readUntil(`id="hush"`); !strings.Contains(got, "forbidden") {
		t.Fatalf("a visitor spoke: %s", got)
	}
	voice("unmute", "participant")
	b.readUntil(`role="participant"`)
	b.send(`<message to="` + room + `" type="groupchat" id="talk"><body>thanks</body></message>`)
	if got := a.readUntil(`id="talk"`); !strings.Contains(got, "thanks") {
		t.Fatalf("voice granted back: %s", got)
	}

	// Ben cannot destroy the room; Ann can, and it is gone over REST too.
	b.send(`<iq type="set" id="nuke" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#owner"><destroy/></query></iq>`)
	if got := b.readUntil(`id="nuke"`); !strings.Contains(got, "forbidden") {
		t.Fatalf("a member destroyed the room: %s", got)
	}
	a.send(`<iq type="set" id="end" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#owner"><destroy><reason>done</reason></destroy></query></iq>`)
	a.readUntil(`id="end"`)
	if got := b.readUntil("<destroy"); !strings.Contains(got, `type="unavailable"`) || !strings.Contains(got, "<reason>done</reason>") {
		t.Fatalf("destruction: %s", got)
	}
	if _, l := e.rest(ta, "GET", "/chat/Dialog.json", ""); len(items(l)) != 0 {
		t.Fatalf("the destroyed room over REST: %v", l)
	}
}
