package xmpp_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parley-chat/parley/accounts"
)

// mamIDs sends a MAM query and returns the archive ids of the results and
// the <fin/> answer.
func mamIDs(t *testing.T, c *client, to, qid, form, set string) ([]string, string) {
	t.Helper()
	toAttr := ""
	if to != "" {
		toAttr = ` to="` + to + `"`
	}
	c.send(`<iq type="set" id="` + qid + `"` + toAttr + `><query xmlns="urn:xmpp:mam:2" queryid="` + qid + `">` + form + set + `</query></iq>`)
	var ids []string
	for i := 0; i < 200; i++ {
		s := c.read()
		switch {
		case strings.Contains(s, `<result xmlns="urn:xmpp:mam:2" queryid="`+qid+`"`):
			r := s[strings.Index(s, "<result"):]
			ids = append(ids, attr(r, " id"))
			if !strings.Contains(s, "<forwarded") || !strings.Contains(s, `<delay xmlns="urn:xmpp:delay"`) {
				t.Fatalf("result without forwarded/delay: %s", s)
			}
		case strings.HasPrefix(s, "<iq") && strings.Contains(s, `id="`+qid+`"`):
			return ids, s
		}
	}
	t.Fatal("no <fin/>")
	return nil, ""
}

// MAM reads the archive the REST history reads: the same ids, 1-1 and room
// archives, RSM paging forward and backward, with and ids filters.
func TestMAMOverTheRESTArchive(t *testing.T) {
	e := newChatEnv(t)
	aJID, _ := e.user("ann", "ann-password")
	bJID, ub := e.user("ben", "ben-password")
	cJID, _ := e.user("cat", "cat-password")
	ta := e.token("ann", "ann-password")
	a := e.login(viaTLS, aJID, "ann-password")
	b := e.login(viaTLS, bJID, "ben-password")
	cc := e.login(viaTLS, cJID, "cat-password")
	save := `<extraParams xmlns="jabber:client"><save_to_history>1</save_to_history></extraParams>`
	var sent []string
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("5f00000000000000000000c%d", i)
		sent = append(sent, id)
		a.send(`<message to="` + bJID + `@localhost" type="chat" id="` + id + `"><body>m` + fmt.Sprint(i) + `</body>` + save + `</message>`)
		b.readUntil(`id="` + id + `"`)
	}
	cc.send(`<message to="` + bJID + `@localhost" type="chat" id="5f00000000000000000000d1"><body>from cat</body>` + save + `</message>`)
	b.readUntil(`id="5f00000000000000000000d1"`)

	// Ben's whole 1-1 archive, two at a time.
	ids, fin := mamIDs(t, b, "", "q1", "", `<set xmlns="http://jabber.org/protocol/rsm"><max>2</max></set>`)
	if fmt.Sprint(ids) != fmt.Sprint(sent[:2]) || !strings.Contains(fin, `complete="false"`) {
		t.Fatalf("first page %v %s", ids, fin)
	}
	ids, fin = mamIDs(t, b, "", "q2", "", `<set xmlns="http://jabber.org/protocol/rsm"><max>2</max><after>`+sent[1]+`</after></set>`)
	if fmt.Sprint(ids) != fmt.Sprint([]string{sent[2], "5f00000000000000000000d1"}) || !strings.Contains(fin, `complete="true"`) {
		t.Fatalf("second page %v %s", ids, fin)
	}
	// The last page, backward; and only Cat's.
	ids, _ = mamIDs(t, b, "", "q3", "", `<set xmlns="http://jabber.org/protocol/rsm"><max>1</max><before/></set>`)
	if fmt.Sprint(ids) != "[5f00000000000000000000d1]" {
		t.Fatalf("last page %v", ids)
	}
	with := `<x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE" type="hidden"><value>urn:xmpp:mam:2</value></field><field var="with"><value>` + cJID + `@localhost</value></field></x>`
	if ids, _ = mamIDs(t, b, bJID+"@localhost", "q4", with, ""); fmt.Sprint(ids) != "[5f00000000000000000000d1]" {
		t.Fatalf("with cat %v", ids)
	}
	// The ids are the REST ids.
	_, dl := e.rest(e.token("ben", "ben-password"), "GET", "/chat/Dialog.json", "")
	n := 0
	for _, d := range items(dl) {
		_, page := e.rest(e.token("ben", "ben-password"), "GET", "/chat/Message.json?chat_dialog_id="+obj(d)["_id"].(string), "")
		n += len(items(page))
	}
	if n != 4 {
		t.Fatalf("REST has %d messages, MAM 4", n)
	}

	// A room's archive, queried at the room.
	_, g := e.rest(ta, "POST", "/chat/Dialog.json", fmt.Sprintf(`{"type":2,"name":"g","occupants_ids":"%d"}`, ub.ID))
	room := obj(g)["xmpp_room_jid"].(string)
	a.send(`<message to="` + room + `" type="groupchat" id="5f00000000000000000000e1"><body>room</body>` + save + `</message>`)
	b.readUntil(`id="5f00000000000000000000e1"`)
	ids, _ = mamIDs(t, b, room, "q5", "", "")
	if fmt.Sprint(ids) != "[5f00000000000000000000e1]" {
		t.Fatalf("room archive %v", ids)
	}
	// Someone outside the room may not read it.
	cc.send(`<iq type="set" id="q6" to="` + room + `"><query xmlns="urn:xmpp:mam:2" queryid="q6"/></iq>`)
	if got := cc.readUntil(`id="q6"`); !strings.Contains(got, `type="error"`) {
		t.Fatalf("outsider read the room archive: %s", got)
	}
	// An unknown RSM id is item-not-found.
	b.send(`<iq type="set" id="q7"><query xmlns="urn:xmpp:mam:2"><set xmlns="http://jabber.org/protocol/rsm"><after>nope</after></set></query></iq>`)
	if got := b.readUntil(`id="q7"`); !strings.Contains(got, "item-not-found") {
		t.Fatalf("unknown after id: %s", got)
	}
}

