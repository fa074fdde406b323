package xmpp_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestOfflineDelivery(t *testing.T) {
	e := newChatEnv(t)
	aJID, _ := e.user("ann", "ann-password")
	bJID, _ := e.user("ben", "ben-password")
	a := e.login(viaTLS, aJID, "ann-password")
	to := bJID + "@localhost"
	for i := 1; i <= 4; i++ {
		a.send(fmt.Sprintf(`<message to="%s" type="chat" id="o%d"><body>while you were out %d</body></message>`, to, i, i))
	}
	a.send(`<message to="` + to + `" type="chat"><composing xmlns="http://jabber.org/protocol/chatstates"/></message>`)
	a.send(`<message to="` + to + `" type="headline" id="sys1"><extraParams xmlns="jabber:client"><moduleIdentifier>SystemNotifications</moduleIdentifier></extraParams></message>`)
	a.send(`<message to="` + to + `" type="chat" id="saved"><body>in history</body><extraParams xmlns="jabber:client"><save_to_history>1</save_to_history></extraParams></message>`)
	a.nothing(300 * time.Millisecond) // nothing bounced

	b := e.login(viaWS, bJID, "ben-password")
	b.nothing(200 * time.Millisecond) // offline messages wait for available presence
	b.send(`<presence/>`)
	var got []string
	for len(got) < 5 {
		s := b.read()
		if strings.HasPrefix(s, "<message") {
			got = append(got, s)
		}
	}
	for i, s := range got[:4] {
		if !strings.Contains(s, fmt.Sprintf(`id="o%d"`, i+1)) || !strings.Contains(s, `<delay xmlns="urn:xmpp:delay"`) || !strings.Contains(s, "<date_sent>") || !strings.Contains(s, `from="`+a.jid+`"`) {
			t.Fatalf("offline message %d: %s", i+1, s)
		}
	}
	if !strings.Contains(got[4], `id="sys1"`) {
		t.Fatalf("headline not kept: %s", got[4])
	}
	// The typing notification and the message saved to history were not queued.
	b.nothing(300 * time.Millisecond)
	// The queue is empty now.
	b2 := e.login(viaTLS, bJID, "ben-password")
	b2.send(`<presence/>`)
	for {
		k, s := b2.readUnit(300 * time.Millisecond)
		if k == 0 {
			break
		}
		if strings.HasPrefix(s, "<message") {
			t.Fatalf("delivered twice: %s", s)
		}
	}
}

func TestOfflineQueueIsBounded(t *testing.T) {
	e := newChatEnv(t)
	e.srv.SetOfflineMax(3)
	aJID, _ := e.user("ann", "ann-password")
	bJID, _ := e.user("ben", "ben-password")
	a := e.login(viaTLS, aJID, "ann-password")
	for i := 1; i <= 5; i++ {
		a.send(fmt.Sprintf(`<message to="%s@localhost" type="chat" id="q%d"><body>%d</body></message>`, bJID, i, i))
	}
	a.nothing(200 * time.Millisecond)
	b := e.login(viaTLS, bJID, "ben-password")
	b.send(`<presence/>`)
	var ids []string
	for len(ids) < 3 {
		if s := b.read(); strings.HasPrefix(s, "<message") {
			ids = append(ids, s[strings.Index(s, `id="`)+4:strings.Index(s, `id="`)+6])
		}
	}
	if fmt.Sprint(ids) != "[q3 q4 q5]" {
		t.Fatalf("kept %v, want the newest three", ids)
	}
}
