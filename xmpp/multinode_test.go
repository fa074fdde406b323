package xmpp_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/cluster"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/internal/testenv"
	"github.com/parley-chat/parley/privacy"
	"github.com/parley-chat/parley/storage/mongo"
	"github.com/parley-chat/parley/xmpp"
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
	cfg := xmpp.Config{Domain: "localhost", TLS: testTLS(t), Auth: acc, WSSecure: true, Dialogs: ds, History: history.NewArchive(db, ds),
		Offline: db, Privacy: privacy.NewService(db, "localhost", "muc.localhost"), Accounts: acc}
	srv := xmpp.NewServer(cfg, xmpp.NewMetrics(prometheus.NewRegistry()))
	rc, err := cluster.Join(ctx, cluster.Config{Addr: redisAddr, Node: id, TTL: ttl}, srv.Receive)
	if err != nil {
		t.Fatal(err)
	}
	srv.SetCluster(rc)
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
