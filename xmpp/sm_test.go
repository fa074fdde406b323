package xmpp_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"mellium.im/sasl"
)

func attr(s, name string) string {
	i := strings.Index(s, name+`="`)
	if i < 0 {
		return ""
	}
	s = s[i+len(name)+2:]
	return s[:strings.Index(s, `"`)]
}

func TestStreamManagementCounting(t *testing.T) {
	e := newEnv(t, nil)
	aJID, _ := e.user("ann", "ann-password")
	a := e.login(viaWS, aJID, "ann-password")
	// The SDK's sequence: enable, carbons IQ, presence, one message, <r/>.
	a.send(`<enable xmlns="urn:xmpp:sm:3"/>`)
	if got := a.expect("enabled", ""); strings.Contains(got, "resume") {
		t.Fatalf("resume offered unasked: %s", got)
	}
	a.send(`<iq type="set" id="c1"><enable xmlns="urn:xmpp:carbons:2"/></iq>`)
	a.send(`<presence/>`)
	a.send(`<message to="` + aJID + `@localhost" type="chat" id="m1"><body>note to self</body></message>`)
	a.send(`<r xmlns="urn:xmpp:sm:3"/>`)
	if got := a.readUntil(`<a xmlns="urn:xmpp:sm:3"`); attr(got, "h") != "3" {
		t.Fatalf("h after three stanzas: %s", got)
	}
	// The server asks on its own after a few unacknowledged stanzas.
	for i := 0; i < 6; i++ {
		a.send(fmt.Sprintf(`<iq type="get" id="p%d"><ping xmlns="urn:xmpp:ping"/></iq>`, i))
	}
	a.readUntil(`<r xmlns="urn:xmpp:sm:3"/>`)
	// Acknowledging more than was sent ends the stream.
	a.send(`<a xmlns="urn:xmpp:sm:3" h="100000"/>`)
	a.readUntil("undefined-condition")
}

// smLogin logs in with stream management and resumption enabled and
// returns the stream id.
func smLogin(e *env, k transportKind, user, pass string) (*client, string) {
	c := e.login(k, user, pass)
	c.send(`<enable xmlns="urn:xmpp:sm:3" resume="true"/>`)
	got := c.expect("enabled", `resume="true"`)
	c.send(`<presence/>`)
	return c, attr(got, "id")
}

func TestResumeAfterCutReplaysExactlyTheUnacked(t *testing.T) {
	e := newChatEnv(t)
	aJID, _ := e.user("ann", "ann-password")
	bJID, _ := e.user("ben", "ben-password")
	a := e.login(viaTLS, aJID, "ann-password")
	b, id := smLogin(e.env, viaWS, bJID, "ben-password")
	b.readUntil("<presence") // the echo first: h below counts it
	to := bJID + "@localhost"
	for i := 1; i <= 3; i++ {
		a.send(fmt.Sprintf(`<message to="%s" type="chat" id="r%d"><body>%d</body></message>`, to, i, i))
		b.readUntil(fmt.Sprintf(`id="r%d"`, i))
	}
	// Ben acknowledges only the first message (his presence echo counts
	// too: 1 presence + 1 message), then his connection is cut.
	b.send(`<a xmlns="urn:xmpp:sm:3" h="2"/>`)
	time.Sleep(50 * time.Millisecond)
	b.nc.Close()
	time.Sleep(100 * time.Millisecond)
	for i := 4; i <= 5; i++ {
		a.send(fmt.Sprintf(`<message to="%s" type="chat" id="r%d"><body>%d</body></message>`, to, i, i))
	}
	a.nothing(200 * time.Millisecond) // no bounce: the session is hibernating

	n := e.dial(viaTLS)
	if s, ok := n.auth(sasl.Plain, bJID, "ben-password"); !ok {
		t.Fatal(s)
	}
	n.open(e.domain)
	n.expect("features", "urn:xmpp:sm:3")
	n.send(`<resume xmlns="urn:xmpp:sm:3" previd="` + id + `" h="2"/>`)
	n.expect("resumed", `previd="`+id+`"`)
	got := n.messageIDs(500*time.Millisecond, "")
	if fmt.Sprint(got) != "[r2 r3 r4 r5]" {
		t.Fatalf("replayed %v, want [r2 r3 r4 r5] once each", got)
	}
	// The resumed stream is live and keeps the old full JID.
	a.send(`<message to="` + to + `" type="chat" id="r6"><body>6</body></message>`)
	if s := n.readUntil(`id="r6"`); !strings.Contains(s, `to="`+to+`"`) {
		t.Fatalf("after resume: %s", s)
	}
}

func TestUnresumedSessionMovesUnackedToOffline(t *testing.T) {
	e := newChatEnv(t)
	e.srv.SetResumeTimeout(300 * time.Millisecond)
	aJID, _ := e.user("ann", "ann-password")
	bJID, _ := e.user("ben", "ben-password")
	a := e.login(viaTLS, aJID, "ann-password")
	b, _ := smLogin(e.env, viaTLS, bJID, "ben-password")
	b.readUntil("<presence") // the echo first: h below counts it
	to := bJID + "@localhost"
	for i := 1; i <= 3; i++ {
		a.send(fmt.Sprintf(`<message to="%s" type="chat" id="u%d"><body>%d</body></message>`, to, i, i))
		b.readUntil(fmt.Sprintf(`id="u%d"`, i))
	}
	b.send(`<a xmlns="urn:xmpp:sm:3" h="2"/>`) // presence echo + u1
	time.Sleep(50 * time.Millisecond)
	b.nc.Close()
	time.Sleep(100 * time.Millisecond)
	a.send(`<message to="` + to + `" type="chat" id="u4"><body>4</body></message>`)
	time.Sleep(600 * time.Millisecond) // past the resume timeout

	n := e.login(viaWS, bJID, "ben-password")
	n.send(`<presence/>`)
	got := n.messageIDs(500*time.Millisecond, "urn:xmpp:delay")
	if fmt.Sprint(got) != "[u2 u3 u4]" {
		t.Fatalf("offline after an unresumed cut: %v, want [u2 u3 u4]", got)
	}
}

// resume signs user in on a new TLS stream and asks to resume session id
// having handled h stanzas; it returns the stream and the first answer.
func (e *env) resume(user, pass, id string, h int) (*client, string) {
	e.t.Helper()
	n := e.dial(viaTLS)
	if s, ok := n.auth(sasl.Plain, user, pass); !ok {
		e.t.Fatal(s)
	}
	n.open(e.domain)
	n.expect("features", "urn:xmpp:sm:3")
	n.send(fmt.Sprintf(`<resume xmlns="urn:xmpp:sm:3" previd="%s" h="%d"/>`, id, h))
	return n, n.read()
}
