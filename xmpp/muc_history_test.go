package xmpp_test

import (
	"fmt"
	"strings"
	"testing"
)

// Standard clients find the room service and their rooms by disco, and a
// join gets the room's recent history from the archive, then the subject;
// the SDK's join (maxstanzas="0") gets neither.
func TestRoomServiceDiscoAndHistoryOnJoin(t *testing.T) {
	e := newChatEnv(t)
	aJID, _ := e.user("ann", "ann-password")
	bJID, ub := e.user("ben", "ben-password")
	ta := e.token("ann", "ann-password")
	_, g := e.rest(ta, "POST", "/chat/Dialog.json", fmt.Sprintf(`{"type":2,"name":"team","occupants_ids":"%d"}`, ub.ID))
	room := obj(g)["xmpp_room_jid"].(string)
	a := e.login(viaTLS, aJID, "ann-password")
	b := e.login(viaTLS, bJID, "ben-password")

	b.send(`<iq type="get" id="i0"><query xmlns="http://jabber.org/protocol/disco#items"/></iq>`)
	if got := b.readUntil(`id="i0"`); !strings.Contains(got, `<item jid="muc.localhost"`) {
		t.Fatalf("server items: %s", got)
	}
	b.send(`<iq type="get" id="i1" to="muc.localhost"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)
	if got := b.readUntil(`id="i1"`); !strings.Contains(got, `category="conference"`) || !strings.Contains(got, `var="http://jabber.org/protocol/muc"`) {
		t.Fatalf("room service info: %s", got)
	}
	b.send(`<iq type="get" id="i2" to="muc.localhost"><query xmlns="http://jabber.org/protocol/disco#items"/></iq>`)
	if got := b.readUntil(`id="i2"`); !strings.Contains(got, `<item jid="`+room+`" name="team"/>`) {
		t.Fatalf("room service items: %s", got)
	}

	save := `<extraParams xmlns="jabber:client"><save_to_history>1</save_to_history></extraParams>`
	for i := 1; i <= 3; i++ {
		a.send(fmt.Sprintf(`<message to="%s" type="groupchat" id="5f0000000000000000000a0%d"><body>h%d</body>%s</message>`, room, i, i, save))
		b.readUntil(fmt.Sprintf(`id="5f0000000000000000000a0%d"`, i))
	}
	// A standard join asking for two.
	b.send(`<presence to="` + room + `/ben"><x xmlns="http://jabber.org/protocol/muc"><history maxstanzas="2"/></x></presence>`)
	b.readUntil(`<status code="110"/>`)
	var got []string
	for i := 0; i < 10; i++ {
		s := b.read()
		if strings.Contains(s, "<subject") {
			break
		}
		if strings.HasPrefix(s, "<message") {
			if !strings.Contains(s, `<delay xmlns="urn:xmpp:delay"`) || !strings.Contains(s, `<stanza-id`) {
				t.Fatalf("history message without delay or stanza-id: %s", s)
			}
			got = append(got, attr(s, "id"))
		}
	}
	if fmt.Sprint(got) != "[5f0000000000000000000a02 5f0000000000000000000a03]" {
		t.Fatalf("history on join: %v", got)
	}
	// The SDK's join: no history, no subject.
	a.send(`<presence id="x:join" to="` + room + `/` + aJID[:strings.Index(aJID, "-")] + `"><x xmlns="http://jabber.org/protocol/muc"><history maxstanzas="0"/></x></presence>`)
	a.readUntil(`id="x:join"`)
	for {
		k, s := a.readUnit(300e6)
		if k == 0 {
			break
		}
		if strings.Contains(s, "<subject") || strings.Contains(s, "urn:xmpp:delay") {
			t.Fatalf("the SDK's join got %s", s)
		}
	}
}

// MUC self-ping (XEP-0410): answered for a joined occupant, not-acceptable
// otherwise.
func TestMUCSelfPing(t *testing.T) {
	e := newChatEnv(t)
	aJID, _ := e.user("ann", "ann-password")
	ta := e.token("ann", "ann-password")
	_, g := e.rest(ta, "POST", "/chat/Dialog.json", `{"type":2,"name":"solo"}`)
	room := obj(g)["xmpp_room_jid"].(string)
	a := e.login(viaTLS, aJID, "ann-password")
	ping := `<ping xmlns="urn:xmpp:ping"/>`
	a.send(`<iq type="get" id="sp0" to="` + room + `/ann">` + ping + `</iq>`)
	if got := a.readUntil(`id="sp0"`); !strings.Contains(got, "not-acceptable") {
		t.Fatalf("self-ping before joining: %s", got)
	}
	a.send(`<presence to="` + room + `/ann"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	a.readUntil("<subject")
	a.send(`<iq type="get" id="sp1" to="` + room + `/ann">` + ping + `</iq>`)
	if got := a.readUntil(`id="sp1"`); !strings.Contains(got, `type="result"`) {
		t.Fatalf("self-ping when joined: %s", got)
	}
}