// An app that archives every message stores what MAM clients send (no
// save_to_history, even no id): found by MAM and REST under one id.
func TestArchiveAllApps(t *testing.T) {
	e, _, bJID, a, b := archiveAllPair(t)
	a.send(`<message to="` + bJID + `@localhost" type="chat"><body>plain client</body></message>`)
	got := b.readUntil("plain client")
	i := strings.Index(got, `<stanza-id xmlns="urn:xmpp:sid:0" id="`)
	if i < 0 {
		t.Fatalf("no stanza id: %s", got)
	}
	id := attr(got[i:], " id")
	ids, _ := mamIDs(t, b, "", "q1", "", "")
	if fmt.Sprint(ids) != "["+id+"]" {
		t.Fatalf("MAM %v, want [%s]", ids, id)
	}
	tb := e.token("ben", "ben-password")
	_, dl := e.rest(tb, "GET", "/chat/Dialog.json", "")
	_, page := e.rest(tb, "GET", "/chat/Message.json?chat_dialog_id="+obj(items(dl)[0])["_id"].(string), "")
	if len(items(page)) != 1 || obj(items(page)[0])["_id"] != id {
		t.Fatalf("REST: %v", page)
	}
}

// Under archive-all, a user's MAM preferences keep 1-1 messages with a
// peer out of the archive (either party's "never" wins).
func TestArchivePrefsApply(t *testing.T) {
	_, aJID, bJID, a, b := archiveAllPair(t)
	b.send(`<iq type="set" id="p1"><prefs xmlns="urn:xmpp:mam:2" default="always"><always/><never><jid>` + aJID + `@localhost</jid></never></prefs></iq>`)
	if got := b.readUntil(`id="p1"`); !strings.Contains(got, `<never><jid>`+aJID+`@localhost</jid></never>`) {
		t.Fatalf("prefs set: %s", got)
	}
	a.send(`<message to="` + bJID + `@localhost" type="chat" id="np1"><body>not archived</body></message>`)
	if got := b.readUntil(`id="np1"`); strings.Contains(got, "stanza-id") {
		t.Fatalf("archived against the recipient's prefs: %s", got)
	}
	if ids, _ := mamIDs(t, b, "", "q1", "", ""); len(ids) != 0 {
		t.Fatalf("MAM has %v", ids)
	}
	// Asked explicitly (save_to_history), it is kept all the same.
	a.send(`<message to="` + bJID + `@localhost" type="chat" id="5f00000000000000000000a9"><body>saved</body><extraParams xmlns="jabber:client"><save_to_history>1</save_to_history></extraParams></message>`)
	b.readUntil(`id="5f00000000000000000000a9"`)
	if ids, _ := mamIDs(t, b, "", "q2", "", ""); fmt.Sprint(ids) != "[5f00000000000000000000a9]" {
		t.Fatalf("MAM has %v", ids)
	}
}

// archiveAllPair is a node with an archive-all app and two users of it
// signed in.
func archiveAllPair(t *testing.T) (e *chatEnv, aJID, bJID string, a, b *client) {
	t.Helper()
	e = newChatEnv(t)
	app, err := e.acc.CreateApp(t.Context(), "archive-all", accounts.AppOptions{ArchiveAll: true})
	if err != nil {
		t.Fatal(err)
	}
	e.app = app
	aJID, _ = e.user("ann", "ann-password")
	bJID, _ = e.user("ben", "ben-password")
	return e, aJID, bJID, e.login(viaTLS, aJID, "ann-password"), e.login(viaTLS, bJID, "ben-password")
}
