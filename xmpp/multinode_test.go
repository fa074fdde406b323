package xmpp_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"mellium.im/sasl"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/cluster"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/internal/testenv"
	"github.com/parley-chat/parley/privacy"
	"github.com/parley-chat/parley/rosters"
	"github.com/parley-chat/parley/storage/mongo"
	"github.com/parley-chat/parley/xmpp"
	"github.com/parley-chat/parley/xmpp/modules"
)

type node struct {
	*env
	rc *cluster.Redis
	ds *dialogs.Service
}

// startNode runs a full node on the shared MongoDB-wire store and Redis.
func startNode(t *testing.T, id, uri, dbName, redisAddr string, ttl time.Duration) *node {
	ctx := context.Background()
	db, err := mongo.Open(ctx, uri, dbName, mongo.Options{WriteConcern: "1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	acc := accounts.NewService(db)
	acc.Iterations = 1000
	ds := dialogs.NewService(db, db)
	lists := privacy.NewService(db, "localhost", "muc.localhost")
	ds.Blocking = lists
	cfg := xmpp.Config{Domain: "localhost", TLS: testTLS(t), Auth: acc, WSSecure: true, Dialogs: ds, History: history.NewArchive(db, ds),
		Offline: db, Privacy: lists, Accounts: acc, Modules: modules.Standard(modules.Deps{Privacy: lists})}
	cfg.Modules = modules.Standard(modules.Deps{Privacy: lists, History: cfg.History, MAM: history.NewMAM(db, ds), Accounts: acc,
		Rosters: rosters.NewService(db, db, "localhost")})
	srv := xmpp.NewServer(cfg, xmpp.NewMetrics(prometheus.NewRegistry()))
	rc, err := cluster.Join(ctx, cluster.Config{Addr: redisAddr, Node: id, TTL: ttl}, srv.Receive)
	if err != nil {
		t.Fatal(err)
	}
	srv.SetCluster(rc)
	rc.OnLost(srv.Lost)
	hctx, stop := context.WithCancel(ctx)
	go rc.Heartbeat(hctx, srv.SessionCount)
	n := &node{env: &env{t: t, srv: srv, acc: acc, domain: "localhost"}, rc: rc, ds: ds}
	a, err := srv.ListenC2STLS("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n.c2sTLS = a.String()
	t.Cleanup(func() {
		stop()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return n
}

func TestThreeNodes(t *testing.T) {
	uri, dbName := testenv.MongoURI(t)
	redisAddr := testenv.Redis(t)
	const ttl = 2 * time.Second
	nodes := []*node{
		startNode(t, "n1", uri, dbName, redisAddr, ttl),
		startNode(t, "n2", uri, dbName, redisAddr, ttl),
		startNode(t, "n3", uri, dbName, redisAddr, ttl),
	}
	ctx := context.Background()
	app, err := nodes[0].acc.CreateApp(ctx, "cluster", accounts.AppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		n.app = app
	}
	aJID, ua := nodes[0].user("ann", "ann-password")
	bJID, ub := nodes[0].user("ben", "ben-password")
	cJID, uc := nodes[0].user("cat", "cat-password")
	a := nodes[0].login(viaTLS, aJID, "ann-password")
	b := nodes[1].login(viaTLS, bJID, "ben-password")
	c := nodes[2].login(viaTLS, cJID, "cat-password")
	for _, cl := range []*client{a, b, c} {
		cl.send(`<presence/>`)
		cl.readUntil("<presence")
	}

	// 1-1 across nodes, both ways.
	a.send(`<message to="` + bJID + `@localhost" type="chat" id="x1"><body>hi from n1</body></message>`)
	if got := b.readUntil(`id="x1"`); !strings.Contains(got, `from="`+a.jid+`"`) {
		t.Fatalf("cross-node 1-1: %s", got)
	}
	b.send(`<message to="` + a.jid + `" type="chat" id="x2"><body>back from n2</body></message>`)
	a.readUntil(`id="x2"`)
	// Typing across nodes.
	a.send(`<message to="` + bJID + `@localhost" type="chat"><composing xmlns="http://jabber.org/protocol/chatstates"/></message>`)
	b.readUntil("composing")

	// A group spread over three nodes, stored in the shared history.
	g, err := nodes[0].ds.Create(ctx, app.ID, ua.ID, dialogs.Input{Type: ptrTo(dialogs.Group), Name: ptrTo("three"), Occupants: []int64{ub.ID, uc.ID}})
	if err != nil {
		t.Fatal(err)
	}
	room := dialogs.RoomJID(app.ID, g.ID, "muc.localhost")
	c.send(`<message to="` + room + `" type="groupchat" id="g1"><body>from n3</body><extraParams xmlns="jabber:client"><save_to_history>1</save_to_history></extraParams></message>`)
	for _, cl := range []*client{a, b, c} {
		if got := cl.readUntil(`id="g1"`); !strings.Contains(got, fmt.Sprintf(`from="%s/%d"`, room, uc.ID)) {
			t.Fatalf("group fan-out: %s", got)
		}
	}
	// Markers across nodes update the shared store.
	b.send(`<message type="chat" to="` + cJID + `@localhost" id="mk"><displayed xmlns="urn:xmpp:chat-markers:0" id="g1"/><extraParams xmlns="jabber:client"><dialog_id>` + g.ID + `</dialog_id></extraParams></message>`)
	c.readUntil(`id="mk"`)
	if v, _ := nodes[2].ds.Get(ctx, app.ID, uc.ID, g.ID); v.LastMessageStatus != "read" {
		t.Fatalf("marker across nodes: status %q", v.LastMessageStatus)
	}
	// Last activity sees a user on another node as online.
	a.send(`<iq type="get" id="la" to="` + cJID + `@localhost"><query xmlns="jabber:iq:last"/></iq>`)
	if got := a.readUntil(`id="la"`); !strings.Contains(got, `seconds="0"`) {
		t.Fatalf("remote user not online: %s", got)
	}

	// n2 dies without a goodbye: no unbind reaches Redis. Within the
	// heartbeat TTL Ben reads as offline, and messages to him are kept.
	nodes[1].rc.Crash()
	b.nc.Close()
	time.Sleep(ttl + 1500*time.Millisecond)
	a.send(`<iq type="get" id="la2" to="` + bJID + `@localhost"><query xmlns="jabber:iq:last"/></iq>`)
	if got := a.readUntil(`id="la2"`); strings.Contains(got, `seconds="0"`) {
		t.Fatalf("dead node's user still online: %s", got)
	}
	a.send(`<message to="` + bJID + `@localhost" type="chat" id="after-crash"><body>are you there?</body></message>`)
	a.nothing(300 * time.Millisecond) // kept offline, not bounced
	c.send(`<message to="` + room + `" type="groupchat" id="g2"><body>still here</body><extraParams xmlns="jabber:client"><save_to_history>1</save_to_history></extraParams></message>`)
	a.readUntil(`id="g2"`)

	b2 := nodes[2].login(viaTLS, bJID, "ben-password")
	b2.send(`<presence/>`)
	if got := b2.readUntil(`id="after-crash"`); !strings.Contains(got, "urn:xmpp:delay") {
		t.Fatalf("offline delivery after the crash: %s", got)
	}
}

// TestResumeOnAnotherNodeAfterCrash: a stream-managed client of a node that
// dies resumes on another node and gets exactly its unacknowledged
// stanzas; what was sent to it after the crash waits as offline messages.
func TestResumeOnAnotherNodeAfterCrash(t *testing.T) {
	uri, dbName := testenv.MongoURI(t)
	redisAddr := testenv.Redis(t)
	const ttl = 2 * time.Second
	n1 := startNode(t, "n1", uri, dbName, redisAddr, ttl)
	n2 := startNode(t, "n2", uri, dbName, redisAddr, ttl)
	app, _ := n1.acc.CreateApp(context.Background(), "cluster", accounts.AppOptions{})
	n1.app, n2.app = app, app
	aJID, _ := n1.user("ann", "ann-password")
	bJID, _ := n1.user("ben", "ben-password")
	a := n2.login(viaTLS, aJID, "ann-password")
	b, id := smLogin(n1.env, viaTLS, bJID, "ben-password")
	b.readUntil("<presence") // the echo first: h below counts it
	to := bJID + "@localhost"
	for i := 1; i <= 3; i++ {
		a.send(fmt.Sprintf(`<message to="%s" type="chat" id="r%d"><body>%d</body></message>`, to, i, i))
		b.readUntil(fmt.Sprintf(`id="r%d"`, i))
	}
	b.send(`<a xmlns="urn:xmpp:sm:3" h="2"/>`) // presence echo + r1
	time.Sleep(100 * time.Millisecond)

	n1.rc.Crash() // kill -9: no goodbye reaches anyone
	n1.srv.Crash()
	a.send(`<message to="` + to + `" type="chat" id="r4"><body>4</body></message>`) // sent into the crash window
	time.Sleep(ttl + 1500*time.Millisecond)
	a.send(`<message to="` + to + `" type="chat" id="r5"><body>5</body></message>`) // after the node is known dead
	a.nothing(300 * time.Millisecond)

	n := n2.dial(viaTLS)
	if s, ok := n.auth(sasl.Plain, bJID, "ben-password"); !ok {
		t.Fatal(s)
	}
	n.open("localhost")
	n.expect("features", "urn:xmpp:sm:3")
	n.send(`<resume xmlns="urn:xmpp:sm:3" previd="` + id + `" h="2"/>`)
	n.expect("resumed", `previd="`+id+`"`)
	replayed := n.messageIDs(500*time.Millisecond, "")
	if fmt.Sprint(replayed) != "[r2 r3]" {
		t.Fatalf("replayed on the new node: %v, want [r2 r3]", replayed)
	}
	n.send(`<presence/>`)
	offline := n.messageIDs(700*time.Millisecond, "")
	if fmt.Sprint(offline) != "[r4 r5]" {
		t.Fatalf("after the crash: %v, want [r4 r5] as offline messages", offline)
	}
	// The resumed session is live on n2.
	a.send(`<message to="` + to + `" type="chat" id="r6"><body>6</body></message>`)
	n.readUntil(`id="r6"`)
}

func TestKickAcrossNodes(t *testing.T) {
	n1, n2, app := twoNodes(t)
	bJID, ub := n1.user("ben", "ben-password")
	b1 := n1.login(viaTLS, bJID, "ben-password")
	b2, _ := smLogin(n2.env, viaTLS, bJID, "ben-password")
	if n := n1.srv.Kick(app.ID, ub.ID); n != 1 {
		t.Fatalf("kicked %d here", n)
	}
	for _, c := range []*client{b1, b2} {
		if got := c.readUntil("stream:error"); !strings.Contains(got, "policy-violation") {
			t.Fatalf("kick: %s", got)
		}
	}
}

func TestPresenceOfOwnResourcesAcrossNodes(t *testing.T) {
	n1, n2, app := twoNodes(t)
	aJID, ua := n1.user("ann", "ann-password")
	phone := n1.login(viaTLS, aJID, "ann-password")
	desk := n2.login(viaTLS, aJID, "ann-password")
	desk.send(`<presence><priority>5</priority><status>at my desk</status></presence>`)
	if got := phone.readUntil("at my desk"); !strings.Contains(got, `from="`+desk.jid+`"`) {
		t.Fatalf("presence across nodes: %s", got)
	}
	sessions, err := n1.rc.Sessions(context.Background(), app.ID, []int64{ua.ID})
	if err != nil || len(sessions[ua.ID]) != 1 || !sessions[ua.ID][0].Available || sessions[ua.ID][0].Priority != 5 || sessions[ua.ID][0].Node != "n2" {
		t.Fatalf("presence in Redis: %+v %v", sessions, err)
	}
}

// Resuming another user's session on another node fails before the owner
// is asked to let go: the victim's stream and its state stay.
func TestResumeOfAnotherUsersSessionAcrossNodes(t *testing.T) {
	n1, n2, _ := twoNodes(t)
	aJID, _ := n1.user("ann", "ann-password")
	vJID, _ := n1.user("vic", "vic-password")
	v, id := smLogin(n1.env, viaTLS, vJID, "vic-password")
	v.readUntil("<presence")

	if _, got := n2.resume(aJID, "ann-password", id, 0); !strings.Contains(got, "item-not-found") {
		t.Fatalf("another user's resume: %s", got)
	}

	// The victim's stream is still live and still resumable.
	v.send(`<iq type="get" id="still"><ping xmlns="urn:xmpp:ping"/></iq>`)
	v.readUntil(`id="still"`)
	v.nc.Close()
	time.Sleep(100 * time.Millisecond)
	if _, got := n2.resume(vJID, "vic-password", id, 1); !strings.Contains(got, `<resumed`) {
		t.Fatalf("the owner's resume: %s", got)
	}
}

// A node stops following a user as soon as its last subscriber's session
// ends, not a day later.
func TestStatusSubscriptionsEndWithTheSubscriber(t *testing.T) {
	n1, n2, app := twoNodes(t)
	aJID, _ := n1.user("ann", "ann-password")
	bJID, ub := n1.user("ben", "ben-password")
	a := n1.login(viaTLS, aJID, "ann-password")
	a.send(`<iq type="set" id="ss"><subscribe xmlns="https://connectycube.com/protocol/status_streaming" user_jid="` + bJID + `@localhost" enable="true"/></iq>`)
	a.readUntil(`id="ss"`)
	ctx := context.Background()
	if nodes, _ := n2.rc.Watchers(ctx, app.ID, ub.ID); fmt.Sprint(nodes) != "[n1]" {
		t.Fatalf("watchers while subscribed: %v", nodes)
	}
	a.send(`</stream:stream>`)
	for i := 0; i < 100; i++ {
		if nodes, _ := n2.rc.Watchers(ctx, app.ID, ub.ID); len(nodes) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("n1 still follows Ben after Ann's only session ended")
}

// twoNodes starts two nodes on one MongoDB-wire store and one Redis, with
// an app both serve.
func twoNodes(t *testing.T) (*node, *node, *accounts.App) {
	uri, dbName := testenv.MongoURI(t)
	redisAddr := testenv.Redis(t)
	n1 := startNode(t, "n1", uri, dbName, redisAddr, 2*time.Second)
	n2 := startNode(t, "n2", uri, dbName, redisAddr, 2*time.Second)
	app, err := n1.acc.CreateApp(context.Background(), "cluster", accounts.AppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n1.app, n2.app = app, app
	return n1, n2, app
}

// Roster presence crosses nodes: a contact's presence reaches a subscriber
// on another node, and a new session's probe is answered by the node where
// the contact's sessions are.
func TestRosterPresenceAcrossNodes(t *testing.T) {
	n1, n2, _ := twoNodes(t)
	aJID, _ := n1.user("ann", "ann-password")
	bJID, _ := n1.user("ben", "ben-password")
	ann, ben := aJID+"@localhost", bJID+"@localhost"
	a := n1.login(viaTLS, aJID, "ann-password")
	b := n2.login(viaTLS, bJID, "ben-password")
	a.send(`<presence/>`)
	b.send(`<presence><status>on the second node</status></presence>`)
	a.send(`<presence to="` + ben + `" type="subscribe"/>`)
	b.readUntil(`type="subscribe"`)
	b.send(`<presence to="` + ann + `" type="subscribed"/>`)
	if got := a.readUntil("on the second node"); !strings.Contains(got, `from="`+b.jid+`"`) {
		t.Fatalf("Ben's presence at approval: %s", got)
	}
	// A new session of Ann's probes her contacts: n2 answers for Ben.
	a2 := n1.login(viaTLS, aJID, "ann-password")
	a2.send(`<presence/>`)
	if got := a2.readUntil("on the second node"); !strings.Contains(got, `from="`+b.jid+`"`) || !strings.Contains(got, `to="`+a2.jid+`"`) {
		t.Fatalf("probe answered across nodes: %s", got)
	}
}

// A room spans nodes: occupants on each see the others join, leave, change
// nick and be kicked, nicks are unique across nodes, senders appear by nick
// to sessions that chose one and by id to the SDK, and a destruction reaches
// everyone.
func TestRoomAcrossNodes(t *testing.T) {
	n1, n2, _ := twoNodes(t)
	aJID, ua := n1.user("ann", "ann-password")
	bJID, _ := n1.user("ben", "ben-password")
	cJID, uc := n1.user("cyd", "cyd-password")
	a := n1.login(viaTLS, aJID, "ann-password")
	b := n2.login(viaTLS, bJID, "ben-password")
	c := n2.login(viaTLS, cJID, "cyd-password")
	room := "club@muc.localhost"
	a.send(`<presence to="` + room + `/Ann"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	a.readUntil("<subject")
	a.send(`<iq type="set" id="add" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="member" jid="` + bJID + `@localhost"/><item affiliation="member" jid="` + cJID + `@localhost"/></query></iq>`)
	a.readUntil(`id="add"`)

	b.send(`<presence id="taken" to="` + room + `/Ann"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	if got := b.readUntil(`id="taken"`); !strings.Contains(got, "conflict") {
		t.Fatalf("a nick held on another node: %s", got)
	}
	b.send(`<presence to="` + room + `/Ben"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	if got := b.readUntil(`/Ann"`); !strings.Contains(got, `affiliation="owner"`) || !strings.Contains(got, `jid="`+a.jid+`"`) {
		t.Fatalf("Ben sees Ann on the other node: %s", got)
	}
	b.readUntil("<subject")
	if got := a.readUntil(`/Ben"`); !strings.Contains(got, `jid="`+b.jid+`"`) {
		t.Fatalf("Ann sees Ben join on the other node: %s", got)
	}
	cyNick := fmt.Sprint(uc.ID)
	c.send(`<presence to="` + room + `/` + cyNick + `"><x xmlns="http://jabber.org/protocol/muc"><history maxstanzas="0"/></x></presence>`)
	c.readUntil(`<status code="110"/>`)

	a.send(`<message to="` + room + `" type="groupchat" id="m1"><body>hello</body></message>`)
	if got := b.readUntil(`id="m1"`); !strings.Contains(got, `from="`+room+`/Ann"`) {
		t.Fatalf("Ben (by nick, other node) gets: %s", got)
	}
	if got := c.readUntil(`id="m1"`); !strings.Contains(got, fmt.Sprintf(`from="%s/%d"`, room, ua.ID)) {
		t.Fatalf("Cy (by id, other node) gets: %s", got)
	}

	b.send(`<presence to="` + room + `/Benny"/>`)
	if got := a.readUntil(`/Ben"`); !strings.Contains(got, `nick="Benny"`) || !strings.Contains(got, `<status code="303"/>`) {
		t.Fatalf("a nick change across nodes: %s", got)
	}
	a.readUntil(`/Benny"`)

	// A private message and a subject change cross nodes too.
	b.send(`<message to="` + room + `/Ann" type="chat" id="pm"><body>psst</body></message>`)
	if got := a.readUntil(`id="pm"`); !strings.Contains(got, `from="`+room+`/Benny"`) || !strings.Contains(got, "psst") {
		t.Fatalf("a private message across nodes: %s", got)
	}
	a.send(`<message to="` + room + `" type="groupchat"><subject>across</subject></message>`)
	if got := b.readUntil("<subject"); !strings.Contains(got, "<subject>across</subject>") {
		t.Fatalf("a subject change across nodes: %s", got)
	}

	a.send(`<iq type="set" id="kick" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#admin"><item role="none" jid="` + bJID + `@localhost"/></query></iq>`)
	a.readUntil(`id="kick"`)
	if got := b.readUntil(`<status code="307"/>`); !strings.Contains(got, `type="unavailable"`) || !strings.Contains(got, `<status code="110"/>`) {
		t.Fatalf("kicked on the other node: %s", got)
	}
	if got := a.readUntil(`/Benny"`); !strings.Contains(got, `type="unavailable"`) || !strings.Contains(got, `<status code="307"/>`) {
		t.Fatalf("Ann sees the kick: %s", got)
	}

	a.send(`<iq type="set" id="end" to="` + room + `"><query xmlns="http://jabber.org/protocol/muc#owner"><destroy><reason>done</reason></destroy></query></iq>`)
	a.readUntil(`id="end"`)
	if got := c.readUntil("<destroy"); !strings.Contains(got, "<reason>done</reason>") {
		t.Fatalf("destruction on the other node: %s", got)
	}
}

// Who is online is read across nodes.
func TestOnlineUsersAcrossNodes(t *testing.T) {
	n1, n2, app := twoNodes(t)
	aJID, ua := n1.user("ann", "ann-password")
	bJID, ub := n1.user("ben", "ben-password")
	n1.login(viaTLS, aJID, "ann-password")
	n2.login(viaTLS, bJID, "ben-password")
	// A node records a session in Redis just after the client has its bind
	// result, so each node is given a moment (bounded) to agree.
	want := fmt.Sprint([]int64{ua.ID, ub.ID})
	for _, n := range []*node{n1, n2} {
		got := n.srv.OnlineUsers(app.ID)
		for i := 0; i < 100 && fmt.Sprint(got) != want; i++ {
			time.Sleep(20 * time.Millisecond)
			got = n.srv.OnlineUsers(app.ID)
		}
		if fmt.Sprint(got) != want {
			t.Fatalf("online users seen from one node: %v", got)
		}
	}
}
