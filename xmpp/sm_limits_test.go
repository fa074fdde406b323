package xmpp_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/xmpp"
)

// resumeFails reports whether resuming id is answered with <failed/>.
func resumeFails(e *env, user, pass, id string) bool {
	e.t.Helper()
	_, got := e.resume(user, pass, id, 1)
	return strings.HasPrefix(got, "<failed")
}

// A hibernated session's queue obeys the live limit: beyond it the session
// ends and everything it held is delivered from offline storage, once.
func TestHibernatedQueueIsBounded(t *testing.T) {
	e := newChatEnv(t)
	e.cfg.MaxStanza, e.cfg.MaxQueue = 8<<10, 32<<10
	e.srv.Crash()
	e.start()
	aJID, _ := e.user("ann", "ann-password")
	bJID, _ := e.user("ben", "ben-password")
	a := e.login(viaTLS, aJID, "ann-password")
	b, id := smLogin(e.env, viaTLS, bJID, "ben-password")
	b.readUntil("<presence")
	b.nc.Close()
	time.Sleep(100 * time.Millisecond)
	body := strings.Repeat("x", 3000)
	const n = 30 // ~90 KiB, almost three times the limit
	for i := 1; i <= n; i++ {
		a.send(fmt.Sprintf(`<message to="%s@localhost" type="chat" id="h%d"><body>%s</body></message>`, bJID, i, body))
	}
	a.nothing(300 * time.Millisecond)
	waitOffline(t, e.env, bJID, n)
	if !resumeFails(e.env, bJID, "ben-password", id) {
		t.Fatal("a session whose queue passed the limit could still be resumed")
	}
	c := e.login(viaTLS, bJID, "ben-password")
	c.send(`<presence/>`)
	got := c.messageIDs(700*time.Millisecond, "")
	if len(got) != n || got[0] != "h1" || got[n-1] != fmt.Sprintf("h%d", n) {
		t.Fatalf("offline after the overflow: %d messages %v, want h1..h%d once each", len(got), got, n)
	}
}

// A message the server accepted for a hibernated session is in durable
// storage at once: after a crash it is delivered exactly once at the next
// login; and a session that resumes instead gets it once, not again later.
func TestHibernatedMessagesSurviveCrash(t *testing.T) {
	e := newChatEnv(t)
	aJID, _ := e.user("ann", "ann-password")
	bJID, _ := e.user("ben", "ben-password")
	a, _ := smLogin(e.env, viaTLS, aJID, "ann-password")
	b, _ := smLogin(e.env, viaTLS, bJID, "ben-password")
	b.readUntil("<presence")
	b.nc.Close()
	time.Sleep(100 * time.Millisecond)
	const n = 50
	for i := 1; i <= n; i++ {
		a.send(fmt.Sprintf(`<message to="%s@localhost" type="chat" id="k%d"><body>%d</body></message>`, bJID, i, i))
	}
	// The server acknowledges all of them (presence + n messages).
	a.send(`<r xmlns="urn:xmpp:sm:3"/>`)
	if got := a.readUntil(`<a xmlns="urn:xmpp:sm:3"`); attr(got, "h") != fmt.Sprint(n+1) {
		t.Fatalf("ack: %s", got)
	}
	e.crashAndRestart()
	c := e.login(viaTLS, bJID, "ben-password")
	c.send(`<presence/>`)
	got := c.messageIDs(700*time.Millisecond, "")
	if len(got) != n || got[0] != "k1" || got[n-1] != fmt.Sprintf("k%d", n) {
		t.Fatalf("after a crash: %d messages %v, want k1..k%d once each", len(got), got, n)
	}

	// Resumed instead: replayed once, and no offline copy left behind.
	a2 := e.login(viaTLS, aJID, "ann-password")
	c.send(`<enable xmlns="urn:xmpp:sm:3" resume="true"/>`)
	id := attr(c.expect("enabled", `resume="true"`), "id")
	c.send(`<a xmlns="urn:xmpp:sm:3" h="0"/>`)
	time.Sleep(50 * time.Millisecond)
	c.nc.Close()
	time.Sleep(100 * time.Millisecond)
	for i := 1; i <= 3; i++ {
		a2.send(fmt.Sprintf(`<message to="%s@localhost" type="chat" id="s%d"><body>%d</body></message>`, bJID, i, i))
	}
	a2.nothing(200 * time.Millisecond)
	r, answer := e.resume(bJID, "ben-password", id, 0)
	if !strings.HasPrefix(answer, "<resumed") {
		t.Fatalf("resume: %s", answer)
	}
	if got := r.messageIDs(500*time.Millisecond, ""); fmt.Sprint(got) != "[s1 s2 s3]" {
		t.Fatalf("resumed: %v, want [s1 s2 s3]", got)
	}
	r.send(`<a xmlns="urn:xmpp:sm:3" h="3"/>`)
	r.send(`</stream:stream>`)
	time.Sleep(100 * time.Millisecond)
	d := e.login(viaTLS, bJID, "ben-password")
	d.send(`<presence/>`)
	if got := d.messageIDs(500*time.Millisecond, ""); len(got) != 0 {
		t.Fatalf("delivered again after the resume: %v", got)
	}
}

// A user's sessions are bounded: one more replaces the oldest, live or
// hibernated, with a conflict stream error.
func TestSessionsPerUserAreBounded(t *testing.T) {
	e := newEnv(t, func(c *xmpp.Config) { c.MaxSessionsPerUser = 3 })
	uJID, _ := e.user("ann", "ann-password")
	var cs []*client
	for i := 0; i < 3; i++ {
		cs = append(cs, e.login(viaTLS, uJID, "ann-password"))
	}
	cs = append(cs, e.login(viaTLS, uJID, "ann-password"))
	cs[0].readUntil("<conflict")
	waitSessions(t, e, 3)
	// Hibernated sessions count too, and the oldest of them goes first.
	_, id1 := smLogin(e, viaTLS, uJID, "ann-password")
	cs[1].readUntil("<conflict")
	h, id2 := smLogin(e, viaTLS, uJID, "ann-password")
	cs[2].readUntil("<conflict")
	h.nc.Close()
	time.Sleep(100 * time.Millisecond)
	// Three more replace the live cs[3] and id1, then the hibernated id2.
	for i := 0; i < 3; i++ {
		e.login(viaTLS, uJID, "ann-password")
	}
	waitSessions(t, e, 3)
	if !resumeFails(e, uJID, "ann-password", id1) || !resumeFails(e, uJID, "ann-password", id2) {
		t.Fatal("a replaced session could be resumed")
	}
}

// waitSessions waits (up to 3 s) for the node to count n bound sessions:
// a replaced stream leaves once its close is written.
func waitSessions(t *testing.T, e *env, n int) {
	t.Helper()
	for i := 0; i < 300 && e.srv.SessionCount() != n; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if got := e.srv.SessionCount(); got != n {
		t.Fatalf("%d sessions bound, want %d", got, n)
	}
}

// waitOffline waits (up to 5 s) until user has n offline messages stored.
func waitOffline(t *testing.T, e *env, user string, n int) {
	t.Helper()
	var uid, app int64
	fmt.Sscanf(user, "%d-%d", &uid, &app)
	got := 0
	for i := 0; i < 500; i++ {
		if got, _ = e.db.OfflineCount(t.Context(), app, uid); got >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%d offline messages stored, want %d", got, n)
}
